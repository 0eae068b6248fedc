import * as fs from "node:fs";
import * as path from "node:path";
import { METRICS_FILE, readMetrics } from "../log/metrics.js";

export type XAxis = "wallclock" | "tokens";
export type YAxis = "mlm_accuracy" | "loss" | "glue";

export interface Point {
  x: number;
  y: number;
  step: number;
}

export interface Series {
  name: string;
  dir: string;
  points: Point[];
}

/**
 * One run's curve from its metrics.jsonl: eval records for mlm_accuracy and loss (the training
 * loss when a run has no evaluation), `glue` records for glue — written by the GLUE finetuning of
 * that run's checkpoints as {"type": "glue", "step", "time", "glue": <average score>} lines in
 * metrics.jsonl or in glue.jsonl beside it. x is hours of wall clock or tokens seen.
 */
export function readSeries(dir: string, x: XAxis, y: YAxis): Series {
  const file = path.join(dir, METRICS_FILE);
  if (!fs.existsSync(file)) throw new Error(`plot: ${dir} has no ${METRICS_FILE} (expected a pretraining save folder)`);
  const records = readMetrics(file) as unknown as Array<Record<string, unknown>>;
  const glueFile = path.join(dir, "glue.jsonl");
  if (y === "glue" && fs.existsSync(glueFile)) records.push(...(readMetrics(glueFile) as unknown as Array<Record<string, unknown>>));
  const start = records.find((r) => r.type === "run" && typeof r.run_name === "string");
  const name = (start?.run_name as string | undefined) ?? path.basename(path.resolve(dir));
  const pick = (type: string, field: string) =>
    records
      .filter((r) => r.type === type && typeof r[field] === "number" && Number.isFinite(r[field] as number))
      .map((r) => ({ r, y: r[field] as number }));
  let rows = y === "glue" ? pick("glue", "glue") : pick("eval", y);
  if (rows.length === 0 && y === "loss") rows = pick("train", "loss");
  if (rows.length === 0) throw new Error(`plot: ${file} has no ${y === "glue" ? "glue" : y === "loss" ? "eval or train loss" : "eval mlm_accuracy"} records`);
  // Tokens of glue records come from the pretraining step they evaluate.
  const tokensAt = new Map<number, number>();
  for (const r of records) if (typeof r.tokens === "number" && typeof r.step === "number") tokensAt.set(r.step as number, r.tokens as number);
  const timeAt = new Map<number, number>();
  for (const r of records) if (r.type !== "glue" && typeof r.time === "number" && typeof r.step === "number") timeAt.set(r.step as number, r.time as number);
  const points = rows
    .map(({ r, y: v }) => {
      const step = r.step as number;
      const xv = x === "tokens" ? ((r.tokens as number | undefined) ?? tokensAt.get(step)) : ((r.type === "glue" ? timeAt.get(step) : undefined) ?? (r.time as number | undefined));
      return { x: x === "wallclock" && xv !== undefined ? xv / 3600 : xv, y: v, step };
    })
    .filter((p): p is Point => typeof p.x === "number" && Number.isFinite(p.x))
    .sort((a, b) => a.x - b.x);
  return { name, dir, points };
}

/** Points on the upper (accuracy, GLUE) or lower (loss) Pareto frontier: best quality for no more cost. */
export function paretoFrontier(series: readonly Series[], higherIsBetter: boolean): Point[] {
  const all = series.flatMap((s) => s.points).sort((a, b) => a.x - b.x || (higherIsBetter ? b.y - a.y : a.y - b.y));
  const out: Point[] = [];
  for (const p of all) {
    const best = out.at(-1);
    if (!best || (higherIsBetter ? p.y > best.y : p.y < best.y)) out.push(p);
  }
  return out;
}
