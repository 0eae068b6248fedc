import type { Backend } from "@mosaicbert/tensor";
import { InputError, type Batch, type ForMaskedLM, type ModelConfig } from "@mosaicbert/layers";

/**
 * What fill-mask needs of a WordPiece tokenizer. @mosaicbert/data-streaming's `BertTokenizer` has this
 * shape; it is described here, not imported, so this package does not depend on the data pipeline.
 */
export interface TextTokenizer {
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly maskId: number;
  /** Ids of a text without [CLS]/[SEP]; special tokens written in the text ("[MASK]") must map to their ids. */
  textToIds(text: string): number[];
  idToToken(id: number): string | undefined;
}

/** Only what naming predictions needs (an --input file of ids has no text to tokenize). */
export type TokenNamer = Pick<TextTokenizer, "maskId" | "idToToken">;

export interface TokenScore {
  id: number;
  /** The tokenizer's token, or `[id N]` for an id the tokenizer lacks (vocab padded to a multiple of 64). */
  token: string;
  /** Softmax probability over the whole vocabulary, computed in float64. */
  prob: number;
}

/** The top-k predictions at one [MASK] position. */
export interface MaskFill {
  row: number;
  /** The input text of the row, when the rows came from texts. */
  text?: string;
  position: number;
  top: TokenScore[];
}

/** Fill-mask results for a batch: one entry per [MASK], plus the rows that held none. */
export interface FillMaskResult {
  masks: MaskFill[];
  rowsWithoutMask: number[];
}

/**
 * Tokenizes texts into a batch: [CLS] ids [SEP], right-padded with [PAD] to the longest row
 * (attention mask 0 there), token types 0. Every id must fit the model's embedding table: a tokenizer
 * larger than the model (e.g. bert-base-uncased for a model without its own vocab.txt) fails here,
 * naming the text, the token and the model's vocab_size.
 */
export function encodeTexts(texts: readonly string[], tokenizer: TextTokenizer, config: Pick<ModelConfig, "vocabSize">): Batch {
  if (texts.length === 0) throw new InputError("--text", "expected at least one text");
  const rows = texts.map((t, b) => {
    const ids = [tokenizer.clsId, ...tokenizer.textToIds(t), tokenizer.sepId];
    for (let s = 0; s < ids.length; s++) {
      const id = ids[s]!;
      if (id >= config.vocabSize) {
        throw new InputError(
          "--text",
          `${JSON.stringify(t)}: token '${tokenizer.idToToken(id)}' (position ${s}) has id ${id}, outside the model's vocab_size ${config.vocabSize}; ` +
            "expected a tokenizer that matches the model (put its vocab.txt or tokenizer.json in the model folder)",
          b,
        );
      }
    }
    return ids;
  });
  const B = rows.length;
  const S = Math.max(...rows.map((r) => r.length));
  const inputIds = new Int32Array(B * S).fill(tokenizer.padId);
  const attentionMask = new Int32Array(B * S);
  for (let b = 0; b < B; b++) {
    inputIds.set(rows[b]!, b * S);
    attentionMask.fill(1, b * S, b * S + rows[b]!.length);
  }
  return { inputIds, attentionMask, tokenTypeIds: new Int32Array(B * S), batchSize: B, seqLen: S };
}

/**
 * The k most probable ids of one logits row, softmax in float64 (max-shifted so large logits do not
 * overflow), sorted by probability, ties to the lower id.
 */
export function topKSoftmax(logits: ArrayLike<number>, k: number): Array<{ id: number; prob: number }> {
  const V = logits.length;
  let max = -Infinity;
  for (let v = 0; v < V; v++) if (logits[v]! > max) max = logits[v]!;
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[v]! - max);
  // A k-long list kept sorted by insertion: k is small next to V, so this beats sorting V entries.
  const n = Math.min(k, V);
  const ids: number[] = [];
  const vals: number[] = [];
  for (let v = 0; v < V; v++) {
    const x = logits[v]!;
    if (ids.length === n && !(x > vals[n - 1]!)) continue;
    let i = ids.length === n ? n - 1 : ids.length;
    while (i > 0 && x > vals[i - 1]!) {
      if (i < n) {
        ids[i] = ids[i - 1]!;
        vals[i] = vals[i - 1]!;
      }
      i--;
    }
    ids[i] = v;
    vals[i] = x;
  }
  return ids.map((id, i) => ({ id, prob: Math.exp(vals[i]! - max) / sum }));
}

/**
 * Top-k predictions at every [MASK] of a batch, from MLM logits [B, S, V] laid out row-major.
 * Padded positions are skipped (a [PAD] id there is never a [MASK]).
 */
export function masksFromLogits(
  logits: Float32Array,
  batch: Batch,
  vocabSize: number,
  tokenizer: TokenNamer,
  topK: number,
  texts?: readonly string[],
): FillMaskResult {
  const { batchSize: B, seqLen: S } = batch;
  if (logits.length !== B * S * vocabSize) {
    throw new Error(`masksFromLogits: expected logits [${B}, ${S}, ${vocabSize}] (${B * S * vocabSize} values), got ${logits.length}`);
  }
  const masks: MaskFill[] = [];
  const rowsWithoutMask: number[] = [];
  for (let b = 0; b < B; b++) {
    let found = false;
    for (let s = 0; s < S; s++) {
      const i = b * S + s;
      if (batch.inputIds[i] !== tokenizer.maskId || (batch.attentionMask && batch.attentionMask[i] === 0)) continue;
      found = true;
      const top = topKSoftmax(logits.subarray(i * vocabSize, (i + 1) * vocabSize), topK).map(({ id, prob }) => ({
        id,
        token: tokenizer.idToToken(id) ?? `[id ${id}]`,
        prob,
      }));
      masks.push({ row: b, ...(texts ? { text: texts[b] } : {}), position: s, top });
    }
    if (!found) rowsWithoutMask.push(b);
  }
  return { masks, rowsWithoutMask };
}

/**
 * Fill-mask on texts: tokenizes them (padded to the longest), runs the masked-LM model once, and
 * returns the top-k tokens with their probabilities at every [MASK] of every text.
 */
export function fillMask(model: ForMaskedLM, texts: readonly string[], tokenizer: TextTokenizer, topK = 5): FillMaskResult {
  if (!Number.isInteger(topK) || topK < 1) throw new InputError("--top-k", `expected a positive integer, got ${topK}`);
  const batch = encodeTexts(texts, tokenizer, model.config);
  const be: Backend = model.backend;
  const out = model.forward(batch, {});
  try {
    const logits = be.read(out.logits!) as Float32Array;
    return masksFromLogits(logits, batch, model.config.vocabSize, tokenizer, topK, texts);
  } finally {
    out.logits?.dispose();
    out.lastHiddenState?.dispose();
  }
}
