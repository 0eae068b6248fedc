import { mlmBatch, type MlmBatch } from "@mosaicbert/data-streaming";
import type { ForMaskedLM } from "@mosaicbert/layers";
import type { Backend } from "@mosaicbert/tensor";
import { firstWordId } from "../../bench/train-bench.js";
import { allReduceHost } from "../step.js";
import type { Plan, Trainee, World } from "./session.js";

/** The share of the memory available that "auto" plans to use: the rest absorbs the allocator's rounding and fragmentation. */
export const AUTO_MEMORY_SHARE = 0.85;

/** What one training pass costs in memory: a fixed part and a part per row of max_seq_len tokens. */
export interface StepMemory {
  fixedBytes: number;
  perRowBytes: number;
}

/** The divisors of d, largest first: the microbatch sizes the trainer accepts. */
export function divisorsDescending(d: number): number[] {
  const out: number[] = [];
  for (let m = d; m >= 1; m--) if (d % m === 0) out.push(m);
  return out;
}

/** The largest divisor of the device batch whose pass fits in `share` of `availableBytes`, or null when even one row does not. */
export function pickMicrobatch(deviceBatch: number, cost: StepMemory, availableBytes: number, share = AUTO_MEMORY_SHARE): number | null {
  const budget = share * availableBytes;
  return divisorsDescending(deviceBatch).find((m) => cost.fixedBytes + m * cost.perRowBytes <= budget) ?? null;
}

/**
 * `rows` full rows of S tokens with exactly ceil(p·S) of each masked, evenly spread (a real batch's count
 * scatters around p·S; the probe must not depend on a draw). Ids are ordinary words, far from the specials.
 */
export function probeBatch(rows: number, S: number, vocabSize: number, p: number): MlmBatch {
  const n = rows * S;
  const inputIds = new Int32Array(n);
  const labels = new Int32Array(n).fill(-100);
  const masked = Math.min(S, Math.ceil(p * S));
  const lo = firstWordId(vocabSize);
  for (let r = 0; r < rows; r++) {
    for (let s = 0; s < S; s++) inputIds[r * S + s] = lo + ((r * 7919 + s * 104729) % (vocabSize - lo - 1));
    for (let k = 0; k < masked; k++) {
      const i = r * S + Math.floor((k * S) / masked);
      labels[i] = inputIds[i]!;
      inputIds[i] = Math.min(103, vocabSize - 1);
    }
  }
  return mlmBatch({ inputIds, tokenTypeIds: new Int32Array(n), attentionMask: new Int32Array(n).fill(1), batchSize: rows, seqLen: S }, labels);
}

/**
 * Measures a training pass (forward and backward, recipe masking, full max_seq_len rows: the worst case of the
 * training batches) at 1 row and at `rows` rows: the backend's peak allocation above what it held before, as a
 * fixed part plus a part per row (activations are O(tokens × hidden), so the line is exact up to rounding).
 */
export function measureStepMemory(model: ForMaskedLM, S: number, mlmProbability: number, rows: number): StepMemory {
  const be: Backend = model.backend;
  const peakAbove = (m: number): number => {
    const batch = probeBatch(m, S, model.config.vocabSize, mlmProbability);
    model.zeroGrad();
    const held = be.memoryStats().allocatedBytes;
    be.resetPeak();
    const out = model.forward(batch, { training: true, seed: 0, returnLogits: false });
    model.backward();
    out.loss?.dispose();
    const peak = be.memoryStats().peakBytes - held;
    model.zeroGrad();
    return peak;
  };
  // A first pass unmeasured: whatever a first pass leaves allocated for good (workspaces, cached constants)
  // must not count as the cost of a row.
  peakAbove(1);
  const one = peakAbove(1);
  if (rows <= 1) return { fixedBytes: 0, perRowBytes: one };
  const many = peakAbove(rows);
  const perRowBytes = Math.max(0, (many - one) / (rows - 1));
  return { fixedBytes: Math.max(0, one - perRowBytes), perRowBytes };
}

const GiB = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;

/**
 * Phase 4b: `device_train_microbatch_size: auto` (what Composer users set): the largest divisor of the
 * device batch whose training pass fits the GPU, measured rather than found by running out of memory.
 * A backend without memory of its own (the CPU) takes the whole device batch. Every rank measures its own
 * GPU; they agree on the smallest answer. Gradients are the same whatever the split (sample-weighted
 * accumulation); only the dropout masks, drawn per microbatch, differ.
 */
export async function chooseMicrobatch(w: World, t: Trainee, plan: Plan): Promise<number> {
  if (w.cfg.device_train_microbatch_size !== "auto") return plan.M;
  const be = w.backend;
  const D = plan.D;
  const candidates = divisorsDescending(D);
  // null: not even one row fits this rank's GPU (every rank then stops, after the vote, not before it).
  let mine: number | null;
  if (!be.deviceMemory) {
    mine = D;
    w.say(`device_train_microbatch_size auto: ${D} (the whole device batch: no device memory to fit on ${w.device.name})`);
  } else {
    const cost = measureStepMemory(t.model, plan.S, w.cfg.train_loader.dataset.mlm_probability, Math.min(D, 4));
    const stats = be.memoryStats();
    // Free on the device, plus what this backend holds in its cache without a tensor in it.
    const available = be.deviceMemory().freeBytes + (stats.reservedBytes - stats.allocatedBytes);
    mine = pickMicrobatch(D, cost, available);
    const share = `${Math.round(AUTO_MEMORY_SHARE * 100)}%`;
    if (mine === null) {
      w.say(
        `device_train_microbatch_size auto: one row of ${plan.S} tokens needs ${GiB(cost.fixedBytes + cost.perRowBytes)} for its training pass, ` +
          `more than ${share} of the ${GiB(available)} the GPU has free: lower max_seq_len or use a smaller model`,
      );
    } else {
      w.say(`device_train_microbatch_size auto: ${mine} of ${D} (a pass needs ${GiB(cost.fixedBytes)} + ${GiB(cost.perRowBytes)} per row of ${plan.S} tokens; ${GiB(available)} available, ${share} used)`);
    }
  }
  // One vote per rank at its own size's place in the candidate list (the last place: nothing fits); the smallest
  // size any rank can run wins, so every rank takes the same one — or stops.
  const votes = [...candidates, null].map((m) => (m === mine ? 1 : 0));
  const summed = await allReduceHost(w.comm, be, votes);
  let last = 0;
  summed.forEach((v, i) => {
    if (v > 0) last = i;
  });
  be.resetPeak();
  if (last === candidates.length) {
    throw new Error(`device_train_microbatch_size auto: not even one row of ${plan.S} tokens fits the GPU${w.worldSize > 1 ? " of every process" : ""} (see the line above); lower max_seq_len or use a smaller model`);
  }
  return candidates[last]!;
}
