import { InvalidArgumentError, Option, type Command } from "commander";
import { Embedder, type Pooling, modelFolderTokenizer } from "@mosaicbert/inference";
import { resolveDevice } from "../device.js";
import { deviceOption } from "./device-option.js";
import { embeddingsFormat, readTexts, writeEmbeddings } from "../embed/files.js";

function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${flag}: expected a positive integer, got "${value}"`);
    return n;
  };
}

interface EmbedCliOptions {
  model: string;
  input: string;
  output: string;
  textColumn: string;
  pooling: Pooling;
  normalize?: boolean;
  maxSeqLen?: number;
  tokensPerBatch: number;
  precision: "auto" | "f32" | "bf16";
  device: string;
}

/** `mosaicbert embed`: texts of a file → one embedding per text (safetensors or .npy), in input order. */
export function registerEmbed(program: Command, io: { stderr: { write(s: string): unknown } }): void {
  program
    .command("embed")
    .description("Embed every text of a file with a model folder (mean of the last hidden states, or [CLS]); write a [texts, hidden] matrix in input order")
    .requiredOption("--model <dir>", "model folder (config.json + weights; MLM checkpoint, classifier or encoder: heads are not used)")
    .requiredOption("--input <file>", "texts: a text file (one text per line, empty lines included), .jsonl (one object per line), or a .csv, .tsv or .parquet table")
    .requiredOption("--output <file>", "embeddings: .safetensors (tensor \"embeddings\" [n, hidden]) or .npy (float32 [n, hidden])")
    .option("--text-column <name>", "the text field of .jsonl input, the text column of a table", "text")
    .addOption(new Option("--pooling <how>", "mean: average of the text's token states ([CLS]/[SEP] included); cls: the [CLS] state").choices(["mean", "cls"]).default("mean"))
    .option("--normalize", "scale every embedding to unit L2 norm (cosine similarity = dot product)")
    .option("--max-seq-len <n>", "truncate texts to n tokens with [CLS]/[SEP] (default 512; BERT: at most max_position_embeddings)", positiveInt("--max-seq-len"))
    .option("--tokens-per-batch <n>", "padded positions per forward pass; texts are sorted by length so padding stays small", positiveInt("--tokens-per-batch"), 16384)
    .addOption(new Option("--precision <p>", "compute precision: auto = bf16 on CUDA, f32 on the CPU").choices(["auto", "f32", "bf16"]).default("auto"))
    .addOption(deviceOption("where to compute", "auto"))
    .action(async (o: EmbedCliOptions) => {
      // A bad --output fails before any work.
      embeddingsFormat(o.output);
      const texts = await readTexts(o.input, o.textColumn);
      const { tokenizer } = modelFolderTokenizer(o.model);
      const device = await resolveDevice(o.device, { note: (m) => io.stderr.write(`${m}\n`) });
      const computeDtype = o.precision === "auto" ? (device.kind === "cuda" ? "bf16" : "f32") : o.precision;
      const embedder = Embedder.load(o.model, { backend: device.backend, tokenizer, computeDtype });
      try {
        const maxSeqLen = o.maxSeqLen ?? Math.min(512, embedder.maxSeqLen);
        const t0 = performance.now();
        let last = 0;
        const matrix = embedder.encode(texts, {
          format: "matrix",
          pooling: o.pooling,
          normalize: o.normalize,
          maxSeqLen,
          tokenBudget: o.tokensPerBatch,
          onProgress: (p) => {
            const now = performance.now();
            if (now - last < 1000 && p.texts < p.totalTexts) return;
            last = now;
            const rate = p.tokens / Math.max(1e-9, (now - t0) / 1000);
            io.stderr.write(`embed: ${p.texts}/${p.totalTexts} texts, ${p.tokens}/${p.totalTokens} tokens, ${Math.round(rate)} tokens/s\n`);
          },
        });
        const H = embedder.hiddenSize;
        writeEmbeddings(o.output, matrix, texts.length, H, {
          model: o.model,
          pooling: o.pooling,
          normalize: String(!!o.normalize),
          max_seq_len: String(maxSeqLen),
        });
        io.stderr.write(`embed: ${texts.length} texts × ${H} (${o.pooling}${o.normalize ? ", normalized" : ""}, ${computeDtype} on ${device.name}) → ${o.output}\n`);
      } finally {
        embedder.dispose();
      }
    });
}

export function register(program: Command): void {
  registerEmbed(program, { stderr: process.stderr });
}
