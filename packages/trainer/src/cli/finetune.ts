import { InvalidArgumentError, Option, type Command } from "commander";
import { deviceOption } from "./device-option.js";
import { StopSignals } from "../train/phases/signals.js";
import type { MetricName, ProgressStream } from "@mosaicbert/glue";
import { FINETUNE_DEFAULTS, FINETUNE_METRICS, FINETUNE_STATE_DIR, type FinetuneFilesOptions, finetuneFiles } from "../finetune/run.js";

function integer(flag: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${flag}: expected an integer ≥ ${min}, got "${value}"`);
    return n;
  };
}

function number(flag: string, min: number, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${flag}: expected a number in [${min}, ${max}], got "${value}"`);
    return n;
  };
}

const list = (value: string): string[] => value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);

interface FinetuneCliOptions extends Omit<FinetuneFilesOptions, "textPairColumn" | "stderr" | "signal" | "checkpointOnAbort" | "backend"> {
  textPairColumn?: string;
}

/** `mosaicbert finetune`: option parsing; the work is finetuneFiles (trainer/finetune) on the glue engine. */
export function registerFinetune(program: Command, io: { stderr: ProgressStream }): void {
  const d = FINETUNE_DEFAULTS;
  program
    .command("finetune")
    .description(
      "Fine-tune a model folder on your own labelled texts (CSV, TSV, JSONL or parquet; single texts or pairs; classification or regression), " +
        "evaluating every epoch, and write a Hugging Face model folder (infer loads it, hub push publishes it)",
    )
    .requiredOption("--model <dir>", "starting model folder (config.json + model.safetensors or pytorch_model.bin): a pretrained MLM checkpoint or a classifier")
    .requiredOption("--train <file>", "training rows: .csv, .tsv, .jsonl or .parquet with a header / named columns")
    .requiredOption("--eval <file>", "held-out rows in the same columns, evaluated after every epoch")
    .requiredOption("--out <dir>", "output model folder")
    .option("--text-column <name>", "column of the (first) text (default: the first of text, sentence, sentence1)")
    .option("--text-pair-column <name>", 'column of the second text of a pair (default: text_pair or sentence2 when present; "none" for single texts)')
    .option("--label-column <name>", "column of the label", "label")
    .addOption(new Option("--task <kind>", "auto: regression when the labels are numbers and some are fractional").choices(["auto", "classification", "regression"]).default("auto"))
    .option("--labels <list>", "class names in id order, comma-separated (default: the training labels, sorted)", list)
    .addOption(new Option("--format <fmt>", "file format (default: from the extension)").choices(["csv", "tsv", "jsonl", "parquet"]))
    .option("--lr <x>", `peak learning rate (default ${d.lr})`, number("--lr", Number.MIN_VALUE))
    .option("--weight-decay <x>", "decoupled weight decay (default lr/10, as the GLUE recipe)", number("--weight-decay", 0))
    .option("--epochs <n>", "epochs", integer("--epochs", 1), d.epochs)
    .option("--batch-size <n>", "examples per optimizer step", integer("--batch-size", 1), d.batchSize)
    .option("--warmup <fraction>", "share of the steps in linear warmup (then linear decay to 0)", number("--warmup", 0, 1), d.warmup)
    .option("--max-seq-len <n>", `truncate inputs to n tokens (default ${d.maxSeqLen}, at most what the model allows)`, integer("--max-seq-len", 3))
    .option("--seed <n>", "seed of the classifier init, dropout and epoch order", integer("--seed", 0), d.seed)
    .option("--max-steps <n>", "stop after n optimizer steps (the schedule spans the capped run)", integer("--max-steps", 1))
    .option("--patience <n>", "stop after n epochs without improvement of --metric", integer("--patience", 1))
    .addOption(
      new Option(
        "--metric <name>",
        "eval metric for early stopping and choosing the saved epoch: classification accuracy (default), macro_f1, matthews, or f1 " +
          "(F1 of class id 1, the second label: with more than two classes only that class against the rest, so prefer macro_f1); " +
          "regression spearman (default) or pearson",
      ).choices(FINETUNE_METRICS as string[]),
    )
    .addOption(new Option("--save <which>", "which epoch's weights to write").choices(["best", "last"]).default("best"))
    .option("--no-shuffle", "keep file order every epoch (the GLUE recipe's order) instead of a seeded shuffle")
    .option("--eval-batch-size <n>", "rows per forward pass at evaluation", integer("--eval-batch-size", 1), d.evalBatchSize)
    .option("--checkpoint-every <n>", "snapshot the run every n steps (and after every epoch) for --resume", integer("--checkpoint-every", 1), d.checkpointEvery)
    .option("--keep-checkpoints", `keep ${FINETUNE_STATE_DIR}/ in the output folder after the run`)
    .option("--resume", "continue the unfinished run in --out from its last snapshot")
    .option("--overwrite", "replace a model (or an unfinished run) already in --out")
    .addOption(new Option("--precision <p>", "compute precision: auto = bf16 on a GPU (the reference's amp_bf16), f32 on the CPU; regression always runs f32, as the reference's STS-B").choices(["auto", "f32", "bf16"]).default("auto"))
    .addOption(deviceOption("where to compute", "auto"))
    .action(async (opts: FinetuneCliOptions) => {
      // As pretrain: the first SIGINT / SIGTERM ends the run at the next step boundary after a
      // snapshot of it (the loop lets the event loop run between steps), exit 128 + the signal's
      // number; a second one quits at once.
      const abort = new AbortController();
      const signals = new StopSignals((m) => io.stderr.write(`${m}\n`), true, (sig) =>
        abort.abort(new Error(`finetune: interrupted (${sig}); the state is in ${opts.out}/${FINETUNE_STATE_DIR}: run the same command with --resume to continue`)),
      );
      try {
        const pair = opts.textPairColumn === "none" ? null : opts.textPairColumn;
        await finetuneFiles({ ...opts, textPairColumn: pair, metric: opts.metric as MetricName | undefined, stderr: io.stderr, signal: abort.signal, checkpointOnAbort: true });
      } catch (e) {
        if (!(abort.signal.aborted && e === abort.signal.reason)) throw e;
        io.stderr.write(`mosaicbert: ${(e as Error).message}\n`);
        process.exitCode = 128 + signals.number;
      } finally {
        signals.uninstall();
      }
    });
}

export function register(program: Command): void {
  registerFinetune(program, { stderr: process.stderr });
}
