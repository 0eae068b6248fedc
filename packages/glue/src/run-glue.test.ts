import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpu } from "@mosaicbert/tensor";
import { describe, expect, it } from "vitest";
import { renderMarkdown, writeReport } from "./report.js";
import { type GlueReport, runGlue, seedsFor } from "./run-glue.js";
import { freshStartingModel } from "./starting-model.js";
import { GLUE_DATA } from "./test-paths.js";

describe("runGlue end to end on the real GLUE files (tiny preset, CPU, small slices)", () => {
  let report: GlueReport;
  const chunks: string[] = [];

  it("fine-tunes the runnable tasks and reports the missing and malformed ones", async () => {
    report = await runGlue({
      backend: cpu,
      dataDir: GLUE_DATA,
      start: freshStartingModel("tiny"),
      tasks: ["mnli", "qqp", "rte", "mrpc", "cola", "sst2"],
      seeds: 1,
      maxSeqLen: 64,
      maxTrainExamples: 24,
      maxEvalExamples: 24,
      maxSteps: 3,
      batchSize: 8,
      progress: { write: (s: string) => chunks.push(s), isTTY: false },
    });
    const by = Object.fromEntries(report.tasks.map((t) => [t.task, t]));
    expect(report.tasks.map((t) => t.task)).toEqual(["mnli", "qqp", "sst2", "cola", "rte", "mrpc"]);
    // MNLI: train partial, both dev files missing → skipped, said so.
    expect(by.mnli!.status).toBe("skipped");
    expect(by.mnli!.dataStatus).toBe("missing");
    expect(by.mnli!.notes.join("\n")).toMatch(/validation_matched: missing/);
    expect(by.mnli!.notes.join("\n")).toMatch(/train: partial — 480 of 392702 rows/);
    // QQP: its malformed upstream row makes the train file invalid (file:line), dev missing.
    expect(by.qqp!.status).toBe("skipped");
    expect(by.qqp!.notes.join("\n")).toMatch(/train: invalid — .*train\.partial\.tsv:2: QQP: expected 6 tab-separated fields/);
    expect(by.qqp!.notes.join("\n")).toMatch(/validation: missing/);
    for (const t of ["sst2", "cola", "rte", "mrpc"] as const) {
      const r = by[t]!;
      expect(r.status, `${t}: ${r.error}`).toBe("ran");
      expect(r.seeds.map((s) => s.seed)).toEqual([19]);
      expect(r.seeds[0]!.steps).toBe(3);
      expect(r.startFrom).toBe("fresh");
      expect(Number.isFinite(r.score)).toBe(true);
      expect(r.splits[0]!.used).toBe(24);
    }
    // MRPC scores mean(acc, F1); RTE starts from the --model weights since MNLI did not run, and says so.
    const m = by.mrpc!.metrics!.glue_mrpc!;
    expect(by.mrpc!.score).toBeCloseTo((m.accuracy! + m.f1!) / 2, 10);
    expect(by.rte!.notes.join("\n")).toMatch(/MNLI did not run/);
    expect(report.caps).toEqual(["--max-train-examples 24", "--max-eval-examples 24", "--max-steps 3", "--batch-size 8", "--max-seq-len 64", "--seeds 1"]);
    expect(by.cola!.metrics!.glue_cola!.matthews).toBeDefined();
    expect(report.average!.tasks).toEqual(["sst2", "cola", "rte", "mrpc"]);
    expect(report.average!.complete).toBe(false);
    expect(report.comparable).toBe(false);
    // Progress went to the given stream: a line per task seed and the skip reasons.
    const log = chunks.join("");
    expect(log).toMatch(/SST-2 seed 19 \(1\/1\) \[#+\] 3\/3 loss \d/);
    expect(log).toMatch(/MNLI: skipped \(missing\)/);
  });

  it("renders the markdown table and writes both report files", () => {
    const md = renderMarkdown(report);
    expect(md).toMatch(/\| SST-2 \| \d+\.\d\d \| {2}\| 1 \| sst2: accuracy \d+\.\d\d \| fresh \| ran \|/);
    expect(md).toMatch(/\| MNLI \| – \|.*\*\*skipped\*\* \(missing\) \|/);
    expect(md).toContain("Departures from the recipe: --max-train-examples 24, --max-eval-examples 24, --max-steps 3, --batch-size 8, --max-seq-len 64, --seeds 1.");
    expect(md).not.toMatch(/train capped at/);
    expect(md).toMatch(/GLUE average over 4 of 8 tasks: \d+\.\d\d\*\* — not the GLUE score \(missing: MNLI, QNLI, QQP, STS-B\)/);
    const out = mkdtempSync(join(tmpdir(), "glue-report-"));
    const paths = writeReport(report, out);
    const back = JSON.parse(readFileSync(paths.json, "utf8")) as GlueReport;
    expect(back.tasks.find((t) => t.task === "sst2")!.score).toBe(report.tasks.find((t) => t.task === "sst2")!.score);
    expect(readFileSync(paths.markdown, "utf8")).toBe(md);
  });
});

describe("seedsFor", () => {
  it("uses the reference seeds, a count, or an explicit list", () => {
    expect(seedsFor("rte", undefined)).toEqual([19, 8364, 717, 10536, 90166]);
    expect(seedsFor("sst2", 2)).toEqual([19, 8364]);
    expect(seedsFor("mnli", 3)).toEqual([19, 8364, 717]);
    expect(seedsFor("cola", 7)).toEqual([19, 8364, 717, 10536, 90166, 1, 2]);
    expect(seedsFor("qnli", [5, 6])).toEqual([5, 6]);
    expect(() => seedsFor("qnli", 0)).toThrow(/--seeds/);
  });
});
