import { accuracy, binaryF1, macroF1, matthewsCorrcoef, pearson, spearman } from "./metrics.js";
import { TASK_NAMES, type LabelSpace, type MetricName, type TaskName, type TaskSpec } from "./tasks.js";

/** Metric values of one evaluation, as fractions / correlations (not ×100). */
export type MetricValues = Partial<Record<MetricName, number>>;

/**
 * Every metric the task reports (score metrics and extras) for one eval split. `predictions` are class
 * ids (argmax of the logits) for classification, the raw regression output for STS-B.
 */
export function computeMetrics(task: LabelSpace, predictions: ArrayLike<number>, labels: ArrayLike<number>): MetricValues {
  const out: MetricValues = {};
  for (const m of [...task.scoreMetrics, ...task.extraMetrics]) {
    if (m === "accuracy") out.accuracy = accuracy(predictions, labels);
    else if (m === "f1") out.f1 = binaryF1(predictions, labels);
    else if (m === "macro_f1") out.macro_f1 = macroF1(predictions, labels, task.numLabels);
    else if (m === "matthews") out.matthews = matthewsCorrcoef(predictions, labels, task.numLabels);
    else if (m === "pearson") out.pearson = pearson(predictions, labels);
    else out.spearman = spearman(predictions, labels);
  }
  return out;
}

/** One fine-tuning job's final evaluation: metric values per evaluator label (glue_mnli, …). */
export interface SeedResult {
  seed: number;
  evals: Record<string, MetricValues>;
}

export interface TaskScore {
  /** Mean over seeds, evaluators and score metrics, ×100 (recipe.md §5.5 step 2). */
  score: number;
  /** Each seed's own score (mean over its evaluators and score metrics), ×100. */
  perSeed: number[];
  /** Sample standard deviation of perSeed (n − 1); 0 with a single seed. */
  std: number;
  /** Per evaluator and metric (extras included): mean over seeds, ×100. */
  metrics: Record<string, MetricValues>;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The task's GLUE score: every score-metric value of every evaluator of every seed ×100, then their
 * arithmetic mean — MNLI = mean(m-acc, mm-acc), QQP and MRPC = mean(acc, F1), STS-B = Spearman,
 * CoLA = MCC, the others accuracy.
 */
export function taskScore(task: TaskSpec, runs: readonly SeedResult[]): TaskScore {
  if (runs.length === 0) throw new Error(`taskScore: no results for ${task.displayName}; expected at least one seed`);
  const all: number[] = [];
  const perSeed: number[] = [];
  const sums: Record<string, Record<string, number[]>> = {};
  for (const run of runs) {
    const seedVals: number[] = [];
    for (const [evaluator, vals] of Object.entries(run.evals)) {
      for (const [m, v] of Object.entries(vals) as [MetricName, number][]) {
        ((sums[evaluator] ??= {})[m] ??= []).push(v * 100);
        if (task.scoreMetrics.includes(m)) seedVals.push(v * 100);
      }
    }
    if (seedVals.length === 0) {
      throw new Error(`taskScore: seed ${run.seed} of ${task.displayName} has none of the score metrics ${task.scoreMetrics.join(", ")}`);
    }
    all.push(...seedVals);
    perSeed.push(mean(seedVals));
  }
  const m = mean(perSeed);
  const std = perSeed.length < 2 ? 0 : Math.sqrt(perSeed.reduce((a, x) => a + (x - m) ** 2, 0) / (perSeed.length - 1));
  const metrics: Record<string, MetricValues> = {};
  for (const [ev, ms] of Object.entries(sums)) {
    metrics[ev] = Object.fromEntries(Object.entries(ms).map(([k, xs]) => [k, mean(xs)]));
  }
  return { score: mean(all), perSeed, std, metrics };
}

export interface GlueAverage {
  /** Unweighted mean of the task scores given (×100 already). */
  score: number;
  /** Tasks that entered the mean. */
  tasks: TaskName[];
  /** True only when all eight GLUE tasks are present — the number the paper reports. */
  complete: boolean;
  missing: TaskName[];
}

/** GLUE = unweighted mean of the eight task scores (recipe.md §5.5 step 3); partial sets are flagged. */
export function glueAverage(scores: Partial<Record<TaskName, number>>): GlueAverage {
  const tasks = TASK_NAMES.filter((t) => scores[t] !== undefined && Number.isFinite(scores[t]));
  if (tasks.length === 0) throw new Error("glueAverage: no task scores; expected at least one finished task");
  const missing = TASK_NAMES.filter((t) => !tasks.includes(t));
  return { score: mean(tasks.map((t) => scores[t]!)), tasks, complete: missing.length === 0, missing };
}
