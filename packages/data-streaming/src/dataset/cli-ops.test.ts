import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parquetWriteBuffer } from "hyparquet-writer";
import { afterAll, describe, expect, it } from "vitest";
import { MDSReader } from "../mds/reader.js";
import { bertBaseUncased, bertBaseUncasedVocabPath } from "../tokenizer/index.js";
import { convertToMds } from "./cli-ops.js";

const wikiFile = fileURLToPath(new URL("../../../../../shared/data/text/wikitext-2-raw/wiki.test.raw", import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "convert-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("convertToMds --concat-tokens", () => {
  it("takes a document longer than a call's argument limit (WikiText-2 test as one line, ~300k ids)", async () => {
    // One .txt line = one document: the whole WikiText-2 raw test split, newlines turned into spaces.
    const text = fs.readFileSync(wikiFile, "utf8").replace(/\s+/g, " ").trim();
    const input = path.join(tmp, "one-line.txt");
    fs.writeFileSync(input, text + "\n");
    const out = path.join(tmp, "tok");
    const n = await convertToMds({ inputs: [input], out, concatTokens: 128, vocab: bertBaseUncasedVocabPath() });

    const tok = bertBaseUncased();
    const ids = [tok.clsId, ...tok.textToIds(text).slice(0, 128 * 3), tok.sepId];
    expect(n).toBe(Math.floor((tok.textToIds(text).length + 2) / 128));
    expect(n).toBeGreaterThan(1000);
    const r = new MDSReader(out);
    expect(r.size).toBe(n);
    // The first samples are the document's ids in order, [CLS] first, cut every 128.
    for (let s = 0; s < 3; s++) {
      const b = (await r.get(s)).tokens as Uint8Array;
      const got = Array.from(new BigInt64Array(b.buffer, b.byteOffset, 128), Number);
      expect(got).toEqual(ids.slice(s * 128, (s + 1) * 128));
    }
  });
});

describe("convertToMds from parquet", () => {
  const parquet = fileURLToPath(new URL("../parquet/fixtures/parquet/c4-like-val.parquet", import.meta.url));
  const expected = fs
    .readFileSync(fileURLToPath(new URL("../../../../../shared/data/mds/c4-like/val/expected.jsonl", import.meta.url)), "utf8")
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { sample: { text: string; timestamp: string; url: string } }).sample);

  it("a pyarrow file of C4's columns (zstd, 4 row groups) gives the samples the same rows give as jsonl", async () => {
    const jsonl = path.join(tmp, "c4.jsonl");
    fs.writeFileSync(jsonl, expected.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const [a, b] = [path.join(tmp, "from-parquet"), path.join(tmp, "from-jsonl")];
    expect(await convertToMds({ inputs: [parquet], out: a, compression: "zstd" })).toBe(200);
    expect(await convertToMds({ inputs: [jsonl], out: b, compression: "zstd" })).toBe(200);
    const [ra, rb] = [new MDSReader(a), new MDSReader(b)];
    for (let i = 0; i < 200; i++) {
      const s = await ra.get(i);
      expect(s).toEqual(await rb.get(i));
      expect(s).toEqual(expected[i]);
    }
    expect(fs.readFileSync(path.join(a, "index.json"), "utf8")).toBe(fs.readFileSync(path.join(b, "index.json"), "utf8"));
  });

  it("parquet timestamps become C4's text form; one no JavaScript date can hold is refused naming file and row", async () => {
    const f = path.join(tmp, "ts.parquet");
    const dates = [new Date("2019-04-25T12:57:54Z"), new Date("2020-01-01T00:00:00.250Z")];
    fs.writeFileSync(f, Buffer.from(parquetWriteBuffer({ columnData: [{ name: "text", data: ["a", "b"], type: "STRING" }, { name: "timestamp", data: dates, type: "TIMESTAMP" }] })));
    const out = path.join(tmp, "ts");
    expect(await convertToMds({ inputs: [f], out })).toBe(2);
    const r = new MDSReader(out);
    expect((await r.get(0)).timestamp).toBe("2019-04-25T12:57:54Z");
    expect((await r.get(1)).timestamp).toBe("2020-01-01T00:00:00.250Z");
    const bad = path.join(tmp, "ts-bad.parquet");
    fs.writeFileSync(bad, Buffer.from(parquetWriteBuffer({ columnData: [{ name: "text", data: ["a"], type: "STRING" }, { name: "timestamp", data: [9e15], type: "TIMESTAMP" }] })));
    await expect(convertToMds({ inputs: [bad], out: path.join(tmp, "ts-bad") })).rejects.toThrow(/ts-bad\.parquet: row 1: "timestamp" is outside the dates JavaScript can hold/);
  });

  it("names the file when it is not parquet or has no text column", async () => {
    const fake = path.join(tmp, "fake.parquet");
    fs.writeFileSync(fake, "text,label\nhello,1\n");
    await expect(convertToMds({ inputs: [fake], out: path.join(tmp, "x1") })).rejects.toThrow(/fake\.parquet: cannot read parquet \(/);
    const sst2 = fileURLToPath(new URL("../parquet/fixtures/parquet/sst2-snappy.parquet", import.meta.url));
    await expect(convertToMds({ inputs: [sst2], out: path.join(tmp, "x2") })).rejects.toThrow(/sst2-snappy\.parquet: no column "text" \(columns: sentence, label\)/);
  });
});
