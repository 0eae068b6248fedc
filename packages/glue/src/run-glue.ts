import type { ComputeDtype, StateDict } from "@mosaicbert/layers";
import type { Backend } from "@mosaicbert/tensor";
import { encodeExamples, type EncodedSplit } from "./encode.js";
import { type FinetuneResult, type JobHyperparameters, finetune, plannedSteps } from "./finetune.js";
import { ProgressBar, type ProgressStream } from "./progress.js";
import { type GlueAverage, type MetricValues, glueAverage, taskScore } from "./score.js";
import type { LoadOptions } from "./split.js";
import type { StartingModel } from "./starting-model.js";
import { type SplitStatus, loadTaskData } from "./task-data.js";
import { TASKS, TASK_NAMES, GLUE_DEFAULTS, type TaskName } from "./tasks.js";

export interface GlueRunOptions {
  backend: Backend;
  /** Folder with one subfolder per task (GLUE TSV layout or Hugging Face jsonl/parquet exports). */
  dataDir: string;
  start: StartingModel;
  /** Default: all eight. Run in TASK_NAMES order (round 1, then RTE/MRPC/STS-B) whatever the order given. */
  tasks?: readonly TaskName[];
  /**
   * Seeds per task: omitted = each task's reference seeds (Table S2); a number N = N seeds per task
   * (the task's reference seeds first, then the other reference seeds, then 1, 2, …); a list = those
   * seeds for every task.
   */
  seeds?: number | readonly number[];
  /** Default 256. */
  maxSeqLen?: number;
  /** Use only the first N training examples of each task (file order). */
  maxTrainExamples?: number;
  /** Use only the first N examples of each eval split (scores then are not comparable). */
  maxEvalExamples?: number;
  maxSteps?: number;
  /** Overrides every task's epoch count. */
  epochs?: number;
  /** Overrides every task's peak learning rate (weight decay keeps its ratio to lr). */
  lr?: number;
  /** Overrides every task's batch size. */
  batchSize?: number;
  computeDtype?: ComputeDtype;
  onMalformed?: LoadOptions["onMalformed"];
  /** Progress bars; default: none. */
  progress?: ProgressStream;
  /** Device name for the report ("cpu", "cuda"). */
  device?: string;
}

export interface SplitReport {
  split: string;
  status: SplitStatus;
  file?: string;
  format?: string;
  /** Rows read (examples + skipped malformed rows). */
  rows?: number;
  officialRows: number;
  /** Examples actually used after --max-*-examples. */
  used?: number;
  skippedRows?: number[];
  note?: string;
}

export interface SeedReport {
  seed: number;
  /** ×100, per evaluator. */
  metrics: Record<string, MetricValues>;
  /** This seed's task score (×100). */
  score: number;
  steps: number;
  warmupSteps: number;
  finalLoss: number;
  seconds: number;
}

export interface TaskReport {
  task: TaskName;
  name: string;
  /** ran: scored; skipped: files missing/invalid; failed: training or evaluation threw. */
  status: "ran" | "skipped" | "failed";
  dataStatus: SplitStatus;
  splits: SplitReport[];
  /** Why skipped / what makes the score not comparable to the reference. */
  notes: string[];
  /** "pretrained" (the --model weights), "mnli" (the MNLI fine-tuned weights), "fresh" (random init). */
  startFrom?: "pretrained" | "mnli" | "fresh";
  hparams?: JobHyperparameters & { maxSeqLen: number; seeds: number[] };
  seeds: SeedReport[];
  /** ×100 (recipe.md §5.5): mean over seeds and score metrics. */
  score?: number;
  /** Sample standard deviation of the per-seed scores. */
  std?: number;
  /** ×100 means over seeds, every reported metric. */
  metrics?: Record<string, MetricValues>;
  error?: string;
}

export interface GlueReport {
  model: string;
  arch: string;
  dataDir: string;
  device: string;
  options: Record<string, unknown>;
  tasks: TaskReport[];
  /** Unweighted mean of the scores of the tasks that ran; `complete` only with all eight. */
  average: GlueAverage | null;
  /** True when every score is comparable to the reference's (all data complete, no caps, all 8 tasks). */
  comparable: boolean;
  /** The options that depart from the recipe, in words ("--max-steps 2", …); empty for a faithful run. */
  caps: string[];
  warnings: string[];
}

const ALL_SEEDS = [19, 8364, 717, 10536, 90166];

/** The seeds a task runs with (see GlueRunOptions.seeds). */
export function seedsFor(task: TaskName, seeds: GlueRunOptions["seeds"]): number[] {
  const ref = [...TASKS[task].hparams.seeds];
  if (seeds === undefined) return ref;
  if (typeof seeds !== "number") return [...seeds];
  if (!Number.isInteger(seeds) || seeds < 1) throw new RangeError(`--seeds: expected a positive integer or a comma list of seeds, got ${seeds}`);
  const pool = [...ref, ...ALL_SEEDS.filter((s) => !ref.includes(s))];
  for (let k = 1; pool.length < seeds; k++) if (!pool.includes(k)) pool.push(k);
  return pool.slice(0, seeds);
}

const x100 = (m: MetricValues): MetricValues => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v * 100]));

/**
 * Runs the GLUE fine-tuning recipe (recipe.md §5) over the chosen tasks: per task, load and check its
 * files (a task whose files are missing or malformed is reported and skipped — never silently
 * dropped), tokenize once, fine-tune one job per seed and score the final evaluation. RTE, MRPC and
 * STS-B start from the MNLI fine-tuned weights (first seed's) when MNLI ran in this call, else from
 * the starting model. Returns the full report; writing it is report.ts's job.
 */
export async function runGlue(o: GlueRunOptions): Promise<GlueReport> {
  // Always in run order, so MNLI finishes before the tasks that start from it.
  const wanted = o.tasks ?? TASK_NAMES;
  const tasks = TASK_NAMES.filter((t) => wanted.includes(t));
  const maxSeqLen = o.maxSeqLen ?? GLUE_DEFAULTS.maxSeqLen;
  for (const [k, v] of Object.entries({ maxTrainExamples: o.maxTrainExamples, maxEvalExamples: o.maxEvalExamples, maxSteps: o.maxSteps, epochs: o.epochs, batchSize: o.batchSize })) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new RangeError(`${flag(k)}: expected a positive integer, got ${v}`);
  }
  if (o.lr !== undefined && !(Number.isFinite(o.lr) && o.lr > 0)) throw new RangeError(`--lr: expected a positive number, got ${o.lr}`);
  const reports: TaskReport[] = [];
  const mnli: MnliCarry = { state: null, needed: tasks.some((t) => TASKS[t].hparams.startFrom === "mnli") };
  for (const name of tasks) {
    const task = TASKS[name];
    const data = await loadTaskData(o.dataDir, task, { onMalformed: o.onMalformed });
    const report = openReport(name, data);
    reports.push(report);
    if (!data.runnable) {
      o.progress?.write(`${task.displayName}: skipped (${data.status}) — ${report.notes.join("; ")}\n`);
      continue;
    }
    try {
      runTask(o, name, data, report, maxSeqLen, mnli);
    } catch (err) {
      report.status = "failed";
      report.error = (err as Error).message;
      o.progress?.write(`${task.displayName}: failed — ${report.error}\n`);
    }
  }
  return summarize(o, tasks, reports, maxSeqLen);
}

/** The MNLI weights RTE, MRPC and STS-B start from, once MNLI has run in this call. */
interface MnliCarry {
  state: StateDict | null;
  needed: boolean;
}

type TaskData = Awaited<ReturnType<typeof loadTaskData>>;

/** A task's report before it runs: its splits as found, and notes on what is incomplete. */
function openReport(name: TaskName, data: TaskData): TaskReport {
  const splits: SplitReport[] = [data.train, ...data.evals].map((s) => ({
    split: s.split,
    status: s.status,
    file: s.data?.file,
    format: s.data?.format,
    rows: s.data ? s.data.examples.length + s.data.skipped.length : undefined,
    officialRows: s.officialRows,
    skippedRows: s.data?.skipped.length ? s.data.skipped.map((r) => r.line) : undefined,
    note: s.note,
  }));
  const report: TaskReport = { task: name, name: TASKS[name].displayName, status: "skipped", dataStatus: data.status, splits, notes: [], seeds: [] };
  for (const s of [data.train, ...data.evals]) {
    if (s.status !== "complete") report.notes.push(`${s.split}: ${s.status}${s.note ? ` — ${s.note}` : ""}`);
  }
  if (data.unused.length && data.status !== "complete") report.notes.push(`files not in a recognised layout: ${data.unused.join(", ")}`);
  return report;
}

/** Tokenizes a runnable task (within the example caps), fine-tunes one job per seed and scores them into `report`. */
function runTask(o: GlueRunOptions, name: TaskName, data: TaskData, report: TaskReport, maxSeqLen: number, mnli: MnliCarry): void {
  const task = TASKS[name];
  const splits = report.splits;
  const trainEx = data.train.data!.examples.slice(0, o.maxTrainExamples ?? Infinity);
  const train = encodeExamples(trainEx, o.start.tokenizer, maxSeqLen);
  splits[0]!.used = trainEx.length;
  const evals: Array<{ evaluator: string; data: EncodedSplit }> = [];
  task.evals.forEach((e, i) => {
    const sd = data.evals[i]!;
    if (!sd.data) return;
    const ex = sd.data.examples.slice(0, o.maxEvalExamples ?? Infinity);
    splits[i + 1]!.used = ex.length;
    evals.push({ evaluator: e.evaluator, data: encodeExamples(ex, o.start.tokenizer, maxSeqLen) });
  });
  // Caps are listed once for the run (GlueReport.caps); splits[].used holds the counts per task.
  const hp = task.hparams;
  const lr = o.lr ?? hp.lr;
  const hparams: JobHyperparameters = {
    lr,
    weightDecay: hp.weightDecay * (lr / hp.lr),
    epochs: o.epochs ?? hp.epochs,
    batchSize: o.batchSize ?? hp.batchSize,
    maxSteps: o.maxSteps,
  };
  const seeds = seedsFor(name, o.seeds);
  report.hparams = { ...hparams, maxSeqLen, seeds };
  let init: StateDict | null = o.start.weights;
  report.startFrom = o.start.weights ? "pretrained" : "fresh";
  if (hp.startFrom === "mnli") {
    if (mnli.state) {
      init = mnli.state;
      report.startFrom = "mnli";
    } else report.notes.push("started from the starting model: MNLI did not run in this call (the reference starts RTE/MRPC/STS-B from MNLI)");
  }
  const total = plannedSteps(train.ids.length, hparams);
  const results: FinetuneResult[] = [];
  for (const [k, seed] of seeds.entries()) {
    const bar = o.progress ? new ProgressBar(o.progress, `${task.displayName} seed ${seed} (${k + 1}/${seeds.length})`, total) : null;
    const res = finetune({
      backend: o.backend,
      task,
      seed,
      baseConfig: o.start.config,
      init,
      train,
      evals,
      hparams,
      // The reference hard-codes STS-B to fp32 (torchmetrics Spearman issue under amp).
      computeDtype: name === "stsb" ? "f32" : o.computeDtype,
      keepState: name === "mnli" && k === 0 && mnli.needed,
      onStep: bar ? (s) => bar.update(s.step, `loss ${s.loss.toFixed(4)}`) : undefined,
    });
    if (res.state) mnli.state = res.state;
    results.push(res);
    const seedScore = taskScore(task, [{ seed, evals: res.evals }]).score;
    report.seeds.push({
      seed,
      metrics: Object.fromEntries(Object.entries(res.evals).map(([ev, m]) => [ev, x100(m)])),
      score: seedScore,
      steps: res.steps,
      warmupSteps: res.warmupSteps,
      finalLoss: res.finalLoss,
      seconds: res.seconds,
    });
    bar?.done(`score ${seedScore.toFixed(2)} after ${res.steps} steps`);
  }
  const ts = taskScore(task, results.map((r) => ({ seed: r.seed, evals: r.evals })));
  report.score = ts.score;
  report.std = ts.std;
  report.metrics = ts.metrics;
  report.status = "ran";
}

/** The run's report: the average of the tasks that ran, the caps that depart from the recipe, and whether it is comparable. */
function summarize(o: GlueRunOptions, tasks: TaskName[], reports: TaskReport[], maxSeqLen: number): GlueReport {
  const scores: Partial<Record<TaskName, number>> = {};
  for (const r of reports) if (r.status === "ran") scores[r.task] = r.score!;
  const average = Object.keys(scores).length ? glueAverage(scores) : null;
  const caps: string[] = [];
  const capOpts = { maxTrainExamples: o.maxTrainExamples, maxEvalExamples: o.maxEvalExamples, maxSteps: o.maxSteps, epochs: o.epochs, lr: o.lr, batchSize: o.batchSize };
  for (const [k, v] of Object.entries(capOpts)) if (v !== undefined) caps.push(`${flag(k)} ${v}`);
  if (maxSeqLen !== GLUE_DEFAULTS.maxSeqLen) caps.push(`--max-seq-len ${maxSeqLen}`);
  if (o.seeds !== undefined) caps.push(`--seeds ${Array.isArray(o.seeds) ? o.seeds.join(",") : o.seeds}`);
  const comparable =
    !!average?.complete && caps.length === 0 && o.start.weights !== null && reports.every((r) => r.status === "ran" && r.dataStatus === "complete");
  return {
    model: o.start.source,
    arch: o.start.config.arch,
    dataDir: o.dataDir,
    device: o.device ?? o.backend.name,
    options: {
      tasks: [...tasks],
      seeds: o.seeds ?? "reference",
      maxSeqLen,
      maxTrainExamples: o.maxTrainExamples ?? null,
      maxEvalExamples: o.maxEvalExamples ?? null,
      maxSteps: o.maxSteps ?? null,
      epochs: o.epochs ?? null,
      lr: o.lr ?? null,
      batchSize: o.batchSize ?? null,
      computeDtype: o.computeDtype ?? "f32",
      onMalformed: o.onMalformed ?? "error",
    },
    tasks: reports,
    average,
    comparable,
    caps,
    warnings: [...o.start.warnings],
  };
}

function flag(camel: string): string {
  return `--${camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}
