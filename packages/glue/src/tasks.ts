/**
 * The eight GLUE tasks MosaicBERT is scored on (WNLI excluded, as the reference does), with their data
 * layouts and the reference fine-tuning hyperparameters (recipe.md §5.3, "Table S2").
 */

/** Hugging Face `glue` config names, also the names used on the command line. */
/** In run order: round 1 (from the pretrained model), then round 2 (RTE, MRPC, STS-B start from MNLI). */
export const TASK_NAMES = ["mnli", "qnli", "qqp", "sst2", "cola", "rte", "mrpc", "stsb"] as const;
export type TaskName = (typeof TASK_NAMES)[number];

export type MetricName = "accuracy" | "f1" | "macro_f1" | "matthews" | "pearson" | "spearman";

/**
 * What the fine-tuning engine needs to know of a task: its head (classes or one regression output),
 * its label names and the metrics computed on each evaluation. A GLUE TaskSpec is one; so is the
 * label space `mosaicbert finetune` derives from a user's files.
 */
export interface LabelSpace {
  /** Name used in messages and reports ("SST-2", "reviews.csv"). */
  displayName: string;
  /** Classification with `labelNames.length` classes, or regression (one output, MSE). */
  kind: "classification" | "regression";
  /** 1 for regression. */
  numLabels: number;
  /** Class names in id order (empty for regression). */
  labelNames: readonly string[];
  /** Metrics computed on every eval split; the first is the one a score or early stopping reads. */
  scoreMetrics: readonly MetricName[];
  /** Metrics reported besides. */
  extraMetrics: readonly MetricName[];
}

/** Column layout of a task's file in the original GLUE TSV distribution (`download_glue_data.py`). */
export type TsvLayout =
  /** First line is a header; columns are found by name, and every row has as many fields as the header. */
  | { header: true; text: readonly string[]; label: string }
  /** No header (CoLA): a fixed number of fields, columns by index. */
  | { header: false; fields: number; columnNames: readonly string[]; text: readonly number[]; label: number };

/** One evaluation split: its evaluator label in the reference, and its file names in both layouts. */
export interface EvalSplit {
  /** Hugging Face split name. */
  split: "validation" | "validation_matched" | "validation_mismatched";
  /** The reference's evaluator label (`glue_mnli`, `glue_mnli_mismatched`, …). */
  evaluator: string;
  /** Base name of the GLUE TSV file. */
  tsvName: string;
  /** Official number of rows (Hugging Face `glue` size), to tell a partial file from a complete one. */
  officialRows: number;
}

export interface Hyperparameters {
  lr: number;
  weightDecay: number;
  epochs: number;
  batchSize: number;
  seeds: readonly number[];
  /** RTE, MRPC and STS-B start from the MNLI fine-tuned checkpoint when MNLI was run. */
  startFrom: "pretrained" | "mnli";
}

export interface TaskSpec extends LabelSpace {
  name: TaskName;
  /** Folder name in the GLUE TSV distribution ("SST-2"), also used in reports. */
  displayName: string;
  /** Hugging Face column names of the first and (for pairs) second text. */
  textColumns: readonly [string] | readonly [string, string];
  tsv: TsvLayout;
  train: { tsvName: string; officialRows: number };
  evals: readonly EvalSplit[];
  /** Metrics averaged into the task score (recipe.md §5.5); extraMetrics are reported besides. */
  hparams: Hyperparameters;
}

const SEEDS5 = [19, 8364, 717, 10536, 90166] as const;

const dev = (officialRows: number, evaluator: string): EvalSplit => ({
  split: "validation",
  evaluator,
  tsvName: "dev",
  officialRows,
});

export const TASKS: Readonly<Record<TaskName, TaskSpec>> = {
  mnli: {
    name: "mnli",
    displayName: "MNLI",
    kind: "classification",
    numLabels: 3,
    labelNames: ["entailment", "neutral", "contradiction"],
    textColumns: ["premise", "hypothesis"],
    // train has 12 columns, dev 16 (five annotator labels): the header tells where the columns are.
    tsv: { header: true, text: ["sentence1", "sentence2"], label: "gold_label" },
    train: { tsvName: "train", officialRows: 392702 },
    evals: [
      { split: "validation_matched", evaluator: "glue_mnli", tsvName: "dev_matched", officialRows: 9815 },
      { split: "validation_mismatched", evaluator: "glue_mnli_mismatched", tsvName: "dev_mismatched", officialRows: 9832 },
    ],
    scoreMetrics: ["accuracy"],
    extraMetrics: [],
    hparams: { lr: 5.0e-5, weightDecay: 5.0e-6, epochs: 3, batchSize: 48, seeds: [19], startFrom: "pretrained" },
  },
  qnli: {
    name: "qnli",
    displayName: "QNLI",
    kind: "classification",
    numLabels: 2,
    labelNames: ["entailment", "not_entailment"],
    textColumns: ["question", "sentence"],
    tsv: { header: true, text: ["question", "sentence"], label: "label" },
    train: { tsvName: "train", officialRows: 104743 },
    evals: [dev(5463, "glue_qnli")],
    scoreMetrics: ["accuracy"],
    extraMetrics: [],
    hparams: { lr: 1.0e-5, weightDecay: 1.0e-6, epochs: 10, batchSize: 16, seeds: [19], startFrom: "pretrained" },
  },
  qqp: {
    name: "qqp",
    displayName: "QQP",
    kind: "classification",
    numLabels: 2,
    labelNames: ["not_duplicate", "duplicate"],
    textColumns: ["question1", "question2"],
    tsv: { header: true, text: ["question1", "question2"], label: "is_duplicate" },
    train: { tsvName: "train", officialRows: 363846 },
    evals: [dev(40430, "glue_qqp")],
    scoreMetrics: ["accuracy", "f1"],
    extraMetrics: [],
    hparams: { lr: 3.0e-5, weightDecay: 3.0e-6, epochs: 5, batchSize: 16, seeds: [19], startFrom: "pretrained" },
  },
  rte: {
    name: "rte",
    displayName: "RTE",
    kind: "classification",
    numLabels: 2,
    labelNames: ["entailment", "not_entailment"],
    textColumns: ["sentence1", "sentence2"],
    tsv: { header: true, text: ["sentence1", "sentence2"], label: "label" },
    train: { tsvName: "train", officialRows: 2490 },
    evals: [dev(277, "glue_rte")],
    scoreMetrics: ["accuracy"],
    extraMetrics: [],
    // weight decay = lr here (lr/10 everywhere else), as the reference has it.
    hparams: { lr: 1.0e-5, weightDecay: 1.0e-5, epochs: 3, batchSize: 16, seeds: SEEDS5, startFrom: "mnli" },
  },
  cola: {
    name: "cola",
    displayName: "CoLA",
    kind: "classification",
    numLabels: 2,
    labelNames: ["unacceptable", "acceptable"],
    textColumns: ["sentence"],
    // CoLA train/dev have no header: source code, label, original (author's) label mark, sentence.
    tsv: { header: false, fields: 4, columnNames: ["source", "label", "label_notes", "sentence"], text: [3], label: 1 },
    train: { tsvName: "train", officialRows: 8551 },
    evals: [dev(1043, "glue_cola")],
    scoreMetrics: ["matthews"],
    extraMetrics: ["accuracy"],
    hparams: { lr: 5.0e-5, weightDecay: 5.0e-6, epochs: 10, batchSize: 32, seeds: [19, 8364, 717, 10536], startFrom: "pretrained" },
  },
  sst2: {
    name: "sst2",
    displayName: "SST-2",
    kind: "classification",
    numLabels: 2,
    labelNames: ["negative", "positive"],
    textColumns: ["sentence"],
    tsv: { header: true, text: ["sentence"], label: "label" },
    train: { tsvName: "train", officialRows: 67349 },
    evals: [dev(872, "glue_sst2")],
    scoreMetrics: ["accuracy"],
    extraMetrics: [],
    hparams: { lr: 3.0e-5, weightDecay: 3.0e-6, epochs: 3, batchSize: 16, seeds: [19, 8364, 717], startFrom: "pretrained" },
  },
  mrpc: {
    name: "mrpc",
    displayName: "MRPC",
    kind: "classification",
    numLabels: 2,
    labelNames: ["not_equivalent", "equivalent"],
    textColumns: ["sentence1", "sentence2"],
    tsv: { header: true, text: ["#1 String", "#2 String"], label: "Quality" },
    train: { tsvName: "train", officialRows: 3668 },
    evals: [dev(408, "glue_mrpc")],
    scoreMetrics: ["accuracy", "f1"],
    extraMetrics: [],
    hparams: { lr: 8.0e-5, weightDecay: 8.0e-6, epochs: 10, batchSize: 32, seeds: SEEDS5, startFrom: "mnli" },
  },
  stsb: {
    name: "stsb",
    displayName: "STS-B",
    kind: "regression",
    numLabels: 1,
    labelNames: [],
    textColumns: ["sentence1", "sentence2"],
    tsv: { header: true, text: ["sentence1", "sentence2"], label: "score" },
    train: { tsvName: "train", officialRows: 5749 },
    evals: [dev(1500, "glue_stsb")],
    // The reference scores STS-B by Spearman only; Pearson is reported beside it.
    scoreMetrics: ["spearman"],
    extraMetrics: ["pearson"],
    hparams: { lr: 3.0e-5, weightDecay: 3.0e-6, epochs: 10, batchSize: 32, seeds: SEEDS5, startFrom: "mnli" },
  },
};

/** Shared settings of both reference GLUE yamls (recipe.md §5.2). */
export const GLUE_DEFAULTS = {
  betas: [0.9, 0.98] as const,
  eps: 1e-6,
  /** Fraction of the training steps spent in linear warmup; then linear decay to 0 (alpha_f 0). */
  warmupFraction: 0.06,
  maxSeqLen: 256,
  hiddenDropout: 0.1,
  classifierDropout: 0.1,
} as const;

/** Accepts "all", or a comma list of task names; "sst-2", "SST-2", "sts-b" are accepted spellings. */
export function parseTaskList(spec: string): TaskName[] {
  const s = spec.trim().toLowerCase();
  if (s === "all" || s === "") return [...TASK_NAMES];
  const out: TaskName[] = [];
  for (const raw of s.split(",")) {
    const n = raw.trim().replace(/-/g, "");
    if (!n) continue;
    if (!(TASK_NAMES as readonly string[]).includes(n)) {
      throw new Error(`--tasks: unknown task "${raw.trim()}"; expected "all" or a comma list of ${TASK_NAMES.join(", ")}`);
    }
    if (!out.includes(n as TaskName)) out.push(n as TaskName);
  }
  if (out.length === 0) throw new Error(`--tasks: no task given; expected "all" or a comma list of ${TASK_NAMES.join(", ")}`);
  // Keep the reference order: round-1 tasks (MNLI first) before the ones that start from MNLI.
  return TASK_NAMES.filter((t) => out.includes(t));
}
