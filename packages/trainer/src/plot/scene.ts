import { fmtTick, niceTicks } from "./scale.js";
import { paretoFrontier, type Series, type XAxis, type YAxis } from "./series.js";

/** Drawing primitives in pixels (origin top-left), rendered by svg.ts and png.ts alike. */
export type Shape =
  | { kind: "rect"; x: number; y: number; w: number; h: number; fill: string; stroke?: string }
  | { kind: "line"; x1: number; y1: number; x2: number; y2: number; color: string; width: number; dash?: boolean }
  | { kind: "polyline"; points: Array<[number, number]>; color: string; width: number; dash?: boolean }
  | { kind: "circle"; cx: number; cy: number; r: number; color: string }
  | { kind: "text"; x: number; y: number; text: string; size: number; color: string; anchor: "start" | "middle" | "end" };

export interface Scene {
  width: number;
  height: number;
  shapes: Shape[];
}

export const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

const Y_LABEL: Record<YAxis, string> = { mlm_accuracy: "MLM accuracy (eval, 15% masking)", loss: "MLM loss", glue: "GLUE average" };
const X_LABEL: Record<XAxis, string> = { wallclock: "pretraining wall clock (hours)", tokens: "tokens seen" };

/**
 * Quality against cost for several runs, as in the MosaicBERT paper's Pareto plots: one line per run
 * (its evaluations in order), and the Pareto frontier over every point dashed in grey.
 */
export function buildScene(series: readonly Series[], x: XAxis, y: YAxis, opts: { width?: number; height?: number; title?: string } = {}): Scene {
  const width = opts.width ?? 800;
  const height = opts.height ?? 500;
  const m = { left: 70, right: 20, top: 50, bottom: 60 };
  const legendH = 18 * series.length + 10;
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom - legendH;
  const all = series.flatMap((s) => s.points);
  const xs = niceTicks(Math.min(0, ...all.map((p) => p.x)), Math.max(...all.map((p) => p.x)));
  const ys = niceTicks(Math.min(...all.map((p) => p.y)), Math.max(...all.map((p) => p.y)));
  const [x0, x1] = [xs[0]!, xs[xs.length - 1]!];
  const [y0, y1] = [ys[0]!, ys[ys.length - 1]!];
  const px = (v: number) => m.left + ((v - x0) / (x1 - x0 || 1)) * plotW;
  const py = (v: number) => m.top + plotH - ((v - y0) / (y1 - y0 || 1)) * plotH;
  const shapes: Shape[] = [{ kind: "rect", x: 0, y: 0, w: width, h: height, fill: "#ffffff" }];
  shapes.push({ kind: "text", x: width / 2, y: 24, text: opts.title ?? `${Y_LABEL[y]} vs ${X_LABEL[x]}`, size: 16, color: "#000000", anchor: "middle" });
  for (const t of xs) {
    shapes.push({ kind: "line", x1: px(t), y1: m.top, x2: px(t), y2: m.top + plotH, color: "#e6e6e6", width: 1 });
    shapes.push({ kind: "text", x: px(t), y: m.top + plotH + 16, text: fmtTick(t), size: 11, color: "#333333", anchor: "middle" });
  }
  for (const t of ys) {
    shapes.push({ kind: "line", x1: m.left, y1: py(t), x2: m.left + plotW, y2: py(t), color: "#e6e6e6", width: 1 });
    shapes.push({ kind: "text", x: m.left - 6, y: py(t) + 4, text: y === "mlm_accuracy" ? `${fmtTick(Number((100 * t).toPrecision(6)))}%` : fmtTick(t), size: 11, color: "#333333", anchor: "end" });
  }
  shapes.push({ kind: "rect", x: m.left, y: m.top, w: plotW, h: plotH, fill: "none", stroke: "#000000" });
  shapes.push({ kind: "text", x: m.left + plotW / 2, y: m.top + plotH + 36, text: X_LABEL[x], size: 12, color: "#000000", anchor: "middle" });
  shapes.push({ kind: "text", x: m.left, y: m.top - 8, text: Y_LABEL[y], size: 12, color: "#000000", anchor: "start" });
  const front = paretoFrontier(series, y !== "loss");
  if (front.length > 1) {
    // A staircase: quality holds until the next frontier point.
    const pts: Array<[number, number]> = [];
    front.forEach((p, i) => {
      if (i > 0) pts.push([px(p.x), py(front[i - 1]!.y)]);
      pts.push([px(p.x), py(p.y)]);
    });
    shapes.push({ kind: "polyline", points: pts, color: "#888888", width: 1.5, dash: true });
  }
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    if (s.points.length > 1) shapes.push({ kind: "polyline", points: s.points.map((p) => [px(p.x), py(p.y)]), color, width: 2 });
    for (const p of s.points) shapes.push({ kind: "circle", cx: px(p.x), cy: py(p.y), r: 3, color });
    const ly = height - legendH + 18 * i + 6;
    shapes.push({ kind: "line", x1: m.left, y1: ly, x2: m.left + 24, y2: ly, color, width: 2 });
    const last = s.points.at(-1);
    const best = y === "mlm_accuracy" ? `${(100 * last!.y).toFixed(2)}%` : last!.y.toFixed(4);
    shapes.push({ kind: "text", x: m.left + 32, y: ly + 4, text: `${s.name}: ${best} at step ${last!.step}`, size: 12, color: "#000000", anchor: "start" });
  });
  return { width, height, shapes };
}
