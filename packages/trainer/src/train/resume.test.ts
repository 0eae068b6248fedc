import { afterAll, describe, expect, it } from "vitest";
import { listCheckpoints } from "../checkpoint/checkpoint.js";
import { child, cleanup, latestStep, quiet, SMALL, tmp, trainLosses } from "../testing/pretrain-fixtures.js";
import { pretrain } from "./pretrain.js";

afterAll(cleanup);

describe("exact resume (tiny model, CPU, real child processes)", () => {
  it("resumes bit-identically after SIGTERM and after kill -9 (same per-step losses as an uninterrupted run)", async () => {
    const N = 5;
    const base = { config: "tiny-cpu", overrides: [...SMALL, "save_interval=1ba", "save_num_checkpoints_to_keep=2"], maxDuration: `${N}ba`, device: "cpu" as const };
    const ref = tmp();
    // The reference run saves only at its end.
    const a = await pretrain({ ...base, overrides: [...base.overrides, "save_interval=1000ba"], saveFolder: ref, handleSignals: false, stderr: quiet });
    expect(a.losses).toHaveLength(N);

    const run = tmp();
    // 1. SIGTERM once step 1 is checkpointed: the run finishes its step, checkpoints and exits 128 + 15.
    const t = await child({ ...base, saveFolder: run }, () => latestStep(run) >= 1, "SIGTERM");
    expect(t.code, t.stderr).toBe(143);
    const afterTerm = latestStep(run);
    expect(afterTerm).toBeGreaterThanOrEqual(1);
    expect(trainLosses(run).at(-1)![0]).toBe(afterTerm);
    // 2. Resume in a new process and kill -9 it once it has checkpointed one more step.
    const k = await child({ ...base, saveFolder: run, resume: "auto" }, () => latestStep(run) >= afterTerm + 1, "SIGKILL");
    expect(k.signal).toBe("SIGKILL");
    const afterKill = latestStep(run);
    expect(afterKill).toBeGreaterThan(afterTerm);
    // 3. Resume to the end here.
    const c = await pretrain({ ...base, saveFolder: run, resume: "auto", handleSignals: false, stderr: quiet });
    expect(c.status).toBe("completed");
    expect(c.firstStep).toBe(afterKill);
    expect(trainLosses(run)).toEqual(trainLosses(ref));
    expect(trainLosses(run).map(([, l]) => l)).toEqual(a.losses);
    // Only the newest 2 checkpoints are kept.
    expect(listCheckpoints(run).map((x) => x.step)).toEqual([N - 1, N]);
  });

});
