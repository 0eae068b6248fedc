import * as fs from "node:fs";
import * as hub from "@mosaicbert/hub";
import { type Backend, type Tensor, defaultCpuBackend } from "@mosaicbert/tensor";
import {
  InputError, loadPretrained, readConfig, type Batch, type EncoderModel, type ForMaskedLM, type ForSequenceClassification, type Task,
} from "@mosaicbert/layers";
import { type FillMaskResult, type TextTokenizer, type TokenNamer, encodeTexts, masksFromLogits } from "./fill-mask.js";
import { type RowClasses, classesFromLogits } from "./class-probs.js";

export interface InferOptions {
  /** Folder with config.json and model.safetensors (or pytorch_model.bin). */
  modelDir: string;
  /** JSON file: input_ids, attention_mask, optional token_type_ids; each B rows of equal length L. */
  input?: string;
  /** Texts instead of `input` (exactly one of the two): tokenized with `tokenizer`, padded to the longest. */
  texts?: readonly string[];
  /**
   * Tokenizes `texts` and names predicted ids; with it, a masked-LM model's top-k tokens at every
   * [MASK] (`tokenizer.maskId`) are returned in `fill`, for `input` rows too.
   */
  tokenizer?: TextTokenizer | TokenNamer;
  /** Predictions per [MASK] (default 5). */
  topK?: number;
  /** safetensors file to write: last_hidden_state [B, L, H] and logits. Optional. */
  output?: string;
  /**
   * Where to compute (default: `defaultCpuBackend()` of @mosaicbert/tensor, the fast CPU backend). For a GPU pass the
   * CUDA backend (`loadCudaBackend()` of @mosaicbert/kernels-cuda); the CLI picks it from `--device`.
   */
  backend?: Backend;
  /**
   * Compute precision (default f32). bf16 runs the weights and activations in bf16 with fp32 accumulation,
   * as training does; on CUDA it takes the tensor-core kernels (attention at any length included).
   */
  computeDtype?: "f32" | "bf16";
  /** Rows per forward pass (default: about 8192 tokens per chunk). */
  chunkRows?: number;
  /** Progress lines (default: stderr); shown when the input needs more than one chunk. */
  log?: (line: string) => void;
}

export interface InferResult {
  task: Task;
  batchSize: number;
  seqLen: number;
  /** Names and shapes written to `output` (empty without one). */
  tensors: Record<string, number[]>;
  warnings: string[];
  /** The texts of the rows, when they came from texts. */
  texts?: readonly string[];
  /** Masked-LM model with a tokenizer: top-k tokens at every [MASK], and the rows without one. */
  fill?: FillMaskResult;
  /** Classifier: each row's class probabilities (or regression scores). */
  classes?: RowClasses[];
}

/** Exactly one source of rows: an ids file or texts. Names the CLI options, which map one to one. */
function checkSource(opts: InferOptions): void {
  const hasInput = opts.input !== undefined;
  const hasTexts = opts.texts !== undefined && opts.texts.length > 0;
  if (hasInput === hasTexts) {
    throw new Error(
      `infer: expected exactly one of --input <file> (JSON with input_ids and attention_mask) or --text <sentence> (repeatable), got ${hasInput ? "both" : "neither"}`,
    );
  }
  if (hasTexts && (!opts.tokenizer || !("textToIds" in opts.tokenizer))) throw new Error("infer: --text needs a tokenizer (InferOptions.tokenizer with textToIds)");
  const k = opts.topK ?? 5;
  if (!Number.isInteger(k) || k < 1) throw new Error(`infer: --top-k: expected a positive integer, got ${k}`);
}

function intMatrix(json: Record<string, unknown>, key: string, file: string, shape: [number, number] | null): { data: Int32Array; B: number; L: number } | null {
  const v = json[key];
  if (v === undefined || v === null) return null;
  const field = `${file}: ${key}`;
  if (!Array.isArray(v) || v.length === 0) throw new InputError(field, "expected a non-empty array of rows (arrays of integers)");
  const B = v.length;
  const L = Array.isArray(v[0]) ? v[0].length : -1;
  if (shape && (B !== shape[0])) throw new InputError(field, `has ${B} rows, input_ids has ${shape[0]}`);
  const want = shape ? shape[1] : L;
  if (want < 1) throw new InputError(field, "rows must be non-empty arrays", 0);
  const data = new Int32Array(B * want);
  for (let b = 0; b < B; b++) {
    const row = v[b];
    if (!Array.isArray(row)) throw new InputError(field, "expected an array of integers", b);
    if (row.length !== want) throw new InputError(field, `ragged: length ${row.length}, expected ${want} (every row must have the same length${shape ? " as input_ids" : ""})`, b);
    for (let s = 0; s < want; s++) {
      const x = row[s];
      if (typeof x !== "number" || !Number.isInteger(x)) throw new InputError(field, `position ${s}: expected an integer, got ${JSON.stringify(x)}`, b);
      data[b * want + s] = x;
    }
  }
  return { data, B, L: want };
}

/** Parses inputs.json into a batch (other keys are ignored). */
export function readInferInputs(file: string): Batch {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: cannot read inputs: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new InputError(file, "expected a JSON object with input_ids and attention_mask");
  const j = json as Record<string, unknown>;
  const ids = intMatrix(j, "input_ids", file, null);
  if (!ids) throw new InputError(`${file}: input_ids`, "missing (expected B rows of token ids)");
  const shape: [number, number] = [ids.B, ids.L];
  const mask = intMatrix(j, "attention_mask", file, shape);
  const types = intMatrix(j, "token_type_ids", file, shape);
  return { inputIds: ids.data, attentionMask: mask?.data ?? null, tokenTypeIds: types?.data ?? null, batchSize: ids.B, seqLen: ids.L };
}

function sliceRows(b: Batch, start: number, end: number): Batch {
  const S = b.seqLen;
  const cut = (a: Int32Array | null | undefined) => (a ? a.subarray(start * S, end * S) : null);
  return { inputIds: cut(b.inputIds)!, attentionMask: cut(b.attentionMask), tokenTypeIds: cut(b.tokenTypeIds), batchSize: end - start, seqLen: S };
}

/**
 * Runs a checkpoint over inputs.json or texts. With `output`, writes last_hidden_state [B, L, H]
 * (float32; padded rows zero for MosaicBERT) and logits: [B, L, V] for a masked-LM checkpoint,
 * [B, num_labels] for a classifier. Returns a masked-LM model's top-k tokens at every [MASK] (given a
 * tokenizer) or a classifier's class probabilities per row. Rows are processed in chunks, with a
 * progress line per chunk on long inputs.
 */
export async function runInfer(opts: InferOptions): Promise<InferResult> {
  checkSource(opts);
  const texts = opts.texts && opts.texts.length > 0 ? opts.texts : undefined;
  const source = opts.input ?? "--text";
  const { config } = texts ? readConfig(opts.modelDir) : { config: null };
  // Texts are tokenized before the weights load, so a tokenizer/model vocab mismatch fails fast.
  const batch = texts ? encodeTexts(texts, opts.tokenizer as TextTokenizer, config!) : readInferInputs(opts.input!);
  const backend = opts.backend ?? defaultCpuBackend();
  const { model, task, warnings } = loadPretrained(opts.modelDir, backend, { computeDtype: opts.computeDtype ?? "f32" });
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  try {
    const { batchSize: B, seqLen: L } = batch;
    const c = model.config;
    const H = c.hiddenSize;
    const write = opts.output !== undefined;
    const namer = task === "mlm" ? opts.tokenizer : undefined;
    if (!write && task === "encoder") {
      throw new Error(`infer: ${opts.modelDir} holds an encoder without an MLM or classifier head, so there is nothing to print; give --output <file> to write last_hidden_state`);
    }
    if (!write && task === "mlm" && !namer) throw new Error("infer: --output <file> is required without a tokenizer to name the predictions");
    const chunk = Math.max(1, opts.chunkRows ?? Math.floor(8192 / L));
    const hidden = write ? new Float32Array(B * L * H) : null;
    const logitsWidth = task === "mlm" ? L * c.vocabSize : task === "classification" ? c.numLabels : 0;
    // Full MLM logits [B, L, V] are kept only to be written; predictions are taken chunk by chunk.
    const logits = logitsWidth && (write || task === "classification") ? new Float32Array(B * logitsWidth) : null;
    const fill: FillMaskResult | undefined = namer ? { masks: [], rowsWithoutMask: [] } : undefined;
    for (let start = 0; start < B; start += chunk) {
      const end = Math.min(B, start + chunk);
      const part = sliceRows(batch, start, end);
      // Errors name rows of the whole input, not of the chunk.
      const rowOffset = (e: Error): Error => (e instanceof InputError && e.row !== undefined ? new InputError(`${source}: ${e.field}`, e.detail, e.row + start) : e);
      let out: { lastHiddenState: Tensor | null; logits?: Tensor | null };
      try {
        if (task === "encoder") out = (model as EncoderModel).forward(part, {});
        else if (task === "mlm") out = (model as ForMaskedLM).forward(part, { outputHiddenStates: write });
        else out = (model as ForSequenceClassification).forward(part, { outputHiddenStates: write });
      } catch (e) {
        throw rowOffset(e as Error);
      }
      if (hidden) hidden.set(backend.read(out.lastHiddenState!) as Float32Array, start * L * H);
      out.lastHiddenState?.dispose();
      if (out.logits && (logits || fill)) {
        const host = backend.read(out.logits) as Float32Array;
        if (logits) logits.set(host, start * logitsWidth);
        if (fill) {
          const got = masksFromLogits(host, part, c.vocabSize, namer!, opts.topK ?? 5, texts?.slice(start, end));
          for (const m of got.masks) fill.masks.push({ ...m, row: m.row + start });
          for (const r of got.rowsWithoutMask) fill.rowsWithoutMask.push(r + start);
        }
      }
      out.logits?.dispose();
      if (B > chunk) log(`infer: ${end}/${B} rows`);
    }
    const tensors = new Map<string, { dtype: "f32"; shape: number[]; data: Float32Array }>();
    if (write) {
      tensors.set("last_hidden_state", { dtype: "f32", shape: [B, L, H], data: hidden! });
      if (logits) tensors.set("logits", { dtype: "f32", shape: task === "mlm" ? [B, L, c.vocabSize] : [B, c.numLabels], data: logits });
      hub.writeSafetensors(opts.output!, tensors, { format: "pt" });
    }
    const classes = task === "classification" && logits ? classesFromLogits(logits, B, c, texts) : undefined;
    return {
      task,
      batchSize: B,
      seqLen: L,
      tensors: Object.fromEntries([...tensors].map(([k, v]) => [k, v.shape])),
      warnings,
      ...(texts ? { texts } : {}),
      ...(fill ? { fill } : {}),
      ...(classes ? { classes } : {}),
    };
  } finally {
    model.dispose();
  }
}
