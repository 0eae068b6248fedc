import * as fs from "node:fs";
import * as path from "node:path";
import { bertBaseUncased, bertBaseUncasedVocabPath, type BertTokenizer, modelFolderTokenizer, tokenizerConfigFor, tokenizerFromFile } from "@mosaicbert/data-streaming";

/**
 * The recipe's tokenizer: "bert-base-uncased" (shipped), a path to a vocab.txt / tokenizer.json, or a model
 * folder (its tokenizer, as every job reads one). `files` go into every checkpoint: the vocabulary and a
 * tokenizer_config.json whose settings make Hugging Face normalize text as this tokenizer does (a cased
 * tokenizer.json stays cased for transformers users too).
 */
export function loadTokenizer(name: string): { tokenizer: BertTokenizer; files: Record<string, string | Uint8Array> } {
  const config = (t: BertTokenizer) => JSON.stringify(tokenizerConfigFor(t.normalizer, { model_max_length: 512 }), null, 2) + "\n";
  if (name === "bert-base-uncased") {
    const tokenizer = bertBaseUncased();
    return { tokenizer, files: { "vocab.txt": fs.readFileSync(bertBaseUncasedVocabPath()), "tokenizer_config.json": config(tokenizer) } };
  }
  if (!fs.existsSync(name)) {
    throw new Error(`recipe: tokenizer_name: expected "bert-base-uncased", a path to a vocab.txt / tokenizer.json or a model folder, got ${JSON.stringify(name)} (no such file)`);
  }
  if (fs.statSync(name).isDirectory()) {
    const { tokenizer, file } = modelFolderTokenizer(name);
    if (file === null) throw new Error(`recipe: tokenizer_name: the folder ${name} has no vocab.txt or tokenizer.json`);
    refuseUnwritable(tokenizer, name);
    return { tokenizer, files: { [path.basename(file)]: fs.readFileSync(file), "tokenizer_config.json": config(tokenizer) } };
  }
  const tokenizer = refuseUnwritable(tokenizerFromFile(name), name);
  const file = name.endsWith(".json") ? "tokenizer.json" : "vocab.txt";
  return { tokenizer, files: { [file]: fs.readFileSync(name), "tokenizer_config.json": config(tokenizer) } };
}

/**
 * transformers' BertTokenizer always cleans text (drops control characters, maps whitespace to spaces): a
 * tokenizer that does not could not be written into a checkpoint that Hugging Face reads the same way.
 */
function refuseUnwritable(t: BertTokenizer, name: string): BertTokenizer {
  if (!t.normalizer.cleanText) {
    throw new Error(`recipe: tokenizer_name: ${name} turns the normalizer's clean_text off, which transformers' BertTokenizer cannot do, so checkpoints would tokenize differently there; use a tokenizer with clean_text true`);
  }
  return t;
}
