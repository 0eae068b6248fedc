import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { bertBaseUncased } from "./bert-base-uncased.js";
import { longestFirstLengths } from "./truncate.js";

// Hugging Face tokenizers' longest-first pair truncation (tokenizers/src/utils/truncation.rs): with n1 the
// shorter and n2 the longer input and a budget of max_length − 3, nothing is cut when n1 + n2 fits; else
// only the longer one is cut, to budget − n1, when that leaves it at least n1; else both are cut to
// budget/2, the odd token going to the longer input (to the second on a tie). Every expected length
// below is worked out by hand from that rule, not by the code under test.

describe("longestFirstLengths (hand-derived cases)", () => {
  const cases: Array<[nA: number, nB: number, budget: number, want: [number, number]]> = [
    [6, 5, 11, [6, 5]], // fits exactly
    [6, 5, 12, [6, 5]],
    [10, 3, 8, [5, 3]], // only the longer (first) is cut
    [3, 10, 8, [3, 5]], // only the longer (second) is cut
    [20, 1, 5, [4, 1]],
    [0, 20, 5, [0, 5]],
    [6, 5, 10, [5, 5]], // cutting the longer to the shorter's length is enough
    [5, 6, 10, [5, 5]],
    [12, 9, 7, [4, 3]], // both cut; the odd token to the longer (first)
    [9, 12, 7, [3, 4]], // both cut; the odd token to the longer (second)
    [10, 10, 7, [3, 4]], // tie, odd budget: the second gets the odd token
    [10, 10, 8, [4, 4]], // tie, even budget
    [30, 20, 10, [5, 5]], // both longer than the whole budget
    [31, 20, 11, [6, 5]],
    [20, 31, 11, [5, 6]],
    [30, 30, 11, [5, 6]],
    [4, 4, 0, [0, 0]],
    [0, 0, 0, [0, 0]],
  ];
  it.each(cases)("(%i, %i) in a budget of %i", (nA, nB, budget, want) => {
    expect(longestFirstLengths(nA, nB, budget)).toEqual(want);
  });
});

const data = (p: string): string => fileURLToPath(new URL(`../../../../../shared/data/${p}`, import.meta.url));
interface Golden {
  text?: string;
  a?: string;
  b?: string;
  input_ids: number[];
  token_type_ids: number[];
}
const goldens = (file: string): Golden[] =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Golden);

describe("pairs of real texts cut longest-first (Hugging Face ids of each text)", () => {
  // WikiText-2 lines that Hugging Face encoded whole (under 128 tokens): their ids between [CLS] and
  // [SEP] are each text's tokens, so a pair's expected encoding is these pieces cut to the lengths
  // worked out by hand.
  const whole = goldens(data("tokenizer/wikitext2-test-raw.jsonl")).filter((r) => r.text !== undefined && r.input_ids.length < 128);
  const tok = bertBaseUncased();
  /** The k-th WikiText line of exactly n tokens. */
  const line = (n: number, k = 0): { text: string; ids: number[] } => {
    const r = whole.filter((x) => x.input_ids.length - 2 === n)[k];
    if (!r) throw new Error(`fixture: no WikiText golden line ${k} of ${n} tokens`);
    return { text: r.text!, ids: r.input_ids.slice(1, -1) };
  };

  const cases: Array<{ name: string; a: [number, number]; b: [number, number]; maxLength: number; keep: [number, number] }> = [
    { name: "first longer, only it is cut (125 − 40 = 85)", a: [100, 0], b: [40, 0], maxLength: 128, keep: [85, 40] },
    { name: "second longer, only it is cut", a: [40, 0], b: [100, 0], maxLength: 128, keep: [40, 85] },
    { name: "first longer, both cut, odd token to the first", a: [100, 0], b: [90, 0], maxLength: 128, keep: [63, 62] },
    { name: "second longer, both cut, odd token to the second", a: [90, 0], b: [100, 0], maxLength: 128, keep: [62, 63] },
    { name: "tie, odd budget: odd token to the second", a: [100, 0], b: [100, 1], maxLength: 128, keep: [62, 63] },
    { name: "tie, even budget", a: [100, 1], b: [100, 0], maxLength: 127, keep: [62, 62] },
    { name: "short first, long second", a: [3, 0], b: [123, 0], maxLength: 128, keep: [3, 122] },
    { name: "long first, short second, small max length", a: [60, 0], b: [5, 0], maxLength: 32, keep: [24, 5] },
  ];
  it.each(cases)("$name", ({ a, b, maxLength, keep }) => {
    const A = line(...a);
    const B = line(...b);
    const e = tok.encode(A.text, B.text, { maxLength });
    const [na, nb] = keep;
    expect(e.inputIds).toEqual([tok.clsId, ...A.ids.slice(0, na), tok.sepId, ...B.ids.slice(0, nb), tok.sepId]);
    expect(e.tokenTypeIds).toEqual([...Array<number>(na + 2).fill(0), ...Array<number>(nb + 1).fill(1)]);
  });
});

// Long RTE pairs encoded by Hugging Face's Rust tokenizers itself (scripts/goldens/tokenizer-long-pairs.mjs
// through its npm binding, or the .py twin where Python `tokenizers` is installed); committed.
const RTE_GOLDENS = fileURLToPath(new URL("./fixtures/rte-long-pairs.jsonl", import.meta.url));
describe.skipIf(!existsSync(RTE_GOLDENS))("long RTE pairs (Hugging Face goldens)", () => {
  it("match Hugging Face at max lengths 128 and 64", () => {
    const tok = bertBaseUncased();
    const rows = goldens(RTE_GOLDENS) as Array<Golden & { max_length: number }>;
    expect(rows.length).toBeGreaterThanOrEqual(40);
    let cut = 0;
    for (const r of rows) {
      const e = tok.encode(r.a!, r.b!, { maxLength: r.max_length });
      expect({ ids: e.inputIds, types: e.tokenTypeIds }, `${r.max_length}: ${r.a!.slice(0, 60)}`).toEqual({ ids: r.input_ids, types: r.token_type_ids });
      if (r.input_ids.length === r.max_length) cut++;
    }
    expect(cut).toBe(rows.length);
  });
});
