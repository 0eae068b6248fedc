import { describe, expect, it } from "vitest";
import { plannedSteps, plannedWarmup } from "./finetune.js";
import { TASKS } from "./tasks.js";

// Composer 0.14's `t_warmup: 0.06dur` of an epoch-long run is int(0.06 * dataloader_len * epochs), multiplied left
// to right in float64; these values were computed that way in Python from the GLUE train sizes (the files in
// ../shared/data/glue for CoLA, SST-2, MRPC, STS-B and RTE; GLUE's published sizes for MNLI, QNLI and QQP).
const COMPOSER: Record<string, [examples: number, warmup: number]> = {
  cola: [8551, 160], sst2: [67349, 757], mrpc: [3668, 69], stsb: [5749, 107],
  rte: [2490, 28], mnli: [392702, 1472], qnli: [104743, 3928], qqp: [363846, 6822],
};

describe("plannedWarmup", () => {
  it("counts warmup steps as Composer does for every task's recipe (STS-B 107, not floor(0.06 · 1800) = 108)", () => {
    for (const [task, [n, want]] of Object.entries(COMPOSER)) {
      expect(plannedWarmup(n, TASKS[task as keyof typeof TASKS].hparams), task).toBe(want);
    }
  });

  it("takes the fraction of the planned steps when maxSteps cuts the run", () => {
    const h = { ...TASKS.stsb.hparams, maxSteps: 50 };
    expect(plannedSteps(5749, h)).toBe(50);
    expect(plannedWarmup(5749, h)).toBe(3);
    expect(plannedWarmup(5749, { ...h, warmupFraction: 0 })).toBe(0);
    expect(plannedWarmup(5749, { ...h, maxSteps: undefined, warmupFraction: 1 })).toBe(1800);
  });
});
