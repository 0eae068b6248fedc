import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BertTokenizer } from "./bert-tokenizer.js";
import { bertBaseUncased } from "./bert-base-uncased.js";
import { bertNormalize, normalizeWhole } from "./normalize.js";
import { longestFirstLengths } from "./truncate.js";

const tok = bertBaseUncased();

describe("BertTokenizer", () => {
  it("loads the shipped vocab with the bert-base-uncased ids", () => {
    expect(tok.vocabSize).toBe(30522);
    expect([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId]).toEqual([0, 100, 101, 102, 103]);
    expect(tok.tokenToId("the")).toBe(1996);
    expect(tok.idToToken(30521)).toBe("##～");
  });

  it("lower-cases, strips accents and splits punctuation", () => {
    expect(tok.encode("Héllo, WORLD!").inputIds).toEqual([101, 7592, 1010, 2088, 999, 102]);
    expect(tok.normalize("Crème\tBRÛLÉE\u0000\u200b!")).toBe("creme brulee!");
  });

  it("splits continuation pieces with ##", () => {
    const pieces = tok.tokenize("unaffable tokenization");
    expect(pieces.join(" ")).toBe("una ##ffa ##ble token ##ization");
  });

  it("isolates CJK ideographs and ASCII symbols BERT counts as punctuation", () => {
    expect(tok.tokenize("東京タワー")).toEqual(["東", "京", ...tok.tokenize("タワー")]);
    expect(tok.tokenize("a$b^c`d")).toEqual(["a", "$", "b", "^", "c", "`", "d"]);
  });

  it("maps words over 100 characters to one [UNK], and unknown characters to [UNK]", () => {
    expect(tok.tokenize("a".repeat(101))).toEqual(["[UNK]"]);
    expect(tok.tokenize("a".repeat(100)).length).toBeGreaterThan(1);
    expect(tok.tokenize("x\u{1F600}y")).toEqual(["[UNK]"]);
  });

  it("normalizes character by character exactly as the whole-string reference", () => {
    const raw = readFileSync(fileURLToPath(new URL("../../../../../shared/data/text/wikitext-2-raw/wiki.test.raw", import.meta.url)), "utf8");
    for (const line of raw.split("\n")) if (bertNormalize(line) !== normalizeWhole(line)) expect(bertNormalize(line)).toBe(normalizeWhole(line));
    // Every code point below U+3100 and a sample above, each after an ASCII letter and between combining marks.
    for (let base = 0; base < 0x30000; base += base < 0x3100 ? 256 : 4099) {
      let s = "";
      for (let cp = base; cp < base + 256; cp++) if (cp < 0xd800 || cp > 0xdfff) s += `A${String.fromCodePoint(cp)}\u0301e\u0327${String.fromCodePoint(cp)}Σ `;
      expect(bertNormalize(s)).toBe(normalizeWhole(s));
    }
    expect(bertNormalize("x\u{1d165}\u{1d16d}")).toBe(normalizeWhole("x\u{1d165}\u{1d16d}"));
  });

  it("lower-cases capital sigma per character, like the Rust normalizer", () => {
    expect(bertNormalize("ΟΔΟΣ")).toBe("οδοσ");
  });

  it("maps special tokens written in the text to their ids", () => {
    expect(tok.encode("the [MASK] sat").inputIds).toEqual([101, 1996, 103, 2938, 102]);
  });

  it("truncates, pads and sets token types and the attention mask", () => {
    const e = tok.encode("hello world", "hello", { maxLength: 8, padding: true });
    expect(e.inputIds).toEqual([101, 7592, 2088, 102, 7592, 102, 0, 0]);
    expect(e.tokenTypeIds).toEqual([0, 0, 0, 0, 1, 1, 0, 0]);
    expect(e.attentionMask).toEqual([1, 1, 1, 1, 1, 1, 0, 0]);
    expect(tok.encode("the the the the", undefined, { maxLength: 4 }).inputIds).toEqual([101, 1996, 1996, 102]);
    expect(() => tok.encode("a", "b", { maxLength: 2 })).toThrow(/maxLength 2/);
  });

  it("gives the same ids when a long document is truncated early (chunked normalization)", () => {
    const raw = readFileSync(fileURLToPath(new URL("../../../../../shared/data/text/wikitext-2-raw/wiki.test.raw", import.meta.url)), "utf8");
    const lines = raw.split("\n").slice(0, 1500);
    // Documents of ~8 lines, with the non-ASCII, CJK and special-token text the goldens do not stress.
    for (let d = 0; d < lines.length; d += 8) {
      const doc = lines.slice(d, d + 8).join("\n") + " Σίσυφος 東京 [MASK] naïve";
      const all = tok.textToIds(doc);
      for (const limit of [1, 126, 254, 510]) expect(tok.textToIds(doc, limit)).toEqual(all.slice(0, limit));
    }
  });

  it("encodes without special tokens and decodes word pieces back to text", () => {
    const e = tok.encode("Tokenization works.", undefined, { addSpecialTokens: false, maxLength: 3 });
    expect(e.inputIds).toEqual(tok.textToIds("tokenization works").slice(0, 3));
    expect(tok.decode(tok.encode("The unaffable tokenization!").inputIds)).toBe("the unaffable tokenization !");
  });

  it("follows tokenizers' longest-first lengths", () => {
    expect(longestFirstLengths(10, 4, 8)).toEqual([4, 4]);
    expect(longestFirstLengths(10, 10, 7)).toEqual([3, 4]);
    expect(longestFirstLengths(12, 10, 7)).toEqual([4, 3]);
    expect(longestFirstLengths(2, 30, 10)).toEqual([2, 8]);
    expect(longestFirstLengths(3, 4, 10)).toEqual([3, 4]);
  });

  it("rejects a vocab without a special token, naming the file and the token", () => {
    const dir = mkdtempSync(join(tmpdir(), "vocab-"));
    const file = join(dir, "vocab.txt");
    writeFileSync(file, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n");
    expect(() => BertTokenizer.fromFile(file)).toThrow(new RegExp(`${file.replace(/[.\\/]/g, "\\$&")}.*\\[MASK\\]`));
    const json = join(dir, "tokenizer.json");
    writeFileSync(json, JSON.stringify({ model: { type: "BPE", vocab: {} } }));
    expect(() => BertTokenizer.fromFile(json)).toThrow(/tokenizer\.json.*model\.type.*WordPiece/);
    expect(() => BertTokenizer.fromFile(join(dir, "missing.txt"))).toThrow(/missing\.txt: cannot read/);
  });
});
