import { InvalidArgumentError, type Command } from "commander";
import { deviceOption } from "./device-option.js";
import { pretrain } from "../train/pretrain.js";
import { launch } from "../parallel/launch.js";
import { recipeNames } from "../config/load.js";

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export interface PretrainCliOptions {
  config: string;
  data?: string;
  device?: string;
  maxDuration?: string;
  saveFolder?: string;
  resume?: string;
  set: string[];
  gpus?: number;
}

/** `mosaicbert pretrain`: parses options; the work is `pretrain()` (or the launcher with --gpus). */
export function register(program: Command): void {
  program
    .command("pretrain")
    .description("Pretrain a MosaicBERT / BERT masked-LM from scratch (no arguments: the tiny-cpu recipe on the shipped English sample)")
    .option("--config <recipe>", `recipe name (${recipeNames().join(", ")}) or path to a yaml`, "tiny-cpu")
    .option("--data <dir>", "MDS dataset with train/ and val/ splits (column text): a folder (sets data_local) or a remote s3://, gs://, hf://datasets/…, http(s):// (sets data_remote, cached per node)")
    .addOption(deviceOption("compute device; auto: CUDA if available, else CPU"))
    .option("--max-duration <dur>", 'training length: "2000ba" steps, "286720000sp" samples, "36e9tok" tokens, "2ep" epochs, "10min"/"2h" wall clock')
    .option("--save-folder <dir>", "local folder where checkpoints and metrics.jsonl go (overrides save_folder; {run_name} is replaced by the run name; s3:// and other URLs are refused)")
    .option("--resume <auto|dir>", "auto: continue from the newest checkpoint of the save folder; or a checkpoint folder")
    .option("--set <key=value>", "override a recipe key (dotted, typed by the schema), e.g. --set optimizer.lr=1e-3; repeatable", collect, [])
    .option("--gpus <n>", "start n processes on this host, one per GPU (data parallel); RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT are honoured without it", positiveInt)
    .action(async (opts: PretrainCliOptions) => {
      if (opts.gpus !== undefined && opts.gpus > 1 && process.env.RANK === undefined) {
        // Re-run this same command once per GPU, without --gpus.
        const argv = process.argv.slice(1);
        const args: string[] = [];
        for (let i = 0; i < argv.length; i++) {
          if (argv[i] === "--gpus") i++;
          else if (!argv[i]!.startsWith("--gpus=")) args.push(argv[i]!);
        }
        process.exitCode = await launch({ nprocs: opts.gpus, args });
        return;
      }
      const summary = await pretrain({
        config: opts.config,
        overrides: opts.set,
        data: opts.data,
        device: opts.device,
        maxDuration: opts.maxDuration,
        saveFolder: opts.saveFolder,
        resume: opts.resume,
      });
      process.exitCode = summary.exitCode;
    });
}
