import { InvalidArgumentError, Option, type Command } from "commander";
import { formatInferResult, modelFolderTokenizer, runInfer } from "@mosaicbert/inference";
import type { Writable } from "node:stream";
import { resolveDevice } from "../device.js";
import { deviceOption } from "./device-option.js";
import { checkFiniteOutputs } from "./finite-outputs.js";

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

interface InferCliOptions {
  model: string;
  input?: string;
  text?: string[];
  output?: string;
  topK: number;
  json?: boolean;
  device: string;
  precision: "f32" | "bf16";
}

/** `mosaicbert infer`, printing predictions to `io.stdout` (injectable for tests). */
export function registerInfer(program: Command, io: { stdout: Writable; stderr: Writable }): void {
  program
    .command("infer")
    .description(
      "Run a model folder (config.json + model.safetensors) over texts or inputs.json: print the top-k tokens at each [MASK] " +
        "(masked-LM model) or the class probabilities (classifier); optionally write last_hidden_state and logits",
    )
    .requiredOption("--model <dir>", "folder with config.json and model.safetensors (or pytorch_model.bin)")
    .option("--text <sentence>", 'a text to run, "[MASK]" where a token is to be predicted; repeatable (one row each)', collect)
    .option("--input <file>", "instead of --text: JSON with input_ids, attention_mask and optional token_type_ids, B rows of equal length")
    .option("--top-k <n>", "tokens printed per [MASK]", positiveInt, 5)
    .option("--json", "print JSON lines instead of text")
    .option("--output <file>", "also write last_hidden_state and logits to this safetensors file")
    .addOption(deviceOption("where to compute", "cpu"))
    .addOption(new Option("--precision <p>", "compute precision: bf16 takes the GPU's tensor-core kernels").choices(["f32", "bf16"]).default("f32"))
    .action(async (opts: InferCliOptions) => {
      // The folder's own vocab when it has one; it also names predicted ids for --input rows.
      const { tokenizer } = modelFolderTokenizer(opts.model);
      const res = await runInfer({
        modelDir: opts.model,
        input: opts.input,
        texts: opts.text,
        tokenizer,
        topK: opts.topK,
        output: opts.output,
        computeDtype: opts.precision,
        backend: (await resolveDevice(opts.device, { note: (m) => io.stderr.write(`${m}\n`) })).backend,
      });
      for (const w of res.warnings) io.stderr.write(`warning: ${opts.model}/config.json: ${w}\n`);
      checkFiniteOutputs(res, opts.model);
      for (const line of formatInferResult(res, opts.json)) io.stdout.write(`${line}\n`);
      if (opts.output !== undefined) {
        const shapes = Object.entries(res.tensors).map(([k, s]) => `${k} [${s.join(", ")}]`).join(", ");
        io.stderr.write(`infer: ${res.task} model, ${res.batchSize} rows × ${res.seqLen} → ${opts.output}: ${shapes}\n`);
      }
    });
}

export function register(program: Command): void {
  registerInfer(program, { stdout: process.stdout, stderr: process.stderr });
}
