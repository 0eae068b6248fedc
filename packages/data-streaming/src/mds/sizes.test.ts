import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseByteSize } from "./sizes.js";
import { MDSWriter } from "./writer.js";

// Expected values from the reference `bytes_to_int` (mosaicml-streaming @89e7bb90, streaming/base/util.py,
// the function exec'd unchanged). "error": it raised (ValueError; OverflowError for "inf kb"). Negative
// results (-1024 for "-1kb") are rejected here; the reference's callers reject them too.
const STRINGS: Array<[input: string, want: number | "error"]> = [
  ["1.1kb", 1126], ["1.1KB", 1126], [" 2.5 Mb ", 2621440], ["0.1kb", 102], ["1e3kb", 1024000], [".5kb", 512], ["5.kb", 5120],
  ["+1kb", 1024], ["1_000kb", 1024000], ["1.1gb", 1181116006], ["3tb", 3298534883328], ["1pb", 1125899906842624],
  ["1eb", 2 ** 60], ["2zb", 2 ** 71], ["1yb", 2 ** 80], ["0.0001kb", 0], ["-0.0001kb", 0], ["123b", 123], ["123", 123], [" 42 ", 42],
  ["0", 0], ["0kb", 0],
  ["1.5b", "error"], ["2.0b", "error"], ["1e3", "error"], ["12 b", "error"], ["kb", "error"], ["b", "error"], ["", "error"],
  ["1.5", "error"], ["-5", "error"], ["inf kb", "error"], ["nankb", "error"], ["1__0kb", "error"], ["_1kb", "error"],
  ["0x10kb", "error"], ["12 parsecs", "error"], ["1 k b", "error"],
];
// Numbers: int(x).
const NUMBERS: Array<[input: number, want: number]> = [[67108864, 67108864], [1.5, 1], [0.9, 0], [0, 0]];

describe("parseByteSize (reference bytes_to_int)", () => {
  it.each(STRINGS)("%j → %s", (input, want) => {
    if (want === "error") expect(() => parseByteSize(input, "sizeLimit")).toThrow(/^sizeLimit: expected/);
    else expect(parseByteSize(input, "sizeLimit")).toBe(want);
  });

  it.each(NUMBERS)("%d → %d", (input, want) => {
    expect(parseByteSize(input, "cacheLimit")).toBe(want);
  });

  it("names the option and the expected form", () => {
    expect(() => parseByteSize("-1kb", "cacheLimit")).toThrow('cacheLimit: expected a non-negative byte count, got "-1kb"');
    expect(() => parseByteSize("12 parsecs", "cacheLimit")).toThrow(/cacheLimit: expected bytes like 67108864, "123b", "64mb" or "1.5gb"/);
    expect(() => parseByteSize(Number.NaN, "cacheLimit")).toThrow("cacheLimit: expected a finite byte count, got NaN");
  });
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mds-sizes-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// `size_limit` the reference Writer stores (get_config(), written to index.json and each shard header)
// for `size_limit=<input>`: mosaicml-streaming @89e7bb90 streaming/base/format/base/writer.py run with
// its upload/compression imports stubbed. undefined: the argument left at its default 1 << 26.
const STORED: Array<[input: number | string | null | undefined, want: number | null]> = [
  [0, null], [null, null], ["", null], ["0", 0], ["0kb", 0], [0.5, 0], [300, 300], ["1.1kb", 1126], ["64mb", 67108864], [undefined, 67108864],
];

describe("MDSWriter size_limit (reference Writer)", () => {
  it.each(STORED)("sizeLimit %j stores %j", async (input, want) => {
    const out = path.join(tmp, `w${STORED.findIndex((c) => c[0] === input)}`);
    const w = new MDSWriter({ out, columns: { a: "str" }, sizeLimit: input });
    await w.write({ a: "x" });
    await w.finish();
    const index = fs.readFileSync(path.join(out, "index.json"), "utf8");
    expect(JSON.parse(index).shards[0].size_limit).toBe(want);
    expect(fs.readFileSync(path.join(out, "shard.00000.mds"), "latin1")).toContain(`"size_limit": ${JSON.stringify(want)}`);
  });
});
