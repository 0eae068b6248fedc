import * as fs from "node:fs";
import * as path from "node:path";
import { buildScene } from "./scene.js";
import { readSeries, type Series, type XAxis, type YAxis } from "./series.js";
import { renderSvg } from "./svg.js";
import { renderPng } from "./png.js";

export interface PlotOptions {
  /** Save folders of pretraining runs (each with metrics.jsonl). */
  runs: string[];
  x?: XAxis;
  y?: YAxis;
  /** Output file: .svg (a .png is written beside it) or .png (an .svg is written beside it). */
  out: string;
  title?: string;
}

/** Writes the quality-vs-cost chart of several runs as SVG and PNG; returns the files written. */
export function plotRuns(o: PlotOptions): { files: string[]; series: Series[] } {
  if (o.runs.length === 0) throw new Error("plot: --runs: expected at least one run folder");
  const x = o.x ?? "wallclock";
  const y = o.y ?? "mlm_accuracy";
  const ext = path.extname(o.out).toLowerCase();
  if (ext !== ".svg" && ext !== ".png") throw new Error(`plot: --out ${o.out}: expected a file ending in .svg or .png`);
  const series = o.runs.map((r) => readSeries(r, x, y));
  const empty = series.find((s) => s.points.length === 0);
  if (empty) throw new Error(`plot: ${empty.dir}: no ${y} point has a ${x === "tokens" ? "token count" : "time"}`);
  const scene = buildScene(series, x, y, { title: o.title });
  const base = o.out.slice(0, -ext.length);
  fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
  fs.writeFileSync(`${base}.svg`, renderSvg(scene));
  fs.writeFileSync(`${base}.png`, renderPng(scene));
  return { files: [`${base}.svg`, `${base}.png`], series };
}
