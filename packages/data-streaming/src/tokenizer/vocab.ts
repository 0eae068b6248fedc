import { readFileSync } from "node:fs";
import { VocabError } from "./errors.js";
import type { NormalizerOptions } from "./normalize.js";
import { normalizerFromTokenizerJson } from "./settings.js";

export { VocabError };

/** The five special tokens a BERT WordPiece vocabulary must hold. */
export const REQUIRED_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const;

/** A WordPiece vocabulary: id → token and token → id. */
export interface Vocab {
  /** Tokens in id order. */
  readonly tokens: readonly string[];
  readonly ids: ReadonlyMap<string, number>;
  /** Where it came from, for error messages. */
  readonly source: string;
  /** The normalizer a tokenizer.json names (absent for a vocab.txt, which says nothing about it). */
  readonly normalizer?: NormalizerOptions;
}

/** Builds a vocab from tokens in id order and checks that every special token is present. */
export function vocabFromTokens(tokens: readonly string[], source = "<inline vocab>"): Vocab {
  const ids = new Map<string, number>();
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    // The last occurrence wins on duplicates, as in Hugging Face's `load_vocab` and `WordPiece::read_file`.
    ids.set(t, i);
  }
  for (const special of REQUIRED_SPECIAL_TOKENS) {
    if (!ids.has(special)) {
      throw new VocabError(
        `${source}: vocabulary has no ${special} token (a BERT WordPiece vocab needs ${REQUIRED_SPECIAL_TOKENS.join(", ")})`,
      );
    }
  }
  return { tokens, ids, source };
}

/** Parses the text of a `vocab.txt` (one token per line, id = line number). */
export function parseVocabTxt(text: string, source = "<vocab.txt>"): Vocab {
  const lines = text.split("\n");
  // A trailing newline ends the last token, it does not start an empty one.
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const tokens = lines.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  if (tokens.length === 0) throw new VocabError(`${source}: vocabulary file is empty (expected one token per line)`);
  return vocabFromTokens(tokens, source);
}

/** Parses a Hugging Face `tokenizer.json` holding a WordPiece model (`model.vocab`: token → id). */
export function parseTokenizerJson(text: string, source = "<tokenizer.json>"): Vocab {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new VocabError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  const model = (doc as { model?: { type?: unknown; vocab?: unknown } } | null)?.model;
  if (!model || typeof model.vocab !== "object" || model.vocab === null || Array.isArray(model.vocab)) {
    throw new VocabError(`${source}: expected a tokenizer.json with "model.vocab" as an object mapping token → id`);
  }
  if (model.type !== undefined && model.type !== "WordPiece") {
    throw new VocabError(`${source}: "model.type" is ${JSON.stringify(model.type)}, expected "WordPiece"`);
  }
  const entries = Object.entries(model.vocab as Record<string, unknown>);
  const tokens: string[] = new Array(entries.length);
  for (const [tok, id] of entries) {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= entries.length || tokens[id] !== undefined) {
      throw new VocabError(
        `${source}: "model.vocab" entry ${JSON.stringify(tok)} has id ${JSON.stringify(id)}; expected distinct integers 0…${entries.length - 1}`,
      );
    }
    tokens[id] = tok;
  }
  return { ...vocabFromTokens(tokens, source), normalizer: normalizerFromTokenizerJson(doc as Record<string, unknown>, source) };
}

/** Loads `vocab.txt` or `tokenizer.json` (chosen by the content: a JSON object starts with `{`). */
export function loadVocab(path: string): Vocab {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new VocabError(`${path}: cannot read vocabulary file (${(e as Error).message})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text.trimStart().startsWith("{") ? parseTokenizerJson(text, path) : parseVocabTxt(text, path);
}
