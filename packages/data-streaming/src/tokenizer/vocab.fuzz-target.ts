// Fuzz targets for vocabulary files: the real bert-base-uncased vocab.txt and tokenizer.json, damaged
// at the line/byte level (dropped, duplicated or swapped lines, control characters, invalid UTF-8,
// truncation) and at the JSON level (wrong types, ids out of range or repeated, unknown keys). An
// accepted vocabulary must give a tokenizer that encodes text to ids inside the vocabulary.
import * as fs from "node:fs";
import { applyJson, applyText, describePlan, jsonPlan, textPlan, type Plan } from "../../../../scripts/fuzz/mutate.mjs";
import type { FuzzTarget } from "../../../../scripts/fuzz/target.d.mts";
import { BertTokenizer } from "./bert-tokenizer.js";
import { type Vocab, parseTokenizerJson, parseVocabTxt } from "./vocab.js";

const VOCAB = new URL("../../../../../shared/data/vocab/", import.meta.url).pathname;
const VOCAB_TXT = fs.readFileSync(`${VOCAB}bert-base-uncased-vocab.txt`, "utf8");
const TOKENIZER_JSON = fs.readFileSync(`${VOCAB}bert-base-uncased-tokenizer.json`, "utf8");

/** The real tokenizer.json with its vocab cut to the first 2000 ids (specials included) so edits stay fast. */
const SMALL_JSON = (() => {
  const doc = JSON.parse(TOKENIZER_JSON) as { model: { vocab: Record<string, number> } };
  doc.model.vocab = Object.fromEntries(Object.entries(doc.model.vocab).filter(([, id]) => id < 2000));
  return doc;
})();
const SMALL_TXT = VOCAB_TXT.split("\n").slice(0, 2000).join("\n") + "\n";
const TEXTS = [SMALL_TXT, VOCAB_TXT];
const SAMPLE = "Hello, WORLD! The quick brown fox — naïve café [MASK] unaffable 東京 \u0000\ufffd 1234";

/** An accepted vocab must tokenize: every id in range, [CLS] first and [SEP] last. */
function check(v: Vocab): void {
  const tok = new BertTokenizer(v);
  const e = tok.encode(SAMPLE, "second [SEP] segment");
  for (const id of e.inputIds) if (!(id >= 0 && id < v.tokens.length)) throw new Error(`accepted vocab produced id ${id} outside 0..${v.tokens.length - 1}`);
  if (e.inputIds[0] !== v.ids.get("[CLS]")) throw new Error("accepted vocab did not start with [CLS]");
}

export const vocabTxt: FuzzTarget<Plan> = {
  name: "vocab.txt",
  arbitrary: textPlan(TEXTS.length),
  source: () => "fuzz/vocab.txt",
  run: (p) => parseVocabTxt(new TextDecoder().decode(applyText(TEXTS[p.base]!, p.ops)), "fuzz/vocab.txt"),
  check,
  describe: describePlan,
};

export const tokenizerJson: FuzzTarget<Plan> = {
  name: "tokenizer.json (JSON edits)",
  arbitrary: jsonPlan(1),
  source: () => "fuzz/tokenizer.json",
  run: (p) => parseTokenizerJson(JSON.stringify(applyJson(SMALL_JSON, p.ops)) ?? "", "fuzz/tokenizer.json"),
  check,
  describe: describePlan,
};

export const tokenizerJsonText: FuzzTarget<Plan> = {
  name: "tokenizer.json (text damage)",
  arbitrary: textPlan(1),
  source: () => "fuzz/tokenizer.json",
  run: (p) => parseTokenizerJson(new TextDecoder().decode(applyText(JSON.stringify(SMALL_JSON, null, 1), p.ops)), "fuzz/tokenizer.json"),
  check,
  describe: describePlan,
};
