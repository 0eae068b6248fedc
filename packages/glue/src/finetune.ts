import {
  BertForSequenceClassification,
  DecoupledAdamW,
  type ComputeDtype,
  type ForSequenceClassification,
  type ModelConfig,
  MosaicBertForSequenceClassification,
  type StateDict,
  makeSchedule,
  validateConfig,
} from "@mosaicbert/layers";
import type { Backend } from "@mosaicbert/tensor";
import { type EncodedSplit, sliceBatch } from "./encode.js";
import { computeMetrics, type MetricValues } from "./score.js";
import { GLUE_DEFAULTS, type TaskSpec } from "./tasks.js";

/** Hyperparameters of one job; defaults are the task's Table S2 row. */
export interface JobHyperparameters {
  lr: number;
  weightDecay: number;
  epochs: number;
  batchSize: number;
  /** Stop after this many optimizer steps (the schedule is laid over the capped run). */
  maxSteps?: number;
}

export interface FinetuneJob {
  backend: Backend;
  task: TaskSpec;
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
  onStep?: (s: { step: number; totalSteps: number; loss: number; lr: number }) => void;
}

export interface FinetuneResult {
  seed: number;
  /** Metric values of the final evaluation, per evaluator (fractions, not ×100). */
  evals: Record<string, MetricValues>;
  steps: number;
  warmupSteps: number;
  /** Mean training loss over the last min(50, steps) steps. */
  finalLoss: number;
  seconds: number;
  /** Final weights when keepState. */
  state?: StateDict;
}

/** The job's model config: the starting encoder with the task's head and the reference's dropouts (recipe.md §5.1). */
export function taskConfig(base: ModelConfig, task: TaskSpec): ModelConfig {
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
 * One fine-tuning job (task × seed), as the reference's GLUE job: model with a fresh classifier on the
 * starting weights, DecoupledAdamW (betas 0.9/0.98, eps 1e-6, decoupled weight decay on every
 * parameter), linear warmup over 6 % of the steps then linear decay to 0, training examples in file
 * order every epoch (no shuffling), dropout on, and one evaluation on every eval split at the end —
 * the metrics the reference reports are those of this final evaluation.
 */
export function finetune(job: FinetuneJob): FinetuneResult {
  const t0 = performance.now();
  const { backend: be, task, hparams: h } = job;
  const n = job.train.ids.length;
  if (n === 0) throw new Error(`${task.displayName}: no training examples`);
  for (const [k, v] of [["lr", h.lr], ["weightDecay", h.weightDecay], ["epochs", h.epochs], ["batchSize", h.batchSize]] as const) {
    if (!Number.isFinite(v) || v < 0 || ((k === "epochs" || k === "batchSize") && (!Number.isInteger(v) || v < 1))) {
      throw new RangeError(`${task.displayName}: ${k} must be ${k === "epochs" || k === "batchSize" ? "a positive integer" : "a number ≥ 0"}, got ${v}`);
    }
  }
  const regression = task.kind === "regression";
  const config = taskConfig(job.baseConfig, task);
  const model = buildModel(job, config);
  try {
    if (job.init) {
      // MLM checkpoints bring cls.* (ignored) and no pooler (fresh); an MNLI checkpoint brings its pooler.
      model.loadStateDict(withoutClassifier(job.init), { allowMissing: ["bert.pooler.", "classifier."], ignoreUnexpected: ["cls."] });
    }
    const totalSteps = plannedSteps(n, h);
    const warmupSteps = Math.floor(GLUE_DEFAULTS.warmupFraction * totalSteps);
    const schedule = makeSchedule({ kind: "linear_decay_with_warmup", warmupSteps, alphaF: 0 }, totalSteps);
    const flat = model.flat;
    const opt = new DecoupledAdamW(be, [{ param: flat.params, grad: flat.grads, lowp: flat.lowp }], {
      lr: h.lr,
      betas: GLUE_DEFAULTS.betas,
      eps: GLUE_DEFAULTS.eps,
      weightDecay: h.weightDecay,
    });
    const recent: number[] = [];
    let step = 0;
    try {
      outer: for (let epoch = 0; epoch < h.epochs; epoch++) {
        for (let start = 0; start < n; start += h.batchSize) {
          if (step >= totalSteps) break outer;
          const batch = sliceBatch(job.train, start, Math.min(n, start + h.batchSize), regression);
          model.zeroGrad();
          // A distinct dropout stream per (seed, step).
          const out = model.forward(batch, { training: true, seed: (Math.imul(job.seed, 0x9e3779b1) + step) >>> 0 });
          const loss = (be.read(out.loss!) as Float32Array)[0]!;
          out.loss!.dispose();
          out.logits.dispose();
          if (!Number.isFinite(loss)) {
            throw new Error(`${task.displayName} seed ${job.seed}: training loss became ${loss} at step ${step + 1}; lower the learning rate or check the starting weights`);
          }
          model.backward();
          const lr = h.lr * schedule.multiplier(step);
          opt.step(lr);
          step++;
          recent.push(loss);
          if (recent.length > 50) recent.shift();
          job.onStep?.({ step, totalSteps, loss, lr });
        }
      }
    } finally {
      opt.dispose();
    }
    const evals: Record<string, MetricValues> = {};
    for (const e of job.evals) {
      const preds = predict(model, e.data, regression, job.evalBatchSize ?? 64);
      evals[e.evaluator] = computeMetrics(task, preds, e.data.labels);
    }
    const result: FinetuneResult = {
      seed: job.seed,
      evals,
      steps: step,
      warmupSteps,
      finalLoss: recent.reduce((a, b) => a + b, 0) / Math.max(1, recent.length),
      seconds: (performance.now() - t0) / 1000,
    };
    if (job.keepState) result.state = model.stateDictHost();
    return result;
  } finally {
    model.dispose();
  }
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
