import * as path from "node:path";
import { createModel, DecoupledAdamW, makeSchedule, toHfConfig, type ForMaskedLM, type Schedule } from "@mosaicbert/layers";
import type { TensorInput } from "@mosaicbert/hub";
import { loadRecipe } from "../config/load.js";
import type { PretrainConfig } from "../config/pretrain-schema.js";
import { durationSeconds, durationToSteps, parseDuration } from "../config/duration.js";
import { checkpointName, findLatest, loadCheckpoint, saveCheckpoint, type TrainerState } from "../checkpoint/checkpoint.js";
import { checkSaveFolder, removeStaleTemps } from "../checkpoint/save-folder.js";
import { claimRun, refuseUsedSaveFolder } from "../checkpoint/run-folder.js";
import { MetricsWriter } from "../log/metrics.js";
import { Progress } from "../log/progress.js";
import { fmtCount, fmtDuration } from "../log/format.js";
import type { Communicator } from "../parallel/communicator.js";
import { cacheFolderFor, evalTexts, TrainTextLoader } from "../data/loader.js";
import { tokenizeAndMask, sampleSeeds, type MlmRows } from "./batches.js";
import { BatchProducer, dataWorkers } from "./prefetch.js";
import { resolveDevice, type Device } from "../device.js";
import { trainFlops } from "./flops.js";
import { modelConfigOf } from "./model-config.js";
import { SeedStream } from "./seeds.js";
import { TimeBoxProgress } from "./time-box.js";
import { deviceMemory } from "./memory.js";
import { allReduceHost, evaluate, forwardBackward, type EvalResult } from "./step.js";
import { loadTokenizer } from "./tokenizer.js";
import { connectWorld, worldFromEnv } from "./world.js";

export interface PretrainOptions {
  /** Recipe name (packages/trainer/recipes) or path to a yaml. Default "tiny-cpu". */
  config?: string;
  /** `key=value` overrides (dotted keys), applied after the recipe and before the options below. */
  overrides?: readonly string[];
  /** Data folder holding the train/ and val/ MDS splits (sets data_local). */
  data?: string;
  /** auto, cpu, cuda or cuda:N. */
  device?: string;
  /** e.g. "2000ba", "286720000sp", "10min". */
  maxDuration?: string;
  saveFolder?: string;
  /** "auto": continue from the newest checkpoint of the save folder, if any; or a checkpoint folder. */
  resume?: string;
  /** Inject a communicator (tests); by default one is made from RANK/WORLD_SIZE/MASTER_*. */
  comm?: Communicator;
  /** Where progress and messages go. Default process.stderr. */
  stderr?: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean; columns?: number };
  /** Install SIGINT/SIGTERM handlers that checkpoint before exiting. Default true. */
  handleSignals?: boolean;
  /**
   * Worker threads that tokenize and mask training batches ahead of the step (0: on the training
   * thread). Default MOSAICBERT_DATA_WORKERS, else 2 on CUDA (cores − 1 at most) and 0 on the CPU,
   * where the backend's own threads already use every core.
   */
  dataWorkers?: number;
  /**
   * The clock every duration of the run is measured with, in milliseconds (default performance.now):
   * time-boxed durations, the schedule's projected steps, step times. Tests pass a simulated one.
   */
  clock?: () => number;
}

export type RunStatus = "completed" | "interrupted" | "nan";

export interface PretrainSummary {
  status: RunStatus;
  /** Optimizer steps done (including those before a resume). */
  steps: number;
  samples: number;
  tokens: number;
  /** Training loss of each step run by this call, in order (step numbers from `firstStep`). */
  losses: number[];
  firstStep: number;
  lastEval: EvalResult | null;
  /** Newest checkpoint folder (null without a save folder). */
  checkpoint: string | null;
  saveFolder: string | null;
  elapsedSeconds: number;
  device: string;
  /** The exit code the CLI should use: 0, 128 + signal number, or 3 for a non-finite loss. */
  exitCode: number;
  message: string;
}

interface Timing {
  start: number;
  offset: number;
}

const elapsedBy = (now: () => number) => (t: Timing): number => t.offset + (now() - t.start) / 1000;

/** Applies the CLI's shortcut options on top of the overrides, as `--set` keys. */
function overridesOf(o: PretrainOptions): string[] {
  const out = [...(o.overrides ?? [])];
  if (o.data !== undefined) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(o.data)) {
      // A remote dataset (s3://, gs://, hf://, http(s)://, file://): shards are downloaded into a local cache folder.
      out.push(`data_remote=${o.data}`, `data_local=${cacheFolderFor(o.data)}`);
    } else out.push(`data_local=${path.resolve(o.data)}`);
  }
  if (o.device !== undefined) out.push(`device=${o.device}`);
  if (o.maxDuration !== undefined) out.push(`max_duration=${o.maxDuration}`);
  if (o.saveFolder !== undefined) out.push(`save_folder=${o.saveFolder}`);
  return out;
}

/**
 * Pretrains a masked-LM model as the recipe says: microbatched gradient accumulation, decoupled
 * AdamW with the LR schedule, periodic evaluation at a fixed 15% masking, atomic checkpoints,
 * exact resume, data parallelism across processes. See the package README.
 */
export async function pretrain(o: PretrainOptions = {}): Promise<PretrainSummary> {
  const clock = o.clock ?? (() => performance.now());
  const elapsed = elapsedBy(clock);
  const world = worldFromEnv();
  const worldSize = o.comm?.worldSize ?? world.worldSize;
  const rank = o.comm?.rank ?? world.rank;
  const { config: cfg, file: recipeFile } = loadRecipe(o.config ?? "tiny-cpu", { overrides: overridesOf(o), worldSize });
  // Before anything is created: a save folder under /proc would hang Node 20's recursive mkdir.
  if (cfg.save_folder) checkSaveFolder(cfg.save_folder);
  // One run per save folder: a fresh run does not mix its checkpoints and metrics with an old run's.
  if (cfg.save_folder && !o.resume && rank === 0) refuseUsedSaveFolder(cfg.save_folder);
  const stderr = o.stderr ?? process.stderr;
  const lead = rank === 0;
  const progress = new Progress(stderr, { bar: cfg.progress_bar, interval: durationToSteps(parseDuration(cfg.console_log_interval), { globalBatchSize: 1, tokensPerSample: 1 }) ?? 1, enabled: lead && cfg.log_to_console });
  const say = (msg: string) => {
    if (lead) progress.log(msg);
  };

  const device: Device = await resolveDevice(cfg.device, { localRank: world.localRank, note: say });
  const backend = device.backend;
  const comm = o.comm ?? (await connectWorld({ ...world, worldSize, rank }, backend));
  const bf16 = cfg.precision === "amp_bf16" && device.kind === "cuda";
  if (cfg.precision === "amp_bf16" && !bf16) say("precision amp_bf16 is the CUDA path; the CPU trains in fp32");

  const modelConfig = modelConfigOf(cfg);
  const { tokenizer, files: tokenizerFiles } = loadTokenizer(cfg.tokenizer_name);
  if (tokenizer.vocabSize > modelConfig.vocabSize) {
    throw new Error(`recipe: the tokenizer has ${tokenizer.vocabSize} ids but the model's vocab_size is ${modelConfig.vocabSize}`);
  }
  const model: ForMaskedLM = createModel(modelConfig, "mlm", backend, { seed: cfg.seed, computeDtype: bf16 ? "bf16" : "f32" });

  // ---- data ----------------------------------------------------------------------------------
  const G = cfg.global_train_batch_size;
  const D = G / worldSize;
  const M = cfg.device_train_microbatch_size;
  const S = cfg.train_loader.dataset.max_seq_len;
  const trainDs = cfg.train_loader.dataset;
  const evalDs = cfg.eval_loader.dataset;
  const srcOf = (d: typeof trainDs) => ({ local: d.local, remote: d.remote ?? null, split: d.split });
  const loader = await TrainTextLoader.create(srcOf(trainDs), {
    globalBatchSize: G, rank, worldSize, shuffle: trainDs.shuffle, shuffleSeed: trainDs.shuffle_seed ?? 9176,
  });
  const GE = cfg.global_eval_batch_size ?? G;
  const evalBatches: MlmRows[] = (await evalTexts(srcOf(evalDs), { globalBatchSize: GE, numBatches: cfg.eval_subset_num_batches, rank, worldSize }))
    .filter((b) => b.texts.length > 0)
    // Fixed masks keyed on the document: the same positions are predicted at every evaluation, by
    // whichever process holds the document (and in every run of this seed).
    .map((b) => tokenizeAndMask(b.texts, tokenizer, evalDs.max_seq_len, evalDs.mlm_probability, sampleSeeds(cfg.seed, SeedStream.evalMask, 0, b.ids)));

  // ---- durations -----------------------------------------------------------------------------
  const ctx = { globalBatchSize: G, tokensPerSample: S, samplesPerEpoch: loader.samplesPerEpoch };
  const maxDur = parseDuration(cfg.max_duration, "max_duration");
  const maxSeconds = durationSeconds(maxDur);
  const totalSteps = durationToSteps(maxDur, ctx, "max_duration");
  // Time-boxed runs evaluate the schedule on 10⁶ virtual steps at the projected share of the run's
  // steps done (time-box.ts) — not of its wall clock, which warm-up, evals and saves would skew.
  const VIRTUAL = 1_000_000;
  const schedSteps = totalSteps ?? VIRTUAL;
  const warm = parseDuration(cfg.scheduler.t_warmup, "scheduler.t_warmup");
  const warmupSteps = Math.min(schedSteps, durationToSteps(warm, { ...ctx, totalSteps: schedSteps }, "scheduler.t_warmup") ?? 0);
  const schedule: Schedule = makeSchedule(
    cfg.scheduler.name === "constant_with_warmup"
      ? { kind: "constant_with_warmup", warmupSteps }
      : { kind: cfg.scheduler.name, warmupSteps, alphaF: cfg.scheduler.alpha_f },
    schedSteps,
  );
  const everySteps = (d: string, what: string) => Math.max(1, durationToSteps(parseDuration(d, what), ctx, what) ?? 1);
  const evalEvery = everySteps(cfg.eval_interval, "eval_interval");
  const saveEvery = everySteps(cfg.save_interval, "save_interval");
  const clip = cfg.algorithms.gradient_clipping ?? null;

  // ---- optimizer -----------------------------------------------------------------------------
  const flat = model.flat;
  const opt = new DecoupledAdamW(backend, [{ param: flat.params, grad: flat.grads, lowp: flat.lowp }], {
    lr: cfg.optimizer.lr, betas: cfg.optimizer.betas, eps: cfg.optimizer.eps, weightDecay: cfg.optimizer.weight_decay,
  });

  // ---- resume --------------------------------------------------------------------------------
  const saveFolder = cfg.save_folder ? path.resolve(cfg.save_folder) : null;
  // Temp folders of checkpoint writes killed mid-way (a base-model checkpoint is 1.6 GB); rank 0 is the only writer.
  if (lead && saveFolder) removeStaleTemps(saveFolder, say);
  let step = 0;
  let samples = 0;
  let tokens = 0;
  const timing: Timing = { start: clock(), offset: 0 };
  let resumedFrom: string | null = null;
  let resumedProgress: number | null = null;
  let resumedRunId: string | undefined;
  if (o.resume) {
    let dir: string | null;
    if (o.resume === "auto") {
      if (!saveFolder) throw new Error("--resume auto needs a save folder (--save-folder or save_folder in the recipe)");
      dir = findLatest(saveFolder);
      if (!dir) say(`resume auto: no checkpoint in ${saveFolder} yet; starting from scratch`);
    } else dir = path.resolve(o.resume);
    if (dir) {
      const ck = loadCheckpoint(dir);
      if (ck.state.worldSize !== worldSize) {
        say(`resume: the checkpoint was written by ${ck.state.worldSize} process(es), this run has ${worldSize}; the data order continues by global batch`);
      }
      const sd = new Map([...ck.tensors].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
      model.loadStateDict(sd, { file: dir });
      opt.loadState(ck.optimizer);
      loader.loadState(ck.state.loader as never, `${dir}/trainer_state.json: loader`);
      step = ck.state.step;
      samples = ck.state.samplesSeen;
      tokens = ck.state.tokensSeen;
      timing.offset = ck.state.elapsedSeconds;
      resumedProgress = ck.state.scheduleProgress ?? null;
      resumedFrom = dir;
      resumedRunId = ck.state.runId;
    }
  } else if (worldSize > 1) {
    // Every rank starts from rank 0's weights (they are equal by seed already; this makes it certain).
    await comm.broadcast(flat.params, 0);
    model.syncLowp();
  }

  // Records past the resumed step were written by a run killed before its next checkpoint landed; with
  // --resume but no checkpoint yet, that is everything after step 0 (else those steps appear twice).
  const truncate = resumedFrom ? { truncateAfterStep: step } : o.resume ? { truncateAfterStep: 0 } : {};
  const runId = lead && saveFolder ? claimRun(saveFolder, { runName: cfg.run_name, resumed: resumedFrom ? { dir: resumedFrom, runId: resumedRunId } : undefined }) : undefined;
  const metrics = lead && saveFolder ? new MetricsWriter(saveFolder, truncate) : null;
  const firstStep = step;
  // A fresh measurement per process (its first step is warm-up again); the saved progress is its floor.
  const timeBox = totalSteps === null ? new TimeBoxProgress(maxSeconds!, { floor: resumedProgress ?? 0 }) : null;
  const losses: number[] = [];
  let lastEval: EvalResult | null = null;
  let lastCheckpoint: string | null = resumedFrom;
  let lastLoss: number | null = null;
  const stepsLabel = totalSteps !== null ? `${totalSteps} steps` : `${cfg.max_duration} of training`;
  say(
    `pretrain ${cfg.run_name}: ${modelConfig.arch} ${fmtCount(model.numParameters())} parameters on ${device.name}${worldSize > 1 ? ` × ${worldSize} processes (${comm.kind})` : ""}, ` +
      `${stepsLabel} of ${G} × ${S} (microbatch ${M}, ${D / M} per step${worldSize > 1 ? " per process" : ""}), ${bf16 ? "bf16" : "fp32"}, recipe ${recipeFile}` +
      (resumedFrom ? `; resumed at step ${step} from ${resumedFrom}` : ""),
  );
  metrics?.write({ type: "run", step, time: elapsed(timing), event: resumedFrom ? "resume" : "start", run_name: cfg.run_name, recipe: cfg, device: device.name, world_size: worldSize, parameters: model.numParameters() });

  // Batches are read, tokenized and masked ahead, in worker threads, while the device runs the
  // current step; `position` is the loader position after the last batch actually trained (the
  // producer's read-ahead is not), which is what checkpoints record and resume from.
  let position = loader.state();
  const producer = new BatchProducer(loader, {
    tokenizer, tokenizerName: cfg.tokenizer_name, seqLen: S, mlmProbability: trainDs.mlm_probability, seed: cfg.seed, source: srcOf(trainDs),
    workers: o.dataWorkers ?? (process.env.MOSAICBERT_DATA_WORKERS || device.kind === "cuda" ? dataWorkers() : 0),
  });
  if (producer.note) say(producer.note);

  const state = (): TrainerState => ({
    format: "mosaicbert-trainer-state",
    version: 1,
    step,
    samplesSeen: samples,
    tokensSeen: tokens,
    loader: position as unknown as Record<string, unknown>,
    seed: cfg.seed,
    elapsedSeconds: elapsed(timing),
    worldSize,
    runName: cfg.run_name,
    recipe: cfg,
    lastLoss,
    ...(timeBox ? { scheduleProgress: p } : {}),
    savedAt: new Date().toISOString(),
    ...(runId ? { runId } : {}),
  });

  const save = async (): Promise<void> => {
    if (!saveFolder) return;
    if (lead) {
      const tensors = new Map<string, TensorInput>();
      for (const [name, e] of model.stateDictHost()) tensors.set(name, { dtype: "f32", shape: e.shape, data: e.data });
      const hf = toHfConfig(modelConfig);
      lastCheckpoint = saveCheckpoint(
        saveFolder,
        checkpointName(position.epoch, step),
        { hfConfig: hf, tensors, optimizer: opt.state(), state: state(), files: tokenizerFiles },
        cfg.save_num_checkpoints_to_keep,
      );
    }
    await comm.barrier();
  };

  const runEval = async (): Promise<void> => {
    if (evalBatches.length === 0) return;
    const r = await evaluate(model, evalBatches, comm, M);
    lastEval = r;
    metrics?.write({ type: "eval", step, time: elapsed(timing), samples, tokens, loss: r.loss, mlm_accuracy: r.accuracy, eval_tokens: r.tokens });
    say(`[eval] step ${step}: loss ${r.loss.toFixed(4)}, mlm_accuracy ${(100 * r.accuracy).toFixed(2)}% over ${r.tokens} masked tokens (15%)`);
  };

  // ---- signals -------------------------------------------------------------------------------
  let stopSignal: NodeJS.Signals | null = null;
  let signalledAt = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopSignal) {
      // A second signal: stop now, without the checkpoint. One within a second of the first is the
      // same Ctrl-C reaching a launched rank twice (from the terminal and from the launcher).
      if (performance.now() - signalledAt > 1000) process.exit(128 + (sig === "SIGINT" ? 2 : 15));
      return;
    }
    stopSignal = sig;
    signalledAt = performance.now();
    say(`${sig}: finishing the current step, then writing a checkpoint and stopping (send it again to quit now)`);
  };
  const handle = o.handleSignals ?? true;
  if (handle) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }

  let status: RunStatus = "completed";
  let message = "";
  const window: Array<{ t: number; tokens: number; samples: number; flops: number }> = [];
  const windowSize = cfg.callbacks.speed_monitor?.window_size ?? 50;
  let savedAt = resumedFrom ? step : -1;
  let evaluatedAt = -1;
  const hostTime = { dataWaitMs: 0, stepMs: 0 };
  // Schedule progress of the next step (time-boxed runs). Each rank measures its own pace; the ranks
  // use their mean, agreed with the stop flag, so every rank applies the same lr.
  let p = timeBox?.progress(step, elapsed(timing)) ?? 0;
  try {
    for (;;) {
      if (totalSteps !== null && step >= totalSteps) break;
      if (maxSeconds !== null && elapsed(timing) >= maxSeconds) break;
      // The step's own wall time: from asking for its batch to its metrics line (evals and saves are overhead).
      const stepStart = clock();
      const batch = await producer.next();
      const dataWaitMs = clock() - stepStart;
      const rows = batch.rows;
      model.zeroGrad();
      const res = await forwardBackward(model, rows, { microbatchSize: M, seed: cfg.seed, step, rank, comm, bucketElements: 1 << 22 });
      const t = totalSteps !== null ? step : Math.min(VIRTUAL, Math.floor(p * VIRTUAL));
      const lr = cfg.optimizer.lr * schedule.multiplier(t);
      const normT = backend.globalNorm([flat.grads]);
      const gradNorm = normT.item();
      const coef = clip ? backend.clipCoefficient(normT, clip.clipping_threshold) : null;
      normT.dispose();
      if (!Number.isFinite(res.loss) || !Number.isFinite(gradNorm)) {
        coef?.dispose();
        status = "nan";
        message =
          `non-finite ${Number.isFinite(res.loss) ? "gradient norm" : "loss"} (${Number.isFinite(res.loss) ? gradNorm : res.loss}) at step ${step + 1}: ` +
          `stopped before the optimizer step, weights not updated; last good checkpoint: ${lastCheckpoint ?? "none"}. ` +
          `Lower optimizer.lr, add algorithms.gradient_clipping, or check the data at epoch ${batch.epoch}.`;
        metrics?.write({ type: "run", step, time: elapsed(timing), event: "nan", loss: res.loss, grad_norm: gradNorm, last_checkpoint: lastCheckpoint });
        break;
      }
      opt.step(lr, { gradScaleTensor: coef });
      coef?.dispose();
      position = batch.after;
      step++;
      samples += G;
      tokens += G * S;
      lastLoss = res.loss;
      losses.push(res.loss);
      const now = elapsed(timing);
      window.push({ t: now, tokens, samples, flops: trainFlops(modelConfig, res.cost, D * S * worldSize, S, D * worldSize) });
      if (window.length > windowSize + 1) window.shift();
      const first = window[0]!;
      const span = now - (window.length > 1 ? first.t : now - 1e-9);
      const tokPerSec = window.length > 1 ? (tokens - first.tokens) / span : 0;
      const spPerSec = window.length > 1 ? (samples - first.samples) / span : 0;
      const flopsPerSec = window.length > 1 ? window.slice(1).reduce((a, w) => a + w.flops, 0) / span : 0;
      const mfu = device.peakFlops && window.length > 1 ? flopsPerSec / (device.peakFlops * worldSize) : null;
      const fraction = totalSteps !== null ? step / totalSteps : Math.min(1, now / maxSeconds!);
      const eta = totalSteps !== null ? (window.length > 1 ? ((totalSteps - step) * span) / (window.length - 1) : NaN) : maxSeconds! - now;
      const stepMs = clock() - stepStart;
      metrics?.write({
        type: "train", step, time: now, samples, tokens, epoch: position.epoch, loss: res.loss, lr, grad_norm: gradNorm,
        tokens_per_sec: tokPerSec, samples_per_sec: spPerSec, mfu, data_wait_ms: dataWaitMs, step_ms: stepMs,
        real_tokens: res.cost.realTokens, masked_tokens: res.cost.predicted,
        ...deviceMemory(backend),
      });
      progress.update({ step, totalSteps, fraction, loss: res.loss, lr, tokensPerSec: tokPerSec, mfu, etaSeconds: eta, epoch: position.epoch });
      timeBox?.recordStep(stepMs / 1000);
      hostTime.dataWaitMs += dataWaitMs;
      hostTime.stepMs += stepMs;
      const overheadStart = clock();

      if (step % evalEvery === 0) {
        await runEval();
        evaluatedAt = step;
      }
      if (saveFolder && step % saveEvery === 0) {
        await save();
        savedAt = step;
      }
      // Let the event loop run (signal handlers, I/O): the step itself only awaits settled promises.
      await new Promise<void>((r) => setImmediate(r));
      // Evaluation, checkpoint writes and this sync: time between steps, amortised over them.
      timeBox?.recordOverhead((clock() - overheadStart) / 1000);
      const next = timeBox ? [timeBox.progress(step, elapsed(timing))] : [];
      const syncStart = clock();
      // Every rank must agree to stop (a signal may reach one process only).
      const [stop, pSum] = await allReduceHost(comm, backend, [stopSignal ? 1 : 0, ...next]);
      if (timeBox) {
        p = Math.min(1, pSum! / worldSize);
        timeBox.recordOverhead((clock() - syncStart) / 1000);
      }
      if (stop! > 0) {
        status = "interrupted";
        break;
      }
    }
    if (status !== "nan") {
      if (status === "completed" && evaluatedAt !== step && step > firstStep) await runEval();
      if (saveFolder && savedAt !== step) await save();
      const sig = stopSignal as NodeJS.Signals | null;
      message =
        status === "interrupted"
          ? `${sig ?? "stop"}: stopped at step ${step}${lastCheckpoint ? `; checkpoint ${lastCheckpoint} (continue with --resume auto)` : " (no save folder: nothing saved)"}`
          : `done: ${step} steps, ${fmtCount(samples)} samples, ${fmtCount(tokens)} tokens in ${fmtDuration(elapsed(timing))}`;
    }
  } finally {
    if (handle) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
    await producer.close();
    progress.done();
    metrics?.write({ type: "run", step, time: elapsed(timing), event: status === "nan" ? "stop" : status === "interrupted" ? "stop" : "end", status });
    metrics?.close();
    opt.dispose();
    model.dispose();
    if (!o.comm) await comm.close();
  }
  const sigNo = stopSignal === "SIGINT" ? 2 : stopSignal === "SIGTERM" ? 15 : 0;
  const summary: PretrainSummary = {
    status,
    steps: step,
    samples,
    tokens,
    losses,
    firstStep,
    lastEval,
    checkpoint: lastCheckpoint,
    saveFolder,
    elapsedSeconds: elapsed(timing),
    device: device.name,
    exitCode: status === "completed" ? 0 : status === "nan" ? 3 : 128 + sigNo,
    message,
  };
  if (lead) {
    const first = losses[0];
    const last = losses.at(-1);
    const ev = lastEval as EvalResult | null;
    progress.log(
      [
        `${status === "nan" ? "STOPPED" : status === "interrupted" ? "interrupted" : "finished"}: ${message}`,
        first !== undefined && last !== undefined ? `  train loss ${first.toFixed(4)} (step ${firstStep + 1}) → ${last.toFixed(4)} (step ${step})` : "",
        ev ? `  eval loss ${ev.loss.toFixed(4)}, mlm_accuracy ${(100 * ev.accuracy).toFixed(2)}%` : "",
        // Waiting for batches over 10% of the step time: the data workers do not keep up with the device.
        // (Without workers on the CPU, preparing batches on this thread is by design: the backend has the cores.)
        hostTime.dataWaitMs > 0.1 * hostTime.stepMs && step > firstStep && (producer.workerCount > 0 || device.kind === "cuda")
          ? `  input-bound: ${((100 * hostTime.dataWaitMs) / hostTime.stepMs).toFixed(0)}% of step time waiting for batches (mean ${(hostTime.dataWaitMs / (step - firstStep)).toFixed(1)} ms/step); raise MOSAICBERT_DATA_WORKERS`
          : "",
        lastCheckpoint ? `  checkpoint: ${lastCheckpoint} (config.json + model.safetensors; \`mosaicbert infer --model ${lastCheckpoint}\`)` : "",
        metrics ? `  metrics: ${metrics.file}` : "",
      ].filter(Boolean).join("\n"),
    );
  }
  return summary;
}

export type { PretrainConfig };
