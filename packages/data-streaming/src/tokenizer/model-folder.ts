import * as fs from "node:fs";
import * as path from "node:path";
import { bertBaseUncased } from "./bert-base-uncased.js";
import { BertTokenizer } from "./bert-tokenizer.js";
import { VocabError } from "./errors.js";
import type { NormalizerOptions } from "./normalize.js";
import { normalizerFromConfig } from "./settings.js";
import { loadVocab } from "./vocab.js";

/** A folder's tokenizer_config.json as an object, or null when it has none. */
function readTokenizerConfig(dir: string): Record<string, unknown> | null {
  const file = path.join(dir, "tokenizer_config.json");
  if (!fs.existsSync(file)) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new VocabError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new VocabError(`${file}: expected a JSON object`);
  return doc as Record<string, unknown>;
}

/**
 * The tokenizer of a model folder: its own vocab.txt, else its tokenizer.json (WordPiece), else the
 * shipped bert-base-uncased vocab (what the recipes train with, and what checkpoints of this trainer
 * carry anyway). `source` says which, for messages; `file` is the folder's file, or null for the shipped vocab. Used by every job that starts from a folder
 * (infer, embed, GLUE, finetune), so they all tokenize alike.
 *
 * How text is normalized follows transformers (5.17): a tokenizer_config.json naming `BertTokenizer` (or
 * `BertTokenizerFast`) sets it by its `do_lower_case` (default true), `strip_accents` and
 * `tokenize_chinese_chars`; otherwise the tokenizer.json's own normalizer; a folder with neither, by the
 * config's settings or bert-base-uncased's. So a bert-base-cased folder from the Hub stays cased.
 */
export function modelFolderTokenizer(dir: string): { tokenizer: BertTokenizer; source: string; file: string | null } {
  const file = ["vocab.txt", "tokenizer.json"].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  if (!file) return { tokenizer: bertBaseUncased(), source: "bert-base-uncased (shipped; the model folder has no vocab.txt or tokenizer.json)", file: null };
  const cfg = readTokenizerConfig(dir);
  const cfgFile = path.join(dir, "tokenizer_config.json");
  const tokJson = path.join(dir, "tokenizer.json");
  let normalizer: NormalizerOptions | undefined;
  if (cfg && (cfg.tokenizer_class === "BertTokenizer" || cfg.tokenizer_class === "BertTokenizerFast")) normalizer = normalizerFromConfig(cfg, cfgFile);
  else if (fs.existsSync(tokJson)) normalizer = (file === tokJson ? undefined : loadVocab(tokJson).normalizer);
  else normalizer = normalizerFromConfig(cfg ?? {}, cfgFile);
  return { tokenizer: BertTokenizer.fromFile(file, normalizer ? { normalizer } : {}), source: file, file };
}
