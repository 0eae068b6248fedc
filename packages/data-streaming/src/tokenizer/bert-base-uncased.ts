import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BertTokenizer } from "./bert-tokenizer.js";

const VOCAB_FILE = "bert-base-uncased-vocab.txt";

/**
 * Path of the bert-base-uncased `vocab.txt` shipped in this package's `assets/`. The module runs from
 * `src/tokenizer/` (sources) or `dist/` (bundle), so the folder is looked up one to three levels above.
 */
export function bertBaseUncasedVocabPath(): string {
  for (const up of ["../", "../../", "../../../"]) {
    const p = fileURLToPath(new URL(`${up}assets/${VOCAB_FILE}`, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error(
    `@mosaicbert/data-streaming: assets/${VOCAB_FILE} not found beside ${fileURLToPath(import.meta.url)} (is the package installed with its "assets" folder?)`,
  );
}

let shared: BertTokenizer | undefined;

/** The bert-base-uncased tokenizer (30522 ids), loaded once from the shipped vocab. */
export function bertBaseUncased(): BertTokenizer {
  shared ??= BertTokenizer.fromFile(bertBaseUncasedVocabPath());
  return shared;
}
