import { clipGradNorm } from "@mosaicbert/layers";
import type { PreparedBatch } from "../prefetch.js";
import { forwardBackward, type StepResult } from "../step.js";
import { elapsed, VIRTUAL_STEPS, type Session } from "./session.js";

/** A step that updated the weights: its loss and cost, learning rate and gradient norm. */
export interface StepDone {
  res: StepResult;
  lr: number;
  gradNorm: number;
}

/**
 * The training step: forward and backward of this rank's batch in microbatches (gradients averaged
 * across ranks), the scheduled learning rate, the gradient norm (and clipping), one AdamW step. A
 * non-finite loss or gradient norm stops the run before the weights change: returns null, with the
 * run's status and message set.
 */
export async function trainStep(x: Session, batch: PreparedBatch): Promise<StepDone | null> {
  const { w, t, plan, run } = x;
  const { backend, cfg } = w;
  const grads = t.model.flat.grads;
  t.model.zeroGrad();
  // The gradient norm (and clip coefficient) is launched by forwardBackward once the gradients are final.
  let clip: ReturnType<typeof clipGradNorm> | undefined;
  const res = await forwardBackward(t.model, batch.rows, {
    microbatchSize: plan.M, seed: cfg.seed, step: run.step, rank: w.rank, comm: w.comm, bucketElements: 1 << 22,
    afterBackward: () => { clip = clipGradNorm(backend, [grads], plan.clip?.clipping_threshold ?? null); },
  });
  if (clip === undefined) throw new Error("trainStep: forwardBackward returned without launching the gradient norm");
  const at = plan.totalSteps !== null ? run.step : Math.min(VIRTUAL_STEPS, Math.floor(run.progress * VIRTUAL_STEPS));
  const lr = cfg.optimizer.lr * plan.schedule.multiplier(at);
  const { norm, coefficient: coef } = clip;
  const gradNorm = norm.item();
  norm.dispose();
  if (!Number.isFinite(res.loss) || !Number.isFinite(gradNorm)) {
    coef?.dispose();
    stopOnNonFinite(x, res.loss, gradNorm, batch.epoch);
    return null;
  }
  t.opt.step(lr, { gradScaleTensor: coef });
  coef?.dispose();
  return { res, lr, gradNorm };
}

function stopOnNonFinite(x: Session, loss: number, gradNorm: number, epoch: number): void {
  const { run } = x;
  const what = Number.isFinite(loss) ? "gradient norm" : "loss";
  run.status = "nan";
  run.message =
    `non-finite ${what} (${Number.isFinite(loss) ? gradNorm : loss}) at step ${run.step + 1}: ` +
    `stopped before the optimizer step, weights not updated; last good checkpoint: ${run.lastCheckpoint ?? "none"}. ` +
    `Lower optimizer.lr, add algorithms.gradient_clipping, or check the data at epoch ${epoch}.`;
  x.metrics?.write({ type: "run", step: run.step, time: elapsed(run.timing), event: "nan", loss, grad_norm: gradNorm, last_checkpoint: run.lastCheckpoint });
}
