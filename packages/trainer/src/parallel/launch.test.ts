import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { readMetrics } from "../log/metrics.js";
import { cleanup, quiet, SMALL, tmp, trainLosses } from "../testing/pretrain-fixtures.js";
import { pretrain } from "../train/pretrain.js";
import { launch } from "./launch.js";

afterAll(cleanup);

const here = fileURLToPath(new URL(".", import.meta.url));

describe("data-parallel pretraining over 2 CPU processes", () => {
  it("launch() starts 2 ranks (RANK/WORLD_SIZE/MASTER_PORT) whose averaged steps match the 1-process run", async () => {
    const opts = { config: "tiny-cpu", overrides: [...SMALL, "device_train_microbatch_size=1", "save_interval=1000ba", "eval_interval=3ba"], maxDuration: "3ba", device: "cpu" as const };
    const single = tmp();
    const ref = await pretrain({ ...opts, saveFolder: single, handleSignals: false, stderr: quiet });
    const multi = tmp();
    const code = await launch({
      nprocs: 2,
      execArgv: ["--import", join(here, "../from-source/register-ts.mjs")],
      args: [join(here, "../testing/run-pretrain.ts"), JSON.stringify({ ...opts, saveFolder: multi, stderr: undefined })],
    });
    expect(code).toBe(0);
    const a = trainLosses(single);
    const b = trainLosses(multi);
    expect(b.map(([s]) => s)).toEqual([1, 2, 3]);
    // StreamingDataset puts the same samples in each global batch for 1 or 2 processes, masks follow
    // the sample, dropout follows the global microbatch index, and with 1-row microbatches both
    // weight every sample 1/4: equal up to summation order (dropout active).
    b.forEach(([, l], i) => expect(l).toBeCloseTo(a[i]![1], 4));
    const start = readMetrics(join(multi, "metrics.jsonl")).find((r) => r.type === "run" && r.event === "start") as unknown as { world_size: number };
    expect(start.world_size).toBe(2);
    // Evaluation sums over both ranks' halves of the eval set: same token count as one process.
    const evalOf = (d: string) => readMetrics(join(d, "metrics.jsonl")).find((r) => r.type === "eval") as { eval_tokens: number; loss: number };
    expect(evalOf(multi).eval_tokens).toBe(evalOf(single).eval_tokens);
    expect(evalOf(multi).loss).toBeCloseTo(evalOf(single).loss, 4);
    expect(ref.status).toBe("completed");
  });
});

describe("launch() exit status", () => {
  it("a rank killed by a signal makes the launcher exit 128 + that signal's number", async () => {
    const code = await launch({ nprocs: 2, execArgv: [], args: ["-e", "if (process.env.RANK === '1') process.kill(process.pid, 'SIGHUP'); else setTimeout(() => {}, 20000)"] });
    expect(code).toBe(129);
  }, 15_000);
});
