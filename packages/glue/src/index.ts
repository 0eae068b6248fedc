export { TASKS, TASK_NAMES, GLUE_DEFAULTS, parseTaskList } from "./tasks.js";
export type { TaskName, TaskSpec, LabelSpace, TsvLayout, EvalSplit, Hyperparameters, MetricName } from "./tasks.js";
export { GlueDataError } from "./errors.js";
export { parseLabel, type GlueExample } from "./example.js";
export type { LoadOptions, LoadedSplit, SkippedRow, SplitFormat } from "./split.js";
export { loadTsvSplit } from "./load-tsv.js";
export { loadJsonlSplit } from "./load-jsonl.js";
export { loadParquetSplit } from "./load-parquet.js";
export { loadTaskData, findSplitFiles, type TaskData, type SplitData, type SplitStatus } from "./task-data.js";
export { accuracy, binaryF1, macroF1, matthewsCorrcoef, pearson, spearman, averageRanks } from "./metrics.js";
export { computeMetrics, taskScore, glueAverage, type MetricValues, type SeedResult, type TaskScore, type GlueAverage } from "./score.js";
export { encodeExamples, sliceBatch, gatherBatch, type EncodedSplit, type GlueBatch } from "./encode.js";
export {
  finetune, finetuneAsync, YIELD_EVERY_MS, predict, taskConfig, withoutClassifier, plannedSteps, plannedWarmup, epochOrder,
  type FinetuneJob, type FinetuneResult, type JobHyperparameters, type TrainingSnapshot, type EpochEnd,
} from "./finetune.js";
export { readTable, tableFormat, type Table, type TableFormat, type TableRow } from "./read-table.js";
export { loadLabelledFiles, type LabelledFiles, type LabelledOptions, type LabelledSplit } from "./labelled.js";
export { loadStartingModel, freshStartingModel, type StartingModel } from "./starting-model.js";
export { runGlue, seedsFor, type GlueRunOptions, type GlueReport, type TaskReport, type SeedReport, type SplitReport } from "./run-glue.js";
export { renderMarkdown, writeReport } from "./report.js";
export { ProgressBar, type ProgressStream } from "./progress.js";
