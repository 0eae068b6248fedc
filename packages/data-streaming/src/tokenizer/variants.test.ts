// BERT tokenizers with other normalizer settings than bert-base-uncased's (bert-base-cased, multilingual, …),
// against Hugging Face: fixtures/variants/ (scripts/fixtures/tokenizer-variants.py) holds a cased WordPiece
// vocabulary trained by `tokenizers` on real text, the normalizer object `tokenizers` writes for each variant,
// and the ids `tokenizers` (and transformers' AutoTokenizer, for a vocab.txt + tokenizer_config.json folder)
// gives 120 WikiText lines and 10 probes (controls, odd whitespace, CJK, accents, Σ, mixed case).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BertTokenizer } from "./bert-tokenizer.js";
import { modelFolderTokenizer, tokenizerFromFile } from "./model-folder.js";
import { bertNormalize, normalizeWhole, type NormalizerOptions } from "./normalize.js";
import { normalizerFromConfig, tokenizerConfigFor } from "./settings.js";
import { parseTokenizerJson } from "./vocab.js";

const dir = new URL("./fixtures/variants/", import.meta.url).pathname;
const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
const casedJson = read("cased.tokenizer.json");
const normalizers = JSON.parse(read("normalizers.json")) as Record<string, Record<string, unknown>>;
const texts = read("texts.jsonl").trim().split("\n").map((l) => (JSON.parse(l) as { text: string }).text);
const ids = read("ids.jsonl").trim().split("\n").map((l) => JSON.parse(l) as Record<string, number[]>);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tok-variants-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The variant's tokenizer.json: cased.tokenizer.json with the variant's normalizer object (what `tokenizers` wrote). */
function variantJson(name: string): string {
  return JSON.stringify({ ...JSON.parse(casedJson), normalizer: normalizers[name] });
}

function encodeAll(t: BertTokenizer): number[][] {
  return texts.map((x) => t.encode(x).inputIds);
}

describe("BERT tokenizers with other normalizer settings, against Hugging Face", () => {
  it("has 130 texts and the ids of five variants plus the transformers folder", () => {
    expect(texts).toHaveLength(130);
    expect(Object.keys(ids[0]!).sort()).toEqual(["cased", "cased-strip-accents", "config-folder", "lower-keep-accents", "no-cjk-split", "no-clean"]);
  });

  for (const name of ["cased", "lower-keep-accents", "cased-strip-accents", "no-cjk-split", "no-clean"]) {
    it(`${name}: the tokenizer.json's normalizer, every text's ids as tokenizers gives them`, () => {
      const vocab = parseTokenizerJson(variantJson(name), `${name}.tokenizer.json`);
      const t = new BertTokenizer(vocab);
      const got = encodeAll(t);
      texts.forEach((x, i) => expect(got[i], `${name} #${i}: ${JSON.stringify(x).slice(0, 80)}`).toEqual(ids[i]![name]));
    });
  }

  it("the settings change the ids (so the checks above can fail): cased and lower-cased differ on 120 texts", () => {
    const differ = ids.filter((r) => JSON.stringify(r.cased) !== JSON.stringify(r["lower-keep-accents"])).length;
    expect(differ).toBeGreaterThanOrEqual(100);
    const uncased = new BertTokenizer(parseTokenizerJson(casedJson, "x"), { normalizer: normalizerFromConfig({}, "x") });
    expect(encodeAll(uncased).filter((r, i) => JSON.stringify(r) !== JSON.stringify(ids[i]!.cased)).length).toBeGreaterThanOrEqual(100);
  });

  it("a folder of vocab.txt and tokenizer_config.json {do_lower_case: false}: AutoTokenizer's ids", () => {
    const { tokenizer, source } = modelFolderTokenizer(path.join(dir, "config-folder"));
    expect(source).toBe(path.join(dir, "config-folder", "vocab.txt"));
    expect(tokenizer.normalizer).toEqual({ cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: false });
    const got = encodeAll(tokenizer);
    texts.forEach((_, i) => expect(got[i]).toEqual(ids[i]!["config-folder"]));
  });

  it("a folder's tokenizer_config.json naming BertTokenizer overrides the tokenizer.json's normalizer (as transformers 5.17 does)", () => {
    const f = path.join(tmp, "both");
    fs.mkdirSync(f);
    fs.writeFileSync(path.join(f, "tokenizer.json"), casedJson);
    expect(modelFolderTokenizer(f).tokenizer.normalizer.lowercase).toBe(false);
    fs.writeFileSync(path.join(f, "tokenizer_config.json"), JSON.stringify({ do_lower_case: false }));
    expect(modelFolderTokenizer(f).tokenizer.normalizer.lowercase).toBe(false);
    fs.writeFileSync(path.join(f, "tokenizer_config.json"), JSON.stringify({ tokenizer_class: "BertTokenizer" }));
    expect(modelFolderTokenizer(f).tokenizer.normalizer).toEqual({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true });
    fs.writeFileSync(path.join(f, "tokenizer_config.json"), JSON.stringify({ tokenizer_class: "BertTokenizerFast", do_lower_case: true, strip_accents: false }));
    expect(modelFolderTokenizer(f).tokenizer.normalizer).toEqual({ cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: true });
    fs.writeFileSync(path.join(f, "tokenizer_config.json"), "{ not json");
    expect(() => modelFolderTokenizer(f)).toThrow(/both[/\\]tokenizer_config\.json: not valid JSON/);
    fs.writeFileSync(path.join(f, "tokenizer_config.json"), JSON.stringify({ tokenizer_class: "BertTokenizer", do_lower_case: "no" }));
    expect(() => modelFolderTokenizer(f)).toThrow(/tokenizer_config\.json: "do_lower_case" is "no", expected true or false/);
  });

  it("resolves the tokenizer class as transformers 5.17 does (each case checked there with AutoTokenizer)", () => {
    const folder = (files: Record<string, unknown>) => {
      const f = fs.mkdtempSync(path.join(tmp, "cls-"));
      fs.writeFileSync(path.join(f, "tokenizer.json"), casedJson);
      for (const [name, doc] of Object.entries(files)) fs.writeFileSync(path.join(f, name), typeof doc === "string" ? doc : JSON.stringify(doc));
      return modelFolderTokenizer(f).tokenizer;
    };
    const lower = (t: BertTokenizer) => t.normalizer.lowercase;
    // config.json's model_type maps to BertTokenizer, which rebuilds the normalizer from do_lower_case (default true).
    expect(lower(folder({ "config.json": { model_type: "bert" } }))).toBe(true);
    expect(lower(folder({ "config.json": { model_type: "distilbert" } }))).toBe(true);
    expect(lower(folder({ "config.json": { model_type: "bert" }, "tokenizer_config.json": { do_lower_case: false } }))).toBe(false);
    // MosaicBERT's model type has no tokenizer class: tokenizer.json's normalizer as it is.
    expect(lower(folder({ "config.json": { model_type: "mosaic_bert" } }))).toBe(false);
    // A class that is not BERT's wins over the model type; BERT-family classes rebuild the normalizer.
    expect(lower(folder({ "config.json": { model_type: "bert" }, "tokenizer_config.json": { tokenizer_class: "PreTrainedTokenizerFast" } }))).toBe(false);
    for (const cls of ["DistilBertTokenizer", "ElectraTokenizerFast", "MobileBertTokenizer", "FunnelTokenizer"]) expect(lower(folder({ "tokenizer_config.json": { tokenizer_class: cls } }))).toBe(true);
    // tokenizer.json's vocabulary wins over a vocab.txt beside it (transformers loads the tokenizer.json).
    const both = folder({ "vocab.txt": fs.readFileSync(new URL("../../../../../shared/data/vocab/bert-base-uncased-vocab.txt", import.meta.url), "utf8") });
    expect(both.vocabSize).toBe(3000);
    expect(() => folder({ "config.json": "[1, 2]" })).toThrow(/config\.json: expected a JSON object/);
  });

  it("a vocabulary file named on its own reads the settings of the folder it sits in", () => {
    const f = path.join(dir, "config-folder");
    expect(tokenizerFromFile(path.join(f, "vocab.txt")).normalizer.lowercase).toBe(false);
    const copy = path.join(tmp, "renamed-vocab.txt");
    fs.copyFileSync(path.join(f, "vocab.txt"), copy);
    expect(tokenizerFromFile(copy).normalizer.lowercase).toBe(true);
  });

  it("tokenizerConfigFor writes what normalizerFromConfig reads back", () => {
    for (const name of ["cased", "lower-keep-accents", "cased-strip-accents", "no-cjk-split"]) {
      const o = new BertTokenizer(parseTokenizerJson(variantJson(name), "x")).normalizer;
      const cfg = tokenizerConfigFor(o);
      expect(cfg.tokenizer_class).toBe("BertTokenizer");
      expect(normalizerFromConfig(cfg, "x")).toEqual(o);
    }
    expect(tokenizerConfigFor({ cleanText: false, handleChineseChars: true, stripAccents: false, lowercase: false }).tokenizer_class).toBeUndefined();
  });

  it("refuses tokenizer.json files it would split differently, naming the field", () => {
    const doc = JSON.parse(casedJson);
    const bad = (patch: Record<string, unknown>) => () => parseTokenizerJson(JSON.stringify({ ...doc, ...patch }), "t.json");
    expect(bad({ normalizer: { type: "Sequence", normalizers: [] } })).toThrow(/t\.json: "normalizer" is "Sequence", expected a "BertNormalizer" \(or null\)/);
    expect(bad({ pre_tokenizer: { type: "Whitespace" } })).toThrow(/t\.json: "pre_tokenizer" is "Whitespace", expected "BertPreTokenizer"/);
    expect(bad({ model: { ...doc.model, continuing_subword_prefix: "@@" } })).toThrow(/"model\.continuing_subword_prefix" is "@@", expected "##"/);
    expect(bad({ normalizer: { ...normalizers.cased, lowercase: 1 } })).toThrow(/"normalizer\.lowercase" is 1, expected true or false/);
    // No normalizer at all: text goes to the pre-tokenizer as it is.
    expect(new BertTokenizer(parseTokenizerJson(JSON.stringify({ ...doc, normalizer: null }), "x")).normalizer).toEqual({ cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: false });
  });

  it("reads every BertNormalizer field, with Hugging Face's defaults for the missing ones", () => {
    const doc = JSON.parse(casedJson);
    const norm = (normalizer: unknown, extra: Record<string, unknown> = {}) => new BertTokenizer(parseTokenizerJson(JSON.stringify({ ...doc, ...extra, normalizer }), "x")).normalizer;
    expect(norm({ type: "BertNormalizer" })).toEqual({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true });
    expect(norm({ type: "BertNormalizer", lowercase: false, strip_accents: null })).toEqual({ cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: false });
    expect(norm({ type: "BertNormalizer", lowercase: true, strip_accents: null, clean_text: false, handle_chinese_chars: false })).toEqual({ cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: true });
    expect(norm(undefined)).toEqual({ cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: false });
    // No subword prefix named: BERT's "##". No pre-tokenizer: refused (Hugging Face would not split words).
    const { continuing_subword_prefix: _, ...model } = doc.model;
    expect(norm(normalizers.cased, { model })).toEqual({ cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: false });
    expect(() => norm(normalizers.cased, { pre_tokenizer: null })).toThrow(/"pre_tokenizer" is null, expected "BertPreTokenizer"/);
    expect(() => norm(normalizers.cased, { pre_tokenizer: undefined })).toThrow(/"pre_tokenizer" is missing, expected "BertPreTokenizer"/);
    const bad = (patch: Record<string, unknown>) => () => parseTokenizerJson(JSON.stringify({ ...doc, ...patch }), "t.json");
    expect(bad({ normalizer: "BertNormalizer" })).toThrow(/"normalizer" is "BertNormalizer", expected a "BertNormalizer"/);
    expect(bad({ normalizer: [normalizers.cased] })).toThrow(/"normalizer" is \[\{/);
    expect(bad({ pre_tokenizer: "BertPreTokenizer" })).toThrow(/"pre_tokenizer" is "BertPreTokenizer", expected/);
    expect(bad({ normalizer: { ...normalizers.cased, clean_text: "yes" } })).toThrow(/"normalizer\.clean_text" is "yes"/);
    expect(bad({ normalizer: { ...normalizers.cased, handle_chinese_chars: 0 } })).toThrow(/"normalizer\.handle_chinese_chars" is 0/);
    expect(bad({ normalizer: { ...normalizers.cased, strip_accents: "no" } })).toThrow(/"normalizer\.strip_accents" is "no"/);
    expect(() => normalizerFromConfig({ tokenize_chinese_chars: "x" }, "c.json")).toThrow(/c\.json: "tokenize_chinese_chars" is "x", expected true or false/);
    expect(() => normalizerFromConfig({ strip_accents: 1 }, "c.json")).toThrow(/c\.json: "strip_accents" is 1/);
    expect(normalizerFromConfig({ do_lower_case: false, tokenize_chinese_chars: false }, "c")).toEqual({ cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false });
  });

  it("tokenizerConfigFor names strip_accents only where it differs from do_lower_case", () => {
    const cfg = (name: string) => tokenizerConfigFor(new BertTokenizer(parseTokenizerJson(variantJson(name), "x")).normalizer);
    expect(cfg("cased")).toEqual({ do_lower_case: false, tokenize_chinese_chars: true, tokenizer_class: "BertTokenizer" });
    expect(cfg("cased-strip-accents")).toEqual({ do_lower_case: false, strip_accents: true, tokenize_chinese_chars: true, tokenizer_class: "BertTokenizer" });
    expect(cfg("lower-keep-accents")).toEqual({ do_lower_case: true, strip_accents: false, tokenize_chinese_chars: true, tokenizer_class: "BertTokenizer" });
    expect(cfg("no-cjk-split")).toEqual({ do_lower_case: false, tokenize_chinese_chars: false, tokenizer_class: "BertTokenizer" });
    expect(tokenizerConfigFor({ cleanText: false, handleChineseChars: true, stripAccents: false, lowercase: false }, { model_max_length: 8 })).toEqual({ do_lower_case: false, tokenize_chinese_chars: true, model_max_length: 8 });
  });

  it("the per-character normalizer equals the whole-string reference under every setting", () => {
    const all: NormalizerOptions[] = [];
    for (let k = 0; k < 16; k++) all.push({ cleanText: !!(k & 1), handleChineseChars: !!(k & 2), stripAccents: !!(k & 4), lowercase: !!(k & 8) });
    for (const o of all) for (const x of texts) expect(bertNormalize(x, o)).toBe(normalizeWhole(x, o));
  });
});
