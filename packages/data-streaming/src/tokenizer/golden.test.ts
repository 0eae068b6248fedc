import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BertTokenizer } from "./bert-tokenizer.js";
import { bertBaseUncased } from "./bert-base-uncased.js";

const data = (p: string): string => fileURLToPath(new URL(`../../../../../shared/data/${p}`, import.meta.url));

interface Row {
  text?: string;
  a?: string;
  b?: string;
  input_ids: number[];
  token_type_ids: number[];
}
const rows = (f: string): Row[] =>
  readFileSync(data(`tokenizer/${f}`), "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Row);

function mismatches(tok: BertTokenizer, all: Row[]): string[] {
  const bad: string[] = [];
  all.forEach((r, k) => {
    const e = r.text !== undefined ? tok.encode(r.text, undefined, { maxLength: 128 }) : tok.encode(r.a!, r.b!, { maxLength: 128 });
    const same =
      JSON.stringify(e.inputIds) === JSON.stringify(r.input_ids) &&
      JSON.stringify(e.tokenTypeIds) === JSON.stringify(r.token_type_ids);
    if (!same && bad.length < 5) bad.push(`row ${k}: ${JSON.stringify(r.text ?? [r.a, r.b]).slice(0, 200)}\n got ${JSON.stringify(e.inputIds)}\n exp ${JSON.stringify(r.input_ids)}`);
    else if (!same) bad.push(`row ${k}`);
  });
  return bad;
}

describe("bert-base-uncased goldens (Hugging Face tokenizers)", () => {
  const wiki = rows("wikitext2-test-raw.jsonl");
  const mrpc = rows("mrpc-dev-pairs.jsonl");

  it("has the full golden files", () => {
    expect(wiki.length).toBe(2891);
    expect(mrpc.length).toBe(408);
  });

  it("matches every WikiText-2 raw test line (vocab.txt shipped in assets)", () => {
    expect(mismatches(bertBaseUncased(), wiki)).toEqual([]);
  });

  it("matches every MRPC dev pair (longest-first truncation to 128)", () => {
    expect(mismatches(bertBaseUncased(), mrpc)).toEqual([]);
  });

  it("gives the same ids when loaded from tokenizer.json", () => {
    const fromJson = BertTokenizer.fromFile(data("vocab/bert-base-uncased-tokenizer.json"));
    expect(fromJson.vocabSize).toBe(30522);
    expect(mismatches(fromJson, wiki.slice(0, 300))).toEqual([]);
    expect(mismatches(fromJson, mrpc.slice(0, 100))).toEqual([]);
  });

  it("matches the goldens with pairs truncated to a short max length", () => {
    // Cut each golden pair to 24 tokens and check the cut against longest-first applied to the golden pieces.
    const tok = bertBaseUncased();
    for (const r of mrpc.slice(0, 100)) {
      const sep = r.input_ids.indexOf(tok.sepId);
      const a = r.input_ids.slice(1, sep);
      const b = r.input_ids.slice(sep + 1, -1);
      const e = tok.encode(r.a!, r.b!, { maxLength: 24 });
      const la = e.tokenTypeIds.filter((t) => t === 0).length - 2;
      const lb = e.tokenTypeIds.filter((t) => t === 1).length - 1;
      expect(la + lb).toBe(Math.min(21, a.length + b.length));
      expect(e.inputIds).toEqual([tok.clsId, ...a.slice(0, la), tok.sepId, ...b.slice(0, lb), tok.sepId]);
    }
  });
});
