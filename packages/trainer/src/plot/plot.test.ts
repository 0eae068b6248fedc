import * as fs from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { MetricsWriter } from "../log/metrics.js";
import { plotRuns } from "./plot.js";
import { paretoFrontier, readSeries } from "./series.js";
import { PALETTE } from "./scene.js";

const root = mkdtempSync(join(tmpdir(), "plot-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A run folder as the trainer writes it: a start record, train steps, evaluations. */
function run(name: string, evals: Array<[step: number, hours: number, acc: number, loss: number]>): string {
  const dir = join(root, name);
  const w = new MetricsWriter(dir);
  w.write({ type: "run", step: 0, time: 0, event: "start", run_name: name });
  for (const [step, hours, acc, loss] of evals) {
    w.write({ type: "train", step, time: hours * 3600 - 1, samples: step * 4096, tokens: step * 4096 * 128, epoch: 0, loss: loss + 0.1, lr: 5e-4, grad_norm: 1, tokens_per_sec: 1, samples_per_sec: 1, mfu: null });
    w.write({ type: "eval", step, time: hours * 3600, samples: step * 4096, tokens: step * 4096 * 128, loss, mlm_accuracy: acc, eval_tokens: 1000 });
  }
  w.close();
  return dir;
}

const mosaic = run("mosaic-bert-base", [[2000, 0.5, 0.4, 3.1], [4000, 1.0, 0.55, 2.4], [6000, 1.5, 0.62, 2.0]]);
const bert = run("hf-bert-base", [[2000, 0.8, 0.35, 3.4], [4000, 1.6, 0.5, 2.7], [6000, 2.4, 0.58, 2.3]]);

describe("plot", () => {
  it("reads each run's eval curve against wall-clock hours or tokens", () => {
    const s = readSeries(mosaic, "wallclock", "mlm_accuracy");
    expect(s.name).toBe("mosaic-bert-base");
    expect(s.points).toEqual([{ x: 0.5, y: 0.4, step: 2000 }, { x: 1, y: 0.55, step: 4000 }, { x: 1.5, y: 0.62, step: 6000 }]);
    expect(readSeries(bert, "tokens", "loss").points.map((p) => p.x)).toEqual([2000 * 4096 * 128, 4000 * 4096 * 128, 6000 * 4096 * 128]);
  });

  it("the Pareto frontier keeps only points no cheaper point beats", () => {
    const f = paretoFrontier([readSeries(mosaic, "wallclock", "mlm_accuracy"), readSeries(bert, "wallclock", "mlm_accuracy")], true);
    // BERT's 0.35 at 0.8 h is beaten by MosaicBERT's 0.40 at 0.5 h; its 0.58 at 2.4 h by 0.62 at 1.5 h.
    expect(f.map((p) => [p.x, p.y])).toEqual([[0.5, 0.4], [1, 0.55], [1.5, 0.62]]);
    const l = paretoFrontier([readSeries(mosaic, "wallclock", "loss"), readSeries(bert, "wallclock", "loss")], false);
    expect(l.map((p) => p.y)).toEqual([3.1, 2.4, 2.0]);
  });

  it("writes an SVG with one line per run, the frontier, axes and legend, and a PNG beside it", () => {
    const out = join(root, "out", "pareto.svg");
    const { files } = plotRuns({ runs: [mosaic, bert], x: "wallclock", y: "mlm_accuracy", out });
    expect(files).toEqual([out, join(root, "out", "pareto.png")]);
    const svg = fs.readFileSync(out, "utf8");
    expect(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")).toBe(true);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
    const lines = [...svg.matchAll(/<polyline points="([^"]+)" fill="none" stroke="(#[0-9a-f]{6})" stroke-width="2"\/>/g)];
    expect(lines.map((m) => m[2])).toEqual([PALETTE[0], PALETTE[1]]);
    for (const m of lines) {
      const pts = m[1]!.split(" ").map((p) => p.split(",").map(Number));
      expect(pts).toHaveLength(3);
      // Later evaluations are to the right and (accuracy rising) higher, i.e. smaller y in SVG.
      expect(pts[1]![0]!).toBeGreaterThan(pts[0]![0]!);
      expect(pts[2]![1]!).toBeLessThan(pts[0]![1]!);
    }
    expect(svg).toMatch(/stroke-dasharray="6 4"/);
    expect(svg).toContain(">mosaic-bert-base: 62.00% at step 6000</text>");
    expect(svg).toContain(">hf-bert-base: 58.00% at step 6000</text>");
    expect(svg).toContain(">pretraining wall clock (hours)</text>");
    expect(svg).toContain(">MLM accuracy (eval, 15% masking)</text>");
    expect(svg).toMatch(/>60%<\/text>/);
    expect((svg.match(/<circle /g) ?? []).length).toBe(6);

    const png = fs.readFileSync(join(root, "out", "pareto.png"));
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const w = png.readUInt32BE(16);
    const h = png.readUInt32BE(20);
    expect([w, h]).toEqual([800, 500]);
    const idat = png.subarray(33 + 8, 33 + 8 + png.readUInt32BE(33));
    const raw = inflateSync(idat);
    expect(raw.length).toBe((w * 3 + 1) * h);
    // Both run colours were drawn.
    const has = (hex: string) => {
      const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        const i = y * (w * 3 + 1) + 1 + x * 3;
        if (raw[i] === r && raw[i + 1] === g && raw[i + 2] === b) return true;
      }
      return false;
    };
    expect(has(PALETTE[0]!)).toBe(true);
    expect(has(PALETTE[1]!)).toBe(true);
  });

  it("explains bad input", () => {
    expect(() => plotRuns({ runs: [root], out: join(root, "x.svg") })).toThrow(/has no metrics\.jsonl/);
    expect(() => plotRuns({ runs: [mosaic], out: join(root, "x.pdf") })).toThrow(/--out .*x\.pdf: expected a file ending in \.svg or \.png/);
    expect(() => plotRuns({ runs: [mosaic], y: "glue", out: join(root, "x.svg") })).toThrow(/no glue records/);
    expect(() => plotRuns({ runs: [], out: join(root, "x.svg") })).toThrow(/at least one run/);
  });
});
