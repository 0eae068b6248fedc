import { InvalidArgumentError, Option, type Command } from "commander";
import {
  type StartingModel,
  freshStartingModel,
  loadStartingModel,
  parseTaskList,
  renderMarkdown,
  runGlue,
  writeReport,
} from "@mosaicbert/glue";
import { resolveDevice, resolvePrecision } from "../device.js";
import { deviceOption } from "./device-option.js";

function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${flag}: expected a positive integer, got "${value}"`);
    return n;
  };
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`--lr: expected a positive number, got "${value}"`);
  return n;
}

/** "3" → 3 seeds per task; "19,717" → those seeds for every task. */
function seedsArg(value: string): number | number[] {
  const v = value.trim();
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    if (n >= 1) return n;
  } else if (/^\d+(,\d+)+$/.test(v)) {
    return v.split(",").map(Number);
  }
  throw new InvalidArgumentError(`--seeds: expected a number of seeds (e.g. 3) or a comma list of seeds (e.g. 19,8364), got "${value}"`);
}

interface GlueCliOptions {
  model?: string;
  preset?: string;
  data: string;
  tasks: string;
  seeds?: number | number[];
  device: string;
  out: string;
  maxSeqLen: number;
  maxTrainExamples?: number;
  maxEvalExamples?: number;
  maxSteps?: number;
  epochs?: number;
  lr?: number;
  batchSize?: number;
  precision: "auto" | "f32" | "bf16";
  skipMalformed?: boolean;
}

/** Where the command writes: the table to stdout, progress and notes to stderr (injectable for tests). */
export interface GlueIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
}

/** `mosaicbert glue`: fine-tune and evaluate on GLUE (logic in @mosaicbert/glue). */
export function registerGlue(program: Command, io: GlueIo): void {
  program
    .command("glue")
    .description(
      "Fine-tune a model on the GLUE tasks with the MosaicBERT recipe (Table S2 hyperparameters) and report dev scores and the GLUE average",
    )
    .addOption(new Option("--model <dir>", "starting model folder (config.json + model.safetensors or pytorch_model.bin)").conflicts("preset"))
    .addOption(new Option("--preset <name>", "start from a freshly initialised layers preset instead (tiny, mosaic-bert-base, …): smoke tests only").conflicts("model"))
    .requiredOption("--data <dir>", "folder with one subfolder per task: GLUE TSV layout (SST-2/train.tsv, dev.tsv, …) or Hugging Face exports (sst2/train.jsonl, validation.jsonl, *.parquet)")
    .option("--tasks <list>", "all, or a comma list of mnli,qnli,qqp,sst2,cola,rte,mrpc,stsb", "all")
    .option("--seeds <n|list>", "seeds per task: a count (reference seeds first) or a comma list (default: each task's reference seeds)", seedsArg)
    .addOption(deviceOption("where to compute", "auto"))
    .option("--out <dir>", "where to write glue-report.json and glue-report.md", "glue-results")
    .option("--max-seq-len <n>", "truncate inputs to n tokens", positiveInt("--max-seq-len"), 256)
    .option("--max-train-examples <n>", "use only the first n training examples of each task", positiveInt("--max-train-examples"))
    .option("--max-eval-examples <n>", "use only the first n examples of each dev split", positiveInt("--max-eval-examples"))
    .option("--max-steps <n>", "stop each job after n optimizer steps (the schedule spans the capped run)", positiveInt("--max-steps"))
    .option("--epochs <n>", "override every task's epoch count", positiveInt("--epochs"))
    .option("--lr <x>", "override every task's peak learning rate (weight decay keeps its ratio)", positiveNumber)
    .option("--batch-size <n>", "override every task's batch size", positiveInt("--batch-size"))
    .addOption(new Option("--precision <p>", "compute precision: auto = bf16 on a GPU (the reference's amp_bf16), f32 on the CPU; STS-B always runs f32, as the reference").choices(["auto", "f32", "bf16"]).default("auto"))
    .option("--skip-malformed", "drop malformed rows (listed in the report) instead of refusing the file, as Hugging Face's glue loader does")
    .action(async (opts: GlueCliOptions) => {
      if (!opts.model && !opts.preset) throw new Error("glue: give --model <dir> (a pretrained model folder) or --preset <name> (fresh initialisation)");
      const tasks = parseTaskList(opts.tasks);
      const start: StartingModel = opts.model ? loadStartingModel(opts.model) : freshStartingModel(opts.preset!);
      for (const w of start.warnings) io.stderr.write(`warning: ${opts.model}/config.json: ${w}\n`);
      const device = await resolveDevice(opts.device, { note: (m) => io.stderr.write(`${m}\n`) });
      io.stderr.write(`glue: ${start.source} on ${device.name}; tasks ${tasks.join(", ")}\n`);
      const report = await runGlue({
        backend: device.backend,
        device: device.name,
        dataDir: opts.data,
        start,
        tasks,
        seeds: opts.seeds,
        maxSeqLen: opts.maxSeqLen,
        maxTrainExamples: opts.maxTrainExamples,
        maxEvalExamples: opts.maxEvalExamples,
        maxSteps: opts.maxSteps,
        epochs: opts.epochs,
        lr: opts.lr,
        batchSize: opts.batchSize,
        computeDtype: resolvePrecision(opts.precision, device.backend),
        onMalformed: opts.skipMalformed ? "skip" : "error",
        progress: io.stderr,
      });
      const paths = writeReport(report, opts.out);
      io.stdout.write(renderMarkdown(report));
      io.stderr.write(`glue: wrote ${paths.json} and ${paths.markdown}\n`);
      if (!report.tasks.some((t) => t.status === "ran" || t.status === "failed")) {
        const why = report.tasks.map((t) => `${t.task}: ${t.status}${t.notes.length ? ` (${t.notes.join("; ")})` : ""}`).join("; ");
        throw new Error(`glue: no task ran from --data ${opts.data}: ${why}. Expected one subfolder per task: GLUE TSV layout (SST-2/train.tsv, dev.tsv, …) or Hugging Face exports (sst2/train.jsonl, validation.jsonl, …)`);
      }
      const failed = report.tasks.filter((t) => t.status === "failed");
      if (failed.length) throw new Error(`glue: ${failed.map((t) => `${t.name} failed (${t.error})`).join("; ")}`);
    });
}

export function register(program: Command): void {
  registerGlue(program, { stdout: process.stdout, stderr: process.stderr });
}
