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
    // The checkpoint is a Hugging Face model folder.
    const folder = loadModelFolder(s.checkpoint!);
    expect(folder.config.vocab_size).toBe(30528);
    expect(folder.config.alibi_starting_size).toBe(512);
    expect(folder.tensors.has("bert.embeddings.word_embeddings.weight")).toBe(true);
    expect(existsSync(join(s.checkpoint!, "vocab.txt"))).toBe(true);
    expect(readFileSync(join(save, "latest"), "utf8").trim()).toBe("checkpoints/ep0-ba16");
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
