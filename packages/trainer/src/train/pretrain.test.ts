import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadModelFolder } from "@mosaicbert/hub";
import { readMetrics } from "../log/metrics.js";
import { listCheckpoints } from "../checkpoint/checkpoint.js";
import { cleanup, quiet, SMALL, tmp } from "../testing/pretrain-fixtures.js";
import { pretrain } from "./pretrain.js";

afterAll(cleanup);

describe("pretrain (tiny model, shipped corpus, CPU)", () => {
  it("a short real run: the MLM loss falls, metrics and an HF checkpoint are written", async () => {
    const save = tmp();
    const s = await pretrain({ config: "tiny-cpu", overrides: [...SMALL, "optimizer.lr=1e-2", "eval_interval=8ba"], maxDuration: "16ba", saveFolder: save, device: "cpu", handleSignals: false, stderr: quiet });
    expect(s.status).toBe("completed");
    expect(s.steps).toBe(16);
    expect(s.losses).toHaveLength(16);
    const head = (s.losses[0]! + s.losses[1]! + s.losses[2]!) / 3;
    const tail = (s.losses[13]! + s.losses[14]! + s.losses[15]!) / 3;
    // From ≈ ln(30528) = 10.33 at initialisation.
    expect(head).toBeGreaterThan(9.8);
    expect(tail).toBeLessThan(head - 1);
    const evals = readMetrics(join(save, "metrics.jsonl")).filter((r) => r.type === "eval") as Array<{ step: number; loss: number; mlm_accuracy: number }>;
    expect(evals.map((e) => e.step)).toEqual([8, 16]);
    expect(evals[1]!.loss).toBeLessThan(evals[0]!.loss);
    expect(evals[1]!.mlm_accuracy).toBeGreaterThan(0);
    // Host timing of every step: the wait for its batch and its whole wall time.
    const train = readMetrics(join(save, "metrics.jsonl")).filter((r) => r.type === "train") as Array<{ step: number; data_wait_ms: number; step_ms: number }>;
    expect(train.map((r) => r.step)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    for (const r of train) {
      expect(Number.isFinite(r.data_wait_ms) && r.data_wait_ms >= 0).toBe(true);
      expect(Number.isFinite(r.step_ms) && r.step_ms > 0).toBe(true);
      expect(r.data_wait_ms).toBeLessThanOrEqual(r.step_ms);
    }
    // The checkpoint is a Hugging Face model folder.
    const folder = loadModelFolder(s.checkpoint!);
    expect(folder.config.vocab_size).toBe(30528);
    expect(folder.config.alibi_starting_size).toBe(512);
    expect(folder.tensors.has("bert.embeddings.word_embeddings.weight")).toBe(true);
    expect(existsSync(join(s.checkpoint!, "vocab.txt"))).toBe(true);
    expect(readFileSync(join(save, "latest"), "utf8").trim()).toBe("checkpoints/ep0-ba16");
  });

  it.each([
    [false, 2],
    // Launching each step before reading the one before: one more step is launched before a measured one is read.
    [true, 3],
  ])("a time-boxed run warms up over its projected steps, then decays to the end (overlapped steps: %s)", async (overlapSteps, zeros) => {
    const save = tmp();
    // A simulated clock (10 ms per reading), so the number of steps in the time box does not depend on
    // this machine's speed or load: the run is the same everywhere.
    let now = 0;
    const clock = () => (now += 10);
    const overrides = [...SMALL, "global_train_batch_size=2", "scheduler.t_warmup=0.4dur", "eval_interval=5ba"];
    const s = await pretrain({ config: "tiny-cpu", overrides, maxDuration: "2s", saveFolder: save, device: "cpu", handleSignals: false, stderr: quiet, clock, overlapSteps });
    expect(s.status).toBe("completed");
    const lrs = readMetrics(join(save, "metrics.jsonl")).filter((r) => r.type === "train").map((r) => (r as { lr: number }).lr);
    const n = lrs.length;
    expect(n).toBeGreaterThanOrEqual(12);
    expect(n).toBeLessThanOrEqual(40);
    // Nothing is measured before the second step ends (the first holds the warm-up): the steps launched until then run at lr 0.
    expect(lrs.slice(0, zeros + 1)).toEqual([...Array(zeros).fill(0), lrs[zeros]]);
    expect(lrs[zeros]!).toBeGreaterThan(0);
    const peak = lrs.indexOf(Math.max(...lrs));
    // lr rises step by step up to the peak…
    expect(peak).toBeGreaterThanOrEqual(3);
    for (let i = zeros; i <= peak; i++) expect(lrs[i]!).toBeGreaterThan(lrs[i - 1]!);
    // …which falls at about 40% of the steps actually run (the projection is of steps, not seconds)…
    expect(peak / n).toBeGreaterThanOrEqual(0.03);
    expect(peak / n).toBeGreaterThan(0.2);
    expect(peak / n).toBeLessThan(0.7);
    // …then decays to the end of the time box, never rising again.
    for (let i = peak + 1; i < n; i++) expect(lrs[i]!).toBeLessThanOrEqual(lrs[i - 1]!);
    expect(lrs[n - 1]!).toBeLessThan(0.35 * lrs[peak]!);
    // A resume would continue from the last step's progress.
    const state = JSON.parse(readFileSync(join(s.checkpoint!, "trainer_state.json"), "utf8")) as { scheduleProgress: number };
    expect(state.scheduleProgress).toBeGreaterThan(0.7);
    expect(state.scheduleProgress).toBeLessThanOrEqual(1);
  });

  it("stops on a non-finite loss with a report instead of writing a corrupted checkpoint", async () => {
    const save = tmp();
    const lines: string[] = [];
    const s = await pretrain({
      config: "tiny-cpu",
      // An absurd learning rate blows the weights up after the first real step.
      overrides: [...SMALL, "log_to_console=true", "optimizer.lr=1e30", "scheduler.t_warmup=0ba", "save_interval=1ba"],
      maxDuration: "10ba",
      saveFolder: save,
      device: "cpu",
      handleSignals: false,
      stderr: { write: (x: string) => lines.push(x) > 0 },
    });
    expect(s.status).toBe("nan");
    expect(s.exitCode).toBe(3);
    expect(s.message).toMatch(/non-finite (loss|gradient norm) .* at step \d+: stopped before the optimizer step, weights not updated; last good checkpoint: .*ep0-ba\d+/);
    expect(lines.join("")).toMatch(/STOPPED: non-finite/);
    const nan = readMetrics(join(save, "metrics.jsonl")).find((r) => r.type === "run" && r.event === "nan");
    expect(nan).toBeDefined();
    // Every checkpoint on disk holds finite weights.
    for (const ck of listCheckpoints(save)) {
      for (const [, e] of loadModelFolder(ck.dir).tensors) {
        const f = new Float32Array(e.data.slice().buffer);
        expect(f.every(Number.isFinite)).toBe(true);
      }
    }
  });
});
