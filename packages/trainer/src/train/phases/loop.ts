import { trainFlops } from "../flops.js";
import { deviceMemory } from "../memory.js";
import type { PreparedBatch } from "../prefetch.js";
import { allReduceHost } from "../step.js";
import { saveRun } from "./checkpoint.js";
import { runEval } from "./evaluate.js";
import { elapsed, type Session } from "./session.js";
import { trainStep, type StepDone } from "./train-step.js";

/**
 * The training loop: until the duration is reached, a non-finite loss, or a stop signal — take the
 * next prepared batch, run the step, record it, evaluate and checkpoint on schedule, and agree with
 * the other ranks whether to go on.
 */
export async function runLoop(x: Session): Promise<void> {
  const { w, plan, run } = x;
  for (;;) {
    if (plan.totalSteps !== null && run.step >= plan.totalSteps) break;
    if (plan.maxSeconds !== null && elapsed(run.timing) >= plan.maxSeconds) break;
    // The step's own wall time: from asking for its batch to its metrics line (evals and saves are overhead).
    const stepStart = w.clock();
    const batch = await x.producer.next();
    const dataWaitMs = w.clock() - stepStart;
    const done = await trainStep(x, batch);
    if (!done) break;
    recordStep(x, batch, done, stepStart, dataWaitMs);
    const overheadStart = w.clock();
    if (run.step % plan.evalEvery === 0) {
      await runEval(x);
      run.evaluatedAt = run.step;
    }
    if (w.saveFolder && run.step % plan.saveEvery === 0) {
      await saveRun(x);
      run.savedAt = run.step;
    }
    // Let the event loop run (signal handlers, I/O): the step itself only awaits settled promises.
    await new Promise<void>((r) => setImmediate(r));
    if (await agreeToStop(x, overheadStart)) {
      run.status = "interrupted";
      break;
    }
  }
}

/** Counts the step, and reports it: metrics.jsonl, the progress line, the time box. */
function recordStep(x: Session, batch: PreparedBatch, done: StepDone, stepStart: number, dataWaitMs: number): void {
  const { w, plan, run } = x;
  const { res, lr, gradNorm } = done;
  const { G, D, S, totalSteps, maxSeconds } = plan;
  run.position = batch.after;
  run.step++;
  run.samples += G;
  run.tokens += G * S;
  run.lastLoss = res.loss;
  run.losses.push(res.loss);
  const now = elapsed(run.timing);
  const rate = x.speed.add(now, run.tokens, run.samples, trainFlops(x.t.modelConfig, res.cost, D * S * w.worldSize, S, D * w.worldSize));
  const mfu = w.device.peakFlops && rate.steps > 0 ? rate.flopsPerSec / (w.device.peakFlops * w.worldSize) : null;
  const fraction = totalSteps !== null ? run.step / totalSteps : Math.min(1, now / maxSeconds!);
  const eta = totalSteps !== null ? (rate.steps > 0 ? ((totalSteps - run.step) * rate.span) / rate.steps : NaN) : maxSeconds! - now;
  const stepMs = w.clock() - stepStart;
  x.metrics?.write({
    type: "train", step: run.step, time: now, samples: run.samples, tokens: run.tokens, epoch: run.position.epoch, loss: res.loss, lr, grad_norm: gradNorm,
    tokens_per_sec: rate.tokensPerSec, samples_per_sec: rate.samplesPerSec, mfu, data_wait_ms: dataWaitMs, step_ms: stepMs,
    real_tokens: res.cost.realTokens, masked_tokens: res.cost.predicted,
    ...deviceMemory(w.backend),
  });
  w.progress.update({ step: run.step, totalSteps, fraction, loss: res.loss, lr, tokensPerSec: rate.tokensPerSec, mfu, etaSeconds: eta, epoch: run.position.epoch });
  x.timeBox?.recordStep(stepMs / 1000);
  run.hostTime.dataWaitMs += dataWaitMs;
  run.hostTime.stepMs += stepMs;
}

/**
 * Every rank must agree to stop (a signal may reach one process only); time-boxed runs also agree on
 * the schedule progress of the next step (the mean of the ranks' own measurements).
 */
async function agreeToStop(x: Session, overheadStart: number): Promise<boolean> {
  const { w, run, timeBox } = x;
  // Evaluation, checkpoint writes and this sync: time between steps, amortised over them.
  timeBox?.recordOverhead((w.clock() - overheadStart) / 1000);
  const next = timeBox ? [timeBox.progress(run.step, elapsed(run.timing))] : [];
  const syncStart = w.clock();
  const [stop, pSum] = await allReduceHost(w.comm, w.backend, [x.signals.signal ? 1 : 0, ...next]);
  if (timeBox) {
    run.progress = Math.min(1, pSum! / w.worldSize);
    timeBox.recordOverhead((w.clock() - syncStart) / 1000);
  }
  return stop! > 0;
}
