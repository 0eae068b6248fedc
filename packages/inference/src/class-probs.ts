import type { ModelConfig } from "@mosaicbert/layers";

/** One row's classifier output, read the way its problem type is trained. */
export interface RowClasses {
  row: number;
  text?: string;
  /**
   * "softmax": probabilities over the labels (single-label classification, the default);
   * "sigmoid": an independent probability per label (multi-label);
   * "score": the raw regression output (num_labels 1).
   */
  kind: "softmax" | "sigmoid" | "score";
  /** In label order: [name, value]. Names from config id2label, else LABEL_i. */
  labels: Array<[string, number]>;
}

/** Per-row class probabilities from classifier logits [B, numLabels] (float64 arithmetic). */
export function classesFromLogits(
  logits: Float32Array,
  batchSize: number,
  config: Pick<ModelConfig, "numLabels" | "problemType" | "id2label">,
  texts?: readonly string[],
): RowClasses[] {
  const C = config.numLabels;
  if (logits.length !== batchSize * C) throw new Error(`classesFromLogits: expected logits [${batchSize}, ${C}], got ${logits.length} values`);
  const kind: RowClasses["kind"] =
    config.problemType === "regression" || (C === 1 && config.problemType === null) ? "score"
    : config.problemType === "multi_label_classification" ? "sigmoid"
    : "softmax";
  const names = Array.from({ length: C }, (_, c) => config.id2label?.[String(c)] ?? `LABEL_${c}`);
  const out: RowClasses[] = [];
  for (let b = 0; b < batchSize; b++) {
    const row = Array.from(logits.subarray(b * C, (b + 1) * C), Number);
    let values: number[];
    if (kind === "score") values = row;
    else if (kind === "sigmoid") values = row.map((x) => 1 / (1 + Math.exp(-x)));
    else {
      const max = Math.max(...row);
      const e = row.map((x) => Math.exp(x - max));
      const sum = e.reduce((a, x) => a + x, 0);
      values = e.map((x) => x / sum);
    }
    out.push({ row: b, ...(texts ? { text: texts[b] } : {}), kind, labels: names.map((n, c) => [n, values[c]!]) });
  }
  return out;
}
