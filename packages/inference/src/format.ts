import type { RowClasses } from "./class-probs.js";
import type { FillMaskResult } from "./fill-mask.js";
import type { InferResult } from "./infer.js";

/** Note printed for a row that holds no [MASK] (fill-mask has nothing to predict there). */
export const NO_MASK_NOTE = "no [MASK] in this row, nothing to fill";

/** 3 significant digits: 0.412, 0.0510, 0.000512 — tiny probabilities stay readable. */
const num = (x: number): string => x.toPrecision(3);

const rowLabel = (row: number, text: string | undefined): string => `row ${row}${text === undefined ? "" : ` ${JSON.stringify(text)}`}`;

/**
 * Lines for the console, in row order: one per [MASK] (`row 0 "…", position 6: paris 0.412 | lyon 0.0510`)
 * and a note for each row without one; with `json`, one JSON object per line instead
 * (`{"row", "text"?, "position", "top": [{"token", "id", "prob"}]}`, position null and a "note" for a row
 * without [MASK]).
 */
export function formatFillMask(res: FillMaskResult, texts: readonly string[] | undefined, json = false): string[] {
  const lines: Array<{ row: number; position: number; line: string }> = [];
  for (const m of res.masks) {
    const line = json
      ? JSON.stringify({ row: m.row, ...(m.text === undefined ? {} : { text: m.text }), position: m.position, top: m.top.map((t) => ({ token: t.token, id: t.id, prob: t.prob })) })
      : `${rowLabel(m.row, m.text)}, position ${m.position}: ${m.top.map((t) => `${t.token} ${num(t.prob)}`).join(" | ")}`;
    lines.push({ row: m.row, position: m.position, line });
  }
  for (const row of res.rowsWithoutMask) {
    const text = texts?.[row];
    const line = json
      ? JSON.stringify({ row, ...(text === undefined ? {} : { text }), position: null, top: [], note: NO_MASK_NOTE })
      : `${rowLabel(row, text)}: ${NO_MASK_NOTE}`;
    lines.push({ row, position: -1, line });
  }
  return lines.sort((a, b) => a.row - b.row || a.position - b.position).map((l) => l.line);
}

/** Lines for a classifier: `row 0 "…": LABEL_0 0.512 | LABEL_1 0.488`, or JSON `{"row", "text"?, "probs"|"scores": {label: value}}`. */
export function formatClasses(rows: readonly RowClasses[], json = false): string[] {
  return rows.map((r) => {
    if (json) {
      const key = r.kind === "score" ? "scores" : "probs";
      return JSON.stringify({ row: r.row, ...(r.text === undefined ? {} : { text: r.text }), [key]: Object.fromEntries(r.labels) });
    }
    return `${rowLabel(r.row, r.text)}: ${r.labels.map(([n, v]) => `${n} ${num(v)}`).join(" | ")}`;
  });
}

/** The console lines of a runInfer result: fill-mask predictions, or class probabilities, or none. */
export function formatInferResult(res: Pick<InferResult, "fill" | "classes" | "texts">, json = false): string[] {
  if (res.fill) return formatFillMask(res.fill, res.texts, json);
  if (res.classes) return formatClasses(res.classes, json);
  return [];
}
