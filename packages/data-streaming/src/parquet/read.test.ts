// The page codecs of the parquet reader are bounded: page sizes, the file's budget, inflation past a claim.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { compress } from "../mds/compression.js";
import { MAX_PAGE_BYTES, openParquet, parquetBudget, parquetCodecs } from "./read.js";

const dir = new URL("./fixtures/parquet/", import.meta.url).pathname;

describe("openParquet (pyarrow's files)", () => {
  it("reads the columns, the row groups and rows a group at a time", async () => {
    const pq = await openParquet(join(dir, "sst2-rowgroups.parquet"));
    expect(pq.columns).toEqual(["sentence", "label"]);
    expect(pq.numRows).toBe(48);
    expect(pq.rowGroups).toEqual([[0, 10], [10, 20], [20, 30], [30, 40], [40, 48]]);
    const all = await pq.read(["sentence", "label"], 0, 48);
    const parts = [];
    for (const [a, b] of pq.rowGroups) parts.push(...(await pq.read(["label", "sentence"], a, b)));
    expect(parts).toEqual(all);
    expect(typeof all[0]!.label).toBe("number");
    expect(await pq.read([], 0, 48)).toEqual([]);
  });
});

describe("parquet page codecs are bounded", () => {
  it("refuses a page claiming more than MAX_PAGE_BYTES before decoding it", async () => {
    const c = await parquetCodecs(1000);
    for (const name of ["SNAPPY", "GZIP", "BROTLI", "ZSTD", "LZ4_RAW", "LZ4"] as const) {
      expect(() => c[name]!(new Uint8Array(8), MAX_PAGE_BYTES + 1)).toThrow(new RegExp(`a ${name} page claims ${MAX_PAGE_BYTES + 1} bytes`));
    }
  });

  it("budgets 64 × the file, at least 1 GiB", () => {
    expect(parquetBudget(1000)).toBe(2 ** 30);
    expect(parquetBudget(2 ** 30)).toBe(64 * 2 ** 30);
  });

  it("refuses pages past the file's budget (1 GiB for a small file), counting every page", async () => {
    const c = await parquetCodecs(1000);
    for (let i = 0; i < 4; i++) expect(() => c.GZIP!(new Uint8Array(8), MAX_PAGE_BYTES)).toThrow(/incorrect header check|unexpected end|invalid/i);
    expect(() => c.GZIP!(new Uint8Array(8), 1)).toThrow(/the pages claim more than 1073741824 bytes/);
  });

  it("stops data that inflates past its claim (a 16 MiB gzip or zstd bomb claiming 4 KiB)", async () => {
    const c = await parquetCodecs(1000);
    const bomb = gzipSync(new Uint8Array(16 * 2 ** 20));
    expect(() => c.GZIP!(bomb, 4096)).toThrow(/larger than|maxOutputLength|Cannot create a Buffer/i);
    const zbomb = await compress("zstd", new Uint8Array(16 * 2 ** 20));
    expect(() => c.ZSTD!(zbomb, 4096)).toThrow(/claims 16777216 bytes, more than the 4096 expected/);
    const real = readFileSync(join(dir, "sst2-none.parquet"));
    const page = gzipSync(real);
    expect(Buffer.from(c.GZIP!(page, real.length)).equals(real)).toBe(true);
  });
});
