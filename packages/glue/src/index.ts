export { TASKS, TASK_NAMES, GLUE_DEFAULTS, parseTaskList } from "./tasks.js";
export type { TaskName, TaskSpec, TsvLayout, EvalSplit, Hyperparameters, MetricName } from "./tasks.js";
export { GlueDataError } from "./errors.js";
export { parseLabel, type GlueExample } from "./example.js";
export type { LoadOptions, LoadedSplit, SkippedRow, SplitFormat } from "./split.js";
export { loadTsvSplit } from "./load-tsv.js";
export { loadJsonlSplit } from "./load-jsonl.js";
export { loadParquetSplit } from "./load-parquet.js";
export { loadTaskData, findSplitFiles, type TaskData, type SplitData, type SplitStatus } from "./task-data.js";
