export { buildProgram } from "./cli/program.js";

// Training
export { pretrain, type PretrainOptions, type PretrainSummary, type RunStatus } from "./train/pretrain.js";
export { forwardBackward, evaluate, allReduceHost, type StepResult, type EvalResult } from "./train/step.js";
export { tokenizeAndMask, mlmCollator, sliceRows, sampleSeeds } from "./train/batches.js";
export { BatchProducer, dataWorkers, type PreparedBatch, type ProducerOptions } from "./train/prefetch.js";
export { resolveDevice, parseDevice, DEVICE_FORMS, type Device, type DeviceChoice } from "./device.js";
export { modelConfigOf } from "./train/model-config.js";
export { trainFlops, batchCost, type BatchCost } from "./train/flops.js";
export { deriveSeed, SeedStream } from "./train/seeds.js";
export { worldFromEnv, connectWorld, type WorldEnv } from "./train/world.js";

// Fine-tuning on your own files
export {
  finetuneFiles, FINETUNE_DEFAULTS, FINETUNE_METRICS, FINETUNE_STATE_DIR, FINETUNE_RESULTS_FILE,
  type FinetuneFilesOptions, type FinetuneSummary, type EpochRecord,
} from "./finetune/run.js";

// Recipes
export { loadRecipe, buildConfig, parseOverride, recipeNames, resolveRecipe, crossChecks, type LoadOptions } from "./config/load.js";
export { PRETRAIN_SCHEMA, type PretrainConfig, type LoaderConfig, type DatasetConfig } from "./config/pretrain-schema.js";
export { ConfigError, validate, schemaAt, type Schema, type Field, type Problem } from "./config/schema.js";
export { parseDuration, durationToSteps, durationSeconds, formatDuration, type Duration, type DurationUnit } from "./config/duration.js";

// Checkpoints, metrics, data
export { saveCheckpoint, loadCheckpoint, findLatest, listCheckpoints, checkpointName, type TrainerState, type LoadedCheckpoint } from "./checkpoint/checkpoint.js";
export { checkSaveFolder, removeStaleTemps } from "./checkpoint/save-folder.js";
export { MetricsWriter, readMetrics, METRICS_FILE, type MetricRecord } from "./log/metrics.js";
export { TrainTextLoader, evalTexts, openDataset, cacheFolderFor, type LoaderState, type SplitSource } from "./data/loader.js";
export { chunkText, buildSampleCorpus } from "./data/sample-corpus.js";
export { packageRoot, recipesDir, sampleCorpusDir } from "./paths.js";

// Data parallelism
export { SingleProcessCommunicator, allReduceBuckets, GradBuckets, type Communicator } from "./parallel/communicator.js";
export { SocketCommunicator, type SocketCommOptions } from "./parallel/socket.js";
export { launch, type LaunchOptions } from "./parallel/launch.js";

// Benchmarks and checks of a backend (the GPU machine runs them through scripts/device.sh)
export { PEAK_FLOPS, benchBatch, trainBench, type TrainBenchOptions, type TrainBenchResult } from "./bench/train-bench.js";
export { BENCH_LENGTHS, BENCH_SEQ_LEN } from "./bench/lengths.js";
export { GOLDEN_CASES, runGolden, type GoldenReport } from "./checks/golden.js";

// Plots
export { plotRuns, type PlotOptions } from "./plot/plot.js";
export { readSeries, paretoFrontier, type Series, type Point, type XAxis, type YAxis } from "./plot/series.js";
