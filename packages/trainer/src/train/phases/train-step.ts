import { clipGradNorm, guardedScale } from "@mosaicbert/layers";
import type { PendingRead } from "@mosaicbert/tensor";
import type { BatchCost } from "../flops.js";
import type { PreparedBatch } from "../prefetch.js";
import { launchForwardBackward, reduceStepLoss, type StepResult } from "../step.js";
import { elapsed, VIRTUAL_STEPS, type Session } from "./session.js";

/** A step that updated the weights: its loss and cost, learning rate and gradient norm. */
export interface StepDone {
  res: StepResult;
  lr: number;
  gradNorm: number;
}

/**
 * A training step whose work is queued on the device — forward and backward in microbatches
 * (gradients averaged across ranks), the gradient norm and clipping, one AdamW step — and whose
 * numbers the host has not read yet.
 */
export interface LaunchedStep {
  /** Steps done before this one (0-based index of the step). */
  index: number;
  batch: PreparedBatch;
  lr: number;
  /** This rank's cost. */
  cost: BatchCost;
  /** Each microbatch's weight (rows / device rows), in order. */
  weights: number[];
  /** float32 [microbatches + 1]: each microbatch's mean loss, then the gradient norm — one read per step. */
  numbers: PendingRead;
  /** Run clock (ms) when the step asked for its batch. */
  startedAt: number;
}

/**
 * Launches step `index` on `batch` and returns at once. The host reads nothing: the loss and the
 * gradient norm are read later (`settleStep`), and the non-finite guard is applied on the device —
 * the step's losses and gradient norm are folded into the session's guard (0·x is NaN for a NaN or
 * ±Inf x, and the guard stays NaN from then on), the guard is added to the optimizer's gradient
 * multiplier, and the backend's adamw changes nothing when that multiplier is not finite. So a
 * non-finite loss or gradient norm leaves the weights as they were before that step, and so does
 * every step launched after it, until the host reads the numbers and stops the run.
 */
export async function launchStep(x: Session, batch: PreparedBatch, index: number, startedAt: number): Promise<LaunchedStep> {
  const { w, t, plan, run } = x;
  const { backend, cfg } = w;
  t.model.zeroGrad();
  const { losses, cost } = await launchForwardBackward(t.model, batch.rows, {
    microbatchSize: plan.M, seed: cfg.seed, step: index, rank: w.rank, comm: w.comm, bucketElements: 1 << 22,
  });
  const { norm, coefficient } = clipGradNorm(backend, [t.model.flat.grads], plan.clip?.clipping_threshold ?? null);
  const scale = guardedScale(backend, x.guard, [...losses.map((l) => l.loss), norm], coefficient);
  const at = plan.totalSteps !== null ? index : Math.min(VIRTUAL_STEPS, Math.floor(progressOf(run.progress, run.progressAt, index) * VIRTUAL_STEPS));
  const lr = cfg.optimizer.lr * plan.schedule.multiplier(at);
  t.opt.step(lr, { gradScaleTensor: scale });
  // The numbers the host reports, gathered into one tensor (exact copies) and read back with one read.
  const J = losses.length;
  const numbers = backend.empty([J + 1], "f32");
  losses.forEach((l, j) => backend.copy(l.loss, numbers.view(j, [1])));
  backend.copy(norm, numbers.view(J, [1]));
  const launched: LaunchedStep = { index, batch, lr, cost, startedAt, weights: losses.map((l) => l.weight), numbers: backend.readLater(numbers) };
  for (const l of losses) l.loss.dispose();
  for (const tensor of [norm, scale, numbers]) tensor.dispose();
  return launched;
}

/**
 * Schedule progress of a time-boxed run's step `index` from the progress `p` the ranks agreed for
 * the step `at` (≤ index; later when a step was launched before the one before it was read). The
 * agreed value projects `at`·(1 − p)/p steps still to run; each step launched since uses one of
 * them: index / (index + remaining). Computed from agreed numbers only, so every rank gets the same.
 */
export function progressOf(p: number, at: number, index: number): number {
  // No step done to project from (a fresh run's first launches): the agreed value as it is.
  if (at <= 0) return p;
  // p = 0 projects unboundedly many steps (0 stays 0); p = 1 none (1 stays 1); index ≤ at gives p.
  const remaining = Math.max(0, (at * (1 - p)) / p - (index - at));
  return Math.max(p, index / (index + remaining));
}

/**
 * Reads a launched step's loss and gradient norm (waiting for that step only) and reduces the loss
 * across ranks. A non-finite loss or gradient norm stops the run — the guard kept the weights as
 * they were before the step — and returns null, with the run's status and message set.
 */
export async function settleStep(x: Session, s: LaunchedStep): Promise<StepDone | null> {
  const { w } = x;
  const numbers = s.numbers.wait() as Float32Array;
  const values = s.weights.map((weight, j) => ({ value: numbers[j]!, weight }));
  const gradNorm = numbers[s.weights.length]!;
  const res = await reduceStepLoss(w.comm, w.backend, values, s.cost);
  if (!Number.isFinite(res.loss) || !Number.isFinite(gradNorm)) {
    stopOnNonFinite(x, s.index, res.loss, gradNorm, s.batch.epoch);
    return null;
  }
  return { res, lr: s.lr, gradNorm };
}

/**
 * A launched step that will not be recorded (the run stopped before it, or an error did): its read
 * is released. Its own failure (the device's error, already reported by then) is not raised again.
 */
export function dropStep(s: LaunchedStep): void {
  try {
    s.numbers.wait();
  } catch {
    // Released either way; the error that stopped the run is the one reported.
  }
}

function stopOnNonFinite(x: Session, index: number, loss: number, gradNorm: number, epoch: number): void {
  const { run } = x;
  const what = Number.isFinite(loss) ? "gradient norm" : "loss";
  run.status = "nan";
  run.message =
    `non-finite ${what} (${Number.isFinite(loss) ? gradNorm : loss}) at step ${index + 1}: ` +
    `stopped before the optimizer step, weights not updated; last good checkpoint: ${run.lastCheckpoint ?? "none"}. ` +
    `Lower optimizer.lr, add algorithms.gradient_clipping, or check the data at epoch ${epoch}.`;
  x.metrics?.write({ type: "run", step: index, time: elapsed(run.timing), event: "nan", loss, grad_norm: gradNorm, last_checkpoint: run.lastCheckpoint });
}
