import * as fs from "node:fs";
import * as path from "node:path";
import { BertTokenizer, bertBaseUncased } from "@mosaicbert/data-streaming";

/**
 * The tokenizer of a model folder: its own vocab.txt, else its tokenizer.json (WordPiece), else the
 * shipped bert-base-uncased vocab (what the recipes train with, and what checkpoints of this trainer
 * carry anyway). `source` says which, for messages.
 */
export function modelTokenizer(dir: string): { tokenizer: BertTokenizer; source: string } {
  const file = ["vocab.txt", "tokenizer.json"].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  if (file) return { tokenizer: BertTokenizer.fromFile(file), source: file };
  return { tokenizer: bertBaseUncased(), source: "bert-base-uncased (shipped; the model folder has no vocab.txt or tokenizer.json)" };
}
