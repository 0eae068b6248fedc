// The page codecs of the parquet reader are bounded: page sizes, the file's budget, inflation past a claim.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asyncBufferFromFile, parquetMetadata, parquetReadObjects, type FileMetaData } from "hyparquet";
import { parquetHeader } from "hyparquet/src/column.js";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { applyBytes } from "../../../../scripts/fuzz/mutate.mjs";
import { compress } from "../mds/compression.js";
import { replaceFooter } from "./footer-edit.js";
import { MAX_PAGE_BYTES, MAX_ROWS_FLOOR, openParquet, parquetBudget, parquetCodecs } from "./read.js";

const dir = new URL("./fixtures/parquet/", import.meta.url).pathname;

const tmp = mkdtempSync(join(tmpdir(), "parquet-read-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A real file with its footer rewritten by `edit` (thrift re-encoded by hyparquet-writer): what a liar would send. */
function withFooter(name: string, edit: (m: FileMetaData) => void): string {
  const b = new Uint8Array(readFileSync(join(dir, name)));
  const meta = parquetMetadata(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  edit(meta);
  const out = join(tmp, `lying-${name}`);
  writeFileSync(out, replaceFooter(b, meta));
  return out;
}

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

describe("openParquet refuses row counts it would build rows out of nothing for", () => {
  it("a footer claiming 300 million rows of a 48-row file: refused by the columns' value counts, then by the file's size", async () => {
    const lie = withFooter("sst2-none.parquet", (m) => {
      m.row_groups[0]!.num_rows = 300_000_000n;
      m.num_rows = 300_000_000n;
    });
    await expect(openParquet(lie)).rejects.toThrow(/row group 0 says it has 300000000 rows but its column sentence holds 48 values/);
    const consistent = withFooter("sst2-none.parquet", (m) => {
      m.row_groups[0]!.num_rows = 300_000_000n;
      m.num_rows = 300_000_000n;
      for (const c of m.row_groups[0]!.columns) c.meta_data!.num_values = 300_000_000n;
    });
    await expect(openParquet(consistent)).rejects.toThrow(new RegExp(`the file says it has 300000000 rows, more than the ${MAX_ROWS_FLOOR} a \\d+-byte file can hold here`));
  });
});

describe("openParquet checks the page headers before hyparquet decodes a chunk", () => {
  it("a v2 page header cut short by 20 deleted bytes (the fuzzer's case: hyparquet spun on it for good) is refused naming the page", async () => {
    const seed = new Uint8Array(readFileSync(join(dir, "sst2-v2-plain.parquet")));
    const f = join(tmp, "cut.parquet");
    writeFileSync(f, applyBytes(seed, [{ k: "del", at: 0.7542, len: 20 }]));
    const pq = await openParquet(f);
    await expect(pq.read(pq.columns, 0, pq.numRows)).rejects.toThrow(/row group 0, column label, page 0: a v2 data page without its header or encoding/);
  });

  it("an RLE run of definition levels longer than the page (hyparquet would write every value it claims) is refused", async () => {
    const b = new Uint8Array(readFileSync(join(dir, "sst2-v2-plain.parquet")));
    const meta = parquetMetadata(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    const md = meta.row_groups[0]!.columns[0]!.meta_data!;
    const start = Number(md.dictionary_page_offset ?? md.data_page_offset);
    const reader = { view: new DataView(b.buffer, b.byteOffset + start, Number(md.total_compressed_size)), offset: 0 };
    parquetHeader(reader);
    // The v2 page's definition levels come first, uncompressed: one RLE run of 48 ones (header 48·2 = 0x60).
    expect(Array.from(b.subarray(start + reader.offset, start + reader.offset + 2))).toEqual([0x60, 0x01]);
    const run = (header: number[]) => {
      const f = join(tmp, `run-${header.join("-")}.parquet`);
      const out = new Uint8Array(b);
      out.set(header, start + reader.offset);
      writeFileSync(f, out);
      return f;
    };
    const pq = await openParquet(run([0x62]));
    await expect(pq.read(["sentence"], 0, 48)).rejects.toThrow(/row group 0, column sentence, page 0, definition levels: a run of 49 values where 48 remain/);
    const ok = await openParquet(run([0x60]));
    expect(await ok.read(["sentence"], 0, 48)).toHaveLength(48);
  });

  it("data pages that hold more or fewer values than their chunk says are refused", async () => {
    const lie = withFooter("sst2-zstd.parquet", (m) => {
      for (const c of m.row_groups[0]!.columns) c.meta_data!.num_values = 60n;
      m.row_groups[0]!.num_rows = 60n;
      m.num_rows = 60n;
    });
    const pq = await openParquet(lie);
    await expect(pq.read(["label"], 0, 60)).rejects.toThrow(/row group 0, column label: the data pages hold 48 values, the chunk says 60/);
  });
});

async function rowsOf(name: string): Promise<Record<string, unknown>[]> {
  const pq = await openParquet(join(dir, name));
  return pq.read(pq.columns, 0, pq.numRows);
}

describe("openParquet against hand-built hostile files and DuckDB's padded runs", () => {
  const hostile = new URL("./fixtures/hostile/", import.meta.url).pathname;
  const refused: Array<[string, RegExp]> = [
    ["h1_v1_rle_int32", /RLE-encoded INT32 values \(only booleans may be\)/],
    ["h2_v2_dict_w0_rle", /dictionary indices: a run of 1073741823 values where 1 remain/],
    ["h2b_v2_dict_w0_bitpacked", /dictionary indices: 268435456 bit-packed groups where 1 values remain/],
    ["h3_v2_numnulls_lie", /2 values by num_nulls, 0 by the definition levels/],
    ["h3b_v2_bool_numnulls_lie", /2 values by num_nulls, 0 by the definition levels/],
    ["h4_delta_loop", /a delta block of 128 values in 4294967295 miniblocks/],
    ["h4b_dlba_loop", /a delta block of 128 values in 4294967295 miniblocks/],
    ["h5_num_values", /134217728 values in a flat column of 1 rows/],
    ["h8_dba_prefix", /value 1 keeps 1073741824 bytes of a 1-byte value before it/],
  ];
  // Each file is ~100 bytes and declares up to gigabytes: refused within 5 s (the test's own timeout, not a speed
  // figure) and with under 32 MiB of array buffers more than before it was opened.
  it.each(refused)("%s: refused before hyparquet decodes it (it would spin or fill the heap)", async (name, message) => {
    const before = process.memoryUsage().arrayBuffers;
    const pq = await openParquet(join(hostile, `${name}.parquet`));
    await expect(pq.read(pq.columns, 0, pq.numRows)).rejects.toThrow(message);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 2 ** 20);
  }, 5000);

  it("a chunk whose dictionary_page_offset is 0 (no dictionary, PARQUET-1402) is read as hyparquet reads it", async () => {
    const f = join(hostile, "h7_dictoffset0.parquet");
    const pq = await openParquet(f);
    expect(await pq.read(pq.columns, 0, pq.numRows)).toEqual(await parquetReadObjects({ file: await asyncBufferFromFile(f) }));
  });

  it.each(["delta-v1", "delta-v2"])("%s (pyarrow, DELTA_BINARY_PACKED / DELTA_LENGTH_BYTE_ARRAY / DELTA_BYTE_ARRAY, nulls): the values pyarrow wrote", async (name) => {
    const pq = await openParquet(join(dir, `${name}.parquet`));
    const rows = await pq.read(pq.columns, 0, pq.numRows);
    expect(rows.map((r) => r.i)).toEqual(Array.from({ length: 48 }, (_, k) => (k % 7 === 3 ? null : k * k - 40)));
    const sst2 = rowsOf("sst2-none.parquet");
    expect(rows.map((r) => r.len)).toEqual((await sst2).map((r, k) => (k % 5 === 2 ? null : r.sentence)));
    expect(rows.map((r) => r.prefix)).toEqual((await sst2).map((r) => r.sentence as string).sort());
  });

  it.each(["duckdb-brotli-v2", "duckdb-zstd-v2"])("%s (DuckDB 1.5.6, bit-packed runs padded to 256 values): every row, as hyparquet alone reads them", async (name) => {
    const f = join(dir, `${name}.parquet`);
    const pq = await openParquet(f);
    const rows = await pq.read(pq.columns, 0, pq.numRows);
    expect(rows.length).toBe(pq.numRows);
    const raw = (await parquetReadObjects({ file: await asyncBufferFromFile(f), compressors: await parquetCodecs(1e9) })).map((r) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])),
    );
    expect(rows).toEqual(raw);
  });
});

describe("parquet page codecs are bounded", () => {
  it("refuses a page claiming more than MAX_PAGE_BYTES (or a negative size) before decoding it", async () => {
    const c = await parquetCodecs(1000);
    for (const name of ["SNAPPY", "GZIP", "BROTLI", "ZSTD", "LZ4_RAW", "LZ4"] as const) {
      expect(() => c[name]!(new Uint8Array(8), MAX_PAGE_BYTES + 1)).toThrow(new RegExp(`a ${name} page claims ${MAX_PAGE_BYTES + 1} bytes`));
      expect(() => c[name]!(new Uint8Array(8), -5)).toThrow(new RegExp(`a ${name} page claims -5 bytes once decompressed`));
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
