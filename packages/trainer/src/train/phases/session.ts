import type { BertTokenizer } from "@mosaicbert/data-streaming";
import type { DecoupledAdamW, ForMaskedLM, ModelConfig, Schedule } from "@mosaicbert/layers";
import type { Backend, Tensor } from "@mosaicbert/tensor";
import type { PretrainConfig } from "../../config/pretrain-schema.js";
import type { LoaderState, SplitSource, TrainTextLoader } from "../../data/loader.js";
import type { Device } from "../../device.js";
import type { MetricsWriter } from "../../log/metrics.js";
import type { StepProfiler } from "./profile-step.js";
import type { Progress } from "../../log/progress.js";
import type { Communicator } from "../../parallel/communicator.js";
import type { MlmBatch } from "@mosaicbert/data-streaming";
import type { BatchProducer } from "../prefetch.js";
import type { EvalResult } from "../step.js";
import type { TimeBoxProgress } from "../time-box.js";
import type { StopSignals } from "./signals.js";
import type { SpeedWindow } from "./speed.js";

// The state a pretraining run carries from phase to phase (../pretrain.ts reads them in order).

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
  /**
   * Launch each step before reading the one before it (see phases/loop.ts), so the device never waits
   * for the host between steps. Default true; MOSAICBERT_OVERLAP_STEPS=0 turns it off.
   */
  overlapSteps?: boolean;
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

/** The recipe and this process's place in the run: rank, device, communicator, messages. */
export interface World {
  cfg: PretrainConfig;
  recipeFile: string;
  rank: number;
  worldSize: number;
  /** Rank 0: the one that prints, writes metrics and checkpoints. */
  lead: boolean;
  device: Device;
  backend: Backend;
  comm: Communicator;
  /** Whether pretrain made `comm` (and closes it) or was handed one. */
  ownsComm: boolean;
  bf16: boolean;
  saveFolder: string | null;
  progress: Progress;
  /** The run's clock in milliseconds (PretrainOptions.clock). */
  clock: () => number;
  /** A message line from the lead rank. */
  say: (msg: string) => void;
  /** MOSAICBERT_PROFILE_STEP on CUDA: the step to time op by op (`backend` is then its profiler's view). */
  profiler: StepProfiler | null;
}

export interface Data {
  tokenizer: BertTokenizer;
  /** The tokenizer's files, saved into every checkpoint folder. */
  tokenizerFiles: Record<string, string | Uint8Array>;
  source: SplitSource;
  loader: TrainTextLoader;
  /** Fixed evaluation batches (masks keyed on the document). */
  evalBatches: MlmBatch[];
}

export interface Trainee {
  modelConfig: ModelConfig;
  model: ForMaskedLM;
  opt: DecoupledAdamW;
}

/** Sizes, duration and schedule of the run. */
export interface Plan {
  /** Global, per-process, micro batch size and sequence length. */
  G: number;
  D: number;
  M: number;
  S: number;
  /** null for a time-boxed run. */
  totalSteps: number | null;
  maxSeconds: number | null;
  schedule: Schedule;
  evalEvery: number;
  saveEvery: number;
  clip: NonNullable<PretrainConfig["algorithms"]["gradient_clipping"]> | null;
}

/** Time-boxed runs evaluate the schedule on 10⁶ virtual steps at the projected share of the run done. */
export const VIRTUAL_STEPS = 1_000_000;

export interface Timing {
  clock: () => number;
  start: number;
  /** Seconds trained before this process (a resumed run's). */
  offset: number;
}

/** Seconds of training so far. */
export const elapsed = (t: Timing): number => t.offset + (t.clock() - t.start) / 1000;

/** Counters and outcomes that change every step. */
export interface RunState {
  step: number;
  samples: number;
  tokens: number;
  /** The loader position after the last batch actually trained: what checkpoints record. */
  position: LoaderState;
  timing: Timing;
  firstStep: number;
  resumedFrom: string | null;
  losses: number[];
  lastLoss: number | null;
  lastEval: EvalResult | null;
  lastCheckpoint: string | null;
  savedAt: number;
  evaluatedAt: number;
  /** Schedule progress (time-boxed runs) agreed between the ranks for the step with `progressAt` steps before it. */
  progress: number;
  progressAt: number;
  /** A time-boxed run with several processes: whether any rank's clock has reached the budget, agreed after each step. */
  timeUp: boolean;
  status: RunStatus;
  message: string;
  hostTime: { dataWaitMs: number; stepMs: number };
  /** This run's id in the save folder's run.json (lead rank with a save folder). */
  runId: string | undefined;
}

/** Everything the loop, the step, evaluation, checkpoints and the finish share. */
export interface Session {
  w: World;
  data: Data;
  t: Trainee;
  plan: Plan;
  run: RunState;
  producer: BatchProducer;
  metrics: MetricsWriter | null;
  timeBox: TimeBoxProgress | null;
  signals: StopSignals;
  speed: SpeedWindow;
  /** float32 [1] on the device: 0, or NaN from the first non-finite loss or gradient norm on (see launchStep). */
  guard: Tensor;
  /** Whether step n+1 is launched before step n is read (PretrainOptions.overlapSteps; with several processes, only if every rank asks for it). */
  overlap: boolean;
}
