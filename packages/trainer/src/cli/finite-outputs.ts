import { loadModelFolder } from "@mosaicbert/hub";
import type { InferResult } from "@mosaicbert/inference";

/** Where a printed result first holds a non-finite number (a probability or a score), or null. */
export function nonFiniteOutput(res: Pick<InferResult, "fill" | "classes">): string | null {
  for (const m of res.fill?.masks ?? []) {
    const bad = m.top.find((t) => !Number.isFinite(t.prob));
    if (bad) return `probability ${bad.prob} at row ${m.row}, position ${m.position}`;
  }
  for (const r of res.classes ?? []) {
    const bad = r.labels.find(([, v]) => !Number.isFinite(v));
    if (bad) return `${r.kind} ${bad[1]} for label ${bad[0]} of row ${r.row}`;
  }
  return null;
}

/** Exponent bits all ones (NaN or ±Inf) per dtype; other dtypes cannot hold non-finite values. */
const NON_FINITE: Record<string, { bytes: 2 | 4; mask: number }> = {
  f32: { bytes: 4, mask: 0x7f800000 },
  bf16: { bytes: 2, mask: 0x7f80 },
  f16: { bytes: 2, mask: 0x7c00 },
};

/** The first tensor of a model folder holding NaN or ±Inf, with how many of its values are; null when all are finite. */
export function nonFiniteWeights(dir: string): string | null {
  const folder = loadModelFolder(dir);
  for (const [name, e] of folder.tensors) {
    const kind = NON_FINITE[e.dtype];
    if (!kind) continue;
    const dv = new DataView(e.data.buffer, e.data.byteOffset, e.data.byteLength);
    let bad = 0;
    for (let i = 0; i + kind.bytes <= e.data.byteLength; i += kind.bytes) {
      const v = kind.bytes === 4 ? dv.getUint32(i, true) : dv.getUint16(i, true);
      if ((v & kind.mask) === kind.mask) bad++;
    }
    if (bad) return `tensor '${name}' in ${folder.weights.join(", ")}: ${bad} of ${e.data.byteLength / kind.bytes} values are NaN or infinite`;
  }
  return null;
}

/**
 * Refuses to print a result with non-finite numbers: the model's weights are the usual cause (a
 * diverged or damaged checkpoint), and the message names the tensor when it is one of them.
 */
export function checkFiniteOutputs(res: Pick<InferResult, "fill" | "classes">, modelDir: string): void {
  const out = nonFiniteOutput(res);
  if (!out) return;
  const weights = nonFiniteWeights(modelDir);
  throw new Error(
    `infer: ${modelDir}: the model's outputs are not finite (${out}); ` +
      (weights ? `its weights are not: ${weights}` : "its weights are finite, so the activations overflow (check the config and the weights' scale)"),
  );
}
