import { Option, type Command } from "commander";
import { runInfer, type Device } from "@mosaicbert/layers";

/** `mosaicbert infer`: run a checkpoint folder over inputs.json and write the outputs as safetensors. */
export function register(program: Command): void {
  program
    .command("infer")
    .description("Run a model folder (config.json + model.safetensors) over inputs.json; write last_hidden_state and logits")
    .requiredOption("--model <dir>", "folder with config.json and model.safetensors (or pytorch_model.bin)")
    .requiredOption("--input <file>", "JSON with input_ids, attention_mask and optional token_type_ids: B rows of equal length")
    .requiredOption("--output <file>", "safetensors file to write")
    .addOption(new Option("--device <device>", "where to compute").choices(["cpu", "cuda"]).default("cpu"))
    .action(async (opts: { model: string; input: string; output: string; device: Device }) => {
      const res = await runInfer({
        modelDir: opts.model,
        input: opts.input,
        output: opts.output,
        device: opts.device,
        // This package depends on the CUDA kernels; @mosaicbert/layers does not.
        importCuda: () => import("@mosaicbert/kernels-cuda"),
      });
      for (const w of res.warnings) process.stderr.write(`warning: ${opts.model}/config.json: ${w}\n`);
      const shapes = Object.entries(res.tensors).map(([k, s]) => `${k} [${s.join(", ")}]`).join(", ");
      process.stderr.write(`infer: ${res.task} model, ${res.batchSize} rows × ${res.seqLen} → ${opts.output}: ${shapes}\n`);
    });
}
