import { mix32 } from "@mosaicbert/tensor";

/**
 * Every random draw of a run is a pure function of the run seed and where it happens (step, sample,
 * microbatch), never of a generator's history: a resumed run, a run split into more microbatches
 * or over more processes draws exactly the same masks, and checkpoints need only the seed.
 */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = mix32((seed ^ 0x6a09e667) >>> 0);
  for (const p of parts) h = mix32((h ^ mix32((p >>> 0) + 0x9e3779b9)) >>> 0);
  return h;
}

/** Streams of derived seeds, so two uses never collide. */
export const SeedStream = {
  trainMask: 1,
  dropout: 2,
  evalMask: 3,
} as const;
