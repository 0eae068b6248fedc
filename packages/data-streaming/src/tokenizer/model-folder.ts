import * as fs from "node:fs";
import * as path from "node:path";
import { bertBaseUncased } from "./bert-base-uncased.js";
import { BertTokenizer } from "./bert-tokenizer.js";
import { VocabError } from "./errors.js";
import type { NormalizerOptions } from "./normalize.js";
import { normalizerFromConfig } from "./settings.js";
import { loadVocab } from "./vocab.js";

/** A folder's JSON file as an object, or null when it has none. */
function readJsonObject(file: string): Record<string, unknown> | null {
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

/** transformers' BERT-family tokenizer classes: each rebuilds the normalizer from its arguments (do_lower_case, …). */
const BERT_CLASS = /^(Bert|DistilBert|Electra|ConvBert|SqueezeBert|LayoutLM|MobileBert|Funnel|RetriBert|Realm|Lxmert|MegatronBert)Tokenizer(Fast)?$/;
/** config.json model types whose tokenizer transformers 5.17 resolves to BertTokenizer (TOKENIZER_MAPPING_NAMES). */
const BERT_MODEL_TYPES = new Set([
  "align", "bark", "bert", "blip", "bros", "chinese_clip", "convbert", "distilbert", "electra", "ernie", "flava", "git", "grounding-dino",
  "layoutlm", "megatron-bert", "mm-grounding-dino", "nezha", "nomic_bert", "qdqbert", "realm", "retribert", "squeezebert", "tvp", "vilt", "visual_bert",
]);

/**
 * How a folder's tokenizer normalizes text, as transformers 5.17 decides: when the tokenizer class is one of
 * BERT's — tokenizer_config.json's `tokenizer_class`, else the one config.json's `model_type` maps to — the
 * normalizer is rebuilt from tokenizer_config.json's `do_lower_case` (default true), `strip_accents` and
 * `tokenize_chinese_chars`, whatever tokenizer.json says; any other class (or none: MosaicBERT's mosaic_bert)
 * takes the tokenizer.json's normalizer as it is. undefined: the vocabulary file's own (a tokenizer.json's).
 */
export function folderNormalizer(dir: string): NormalizerOptions | undefined {
  const cfgFile = path.join(dir, "tokenizer_config.json");
  const cfg = readJsonObject(cfgFile);
  const cls = cfg?.tokenizer_class;
  const modelType = readJsonObject(path.join(dir, "config.json"))?.model_type;
  const bertClass = typeof cls === "string" ? BERT_CLASS.test(cls) : typeof modelType === "string" && BERT_MODEL_TYPES.has(modelType);
  const tokJson = path.join(dir, "tokenizer.json");
  if (bertClass || !fs.existsSync(tokJson)) return normalizerFromConfig(cfg ?? {}, cfgFile);
  return loadVocab(tokJson).normalizer;
}

/**
 * The tokenizer of a model folder: its tokenizer.json (WordPiece), else its vocab.txt (transformers prefers the
 * tokenizer.json too), else the shipped bert-base-uncased vocab (what the recipes train with, and what
 * checkpoints of this trainer carry anyway), normalizing text as transformers would (folderNormalizer: a
 * bert-base-cased folder from the Hub stays cased). `source` says which, for messages; `file` is the folder's
 * file, or null for the shipped vocab. Used by every job that starts from a folder (infer, embed, GLUE,
 * finetune), so they all tokenize alike.
 */
export function modelFolderTokenizer(dir: string): { tokenizer: BertTokenizer; source: string; file: string | null } {
  const file = ["tokenizer.json", "vocab.txt"].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  if (!file) return { tokenizer: bertBaseUncased(), source: "bert-base-uncased (shipped; the model folder has no vocab.txt or tokenizer.json)", file: null };
  const normalizer = folderNormalizer(dir);
  return { tokenizer: BertTokenizer.fromFile(file, normalizer ? { normalizer } : {}), source: file, file };
}

/**
 * A vocabulary file named on its own (`--vocab`, a recipe's tokenizer_name): its vocabulary, normalized as
 * the folder it sits in says (folderNormalizer) — so .../bert-base-cased/vocab.txt stays cased.
 */
export function tokenizerFromFile(file: string): BertTokenizer {
  const vocab = loadVocab(file);
  const normalizer = path.basename(file) === "tokenizer.json" || path.basename(file) === "vocab.txt" ? folderNormalizer(path.dirname(file)) : undefined;
  return new BertTokenizer(vocab, normalizer ? { normalizer } : {});
}
