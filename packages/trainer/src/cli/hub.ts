import { type Command, InvalidArgumentError } from "commander";

function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(n > 0) || n > 86_400) throw new InvalidArgumentError(`expected a number of seconds (0 < s <= 86400), got "${value}"`);
  return n;
}
import { type CommandIO, hubPullCommand, hubPushCommand } from "@mosaicbert/hub";
import { checkpointCardFacts } from "../checkpoint/card.js";

/** `mosaicbert hub pull|push`: option parsing only; the work lives in @mosaicbert/hub. */
export function registerHub(program: Command, io?: CommandIO): void {
  const hub = program.command("hub").description("Download models from / publish models to the Hugging Face Hub");
  hub
    .command("pull")
    .description(
      "Download a model repo (verified, resumable, cached in $MOSAICBERT_CACHE or ~/.cache/mosaicbert/hub); prints the folder. " +
        "By default only what the loader uses: config.json, tokenizer files, *.safetensors and their index (pytorch_model*.bin and its index " +
        "only when the repo has no safetensors), top-level *.py remote code, README.md, generation_config.json, special_tokens_map.json",
    )
    .argument("<repo>", 'model repo id, "owner/name" (or a legacy id such as bert-base-uncased)')
    .option("--revision <rev>", "branch, tag or commit", "main")
    .option("--to <dir>", "copy the files into this folder")
    .option("--hub-url <url>", "Hub endpoint (default: $HF_ENDPOINT or https://huggingface.co)")
    .option("--token <token>", "access token (default: $HF_TOKEN)")
    .option("--timeout <seconds>", "give up on a server that sends nothing for this long", seconds, 5)
    .option("--all", "fetch every file of the repo (other frameworks' weights, onnx/, …)")
    .option("--include <glob>", 'also fetch repo paths matching this glob (repeatable; "*" within a folder, "**" across: "onnx/**", "*.h5")', (g: string, prev: string[]) => [...prev, g], [] as string[])
    .action(async (repo: string, opts: { revision: string; to?: string; hubUrl?: string; token?: string; timeout: number; all?: boolean; include: string[] }) => {
      const { timeout, ...rest } = opts;
      await hubPullCommand(repo, { ...rest, limits: { timeoutMs: timeout * 1000 } }, io);
    });
  hub
    .command("push")
    .description(
      "Publish a model folder in one commit: config.json, the weights, tokenizer files, the Python code config.json's auto_map names, " +
        "and README.md (a model card generated from the run's trainer_state.json and metrics.jsonl when the folder has none); prints the commit URL. " +
        "Optimizer and trainer state stay local unless --include-training-state; a folder without config.json (e.g. a save folder) is refused",
    )
    .argument("<dir>", "the model folder, e.g. a checkpoint: runs/x/checkpoints/ep0-ba500")
    .argument("<repo>", 'model repo id, "owner/name" (created if missing)')
    .option("--private", "create the repo private")
    .option("--message <text>", "commit message")
    .option("--dry-run", "list what would be published and what stays local; contacts nothing")
    .option("--include-training-state", "also publish optimizer.safetensors and trainer_state.json (to resume training elsewhere)")
    .option("--hub-url <url>", "Hub endpoint (default: $HF_ENDPOINT or https://huggingface.co)")
    .option("--token <token>", "write token (default: $HF_TOKEN)")
    .action(async (dir: string, repo: string, opts: { private?: boolean; message?: string; hubUrl?: string; token?: string; dryRun?: boolean; includeTrainingState?: boolean }) => {
      await hubPushCommand(dir, repo, { ...opts, card: checkpointCardFacts(dir) }, io);
    });
}

export function register(program: Command): void {
  registerHub(program);
}
