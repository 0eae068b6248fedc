import { makeSchedule } from "@mosaicbert/layers";
import { durationSeconds, durationToSteps, parseDuration } from "../../config/duration.js";
import { VIRTUAL_STEPS, type Plan, type World } from "./session.js";

/** Phase 4: batch sizes, the run's length, the learning-rate schedule, and how often to evaluate and save. */
export function planRun(w: World, samplesPerEpoch: number): Plan {
  const { cfg } = w;
  const G = cfg.global_train_batch_size;
  const S = cfg.train_loader.dataset.max_seq_len;
  const ctx = { globalBatchSize: G, tokensPerSample: S, samplesPerEpoch };
  const maxDur = parseDuration(cfg.max_duration, "max_duration");
  const maxSeconds = durationSeconds(maxDur);
  const totalSteps = durationToSteps(maxDur, ctx, "max_duration");
  // Time-boxed runs evaluate the schedule on 10⁶ virtual steps at the projected share of the run's
  // steps done (time-box.ts) — not of its wall clock, which warm-up, evals and saves would skew.
  const schedSteps = totalSteps ?? VIRTUAL_STEPS;
  const warm = parseDuration(cfg.scheduler.t_warmup, "scheduler.t_warmup");
  const warmupSteps = Math.min(schedSteps, durationToSteps(warm, { ...ctx, totalSteps: schedSteps }, "scheduler.t_warmup") ?? 0);
  const schedule = makeSchedule(
    cfg.scheduler.name === "constant_with_warmup"
      ? { kind: "constant_with_warmup", warmupSteps }
      : { kind: cfg.scheduler.name, warmupSteps, alphaF: cfg.scheduler.alpha_f },
    schedSteps,
  );
  const everySteps = (d: string, what: string) => Math.max(1, durationToSteps(parseDuration(d, what), ctx, what) ?? 1);
  return {
    // "auto" is measured once the model exists (phases/microbatch.ts); until then, the whole device batch.
    G, D: G / w.worldSize, M: cfg.device_train_microbatch_size === "auto" ? G / w.worldSize : cfg.device_train_microbatch_size, S, totalSteps, maxSeconds, schedule,
    evalEvery: everySteps(cfg.eval_interval, "eval_interval"),
    saveEvery: everySteps(cfg.save_interval, "save_interval"),
    clip: cfg.algorithms.gradient_clipping ?? null,
  };
}
