// Parquet files written by pyarrow with every codec it offers (scripts/fixtures/parquet-codecs.py: the first
// 48 rows of shared/data/glue/SST-2/dev.tsv) read back through readTable and loadParquetSplit: the same rows
// as the TSV. Then the bounds a stranger's file meets: page sizes, the file's budget, inflation past a claim.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { compress } from "@mosaicbert/data-streaming";
import { describe, expect, it } from "vitest";
import { loadParquetSplit } from "./load-parquet.js";
import { loadTsvSplit } from "./load-tsv.js";
import { MAX_PAGE_BYTES, parquetBudget, parquetCodecs } from "./parquet.js";
import { readTable } from "./read-table.js";
import { TASKS } from "./tasks.js";
import { GLUE_DATA } from "./test-paths.js";

const dir = new URL("./fixtures/parquet/", import.meta.url).pathname;
const files = readdirSync(dir).filter((f) => f.endsWith(".parquet")).sort();
const tsv = loadTsvSplit(TASKS.sst2, join(GLUE_DATA, "SST-2/dev.tsv")).examples.slice(0, 48);

describe("parquet from pyarrow, every codec", () => {
  it("has the fixtures: none, snappy, gzip, brotli, zstd, lz4 (LZ4_RAW), page v2 without dictionary, row groups", () => {
    expect(files).toEqual(["sst2-brotli.parquet", "sst2-gzip.parquet", "sst2-lz4.parquet", "sst2-none.parquet", "sst2-rowgroups.parquet", "sst2-snappy.parquet", "sst2-v2-plain.parquet", "sst2-zstd.parquet"]);
  });

  it.each(files)("%s: readTable and loadParquetSplit give the TSV's 48 rows", async (f) => {
    const t = await readTable(join(dir, f));
    expect(t.columns).toEqual(["sentence", "label"]);
    expect(t.rows.map((r) => [r.values.sentence, r.values.label])).toEqual(tsv.map((e) => [e.a, e.label]));
    expect(t.rows.at(-1)!.line).toBe(48);
    const split = await loadParquetSplit(TASKS.sst2, join(dir, f));
    expect(split.examples.map((e) => [e.a, e.label])).toEqual(tsv.map((e) => [e.a, e.label]));
  });

  it("names the file and the missing columns", async () => {
    await expect(loadParquetSplit(TASKS.mrpc, join(dir, "sst2-zstd.parquet"))).rejects.toThrow(/sst2-zstd\.parquet: MRPC: no column sentence1, sentence2 \(columns: sentence, label\)/);
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
