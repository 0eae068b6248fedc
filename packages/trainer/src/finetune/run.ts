import * as fs from "node:fs";
import * as path from "node:path";
import {
  type EncodedSplit,
  type EpochEnd,
  type LabelSpace,
  type LabelledOptions,
  type MetricName,
  type MetricValues,
  type TrainingSnapshot,
  ProgressBar,
  type ProgressStream,
  encodeExamples,
  finetuneAsync,
  loadLabelledFiles,
  loadStartingModel,
  plannedSteps,
  taskConfig,
} from "@mosaicbert/glue";
import { saveModelFolder, TOKENIZER_FILES } from "@mosaicbert/hub";
import { type StateDict, remoteCodeFiles, toHfConfig } from "@mosaicbert/layers";
import type { Backend } from "@mosaicbert/tensor";
import { findLatest, loadCheckpoint, saveCheckpoint, type TrainerState } from "../checkpoint/checkpoint.js";
import { resolveDevice, resolvePrecision } from "../device.js";
import { loadTokenizer } from "../train/tokenizer.js";

/**
 * Defaults of `mosaicbert finetune`: the GLUE recipe's (recipe.md §5.2–5.3) — the SST-2/QQP/STS-B row of
 * Table S2 (lr 3e-5, weight decay lr/10, batch 16, 3 epochs), 6 % linear warmup then linear decay to 0,
 * sequences up to 256 tokens, seed 19 (the reference's default_seed).
 */
export const FINETUNE_DEFAULTS = {
  lr: 3e-5,
  /** Weight decay as a fraction of lr (the recipe's wd = lr/10). */
  weightDecayRatio: 0.1,
  epochs: 3,
  batchSize: 16,
  warmup: 0.06,
  maxSeqLen: 256,
  seed: 19,
  evalBatchSize: 64,
  checkpointEvery: 500,
} as const;

/** Where a run's resumable state lives inside the output folder (hidden: `hub push` skips it). */
export const FINETUNE_STATE_DIR = ".finetune-state";
export const FINETUNE_RESULTS_FILE = "finetune_results.json";

export interface FinetuneFilesOptions extends LabelledOptions {
  /** Starting model folder (config.json + weights; an MLM checkpoint or a classifier). */
  model: string;
  train: string;
  eval: string;
  /** Output model folder (Hugging Face layout). */
  out: string;
  lr?: number;
  /** Default lr × 0.1. */
  weightDecay?: number;
  epochs?: number;
  batchSize?: number;
  /** Warmup share of the steps. */
  warmup?: number;
  maxSeqLen?: number;
  seed?: number;
  maxSteps?: number;
  /** Stop after this many epochs without improvement of `metric` on the eval file. */
  patience?: number;
  /** The eval metric early stopping and `save: "best"` follow. Default accuracy / spearman. */
  metric?: MetricName;
  /** "best" (default): the output holds the weights of the best epoch; "last": of the last one. */
  save?: "best" | "last";
  /** Visit the training rows in a new seeded order every epoch (default true). */
  shuffle?: boolean;
  evalBatchSize?: number;
  /** Snapshot the run every this many steps (and after every epoch) so a killed run can resume. */
  checkpointEvery?: number;
  /** Keep the resumable state after the run ends. */
  keepCheckpoints?: boolean;
  resume?: boolean;
  overwrite?: boolean;
  precision?: "auto" | "f32" | "bf16";
  /** auto, cpu, cuda or cuda:N. */
  device?: string;
  /** Use this backend instead of resolving `device`. */
  backend?: Backend;
  /** Progress and notes (default: process.stderr). */
  stderr?: ProgressStream;
  /**
   * Aborting ends the run at the next step boundary (the training loop lets the event loop run every
   * ~20 ms, so a signal handler's abort is seen): as a kill would (the last snapshot stays), or, with
   * `checkpointOnAbort`, after a snapshot of the step reached, so `resume` continues from there.
   */
  signal?: AbortSignal;
  /** Snapshot the step reached when `signal` aborts (what `mosaicbert finetune` does on SIGINT / SIGTERM). Default false. */
  checkpointOnAbort?: boolean;
  /** Called after every optimizer step (besides the progress bar). */
  onStep?: (s: { step: number; totalSteps: number; epoch: number; loss: number; lr: number }) => void;
}

export interface EpochRecord {
  epoch: number;
  step: number;
  trainLoss: number;
  /** Eval metrics as fractions. */
  metrics: MetricValues;
}

/** The run's progress kept in the checkpoint: the eval history and the best epoch so far. */
interface FinetuneProgress {
  fingerprint: Record<string, unknown>;
  history: EpochRecord[];
  best: EpochRecord | null;
}

export interface FinetuneSummary {
  out: string;
  task: LabelSpace["kind"];
  labels: string[];
  metric: MetricName;
  history: EpochRecord[];
  /** The epoch whose weights are in the output folder. */
  saved: EpochRecord;
  stoppedEarly: boolean;
  steps: number;
  resumedFrom: number | null;
  seconds: number;
}

/**
 * The tokenizer files the output folder carries: the starting folder's own when its tokenizer came from
 * there (`start.tokenizerFile`, data-streaming's `modelFolderTokenizer` decides), else the shipped
 * bert-base-uncased (what the starting model was tokenized with).
 */
function tokenizerFiles(modelDir: string, start: Prepared["start"]): Record<string, Uint8Array> {
  if (start.tokenizerFile !== null) {
    const own = TOKENIZER_FILES.filter((f) => fs.existsSync(path.join(modelDir, f)));
    return Object.fromEntries(own.map((f) => [f, fs.readFileSync(path.join(modelDir, f))]));
  }
  const shipped = loadTokenizer("bert-base-uncased").files;
  return Object.fromEntries(Object.entries(shipped).map(([k, v]) => [k, typeof v === "string" ? Buffer.from(v) : v]));
}

function checkInt(name: string, v: number | undefined, min: number): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= min)) throw new RangeError(`--${name}: expected an integer ≥ ${min}, got ${v}`);
}

/** Refuses to overwrite a model the user has unless asked; says how to continue an unfinished run. */
function prepareOut(o: FinetuneFilesOptions): { stateDir: string; resumeDir: string | null } {
  const out = o.out;
  const stateDir = path.join(out, FINETUNE_STATE_DIR);
  if (fs.existsSync(out) && !fs.statSync(out).isDirectory()) throw new Error(`--out: ${out} is a file; expected a folder for the fine-tuned model`);
  const resumeDir = fs.existsSync(stateDir) ? findLatest(stateDir) : null;
  if (o.overwrite) {
    fs.rmSync(stateDir, { recursive: true, force: true });
    return { stateDir, resumeDir: null };
  }
  if (o.resume) {
    if (resumeDir) return { stateDir, resumeDir };
    if (fs.existsSync(path.join(out, FINETUNE_RESULTS_FILE))) throw new Error(`--resume: ${out} holds a finished run (${FINETUNE_RESULTS_FILE}); nothing to resume (pass --overwrite to train again)`);
  } else if (resumeDir) {
    throw new Error(`--out: ${out} holds an unfinished run (${path.relative(out, resumeDir)}); pass --resume to continue it or --overwrite to start over`);
  }
  const existing = fs.existsSync(out) ? fs.readdirSync(out).filter((f) => f !== FINETUNE_STATE_DIR) : [];
  if (existing.some((f) => f === "config.json" || f.endsWith(".safetensors") || f.endsWith(".bin"))) {
    throw new Error(`--out: ${out} already holds a model (${existing.join(", ")}); pass --overwrite to replace it, or choose another folder`);
  }
  return { stateDir, resumeDir: null };
}

const isClassMetric = (m: MetricName): boolean => m === "accuracy" || m === "macro_f1" || m === "f1" || m === "matthews";
/** Metrics `--metric` accepts. */
export const FINETUNE_METRICS: readonly MetricName[] = ["accuracy", "macro_f1", "f1", "matthews", "spearman", "pearson"];

/** The run's settings once checked, and everything derived from the files before training starts. */
interface Prepared {
  start: ReturnType<typeof loadStartingModel>;
  data: Awaited<ReturnType<typeof loadLabelledFiles>>;
  space: LabelSpace;
  metric: MetricName;
  maxSeqLen: number;
  train: EncodedSplit;
  evalSet: EncodedSplit;
  hparams: { lr: number; weightDecay: number; epochs: number; batchSize: number; maxSteps: number | undefined; warmupFraction: number; shuffle: boolean };
  seed: number;
  precision: "auto" | "f32" | "bf16";
  /** The options a resumed run must share with the run it continues. */
  fingerprint: Record<string, unknown>;
  totalSteps: number;
  labelsNote: string;
}

/** Checks the numeric options; returns lr, weight decay and warmup with their defaults. */
function checkOptions(o: FinetuneFilesOptions): { lr: number; weightDecay: number; warmup: number } {
  for (const [k, v, min] of [["epochs", o.epochs, 1], ["batch-size", o.batchSize, 1], ["max-seq-len", o.maxSeqLen, 3], ["max-steps", o.maxSteps, 1], ["patience", o.patience, 1], ["checkpoint-every", o.checkpointEvery, 1], ["eval-batch-size", o.evalBatchSize, 1], ["seed", o.seed, 0]] as const) checkInt(k, v, min);
  const lr = o.lr ?? FINETUNE_DEFAULTS.lr;
  if (!(Number.isFinite(lr) && lr > 0)) throw new RangeError(`--lr: expected a positive number, got ${lr}`);
  const weightDecay = o.weightDecay ?? lr * FINETUNE_DEFAULTS.weightDecayRatio;
  if (!(Number.isFinite(weightDecay) && weightDecay >= 0)) throw new RangeError(`--weight-decay: expected a number ≥ 0, got ${weightDecay}`);
  const warmup = o.warmup ?? FINETUNE_DEFAULTS.warmup;
  if (!(Number.isFinite(warmup) && warmup >= 0 && warmup <= 1)) throw new RangeError(`--warmup: expected a fraction of the steps in [0, 1], got ${warmup}`);
  return { lr, weightDecay, warmup };
}

/** The starting model, the labelled files (tokenized), the task, its metric and the hyperparameters. */
async function prepare(o: FinetuneFilesOptions, checked: ReturnType<typeof checkOptions>, note: (s: string) => void): Promise<Prepared> {
  const { lr, weightDecay, warmup } = checked;
  const start = loadStartingModel(o.model);
  for (const w of start.warnings) note(`warning: ${o.model}/config.json: ${w}`);
  const data = await loadLabelledFiles(o.train, o.eval, o);
  let space: LabelSpace = data.space;
  const metric: MetricName = o.metric ?? (space.kind === "regression" ? "spearman" : "accuracy");
  if (space.kind === "regression" ? isClassMetric(metric) : !isClassMetric(metric)) {
    const fits = FINETUNE_METRICS.filter((m) => isClassMetric(m) === (space.kind !== "regression"));
    throw new Error(`--metric: ${metric} does not apply to a ${space.kind} task; expected one of ${fits.join(", ")}`);
  }
  if (!space.scoreMetrics.includes(metric) && !space.extraMetrics.includes(metric)) space = { ...space, extraMetrics: [...space.extraMetrics, metric] };
  const maxSeqLen = o.maxSeqLen ?? Math.min(FINETUNE_DEFAULTS.maxSeqLen, start.config.arch === "bert" ? start.config.maxPositionEmbeddings : Infinity);
  if (start.config.arch === "bert" && maxSeqLen > start.config.maxPositionEmbeddings) {
    throw new RangeError(`--max-seq-len: ${maxSeqLen} is more than this BERT model's max_position_embeddings ${start.config.maxPositionEmbeddings}`);
  }
  const train = encodeExamples(data.train.examples, start.tokenizer, maxSeqLen);
  const evalSet: EncodedSplit = encodeExamples(data.eval.examples, start.tokenizer, maxSeqLen);
  const hparams = {
    lr,
    weightDecay,
    epochs: o.epochs ?? FINETUNE_DEFAULTS.epochs,
    batchSize: o.batchSize ?? FINETUNE_DEFAULTS.batchSize,
    maxSteps: o.maxSteps,
    warmupFraction: warmup,
    shuffle: o.shuffle ?? true,
  };
  const seed = o.seed ?? FINETUNE_DEFAULTS.seed;
  const precision = o.precision ?? "auto";
  const fingerprint: Record<string, unknown> = {
    model: path.resolve(o.model),
    train: path.resolve(o.train),
    eval: path.resolve(o.eval),
    trainRows: train.ids.length,
    evalRows: evalSet.ids.length,
    columns: data.columns,
    task: space.kind,
    labels: space.labelNames,
    maxSeqLen,
    seed,
    precision,
    metric,
    ...hparams,
  };
  const labelsNote = space.kind === "regression" ? "regression (float labels)" : `classification, ${space.numLabels} labels (${space.labelNames.join(", ")})`;
  return { start, data, space, metric, maxSeqLen, train, evalSet, hparams, seed, precision, fingerprint, totalSteps: plannedSteps(train.ids.length, hparams), labelsNote };
}

/** The progress and training state of the unfinished run in `resumeDir`, refused when its options differ. */
function resumeFrom(resumeDir: string, p: Prepared, out: string): { progress: FinetuneProgress; resume: TrainingSnapshot } {
  const ck = loadCheckpoint(resumeDir);
  const st = ck.state as TrainerState & { finetune?: FinetuneProgress; finetuneEpochLoss?: unknown };
  const saved = st.finetune;
  if (!saved) throw new Error(`--resume: ${resumeDir} is not a finetune checkpoint (no finetune progress in trainer_state.json)`);
  for (const [k, v] of Object.entries(p.fingerprint)) {
    if (JSON.stringify(saved.fingerprint[k]) !== JSON.stringify(v)) {
      throw new Error(`--resume: the run in ${out} was started with ${k} ${JSON.stringify(saved.fingerprint[k])}, now ${JSON.stringify(v)}; resume with the same options or pass --overwrite`);
    }
  }
  const el = st.finetuneEpochLoss as { sum?: unknown; steps?: unknown } | null | undefined;
  const epochLoss = el && typeof el.sum === "number" && Number.isFinite(el.sum) && Number.isInteger(el.steps) ? { sum: el.sum, steps: el.steps as number } : undefined;
  return { progress: { ...saved, fingerprint: p.fingerprint }, resume: { step: ck.state.step, weights: ck.tensors, optimizer: ck.optimizer, epochLoss } };
}

const f32Tensors = (weights: StateDict) => new Map([...weights].map(([k, v]) => [k, { dtype: "f32" as const, shape: [...v.shape], data: v.data }]));

/** What a run writes: the output model folder (an epoch's weights) and the resumable snapshots. */
function writers(o: FinetuneFilesOptions, p: Prepared, progress: FinetuneProgress, stateDir: string, t0: number) {
  const config = taskConfig(p.start.config, p.space);
  const hfConfig = toHfConfig(config);
  const tokFiles = tokenizerFiles(o.model, p.start);
  const { hparams, train } = p;
  const writeModel = (weights: StateDict, e: EpochRecord): void => {
    saveModelFolder(o.out, {
      config: hfConfig,
      tensors: f32Tensors(weights),
      // MosaicBERT: the PyTorch code config.json's auto_map names, so transformers loads it (trust_remote_code).
      tokenizerFiles: { ...tokFiles, ...remoteCodeFiles(hfConfig) },
      modelCard: {
        description: `Fine-tuned with mosaicbert-ts from ${path.basename(path.resolve(o.model))} on ${path.basename(o.train)} (${p.labelsNote}).`,
        training: { "training rows": train.ids.length, epochs: `${e.epoch} of ${hparams.epochs}`, "learning rate": hparams.lr, "batch size": hparams.batchSize, "max sequence length": p.maxSeqLen },
        results: Object.fromEntries(Object.entries(e.metrics).map(([k, v]) => [`eval ${k}`, v.toFixed(4)])),
      },
    });
  };
  const checkpoint = (s: TrainingSnapshot, epoch: number): void => {
    const state = {
      format: "mosaicbert-trainer-state",
      version: 1,
      step: s.step,
      samplesSeen: Math.min(s.step * hparams.batchSize, train.ids.length * hparams.epochs),
      tokensSeen: 0,
      loader: { epoch },
      seed: p.seed,
      elapsedSeconds: (performance.now() - t0) / 1000,
      worldSize: 1,
      runName: "finetune",
      recipe: p.fingerprint,
      lastLoss: null,
      savedAt: new Date().toISOString(),
      finetune: progress,
      // The loss sum of the epoch in progress: a resumed epoch's trainLoss averages all its steps.
      finetuneEpochLoss: s.epochLoss ?? null,
    } as TrainerState & { finetune: FinetuneProgress; finetuneEpochLoss: TrainingSnapshot["epochLoss"] | null };
    saveCheckpoint(stateDir, `ep${epoch}-ba${s.step}`, { hfConfig, tensors: f32Tensors(s.weights), optimizer: s.optimizer, state }, 1);
  };
  return { writeModel, checkpoint };
}

/** The progress bar of each epoch and the end-of-epoch work: record, keep the best, save, snapshot, stop early. */
function epochHooks(o: FinetuneFilesOptions, p: Prepared, progress: FinetuneProgress, w: ReturnType<typeof writers>, log: ProgressStream, note: (s: string) => void) {
  let bar: ProgressBar | null = null;
  let barEpoch = 0;
  const { hparams, metric } = p;
  const perEpoch = Math.ceil(p.train.ids.length / hparams.batchSize);
  const better = (a: EpochRecord, b: EpochRecord | null): boolean => !b || (a.metrics[metric] ?? -Infinity) > (b.metrics[metric] ?? -Infinity);
  return {
    onCheckpoint: (s: TrainingSnapshot) => w.checkpoint(s, Math.floor(s.step / perEpoch)),
    onStep: (s: { step: number; totalSteps: number; epoch: number; loss: number; lr: number }) => {
      if (s.epoch !== barEpoch) {
        barEpoch = s.epoch;
        const steps = Math.min(perEpoch, p.totalSteps - (s.epoch - 1) * perEpoch);
        bar = new ProgressBar(log, `epoch ${s.epoch}/${hparams.epochs}`, steps);
      }
      bar!.update(s.step - (s.epoch - 1) * perEpoch, `loss ${s.loss.toFixed(4)}`);
      o.onStep?.(s);
    },
    onEpoch: (e: EpochEnd): "stop" | undefined => {
      const rec: EpochRecord = { epoch: e.epoch, step: e.step, trainLoss: e.trainLoss, metrics: e.evals.eval! };
      progress.history.push(rec);
      const improved = better(rec, progress.best);
      const snap = e.snapshot();
      if (improved) progress.best = rec;
      if (o.save === "last" || improved) w.writeModel(snap.weights, rec);
      const m = Object.entries(rec.metrics).map(([k, v]) => `${k} ${(v * 100).toFixed(2)}`).join(", ");
      const msg = `eval ${m}${improved ? " (best so far)" : ""}`;
      if (bar && barEpoch === e.epoch) bar.done(msg);
      else note(`epoch ${e.epoch}/${hparams.epochs}: ${msg}`);
      w.checkpoint(snap, e.epoch);
      const stale = e.epoch - progress.best!.epoch;
      if (o.patience !== undefined && stale >= o.patience) {
        note(`finetune: early stop after epoch ${e.epoch}: no ${metric} improvement for ${stale} epoch${stale > 1 ? "s" : ""} (patience ${o.patience})`);
        return "stop";
      }
      return undefined;
    },
  };
}

/**
 * Fine-tunes a model folder on a training file and evaluates on an eval file after every epoch
 * (packages/glue's engine: the GLUE recipe's optimizer, schedule and dropouts), with early stopping,
 * snapshots every `checkpointEvery` steps and at every epoch end (`resume` continues a killed run to
 * the same weights an uninterrupted one reaches), and writes the best (or last) epoch's model to `out`
 * as a Hugging Face folder: config.json with id2label / label2id, model.safetensors, the tokenizer, a
 * model card and finetune_results.json.
 */
export async function finetuneFiles(o: FinetuneFilesOptions): Promise<FinetuneSummary> {
  const t0 = performance.now();
  const log = o.stderr ?? process.stderr;
  const note = (s: string) => log.write(`${s}\n`);
  const checked = checkOptions(o);
  const { stateDir, resumeDir } = prepareOut(o);
  const p = await prepare(o, checked, note);
  const { data, space, metric, train, evalSet } = p;
  note(
    `finetune: ${p.start.source}; ${p.labelsNote}; ${train.ids.length} training rows (${data.train.file}), ${evalSet.ids.length} eval rows (${data.eval.file}); ` +
      `columns ${data.columns.text}${data.columns.pair ? ` + ${data.columns.pair}` : ""} → ${data.columns.label}`,
  );
  const resumed = resumeDir ? resumeFrom(resumeDir, p, o.out) : null;
  if (resumed) note(`finetune: resuming at step ${resumed.resume.step} of ${p.totalSteps} from ${resumeDir}`);
  const progress: FinetuneProgress = resumed?.progress ?? { fingerprint: p.fingerprint, history: [], best: null };
  const device = o.backend ? { backend: o.backend, name: o.backend.name } : await resolveDevice(o.device ?? "auto", { note });
  const hooks = epochHooks(o, p, progress, writers(o, p, progress, stateDir, t0), log, note);
  let lastSnapshot = resumed ? resumed.resume.step : null;
  const onCheckpoint = (s: TrainingSnapshot): void => {
    hooks.onCheckpoint(s);
    lastSnapshot = s.step;
  };
  const res = await finetuneAsync({
    backend: device.backend,
    task: space,
    seed: p.seed,
    baseConfig: p.start.config,
    init: p.start.weights,
    train,
    evals: [{ evaluator: "eval", data: evalSet }],
    hparams: p.hparams,
    computeDtype: space.kind === "regression" ? "f32" : resolvePrecision(p.precision, device.backend),
    evalBatchSize: o.evalBatchSize ?? FINETUNE_DEFAULTS.evalBatchSize,
    resume: resumed?.resume,
    signal: o.signal,
    checkpointOnAbort: o.checkpointOnAbort,
    checkpointEvery: o.checkpointEvery ?? FINETUNE_DEFAULTS.checkpointEvery,
    ...hooks,
    onCheckpoint,
    onEpoch: (e: EpochEnd) => {
      const verdict = hooks.onEpoch(e);
      lastSnapshot = e.step;
      return verdict;
    },
  }).catch((e: unknown) => {
    if (o.signal?.aborted) {
      note(lastSnapshot === null ? `finetune: stopped before the first snapshot; nothing to resume in ${stateDir}` : `finetune: stopped; the state at step ${lastSnapshot} of ${p.totalSteps} is in ${stateDir}`);
    }
    throw e;
  });
  const saved = o.save === "last" ? progress.history[progress.history.length - 1]! : progress.best!;
  const summary: FinetuneSummary = {
    out: o.out,
    task: space.kind,
    labels: [...space.labelNames],
    metric,
    history: progress.history,
    saved,
    stoppedEarly: res.stoppedEarly,
    steps: res.steps,
    resumedFrom: resumed ? resumed.resume.step : null,
    seconds: (performance.now() - t0) / 1000,
  };
  fs.writeFileSync(path.join(o.out, FINETUNE_RESULTS_FILE), JSON.stringify({ ...summary, options: p.fingerprint, device: device.name }, null, 2) + "\n");
  if (!o.keepCheckpoints) fs.rmSync(stateDir, { recursive: true, force: true });
  note(`finetune: saved epoch ${saved.epoch} (${metric} ${((saved.metrics[metric] ?? NaN) * 100).toFixed(2)}) to ${o.out}`);
  return summary;
}
