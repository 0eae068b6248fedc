import type { NormalizerOptions } from "./normalize.js";
import { VocabError } from "./errors.js";

const obj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

function flag(v: unknown, def: boolean, source: string, field: string): boolean {
  if (v === undefined) return def;
  if (typeof v !== "boolean") throw new VocabError(`${source}: "${field}" is ${JSON.stringify(v)}, expected true or false`);
  return v;
}

/** strip_accents: true, false, or null/absent (then it follows lowercase, as in Hugging Face). */
function stripAccents(v: unknown, lowercase: boolean, source: string, field: string): boolean {
  return v === null || v === undefined ? lowercase : flag(v, lowercase, source, field);
}

/**
 * The normalizer of a Hugging Face tokenizer.json: a `BertNormalizer`'s four settings, or none at all
 * (`null`: text goes to the pre-tokenizer as it is). Other normalizers (NFKC, sequences, …) and
 * pre-tokenizers other than BERT's (or none) are refused: this tokenizer would split such text differently.
 */
export function normalizerFromTokenizerJson(doc: Record<string, unknown>, source: string): NormalizerOptions {
  // BERT's pre-tokenizer (split on whitespace and punctuation); without one, Hugging Face would look the whole
  // text up as one word, which this tokenizer never does.
  const pre = doc.pre_tokenizer;
  if (!(obj(pre) && pre.type === "BertPreTokenizer")) {
    throw new VocabError(`${source}: "pre_tokenizer" is ${JSON.stringify(obj(pre) ? pre.type : pre) ?? "missing"}, expected "BertPreTokenizer" (a BERT WordPiece tokenizer)`);
  }
  const model = doc.model as Record<string, unknown>;
  if (model.continuing_subword_prefix !== undefined && model.continuing_subword_prefix !== "##") {
    throw new VocabError(`${source}: "model.continuing_subword_prefix" is ${JSON.stringify(model.continuing_subword_prefix)}, expected "##"`);
  }
  const n = doc.normalizer;
  if (n === undefined || n === null) return { cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: false };
  if (!obj(n) || n.type !== "BertNormalizer") {
    throw new VocabError(`${source}: "normalizer" is ${JSON.stringify(obj(n) ? n.type : n)}, expected a "BertNormalizer" (or null)`);
  }
  const lowercase = flag(n.lowercase, true, source, "normalizer.lowercase");
  return {
    cleanText: flag(n.clean_text, true, source, "normalizer.clean_text"),
    handleChineseChars: flag(n.handle_chinese_chars, true, source, "normalizer.handle_chinese_chars"),
    stripAccents: stripAccents(n.strip_accents, lowercase, source, "normalizer.strip_accents"),
    lowercase,
  };
}

/** The settings a tokenizer_config.json gives a BertTokenizer: do_lower_case (default true), strip_accents, tokenize_chinese_chars. */
export function normalizerFromConfig(cfg: Record<string, unknown>, source: string): NormalizerOptions {
  const lowercase = flag(cfg.do_lower_case, true, source, "do_lower_case");
  return {
    cleanText: true,
    handleChineseChars: flag(cfg.tokenize_chinese_chars, true, source, "tokenize_chinese_chars"),
    stripAccents: stripAccents(cfg.strip_accents, lowercase, source, "strip_accents"),
    lowercase,
  };
}

/**
 * The tokenizer_config.json that makes Hugging Face (transformers' BertTokenizer) normalize as `o` does. With
 * clean_text off no BertTokenizer argument says so: then no tokenizer_class is named, and transformers uses
 * the tokenizer.json's own normalizer.
 */
export function tokenizerConfigFor(o: NormalizerOptions, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const kwargs = { do_lower_case: o.lowercase, ...(o.stripAccents !== o.lowercase ? { strip_accents: o.stripAccents } : {}), tokenize_chinese_chars: o.handleChineseChars };
  return o.cleanText ? { ...kwargs, ...extra, tokenizer_class: "BertTokenizer" } : { ...kwargs, ...extra };
}
