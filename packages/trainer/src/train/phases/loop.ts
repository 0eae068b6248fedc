import { trainFlops } from "../flops.js";
import { deviceMemory } from "../memory.js";
import { allReduceHost } from "../step.js";
import { saveRun } from "./checkpoint.js";
import { runEval } from "./evaluate.js";
import { beginProfile, endProfile } from "./profile-step.js";
import { elapsed, type Session } from "./session.js";
import { dropStep, launchStep, settleStep, type LaunchedStep, type StepDone } from "./train-step.js";

/**
 * The training loop: until the duration is reached, a non-finite loss, or a stop signal — take the
 * next prepared batch, launch the step, record it, evaluate and checkpoint on schedule, and agree
 * with the other ranks whether to go on.
 *
 * With `overlapSteps` (the default) the host launches step n+1 before it reads step n's loss and
 * gradient norm, so the device goes from one step to the next without waiting for the host (a read
 * right after a step would leave the device idle while the host records it and launches the next).
 * Steps after which the run evaluates, saves or ends are read before the next launch, so what they
 * see is the same either way.
 */
export async function runLoop(x: Session): Promise<void> {
  const { w, plan, run } = x;
  const pace: Pace = { lastDone: -Infinity, dataWaitMs: 0 };
  // Every rank must take the same path (their collectives pair up in order): overlap only if all do.
  if (w.worldSize > 1) x.overlap = (await allReduceHost(w.comm, w.backend, [x.overlap ? 1 : 0]))[0] === w.worldSize;
  let inFlight: LaunchedStep | null = null;
  // A step launched this iteration and not yet handed on (its read is released after an error).
  let fresh: LaunchedStep | null = null;
  try {
    for (;;) {
      const index = run.step + (inFlight ? 1 : 0);
      if (plan.totalSteps !== null && index >= plan.totalSteps) break;
      // Several processes stop on the agreed flag: each rank's own clock could stop them at different steps.
      if (plan.maxSeconds !== null && (w.worldSize > 1 ? run.timeUp : elapsed(run.timing) >= plan.maxSeconds)) break;
      const startedAt = w.clock();
      const batch = await x.producer.next();
      pace.dataWaitMs += w.clock() - startedAt;
      const profiling = beginProfile(x, index);
      fresh = await launchStep(x, batch, index, startedAt);
      if (profiling) endProfile(x, index);
      if (inFlight) {
        const previous: LaunchedStep = inFlight;
        inFlight = null;
        // `fresh` is in flight while `previous` is read: the time box projects one step further.
        if (!(await completeStep(x, previous, pace, 1))) {
          const last: LaunchedStep = fresh;
          fresh = null;
          await afterStop(x, last, pace);
          return;
        }
      }
      const current: LaunchedStep = fresh;
      fresh = null;
      if (x.overlap && !endsAtBoundary(x, index)) inFlight = current;
      else if (!(await completeStep(x, current, pace, 0))) return;
    }
    // A time-boxed run's last step may still be in flight.
    if (inFlight) {
      const last: LaunchedStep = inFlight;
      inFlight = null;
      await completeStep(x, last, pace, 0);
    }
  } finally {
    // After an error: the launched steps not read are released.
    for (const s of [inFlight, fresh]) if (s) dropStep(s);
  }
}

/** When the last step was recorded (run clock, ms), and how long the loop waited for batches since. */
interface Pace {
  lastDone: number;
  dataWaitMs: number;
}

/** Whether the run evaluates, saves or ends after step `index`: then it is read before the next launch. */
function endsAtBoundary(x: Session, index: number): boolean {
  const { plan, w } = x;
  const n = index + 1;
  return (plan.totalSteps !== null && n >= plan.totalSteps) || n % plan.evalEvery === 0 || (w.saveFolder !== null && n % plan.saveEvery === 0);
}

/**
 * Reads a launched step and records it; evaluates and checkpoints when due; agrees with the other
 * ranks whether to go on. False when the run stops (a non-finite step, or a stop signal).
 */
async function completeStep(x: Session, s: LaunchedStep, pace: Pace, ahead: 0 | 1): Promise<boolean> {
  const { w, plan, run } = x;
  const done = await settleStep(x, s);
  if (!done) return false;
  recordStep(x, s, done, pace);
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
  const stop = await agreeToStop(x, overheadStart, ahead);
  pace.lastDone = w.clock();
  if (stop) run.status = "interrupted";
  return !stop;
}

/**
 * The run stopped after the step before `launched`. After a stop signal `launched` still trained
 * (its weights changed): it is read and recorded, and the finish saves after it. After a non-finite
 * step the device guard skipped its update: it is dropped.
 */
async function afterStop(x: Session, launched: LaunchedStep, pace: Pace): Promise<void> {
  if (x.run.status === "nan") {
    dropStep(launched);
    return;
  }
  const done = await settleStep(x, launched);
  if (done) recordStep(x, launched, done, pace);
}

/**
 * Counts the step, and reports it: metrics.jsonl, the progress line, the time box. Its step_ms runs
 * from asking for its batch — or, when it was launched while the step before was still running, from
 * that step's record — to now (evaluations and saves are not in it); its data_wait_ms is the time
 * spent waiting for batches within that span.
 */
function recordStep(x: Session, s: LaunchedStep, done: StepDone, pace: Pace): void {
  const { w, plan, run } = x;
  const { res, lr, gradNorm } = done;
  const { G, D, S, totalSteps, maxSeconds } = plan;
  run.position = s.batch.after;
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
  const stepMs = w.clock() - Math.max(s.startedAt, pace.lastDone);
  const dataWaitMs = pace.dataWaitMs;
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
  pace.dataWaitMs = 0;
}

/**
 * Every rank must agree to stop (a signal may reach one process only); time-boxed runs also agree on
 * the schedule progress of the next step to launch (the mean of the ranks' own measurements), which
 * has `run.step + ahead` steps before it (`ahead`: the steps launched and not yet recorded), and on
 * whether the time is up (on any rank's clock).
 */
async function agreeToStop(x: Session, overheadStart: number, ahead: 0 | 1): Promise<boolean> {
  const { w, run, timeBox, plan } = x;
  // Evaluation, checkpoint writes and this sync: time between steps, amortised over them.
  timeBox?.recordOverhead((w.clock() - overheadStart) / 1000);
  const now = elapsed(run.timing);
  const next = timeBox ? [plan.maxSeconds !== null && now >= plan.maxSeconds ? 1 : 0, timeBox.progress(run.step + ahead, now)] : [];
  const syncStart = w.clock();
  const [stop, timeUp, pSum] = await allReduceHost(w.comm, w.backend, [x.signals.signal ? 1 : 0, ...next]);
  if (timeBox) {
    run.timeUp = timeUp! > 0;
    run.progress = Math.min(1, pSum! / w.worldSize);
    run.progressAt = run.step + ahead;
    timeBox.recordOverhead((w.clock() - syncStart) / 1000);
  }
  return stop! > 0;
}
