// Parity with Hugging Face `tokenizers` on characters where its (older, fixed) Unicode tables and Node's differ:
// unassigned code points, characters assigned since, categories changed since, NFD, and U+2B820..U+2B91F.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bertBaseUncased } from "./bert-base-uncased.js";
import { classify, unicodeClass } from "./chars.js";
import { HF_CLASS_RANGES } from "./hf-unicode.js";
import { bertNormalize, normalizeWhole, type NormalizerOptions } from "./normalize.js";

const tok = bertBaseUncased();
const CASED: NormalizerOptions = { cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: false };

// Produced by scripts/hf-sweep-golden.py: Hugging Face tokenizers 0.23.2 (fast tokenizer, the shared
// bert-base-uncased tokenizer.json), `tok.encode("w" + chr(cp) + "a").ids`.
const SINGLE: ReadonlyArray<readonly [number, readonly number[]]> = [
  // unassigned (Cn): kept, so the word is [UNK]
  [0x0378, [101, 100, 102]],
  [0x0380, [101, 100, 102]],
  [0x2fe0, [101, 100, 102]],
  [0xfdd0, [101, 100, 102]],
  [0xfdef, [101, 100, 102]],
  [0xfffe, [101, 100, 102]],
  [0xffff, [101, 100, 102]],
  [0x1fffe, [101, 100, 102]],
  [0x2ffff, [101, 100, 102]],
  [0x10ffff, [101, 100, 102]],
  // assigned after HF's Unicode tables: letters to HF
  [0x061d, [101, 100, 102]],
  [0x0890, [101, 100, 102]],
  [0x0897, [101, 100, 102]],
  [0x08d4, [101, 100, 102]],
  [0x1abf, [101, 100, 102]],
  [0x2e48, [101, 100, 102]],
  [0x2e55, [101, 100, 102]],
  [0x2e5d, [101, 100, 102]],
  [0x11f00, [101, 100, 102]],
  [0x13430, [101, 100, 102]],
  [0x1e6e3, [101, 100, 102]],
  // category changed since HF's tables, or NFD unknown to them
  [0x166d, [101, 1059, 100, 1037, 102]],
  [0x1715, [101, 100, 102]],
  [0x1734, [101, 11333, 102]],
  [0x111c9, [101, 1059, 100, 1037, 102]],
  [0x1171e, [101, 11333, 102]],
  [0x105c9, [101, 100, 102]],
  [0x11938, [101, 100, 102]],
  // around U+2B820..U+2B91F (not CJK to HF's is_chinese_char)
  [0x2b81f, [101, 1059, 100, 1037, 102]],
  [0x2b820, [101, 100, 102]],
  [0x2b8a0, [101, 100, 102]],
  [0x2b91f, [101, 100, 102]],
  [0x2b920, [101, 1059, 100, 1037, 102]],
  // already equal before the table
  [0x0020, [101, 1059, 1037, 102]],
  [0x0041, [101, 11333, 2050, 102]],
  [0x00df, [101, 1059, 19310, 2050, 102]],
  [0x00e9, [101, 2057, 2050, 102]],
  [0x0130, [101, 15536, 2050, 102]],
  [0x03a3, [101, 1059, 29733, 2050, 102]],
  [0x0301, [101, 11333, 102]],
  [0x200b, [101, 11333, 102]],
  [0x2019, [101, 1059, 1521, 1037, 102]],
  [0x3000, [101, 1059, 1037, 102]],
  [0x4e2d, [101, 1059, 1746, 1037, 102]],
  [0xac00, [101, 1059, 29991, 30006, 2050, 102]],
  [0xe000, [101, 11333, 102]],
  [0xfffd, [101, 11333, 102]],
  [0x1f600, [101, 100, 102]],
  [0xe0001, [101, 11333, 102]],
  [0xf0000, [101, 11333, 102]],
];

// Produced by scripts/hf-sweep-golden.py: text, then BertNormalizer(...).normalize_str(text) of tokenizers 0.23.2
// with bert-base-uncased's settings, then with bert-base-cased's (no lower-casing, no accent stripping).
const NORMALIZED: ReadonlyArray<readonly [string, string, string]> = [
  ["A\u{1d16d}\u{1d165}B", "a\u{1d165}\u{1d16d}b", "A\u{1d16d}\u{1d165}B"],
  ["A\u{8d4}\u{1d165}B", "a\u{1d165}\u{8d4}b", "A\u{8d4}\u{1d165}B"],
  ["A\u{1d16d}\u{897}\u{1d165}B", "a\u{1d16d}\u{897}\u{1d165}b", "A\u{1d16d}\u{897}\u{1d165}B"],
  ["x\u{11938}y\u{105c9}", "x\u{11938}y\u{105c9}", "x\u{11938}y\u{105c9}"],
  ["\u{c9}t\u{e9} \u{2e48} w\u{378}a \u{2b820}\u{2b920}", "ete \u{2e48} w\u{378}a \u{2b820} \u{2b920} ", "\u{c9}t\u{e9} \u{2e48} w\u{378}a \u{2b820} \u{2b920} "],
];

/** fixtures/hf-sweep-w-c-a.txt (scripts/hf-sweep-golden.py): [code point, ids without [CLS]/[SEP]] for the sweep. */
function sweep(): Array<readonly [number, number[]]> {
  const out: Array<readonly [number, number[]]> = [];
  for (const line of readFileSync(new URL("./fixtures/hf-sweep-w-c-a.txt", import.meta.url), "utf8").split("\n")) {
    if (line.length === 0 || line.startsWith("#")) continue;
    const f = line.split(" ");
    const first = parseInt(f[0]!, 16);
    const more = f[1]!.startsWith("+") ? Number(f[1]!.slice(1)) : 0;
    const ids = f.slice(more > 0 ? 2 : 1).map(Number);
    for (let cp = first; cp <= first + more; cp++) out.push([cp, ids]);
  }
  return out;
}

describe("parity with Hugging Face tokenizers' Unicode tables", () => {
  it("gives HF's ids for unassigned, newly assigned, re-categorised and U+2B820..U+2B91F characters", () => {
    for (const [cp, ids] of SINGLE) expect([cp.toString(16), tok.encode(`w${String.fromCodePoint(cp)}a`).inputIds]).toEqual([cp.toString(16), ids]);
  });

  it("normalizes like HF's BertNormalizer, NFD reordering and newer decompositions included", () => {
    for (const [text, uncased, cased] of NORMALIZED) {
      expect(tok.normalize(text)).toBe(uncased);
      expect(normalizeWhole(text)).toBe(uncased);
      expect(bertNormalize(text, CASED)).toBe(cased);
      expect(normalizeWhole(text, CASED)).toBe(cased);
    }
  });

  it('gives HF\'s ids for "w" + c + "a", every c in U+0020..U+31FFF', () => {
    const all = sweep();
    expect(all).toHaveLength(0x32000 - 0x20 - 0x800);
    const bad: string[] = [];
    for (const [cp, ids] of all) {
      const got = tok.textToIds(`w${String.fromCodePoint(cp)}a`);
      if (got.length !== ids.length || got.some((id, k) => id !== ids[k])) bad.push(`U+${cp.toString(16)}: ${got} (HF ${ids})`);
    }
    expect(bad.slice(0, 20)).toEqual([]);
  });

  it("keeps the generated table sorted, disjoint and limited to real differences at its ends", () => {
    const r = HF_CLASS_RANGES;
    expect(r.length % 3).toBe(0);
    for (let k = 0; k < r.length; k += 3) {
      expect(r[k]!).toBeLessThanOrEqual(r[k + 1]!);
      if (k > 0) expect(r[k]!).toBeGreaterThan(r[k - 2]!);
      expect(classify(r[k]!)).not.toBe(unicodeClass(r[k]!));
      expect(classify(r[k + 1]!)).not.toBe(unicodeClass(r[k + 1]!));
    }
  });
});
