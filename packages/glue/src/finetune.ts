import {
  type AdamWState,
  BertForSequenceClassification,
  DecoupledAdamW,
  type ComputeDtype,
  type ForSequenceClassification,
  type ModelConfig,
  MosaicBertForSequenceClassification,
  type StateDict,
  guardedScale,
  makeSchedule,
  validateConfig,
} from "@mosaicbert/layers";
import type { Backend, PendingRead, Tensor } from "@mosaicbert/tensor";
import { type EncodedSplit, gatherBatch, sliceBatch } from "./encode.js";
import { computeMetrics, type MetricValues } from "./score.js";
import { GLUE_DEFAULTS, type LabelSpace } from "./tasks.js";

/** Hyperparameters of one job; defaults are the task's Table S2 row. */
export interface JobHyperparameters {
  lr: number;
  weightDecay: number;
  epochs: number;
  batchSize: number;
  /** Stop after this many optimizer steps (the schedule is laid over the capped run). */
  maxSteps?: number;
  /** Share of the steps spent in linear warmup (default GLUE_DEFAULTS.warmupFraction, 0.06). */
  warmupFraction?: number;
  /**
   * Visit the training examples in a new seeded order every epoch. Default false: file order every
   * epoch, as the reference GLUE recipe does (its samplers do not shuffle).
   */
  shuffle?: boolean;
}

/** What a resumed job needs: the weights (classifier included), the optimizer moments and the step reached. */
export interface TrainingSnapshot {
  /** Optimizer steps done. */
  step: number;
  weights: StateDict;
  optimizer: AdamWState;
  /**
   * Training loss sum and step count of the epoch in progress at `step` (0 at an epoch's end), so a
   * job resumed inside an epoch reports that epoch's trainLoss over all its steps. Absent in snapshots
   * of older versions: the resumed epoch then averages only the steps after the resume.
   */
  epochLoss?: { sum: number; steps: number };
}

/** Passed to `onEpoch` after each epoch's evaluation. */
export interface EpochEnd {
  /** 1-based. */
  epoch: number;
  step: number;
  /** Metric values per evaluator (fractions). */
  evals: Record<string, MetricValues>;
  /** Mean training loss of the epoch's steps (all of them after a resume from a snapshot that has `epochLoss`). */
  trainLoss: number;
  /** Copies the current state to the host (for a checkpoint or the best model so far). */
  snapshot: () => TrainingSnapshot;
}

export interface FinetuneJob {
  backend: Backend;
  /** A GLUE task, or any label space (see LabelSpace). */
  task: LabelSpace;
  seed: number;
  /** Encoder config of the starting weights (num_labels and dropouts are set per task here). */
  baseConfig: ModelConfig;
  /** Starting weights; null = fresh initialisation. Classifier tensors in it are always dropped. */
  init: StateDict | null;
  train: EncodedSplit;
  evals: ReadonlyArray<{ evaluator: string; data: EncodedSplit }>;
  hparams: JobHyperparameters;
  computeDtype?: ComputeDtype;
  /** Rows per forward pass at evaluation. Default 64. */
  evalBatchSize?: number;
  /** Return the final weights (MNLI → RTE/MRPC/STS-B). */
  keepState?: boolean;
  /** Called after every optimizer step. */
  onStep?: (s: { step: number; totalSteps: number; epoch: number; loss: number; lr: number }) => void;
  /**
   * Evaluate on every eval split at the end of every epoch and call this with the metrics; returning
   * "stop" ends the job there (early stopping). Without it, the job evaluates once, at the end.
   */
  onEpoch?: (e: EpochEnd) => "stop" | void;
  /** Call `onCheckpoint` every this many steps (not at an epoch's last step: onEpoch covers that). */
  checkpointEvery?: number;
  onCheckpoint?: (s: TrainingSnapshot) => void;
  /**
   * Read a step's loss after launching the next (default; MOSAICBERT_OVERLAP_STEPS=0 turns it off), or
   * right after its own launch. The same training either way.
   */
  overlapSteps?: boolean;
  /** Continue a job from a snapshot taken by onCheckpoint / onEpoch with the same data and hyperparameters. */
  resume?: TrainingSnapshot;
  /** Checked before every step: an aborted signal ends the job with its reason, as a kill would. */
  signal?: AbortSignal;
  /**
   * With `signal` and `onCheckpoint`: an abort first reads the steps launched, then calls `onCheckpoint`
   * with a snapshot of the step reached (unless that step was just snapshotted), then ends the job.
   * Default false (the job ends as a kill would: the last snapshot stays the last one).
   */
  checkpointOnAbort?: boolean;
}

export interface FinetuneResult {
  seed: number;
  /** Metric values of the final evaluation, per evaluator (fractions, not ×100). */
  evals: Record<string, MetricValues>;
  steps: number;
  warmupSteps: number;
  /** Epochs run to the end (fewer than planned after early stopping). */
  epochs: number;
  /** True when onEpoch ended the job early. */
  stoppedEarly: boolean;
  /** Mean training loss over the last min(50, steps) steps. */
  finalLoss: number;
  seconds: number;
  /** Final weights when keepState. */
  state?: StateDict;
}

/** The job's model config: the starting encoder with the task's head and the reference's dropouts (recipe.md §5.1). */
export function taskConfig(base: ModelConfig, task: LabelSpace): ModelConfig {
  const regression = task.kind === "regression";
  return validateConfig({
    ...base,
    numLabels: task.numLabels,
    problemType: regression ? "regression" : "single_label_classification",
    id2label: regression ? null : Object.fromEntries(task.labelNames.map((n, i) => [String(i), n])),
    hiddenDropoutProb: GLUE_DEFAULTS.hiddenDropout,
    classifierDropout: GLUE_DEFAULTS.classifierDropout,
    // The reference forces attention dropout to 0 for MosaicBERT; the BERT baseline keeps its own.
    attentionProbsDropoutProb: base.arch === "mosaic-bert" ? 0 : base.attentionProbsDropoutProb,
    architectures: ["BertForSequenceClassification"],
  });
}

/** The starting weights minus the classifier (always fresh, as the reference ignores `model.classifier*`). */
export function withoutClassifier(sd: StateDict): StateDict {
  const out: StateDict = new Map();
  for (const [name, e] of sd) if (!/^(model\.)?classifier\./.test(name)) out.set(name, e);
  return out;
}

function buildModel(job: FinetuneJob, config: ModelConfig): ForSequenceClassification {
  const opts = { seed: job.seed, computeDtype: job.computeDtype ?? "f32" };
  return config.arch === "mosaic-bert"
    ? new MosaicBertForSequenceClassification(config, job.backend, opts)
    : new BertForSequenceClassification(config, job.backend, opts);
}

/** Steps of the run: ceil(N / batch) per epoch (last partial batch kept), capped by maxSteps. */
export function plannedSteps(numExamples: number, h: JobHyperparameters): number {
  const perEpoch = Math.ceil(numExamples / h.batchSize);
  const full = perEpoch * h.epochs;
  return h.maxSteps === undefined ? full : Math.min(full, h.maxSteps);
}

/**
 * Warmup steps as Composer counts `t_warmup: 0.06dur` of a run measured in epochs: int(0.06 · batches per epoch ·
 * epochs), multiplied left to right (STS-B: 0.06 · 180 = 10.799…, · 10 = 107.99… → 107, not 108). A run cut by
 * maxSteps takes the fraction of its planned steps.
 */
export function plannedWarmup(numExamples: number, h: JobHyperparameters): number {
  const w = h.warmupFraction ?? GLUE_DEFAULTS.warmupFraction;
  const perEpoch = Math.ceil(numExamples / h.batchSize);
  const total = plannedSteps(numExamples, h);
  return Math.trunc(total === perEpoch * h.epochs ? w * perEpoch * h.epochs : w * total);
}

/** The order of the training examples in an epoch: file order, or a Fisher–Yates shuffle seeded by (seed, epoch). */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  if (!shuffle) return order;
  // splitmix32 over (seed, epoch): the same order on every machine and after a resume.
  let x = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0;
  const next = (): number => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad) >>> 0;
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97) >>> 0;
    return ((z ^ (z >>> 15)) >>> 0) / 2 ** 32;
  };
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

function checkHparams(name: string, h: JobHyperparameters): void {
  for (const [k, v] of [["lr", h.lr], ["weightDecay", h.weightDecay], ["epochs", h.epochs], ["batchSize", h.batchSize]] as const) {
    if (!Number.isFinite(v) || v < 0 || ((k === "epochs" || k === "batchSize") && (!Number.isInteger(v) || v < 1))) {
      throw new RangeError(`${name}: ${k} must be ${k === "epochs" || k === "batchSize" ? "a positive integer" : "a number ≥ 0"}, got ${v}`);
    }
  }
  const w = h.warmupFraction;
  if (w !== undefined && !(Number.isFinite(w) && w >= 0 && w <= 1)) throw new RangeError(`${name}: warmupFraction must be in [0, 1], got ${w}`);
}

/** A job in progress: the model, its optimizer and schedule, and how far it has come. */
interface JobRun {
  job: FinetuneJob;
  model: ForSequenceClassification;
  opt: DecoupledAdamW;
  schedule: ReturnType<typeof makeSchedule>;
  n: number;
  totalSteps: number;
  perEpoch: number;
  warmupSteps: number;
  regression: boolean;
  /** Optimizer steps done. */
  step: number;
  /** The last 50 training losses (the reported final loss is their mean). */
  recent: number[];
  evals: Record<string, MetricValues> | null;
  epochsDone: number;
  stoppedEarly: boolean;
  /** float32 [1] on the device: 0, or NaN from the first non-finite training loss on (see trainEpoch). */
  guard: Tensor;
  /** Loss sum and steps settled in the epoch in progress (restored from `resume.epochLoss`). */
  epochLoss: { sum: number; steps: number };
  /** The step of the last snapshot taken (-1: none), so an abort does not snapshot the same step twice. */
  snapshotAt: number;
}

/**
 * One fine-tuning job (task × seed), as the reference's GLUE job: model with a fresh classifier on the
 * starting weights, DecoupledAdamW (betas 0.9/0.98, eps 1e-6, decoupled weight decay on every
 * parameter), linear warmup over 6 % of the steps then linear decay to 0, training examples in file
 * order every epoch (unless `hparams.shuffle`), dropout on, and one evaluation on every eval split at
 * the end — the metrics the reference reports are those of this final evaluation. With `onEpoch` it
 * evaluates after every epoch instead and may stop early; with `onCheckpoint` / `resume` a killed job
 * continues where its last snapshot left it, and ends with the same weights as an uninterrupted one
 * (dropout masks and epoch orders derive from the seed and the step, not from the process).
 */
export function finetune(job: FinetuneJob): FinetuneResult {
  const run = finetuneSteps(job);
  for (;;) {
    const n = run.next();
    if (n.done) return n.value;
  }
}

/** How long `finetuneAsync` trains before it lets the event loop run (at the next step's end). */
export const YIELD_EVERY_MS = 20;

/**
 * `finetune`, letting the event loop run between steps (a macrotask at the end of a step once
 * `yieldEveryMs`, default 20 ms, have passed since the last): signal handlers, timers and I/O run
 * during the job, so an abort from a SIGINT / SIGTERM handler stops it at the next step boundary.
 * The same training, bit for bit.
 */
export async function finetuneAsync(job: FinetuneJob, opts: { yieldEveryMs?: number } = {}): Promise<FinetuneResult> {
  const every = opts.yieldEveryMs ?? YIELD_EVERY_MS;
  const run = finetuneSteps(job);
  let last = performance.now();
  for (;;) {
    const n = run.next();
    if (n.done) return n.value;
    if (performance.now() - last >= every) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      last = performance.now();
    }
  }
}

/** The job as a generator that yields at the end of every step (`finetune` / `finetuneAsync` drive it). */
function* finetuneSteps(job: FinetuneJob): Generator<void, FinetuneResult, void> {
  const t0 = performance.now();
  const { task, hparams: h } = job;
  if (job.train.ids.length === 0) throw new Error(`${task.displayName}: no training examples`);
  checkHparams(task.displayName, h);
  const model = buildModel(job, taskConfig(job.baseConfig, task));
  try {
    if (job.resume) {
      model.loadStateDict(job.resume.weights, { file: "resume snapshot" });
    } else if (job.init) {
      // MLM checkpoints bring cls.* (ignored) and no pooler (fresh); an MNLI checkpoint brings its pooler.
      model.loadStateDict(withoutClassifier(job.init), { file: "starting weights (--model)", allowMissing: ["bert.pooler.", "classifier."], ignoreUnexpected: ["cls."] });
    }
    const r = startRun(job, model);
    try {
      yield* runEpochs(r);
    } finally {
      r.opt.dispose();
      r.guard.dispose();
    }
    const result: FinetuneResult = {
      seed: job.seed,
      evals: r.evals ?? evaluateAll(r),
      steps: r.step,
      warmupSteps: r.warmupSteps,
      epochs: r.epochsDone,
      stoppedEarly: r.stoppedEarly,
      finalLoss: r.recent.reduce((a, b) => a + b, 0) / Math.max(1, r.recent.length),
      seconds: (performance.now() - t0) / 1000,
    };
    if (job.keepState) result.state = model.stateDictHost();
    return result;
  } finally {
    model.dispose();
  }
}

/** The optimizer and schedule over the planned steps; a resumed job's optimizer state and step. */
function startRun(job: FinetuneJob, model: ForSequenceClassification): JobRun {
  const { hparams: h } = job;
  const n = job.train.ids.length;
  const totalSteps = plannedSteps(n, h);
  const warmupSteps = plannedWarmup(n, h);
  const flat = model.flat;
  const opt = new DecoupledAdamW(job.backend, [{ param: flat.params, grad: flat.grads, lowp: flat.lowp }], {
    lr: h.lr,
    betas: GLUE_DEFAULTS.betas,
    eps: GLUE_DEFAULTS.eps,
    weightDecay: h.weightDecay,
  });
  const r: JobRun = {
    job, model, opt, n, totalSteps, warmupSteps, perEpoch: Math.ceil(n / h.batchSize),
    schedule: makeSchedule({ kind: "linear_decay_with_warmup", warmupSteps, alphaF: 0 }, totalSteps),
    regression: job.task.kind === "regression", step: 0, recent: [], evals: null, epochsDone: 0, stoppedEarly: false,
    guard: job.backend.zeros([1], "f32"),
    epochLoss: { sum: 0, steps: 0 },
    snapshotAt: -1,
  };
  if (job.resume) {
    const s = job.resume.step;
    if (!Number.isInteger(s) || s < 0 || s > totalSteps) {
      opt.dispose();
      r.guard.dispose();
      throw new Error(`${job.task.displayName}: cannot resume at step ${s}: this job has ${totalSteps} steps`);
    }
    opt.loadState(job.resume.optimizer);
    r.step = s;
    r.snapshotAt = s;
    const el = job.resume.epochLoss;
    // Inside an epoch: its loss so far (at an epoch's end the next epoch starts from 0 anyway).
    if (el && s % r.perEpoch !== 0 && Number.isFinite(el.sum) && Number.isInteger(el.steps) && el.steps >= 0) r.epochLoss = { sum: el.sum, steps: el.steps };
  }
  return r;
}

function snapshotOf(r: JobRun): TrainingSnapshot {
  r.snapshotAt = r.step;
  return { step: r.step, weights: r.model.stateDictHost(), optimizer: r.opt.state(), epochLoss: { ...r.epochLoss } };
}

function evaluateAll(r: JobRun): Record<string, MetricValues> {
  const out: Record<string, MetricValues> = {};
  for (const e of r.job.evals) out[e.evaluator] = computeMetrics(r.job.task, predict(r.model, e.data, r.regression, r.job.evalBatchSize ?? 64), e.data.labels);
  return out;
}

/** The epochs from where the run stands; with `onEpoch`, an evaluation after each and maybe an early stop. */
function* runEpochs(r: JobRun): Generator<void, void, void> {
  const { job } = r;
  for (let epoch = Math.floor(r.step / r.perEpoch); epoch < job.hparams.epochs; epoch++) {
    if (r.step >= r.totalSteps) break;
    const { lossSum, steps } = yield* trainEpoch(r, epoch);
    r.epochsDone = epoch + 1;
    if (job.onEpoch) {
      r.evals = evaluateAll(r);
      const verdict = job.onEpoch({ epoch: epoch + 1, step: r.step, evals: r.evals, trainLoss: lossSum / Math.max(1, steps), snapshot: () => snapshotOf(r) });
      if (verdict === "stop" && r.step < r.totalSteps) {
        r.stoppedEarly = true;
        break;
      }
    }
  }
}

/** A step whose work is queued on the device and whose loss the host has not read yet. */
interface PendingStep {
  loss: PendingRead;
  step: number;
  lr: number;
}

/**
 * One epoch's batches (from where a resumed run stands inside it): forward, backward, optimizer step.
 * The host reads a step's loss only after it has launched the next (the device never waits for it
 * between steps), and before a checkpoint and at the epoch's end. A non-finite loss stops the job
 * with an error naming its step; the optimizer skips that step and every later one on the device
 * (their gradient multiplier is 1 + 0·loss, summed into a guard: NaN from then on), so the weights
 * are never updated from a non-finite loss.
 */
function* trainEpoch(r: JobRun, epoch: number): Generator<void, { lossSum: number; steps: number }, void> {
  const { job, model, perEpoch } = r;
  const { backend: be, task, hparams: h } = job;
  const order = epochOrder(r.n, job.seed, epoch, h.shuffle ?? false);
  // A resumed job inside this epoch continues the loss sum of its snapshot.
  if (r.step === epoch * perEpoch) r.epochLoss = { sum: 0, steps: 0 };
  const el = r.epochLoss;
  const overlap = job.overlapSteps ?? process.env.MOSAICBERT_OVERLAP_STEPS !== "0";
  let pending: PendingStep | null = null;
  const settle = (p: PendingStep): void => {
    const loss = (p.loss.wait() as Float32Array)[0]!;
    if (!Number.isFinite(loss)) {
      throw new Error(`${task.displayName} seed ${job.seed}: training loss became ${loss} at step ${p.step}; lower the learning rate or check the starting weights`);
    }
    r.recent.push(loss);
    if (r.recent.length > 50) r.recent.shift();
    el.sum += loss;
    el.steps++;
    job.onStep?.({ step: p.step, totalSteps: r.totalSteps, epoch: epoch + 1, loss, lr: p.lr });
  };
  const abortIfAsked = (): void => {
    if (!job.signal?.aborted) return;
    if (job.checkpointOnAbort && job.onCheckpoint) {
      // The steps launched are read (and reported) first: the snapshot is of the step reached.
      if (pending) {
        const p = pending;
        pending = null;
        settle(p);
      }
      if (r.snapshotAt !== r.step) job.onCheckpoint(snapshotOf(r));
    }
    throw job.signal.reason instanceof Error ? job.signal.reason : new Error(`${task.displayName}: aborted at step ${r.step}`);
  };
  try {
    for (let b = r.step - epoch * perEpoch; b < perEpoch; b++) {
      if (r.step >= r.totalSteps) break;
      abortIfAsked();
      const rows = order.subarray(b * h.batchSize, Math.min(r.n, (b + 1) * h.batchSize));
      const batch = gatherBatch(job.train, rows, r.regression);
      model.zeroGrad();
      // A distinct dropout stream per (seed, step).
      const out = model.forward(batch, { training: true, seed: (Math.imul(job.seed, 0x9e3779b1) + r.step) >>> 0 });
      out.logits.dispose();
      model.backward();
      const lr = h.lr * r.schedule.multiplier(r.step);
      const scale = guardedScale(be, r.guard, [out.loss!], null);
      r.opt.step(lr, { gradScaleTensor: scale });
      scale.dispose();
      const launched: PendingStep = { loss: be.readLater(out.loss!), step: r.step + 1, lr };
      out.loss!.dispose();
      r.step++;
      const previous = pending;
      pending = launched;
      if (previous) {
        settle(previous);
        // An abort asked while reporting that step stops here, as it would have before this step was launched.
        abortIfAsked();
      }
      const epochEnd = b === perEpoch - 1 || r.step === r.totalSteps;
      const checkpoint = job.onCheckpoint && job.checkpointEvery && r.step % job.checkpointEvery === 0 && !epochEnd;
      if (checkpoint || epochEnd || !overlap) {
        pending = null;
        settle(launched);
      }
      if (checkpoint) job.onCheckpoint!(snapshotOf(r));
      // The end of a step: finetuneAsync may let the event loop run here.
      yield;
    }
  } finally {
    // After an error or an abort: the launched step's read is released (its loss is not reported).
    if (pending) {
      try {
        pending.loss.wait();
      } catch {
        // The error being raised is the one to report.
      }
    }
  }
  return { lossSum: el.sum, steps: el.steps };
}

/** Eval-mode predictions: argmax class ids, or the raw regression output. */
export function predict(model: ForSequenceClassification, data: EncodedSplit, regression: boolean, batchSize: number): Float64Array {
  const be = model.backend;
  const n = data.ids.length;
  const C = model.config.numLabels;
  const out = new Float64Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const { labels: _labels, ...batch } = sliceBatch(data, start, end, regression);
    const res = model.forward(batch, { training: false });
    const logits = be.read(res.logits) as Float32Array;
    res.logits.dispose();
    res.loss?.dispose();
    for (let r = 0; r < end - start; r++) {
      if (regression) out[start + r] = logits[r]!;
      else {
        let best = 0;
        for (let c = 1; c < C; c++) if (logits[r * C + c]! > logits[r * C + best]!) best = c;
        out[start + r] = best;
      }
    }
  }
  return out;
}
