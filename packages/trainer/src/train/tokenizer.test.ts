import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { modelFolderTokenizer } from "@mosaicbert/data-streaming";
import { afterAll, describe, expect, it } from "vitest";
import { loadTokenizer } from "./tokenizer.js";

// The tokenizer files a checkpoint carries must make every later job — and Hugging Face's AutoTokenizer, which
// obeys a tokenizer_config.json naming BertTokenizer — normalize text as training did. The cased tokenizer is
// data-streaming's fixture (a WordPiece vocabulary trained by Hugging Face `tokenizers`, bert-base-cased settings).
const VARIANTS = new URL("../../../data-streaming/src/tokenizer/fixtures/variants/", import.meta.url).pathname;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "load-tokenizer-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Writes `files` into a fresh folder, as a checkpoint would, and reads its tokenizer back like every job does. */
function roundTrip(files: Record<string, string | Uint8Array>) {
  const dir = fs.mkdtempSync(path.join(tmp, "ckpt-"));
  for (const [f, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), data);
  return { dir, config: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")), back: modelFolderTokenizer(dir).tokenizer };
}

describe("loadTokenizer: the recipe's tokenizer and the files checkpoints carry", () => {
  const text = "Émile met Mr. Darcy in TOKYO (東京)";

  it("bert-base-uncased: vocab.txt and a lower-casing BertTokenizer config", () => {
    const { tokenizer, files } = loadTokenizer("bert-base-uncased");
    const { config, back } = roundTrip(files);
    expect(config).toMatchObject({ do_lower_case: true, tokenize_chinese_chars: true, tokenizer_class: "BertTokenizer", model_max_length: 512 });
    expect(config.strip_accents).toBeUndefined();
    expect(back.normalizer).toEqual(tokenizer.normalizer);
    expect(back.encode(text).inputIds).toEqual(tokenizer.encode(text).inputIds);
  });

  it("a cased tokenizer.json stays cased in the checkpoint: do_lower_case false for transformers, the same ids for every job", () => {
    const { tokenizer, files } = loadTokenizer(path.join(VARIANTS, "cased.tokenizer.json"));
    expect(tokenizer.normalizer).toEqual({ cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: false });
    expect(Object.keys(files).sort()).toEqual(["tokenizer.json", "tokenizer_config.json"]);
    const { config, back } = roundTrip(files);
    expect(config).toMatchObject({ do_lower_case: false, tokenizer_class: "BertTokenizer" });
    expect(back.normalizer).toEqual(tokenizer.normalizer);
    expect(back.tokenize(text)).toEqual(tokenizer.tokenize(text));
    expect(back.tokenize(text).join(" ")).toMatch(/^É.* D.* T/);
  });

  it("refuses a tokenizer whose clean_text is off: transformers' BertTokenizer would read the checkpoint differently", () => {
    const doc = JSON.parse(fs.readFileSync(path.join(VARIANTS, "cased.tokenizer.json"), "utf8"));
    const f = path.join(tmp, "no-clean.tokenizer.json");
    fs.writeFileSync(f, JSON.stringify({ ...doc, normalizer: { ...doc.normalizer, clean_text: false } }));
    expect(() => loadTokenizer(f)).toThrow(/tokenizer_name: .*no-clean\.tokenizer\.json turns the normalizer's clean_text off, which transformers' BertTokenizer cannot do/);
  });

  it("a model folder (vocab.txt + tokenizer_config.json {do_lower_case: false}) is read as every job reads it", () => {
    const { tokenizer, files } = loadTokenizer(path.join(VARIANTS, "config-folder"));
    expect(tokenizer.normalizer.lowercase).toBe(false);
    expect(Object.keys(files).sort()).toEqual(["tokenizer_config.json", "vocab.txt"]);
    expect(roundTrip(files).back.tokenize(text)).toEqual(tokenizer.tokenize(text));
    fs.mkdirSync(path.join(tmp, "empty"));
    expect(() => loadTokenizer(path.join(tmp, "empty"))).toThrow(/tokenizer_name: the folder .*empty has no vocab\.txt or tokenizer\.json/);
    expect(() => loadTokenizer(path.join(tmp, "nope"))).toThrow(/tokenizer_name: expected "bert-base-uncased", a path to a vocab\.txt \/ tokenizer\.json or a model folder/);
  });
});
