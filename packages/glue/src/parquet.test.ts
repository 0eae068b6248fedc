// Parquet files written by pyarrow with every codec it offers (scripts/fixtures/parquet-codecs.py: the first
// 48 rows of shared/data/glue/SST-2/dev.tsv) read back through readTable and loadParquetSplit: the same rows
// as the TSV (data-streaming's fixtures; the codecs' own bounds are tested there).
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadParquetSplit } from "./load-parquet.js";
import { loadTsvSplit } from "./load-tsv.js";
import { readTable } from "./read-table.js";
import { TASKS } from "./tasks.js";
import { GLUE_DATA } from "./test-paths.js";

const dir = new URL("../../data-streaming/src/parquet/fixtures/parquet/", import.meta.url).pathname;
const files = readdirSync(dir).filter((f) => f.startsWith("sst2-") && f.endsWith(".parquet")).sort();
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
