import { claimRun } from "../../checkpoint/run-folder.js";
import { fmtCount } from "../../log/format.js";
import { MetricsWriter } from "../../log/metrics.js";
import { TimeBoxProgress } from "../time-box.js";
import type { StartPoint } from "./checkpoint.js";
import type { BatchProducer } from "../prefetch.js";
import { elapsed, type Data, type Plan, type RunState, type Session, type Trainee, type World } from "./session.js";
import { SpeedWindow } from "./speed.js";
import { StopSignals } from "./signals.js";

/**
 * Phase 6: the run's counters from its start point, metrics.jsonl, the opening line and the signal handlers,
 * with the batch producer started during setup: everything the loop needs.
 */
export function startRun(
  w: World, data: Data, t: Trainee, plan: Plan, from: StartPoint, o: { resume?: string; handleSignals?: boolean; overlapSteps?: boolean }, producer: BatchProducer,
): Session {
  const { cfg } = w;
  const run: RunState = {
    step: from.step, samples: from.samples, tokens: from.tokens, position: data.loader.state(),
    timing: { clock: w.clock, start: from.clockStart, offset: from.elapsedSeconds },
    firstStep: from.step, resumedFrom: from.resumedFrom, losses: [], lastLoss: null, lastEval: null, lastCheckpoint: from.resumedFrom,
    savedAt: from.resumedFrom ? from.step : -1, evaluatedAt: -1, progress: 0, progressAt: from.step, timeUp: false, status: "completed", message: "",
    hostTime: { dataWaitMs: 0, stepMs: 0 }, runId: undefined,
  };
  // Records past the resumed step were written by a run killed before its next checkpoint landed; with
  // --resume but no checkpoint yet, that is everything after step 0 (else those steps appear twice).
  const truncate = from.resumedFrom ? { truncateAfterStep: from.step } : o.resume ? { truncateAfterStep: 0 } : {};
  const resumed = from.resumedFrom ? { dir: from.resumedFrom, runId: from.resumedRunId } : undefined;
  run.runId = w.lead && w.saveFolder ? claimRun(w.saveFolder, { runName: cfg.run_name, resumed }) : undefined;
  const metrics = w.lead && w.saveFolder ? new MetricsWriter(w.saveFolder, truncate) : null;
  // A fresh measurement per process (its first step is warm-up again); the saved progress is its floor.
  const timeBox = plan.totalSteps === null ? new TimeBoxProgress(plan.maxSeconds!, { floor: from.resumedProgress ?? 0 }) : null;
  announce(w, t, plan, run, metrics);
  const signals = new StopSignals(w.say, o.handleSignals ?? true);
  const speed = new SpeedWindow(cfg.callbacks.speed_monitor?.window_size ?? 50);
  // Schedule progress of the first step (time-boxed runs); later ones are agreed between the ranks.
  run.progress = timeBox?.progress(run.step, elapsed(run.timing)) ?? 0;
  const guard = w.backend.zeros([1], "f32");
  const overlap = o.overlapSteps ?? process.env.MOSAICBERT_OVERLAP_STEPS !== "0";
  return { w, data, t, plan, run, producer, metrics, timeBox, signals, speed, guard, overlap };
}

/** The opening line (model, device, sizes, precision, recipe) and the run record of metrics.jsonl. */
function announce(w: World, t: Trainee, plan: Plan, run: RunState, metrics: MetricsWriter | null): void {
  const { cfg, worldSize } = w;
  const { G, D, M, S, totalSteps } = plan;
  const stepsLabel = totalSteps !== null ? `${totalSteps} steps` : `${cfg.max_duration} of training`;
  w.say(
    `pretrain ${cfg.run_name}: ${t.modelConfig.arch} ${fmtCount(t.model.numParameters())} parameters on ${w.device.name}${worldSize > 1 ? ` × ${worldSize} processes (${w.comm.kind})` : ""}, ` +
      `${stepsLabel} of ${G} × ${S} (microbatch ${M}, ${D / M} per step${worldSize > 1 ? " per process" : ""}), ${w.bf16 ? "bf16" : "fp32"}, recipe ${w.recipeFile}` +
      (run.resumedFrom ? `; resumed at step ${run.step} from ${run.resumedFrom}` : ""),
  );
  metrics?.write({
    type: "run", step: run.step, time: elapsed(run.timing), event: run.resumedFrom ? "resume" : "start",
    run_name: cfg.run_name, recipe: cfg, device: w.device.name, world_size: worldSize, parameters: t.model.numParameters(),
  });
}
