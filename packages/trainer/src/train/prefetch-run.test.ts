import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanup, quiet, SMALL, tmp, trainLosses } from "../testing/pretrain-fixtures.js";
import { pretrain } from "./pretrain.js";

afterAll(cleanup);

const loaderAt = (folder: string, step: number) =>
  JSON.parse(readFileSync(join(folder, "checkpoints", `ep0-ba${step}`, "trainer_state.json"), "utf8")).loader;

describe("pretrain with the batch producer's worker threads (tiny model, CPU)", () => {
  // A constant LR, so a 3-step run followed by a resume to 6 follows the 6-step run's schedule.
  it("trains on the same batches as tokenizing inline, and checkpoints the trained position (not the read-ahead), so resume is exact", async () => {
    const base = { config: "tiny-cpu", overrides: [...SMALL, "save_interval=3ba", "scheduler.name=constant_with_warmup", "scheduler.t_warmup=0ba"], device: "cpu" as const, handleSignals: false, stderr: quiet };
    const inline = tmp();
    const a = await pretrain({ ...base, maxDuration: "6ba", saveFolder: inline, dataWorkers: 0 });
    const threaded = tmp();
    const b1 = await pretrain({ ...base, maxDuration: "3ba", saveFolder: threaded, dataWorkers: 1 });
    expect(b1.status).toBe("completed");
    // Three batches of 4 trained: the loader position says 12 samples although the producer had read further.
    expect(loaderAt(threaded, 3)).toEqual(loaderAt(inline, 3));
    expect(loaderAt(threaded, 3).samplesInEpoch).toBe(12);
    const b2 = await pretrain({ ...base, maxDuration: "6ba", saveFolder: threaded, resume: "auto", dataWorkers: 1 });
    expect(b2.firstStep).toBe(3);
    expect([...b1.losses, ...b2.losses]).toEqual(a.losses);
    expect(trainLosses(threaded)).toEqual(trainLosses(inline));
    expect(loaderAt(threaded, 6)).toEqual(loaderAt(inline, 6));
  });
});
