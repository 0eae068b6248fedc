import { fmtCount, fmtDuration } from "../../log/format.js";
import type { EvalResult } from "../step.js";
import type { BatchProducer } from "../prefetch.js";
import { saveRun } from "./checkpoint.js";
import { runEval } from "./evaluate.js";
import { elapsed, type PretrainSummary, type Session, type Trainee, type World } from "./session.js";

/** After the loop (not after a non-finite loss): a last evaluation and checkpoint, and the closing message. */
export async function finishRun(x: Session): Promise<void> {
  const { w, run } = x;
  if (run.status === "nan") return;
  if (run.status === "completed" && run.evaluatedAt !== run.step && run.step > run.firstStep) await runEval(x);
  if (w.saveFolder && run.savedAt !== run.step) await saveRun(x);
  const sig = x.signals.signal;
  run.message =
    run.status === "interrupted"
      ? `${sig ?? "stop"}: stopped at step ${run.step}${run.lastCheckpoint ? `; checkpoint ${run.lastCheckpoint} (continue with --resume auto)` : " (no save folder: nothing saved)"}`
      : `done: ${run.step} steps, ${fmtCount(run.samples)} samples, ${fmtCount(run.tokens)} tokens in ${fmtDuration(elapsed(run.timing))}`;
}

/** Always, even after an error: signal handlers off, producer stopped, metrics closed, device memory freed. */
export async function closeRun(x: Session): Promise<void> {
  const { w, run } = x;
  x.signals.uninstall();
  await x.producer.close();
  w.progress.done();
  x.metrics?.write({ type: "run", step: run.step, time: elapsed(run.timing), event: run.status === "nan" ? "stop" : run.status === "interrupted" ? "stop" : "end", status: run.status });
  x.metrics?.close();
  x.guard.dispose();
  x.t.opt.dispose();
  x.t.model.dispose();
  if (w.ownsComm) await w.comm.close();
}

/**
 * Setup failed before the run started: stop the data workers and free the model if they exist, and close the
 * communicator (peers see the close).
 */
export async function abandonSetUp(w: World, t: Trainee | undefined, producer?: BatchProducer): Promise<void> {
  w.progress.done();
  await producer?.close();
  t?.opt.dispose();
  t?.model.dispose();
  if (w.ownsComm) await w.comm.close();
}

/** The run's summary (what pretrain() returns), and its closing lines on the lead rank. */
export function summarize(x: Session): PretrainSummary {
  const { w, run } = x;
  const summary: PretrainSummary = {
    status: run.status,
    steps: run.step,
    samples: run.samples,
    tokens: run.tokens,
    losses: run.losses,
    firstStep: run.firstStep,
    lastEval: run.lastEval,
    checkpoint: run.lastCheckpoint,
    saveFolder: w.saveFolder,
    elapsedSeconds: elapsed(run.timing),
    device: w.device.name,
    exitCode: run.status === "completed" ? 0 : run.status === "nan" ? 3 : 128 + x.signals.number,
    message: run.message,
  };
  if (w.lead) w.progress.log(closingLines(x).filter(Boolean).join("\n"));
  return summary;
}

function closingLines(x: Session): string[] {
  const { w, run } = x;
  const { status, losses, firstStep, step, hostTime } = run;
  const first = losses[0];
  const last = losses.at(-1);
  const ev = run.lastEval as EvalResult | null;
  return [
    `${status === "nan" ? "STOPPED" : status === "interrupted" ? "interrupted" : "finished"}: ${run.message}`,
    first !== undefined && last !== undefined ? `  train loss ${first.toFixed(4)} (step ${firstStep + 1}) → ${last.toFixed(4)} (step ${step})` : "",
    ev ? `  eval loss ${ev.loss.toFixed(4)}, mlm_accuracy ${(100 * ev.accuracy).toFixed(2)}%` : "",
    // Waiting for batches over 10% of the step time: the data workers do not keep up with the device.
    // (Without workers on the CPU, preparing batches on this thread is by design: the backend has the cores.)
    hostTime.dataWaitMs > 0.1 * hostTime.stepMs && step > firstStep && (x.producer.workerCount > 0 || w.device.kind === "cuda")
      ? `  input-bound: ${((100 * hostTime.dataWaitMs) / hostTime.stepMs).toFixed(0)}% of step time waiting for batches (mean ${(hostTime.dataWaitMs / (step - firstStep)).toFixed(1)} ms/step); raise MOSAICBERT_DATA_WORKERS`
      : "",
    run.lastCheckpoint ? `  checkpoint: ${run.lastCheckpoint} (config.json + model.safetensors; \`mosaicbert infer --model ${run.lastCheckpoint}\`)` : "",
    x.metrics ? `  metrics: ${x.metrics.file}` : "",
  ];
}
