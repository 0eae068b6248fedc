import * as fs from "node:fs";
import { bertBaseUncased, bertBaseUncasedVocabPath, BertTokenizer } from "@mosaicbert/data-streaming";

/** The recipe's tokenizer: "bert-base-uncased" (shipped) or a path to a vocab.txt / tokenizer.json. */
export function loadTokenizer(name: string): { tokenizer: BertTokenizer; files: Record<string, string | Uint8Array> } {
  const config = JSON.stringify({ do_lower_case: true, model_max_length: 512, tokenizer_class: "BertTokenizer" }, null, 2) + "\n";
  if (name === "bert-base-uncased") {
    return { tokenizer: bertBaseUncased(), files: { "vocab.txt": fs.readFileSync(bertBaseUncasedVocabPath()), "tokenizer_config.json": config } };
  }
  if (!fs.existsSync(name)) {
    throw new Error(`recipe: tokenizer_name: expected "bert-base-uncased" or a path to a vocab.txt / tokenizer.json, got ${JSON.stringify(name)} (no such file)`);
  }
  const tokenizer = BertTokenizer.fromFile(name);
  const file = name.endsWith(".json") ? "tokenizer.json" : "vocab.txt";
  return { tokenizer, files: { [file]: fs.readFileSync(name), "tokenizer_config.json": config } };
}
