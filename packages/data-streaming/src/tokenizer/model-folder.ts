import * as fs from "node:fs";
import * as path from "node:path";
import { bertBaseUncased } from "./bert-base-uncased.js";
import { BertTokenizer } from "./bert-tokenizer.js";

/**
 * The tokenizer of a model folder: its own vocab.txt, else its tokenizer.json (WordPiece), else the
 * shipped bert-base-uncased vocab (what the recipes train with, and what checkpoints of this trainer
 * carry anyway). `source` says which, for messages; `file` is the folder's file, or null for the shipped vocab. Used by every job that starts from a folder
 * (infer, embed, GLUE, finetune), so they all tokenize alike.
 */
export function modelFolderTokenizer(dir: string): { tokenizer: BertTokenizer; source: string; file: string | null } {
  const file = ["vocab.txt", "tokenizer.json"].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  if (file) return { tokenizer: BertTokenizer.fromFile(file), source: file, file };
  return { tokenizer: bertBaseUncased(), source: "bert-base-uncased (shipped; the model folder has no vocab.txt or tokenizer.json)", file: null };
}
