/**
 * Parquet files as strangers write them (pyarrow, pandas, polars, DuckDB, Spark; the Hugging Face Hub's
 * datasets), read with hyparquet (pure JS) and this package's codecs, every page bounded.
 */
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema, snappyUncompress, type AsyncBuffer, type Compressors, type FileMetaData } from "hyparquet";
import { deltaBinaryUnpack } from "hyparquet/src/delta.js";
import { parquetHeader } from "hyparquet/src/column.js";
import { zstdDecoder } from "../mds/compression.js";
import { lz4HadoopDecompress, lz4RawDecompress } from "./lz4.js";

/** The most one page may hold once decompressed (pyarrow writes 1 MiB data pages; dictionaries are larger). */
export const MAX_PAGE_BYTES = 256 * 2 ** 20;

/** Rows a file may claim whatever its size (beyond it, one byte of file per row). */
export const MAX_ROWS_FLOOR = 1 << 20;

/** What all the pages of one open file may decompress to together: 64 × the file, and at least 1 GiB. */
export function parquetBudget(fileBytes: number): number {
  return Math.max(2 ** 30, 64 * fileBytes);
}

type Codec = (input: Uint8Array, size: number) => Uint8Array;

/**
 * The page codecs, each bounded by the page header's uncompressed size (a page claiming more than
 * MAX_PAGE_BYTES, pages claiming more than the budget in all, or data that inflates past its claim are
 * refused before the memory is taken). UNCOMPRESSED and every codec the common writers use: SNAPPY,
 * GZIP, BROTLI, ZSTD, LZ4_RAW and the older LZ4. `needZstd` false: the WebAssembly zstd decoder is not
 * loaded (and a ZSTD page is refused).
 */
export async function parquetCodecs(fileBytes: number, needZstd = true): Promise<Compressors> {
  const zstd = needZstd ? await zstdDecoder() : () => { throw new Error("internal: a ZSTD page in a file whose column chunks did not say ZSTD"); };
  const budget = parquetBudget(fileBytes);
  let left = budget;
  const bounded = (name: string, decode: Codec): Codec => (input, size) => {
    if (!Number.isSafeInteger(size) || size < 0) throw new Error(`a ${name} page claims ${size} bytes once decompressed`);
    if (size > MAX_PAGE_BYTES) throw new Error(`a ${name} page claims ${size} bytes once decompressed, more than the ${MAX_PAGE_BYTES} a page may hold`);
    if (size > left) throw new Error(`the pages claim more than ${budget} bytes once decompressed (64 × the file, at least 1 GiB)`);
    left -= size;
    return decode(input, size);
  };
  const zlibOptions = (size: number) => ({ maxOutputLength: Math.max(1, size) });
  return {
    SNAPPY: bounded("SNAPPY", (input, size) => {
      const out = new Uint8Array(size);
      snappyUncompress(input, out);
      return out;
    }),
    GZIP: bounded("GZIP", (input, size) => new Uint8Array(gunzipSync(input, zlibOptions(size)))),
    BROTLI: bounded("BROTLI", (input, size) => new Uint8Array(brotliDecompressSync(input, zlibOptions(size)))),
    ZSTD: bounded("ZSTD", (input, size) => zstd(input, size)),
    LZ4_RAW: bounded("LZ4_RAW", lz4RawDecompress),
    LZ4: bounded("LZ4", lz4HadoopDecompress),
  };
}

const int = (v: unknown): number => (typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : NaN);

/**
 * Walks an RLE / bit-packed hybrid run stream of `count` values of `width` bits in view[pos, end) without
 * decoding it into memory; returns how many values equal `target`. hyparquet writes every value an RLE run
 * claims (a run of 2³¹ would fill the heap), so a run longer than the values left, or runs past `end`, are refused.
 */
export function walkHybrid(v: DataView, pos: number, end: number, width: number, count: number, target: number, where: string): number {
  if (width > 32) throw new Error(`${where}: a bit width of ${width}`);
  let seen = 0;
  let hits = 0;
  while (seen < count) {
    let header = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= end || shift > 28) throw new Error(`${where}: the runs end after ${seen} of ${count} values`);
      const b = v.getUint8(pos++);
      header += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) break;
    }
    const n = Math.floor(header / 2);
    if (header % 2) {
      // n groups of 8 bit-packed values: n·width bytes; only the last group may run past the count (padding).
      // Writers may pad past the count (DuckDB writes 256-value groups); hyparquet stops writing at the
      // output's length, so only the bytes must be there (and, width 0, hyparquet's n·8 empty steps bounded).
      if (pos + n * width > end || (width === 0 && n * 8 > count - seen + 255)) throw new Error(`${where}: ${n} bit-packed groups where ${count - seen} values remain`);
      const take = Math.min(n * 8, count - seen);
      for (let k = 0; k < take; k++) {
        let x = 0;
        for (let bit = 0; bit < width; bit++) {
          const at = k * width + bit;
          x |= ((v.getUint8(pos + (at >> 3)) >> (at & 7)) & 1) << bit;
        }
        if (x === target) hits++;
      }
      pos += n * width;
      seen += take;
    } else {
      const bytes = (width + 7) >> 3;
      if (n > count - seen || pos + bytes > end) throw new Error(`${where}: a run of ${n} values where ${count - seen} remain`);
      let x = 0;
      for (let k = 0; k < bytes; k++) x |= v.getUint8(pos + k) << (8 * k);
      if (x === target) hits += n;
      pos += bytes;
      seen += n;
    }
  }
  return hits;
}

const bitWidth = (n: number) => 32 - Math.clz32(n);

/** Walks one DELTA_BINARY_PACKED stream of `count` values: a sane header, every block within the page; returns its end. */
export function walkDelta(v: DataView, pos: number, count: number, where: string): number {
  const varint = (): number => {
    let x = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= v.byteLength || shift > 63) throw new Error(`${where}: a delta stream cut short`);
      const b = v.getUint8(pos++);
      if (shift <= 28) x += (b & 0x7f) * 2 ** shift; else if (b & 0x7f) x = Infinity;
      if (!(b & 0x80)) return x;
    }
  };
  const block = varint(), minis = varint(), total = varint();
  varint(); // first value
  if (!(block > 0 && block % 128 === 0 && block <= 2 ** 16 && minis > 0 && block % minis === 0 && (block / minis) % 32 === 0)) throw new Error(`${where}: a delta block of ${block} values in ${minis} miniblocks`);
  if (total < count) throw new Error(`${where}: a delta stream of ${total} values where ${count} are read`);
  const per = block / minis;
  for (let left = count - 1; left > 0; ) {
    varint(); // min delta
    const widths = pos;
    pos += minis;
    if (pos > v.byteLength) throw new Error(`${where}: a delta block past the page`);
    for (let m = 0; m < minis && left > 0; m++, left -= per) {
      const w = v.getUint8(widths + m);
      if (w > 64) throw new Error(`${where}: a delta bit width of ${w}`);
      pos += (per * w) / 8;
      if (pos > v.byteLength) throw new Error(`${where}: a delta miniblock past the page`);
    }
  }
  return pos;
}

/** A flat column's decoding: its physical type and the definition level of a present value (0: required). */
interface ColumnShape {
  type: string;
  maxDef: number;
}

/**
 * The run streams of one data page — definition levels, then dictionary indices or booleans — walked before
 * hyparquet decodes them (walkHybrid). `levels` is the page's level bytes (v2: stored apart, uncompressed),
 * `values` the rest, decompressed.
 */
function checkPageRuns(values: DataView, levels: DataView | null, v1: boolean, numValues: number, numNulls: number, encoding: string, shape: ColumnShape, where: string): void {
  let present = numValues;
  let pos = 0;
  if (shape.maxDef > 0) {
    if (v1) {
      if (values.byteLength < 4) throw new Error(`${where}: no room for the definition levels' length`);
      const len = values.getUint32(0, true);
      if (len > values.byteLength - 4) throw new Error(`${where}: ${len} bytes of definition levels in a page of ${values.byteLength}`);
      present = walkHybrid(values, 4, 4 + len, bitWidth(shape.maxDef), numValues, shape.maxDef, `${where}, definition levels`);
      pos = 4 + len;
    } else if (levels) {
      present = walkHybrid(levels, 0, levels.byteLength, bitWidth(shape.maxDef), numValues, shape.maxDef, `${where}, definition levels`);
    }
  }
  // hyparquet sizes a v2 page's values by num_values − num_nulls, not by its definition levels.
  if (!v1 && present !== numValues - numNulls) throw new Error(`${where}: ${numValues - numNulls} values by num_nulls, ${present} by the definition levels`);
  if (encoding === "PLAIN_DICTIONARY" || encoding === "RLE_DICTIONARY") {
    if (present === 0) return;
    if (pos >= values.byteLength) throw new Error(`${where}: no dictionary index width`);
    const width = values.getUint8(pos);
    // v1 skips a width-0 stream; v2 still reads its runs (each run of width 0 costs no bytes).
    if (width > 0 || !v1) walkHybrid(values, pos + 1, values.byteLength, width, present, -1, `${where}, dictionary indices`);
  } else if (encoding === "RLE") {
    if (shape.type !== "BOOLEAN") throw new Error(`${where}: RLE-encoded ${shape.type} values (only booleans may be)`);
    // v1 stores the stream's byte length first; v2 runs to the end of the page.
    if (v1 || values.byteLength - pos >= 4) {
      const len = values.getUint32(pos, true);
      walkHybrid(values, pos + 4, Math.min(values.byteLength, pos + 4 + len), 1, present, -1, `${where}, booleans`);
    }
  } else if (encoding === "DELTA_BINARY_PACKED" || encoding === "DELTA_LENGTH_BYTE_ARRAY") {
    // DELTA_LENGTH_BYTE_ARRAY: the lengths are the delta stream; the bytes after it are sliced, not allocated.
    walkDelta(values, pos, present, where);
  } else if (encoding === "DELTA_BYTE_ARRAY") {
    // hyparquet allocates prefix + suffix bytes per value, copying the prefix from the value before.
    const prefix = new Int32Array(present), suffix = new Int32Array(present);
    const r = { view: values, offset: pos };
    for (const lengths of [prefix, suffix]) {
      walkDelta(values, r.offset, present, where);
      if (present) deltaBinaryUnpack(r, present, lengths);
    }
    let prev = 0, total = 0, stored = 0;
    for (let i = 0; i < present; i++) {
      if (prefix[i]! < 0 || prefix[i]! > prev || suffix[i]! < 0) throw new Error(`${where}: value ${i} keeps ${prefix[i]} bytes of a ${prev}-byte value before it`);
      prev = prefix[i]! + suffix[i]!;
      total += prev; stored += suffix[i]!;
    }
    if (stored > values.byteLength - r.offset || total > MAX_PAGE_BYTES) throw new Error(`${where}: delta byte arrays of ${total} bytes (${stored} stored) in a page of ${values.byteLength}`);
  }
}

/**
 * Walks the page headers of one column chunk before hyparquet decodes it: every size and count a page claims
 * must fit its chunk, its row group and its own page, and the data pages must hold the chunk's values exactly.
 * hyparquet trusts them (a damaged v2 header without its level lengths made it spin for good), so a page that
 * lies is refused here, naming the column and the page.
 */
async function checkChunkPages(
  buf: AsyncBuffer, chunk: FileMetaData["row_groups"][number]["columns"][number], groupRows: number, shape: ColumnShape, codecs: Compressors, where: string,
): Promise<void> {
  const md = chunk.meta_data;
  if (!md) throw new Error(`${where}: no column metadata`);
  const start = int(md.dictionary_page_offset || md.data_page_offset); // 0: none (PARQUET-1402), as hyparquet reads it
  const size = int(md.total_compressed_size);
  const values = int(md.num_values);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(size) || start < 0 || size < 0 || start + size > buf.byteLength) {
    throw new Error(`${where}: the chunk claims bytes ${start}–${start + size} of a ${buf.byteLength}-byte file`);
  }
  if (values !== groupRows) throw new Error(`${where}: ${values} values in a flat column of ${groupRows} rows`);
  const view = new DataView(await buf.slice(start, start + size));
  const reader = { view, offset: 0 };
  let dataValues = 0;
  for (let page = 0; reader.offset < view.byteLength; page++) {
    const at = `${where}, page ${page}`;
    let h: ReturnType<typeof parquetHeader>;
    try {
      h = parquetHeader(reader);
    } catch (e) {
      throw new Error(`${at}: unreadable page header (${(e as Error).message})`);
    }
    const packed = int(h.compressed_page_size);
    const unpacked = int(h.uncompressed_page_size);
    if (!Number.isSafeInteger(packed) || packed < 0 || reader.offset + packed > view.byteLength) throw new Error(`${at}: ${packed} bytes of page data past the chunk's end`);
    if (!Number.isSafeInteger(unpacked) || unpacked < 0) throw new Error(`${at}: uncompressed size ${unpacked}`);
    const count = (n: unknown, what: string, max: number): number => {
      const v = int(n);
      if (!Number.isSafeInteger(v) || v < 0 || v > max) throw new Error(`${at}: ${what} is ${String(n)}, expected 0…${max}`);
      return v;
    };
    const bytes = new Uint8Array(view.buffer, view.byteOffset + reader.offset, packed);
    const decode = (data: Uint8Array, size: number): DataView => {
      const out = md.codec === "UNCOMPRESSED" ? data : codecs[md.codec as keyof Compressors]?.(data, size);
      if (!out) throw new Error(`${at}: compression codec ${md.codec} is not supported`);
      if (out.length !== size) throw new Error(`${at}: decompresses to ${out.length} bytes, the header says ${size}`);
      return new DataView(out.buffer, out.byteOffset, out.byteLength);
    };
    if (h.type === "DATA_PAGE") {
      if (!h.data_page_header) throw new Error(`${at}: a data page without its header`);
      const n = count(h.data_page_header.num_values, "num_values", values);
      dataValues += n;
      checkPageRuns(decode(bytes, unpacked), null, true, n, 0, String(h.data_page_header.encoding), shape, at);
    } else if (h.type === "DATA_PAGE_V2") {
      const v2 = h.data_page_header_v2;
      if (!v2 || v2.encoding === undefined) throw new Error(`${at}: a v2 data page without its header or encoding`);
      const n = count(v2.num_values, "num_values", values);
      dataValues += n;
      count(v2.num_rows, "num_rows", groupRows);
      const nulls = count(v2.num_nulls, "num_nulls", shape.maxDef ? n : 0);
      const rep = count(v2.repetition_levels_byte_length, "repetition_levels_byte_length", packed);
      const levels = rep + count(v2.definition_levels_byte_length, "definition_levels_byte_length", packed);
      if (levels > packed || levels > unpacked) throw new Error(`${at}: ${levels} bytes of levels in a page of ${Math.min(packed, unpacked)}`);
      const rest = bytes.subarray(levels);
      const valuesView = v2.is_compressed === false ? new DataView(rest.buffer, rest.byteOffset, rest.byteLength) : decode(rest, unpacked - levels);
      checkPageRuns(valuesView, new DataView(bytes.buffer, bytes.byteOffset + rep, levels - rep), false, n, nulls, String(v2.encoding), shape, at);
    } else if (h.type === "DICTIONARY_PAGE") {
      if (!h.dictionary_page_header) throw new Error(`${at}: a dictionary page without its header`);
      count(h.dictionary_page_header.num_values, "dictionary num_values", Math.min(unpacked, Math.max(MAX_ROWS_FLOOR, buf.byteLength)));
    } else if (h.type !== "INDEX_PAGE") {
      throw new Error(`${at}: page type ${String(h.type)}`);
    }
    reader.offset += packed;
  }
  if (dataValues !== values) throw new Error(`${where}: the data pages hold ${dataValues} values, the chunk says ${values}`);
}

/** An open parquet file: its top-level columns and row groups, rows read a group at a time. */
export interface ParquetFile {
  columns: string[];
  numRows: number;
  /** [start, end) rows of each row group. */
  rowGroups: Array<[number, number]>;
  /** Rows [start, end) as objects of the columns asked for (BigInt values as numbers). */
  read(columns: readonly string[], start: number, end: number): Promise<Record<string, unknown>[]>;
}

/** Opens a parquet file: reads its footer; throws hyparquet's or a codec's error as it is (callers name the file). */
export async function openParquet(file: string): Promise<ParquetFile> {
  const buf: AsyncBuffer = await asyncBufferFromFile(file);
  const meta: FileMetaData = await parquetMetadataAsync(buf);
  const top = parquetSchema(meta).children;
  const columns = top.map((c) => c.element.name);
  // The flat columns' decoding facts (a nested or repeated column gets none, and is refused when read).
  const shapes = new Map<string, ColumnShape>();
  for (const c of top) {
    const rep = c.element.repetition_type;
    if (c.children.length === 0 && rep !== "REPEATED") shapes.set(c.element.name, { type: String(c.element.type), maxDef: rep === "REQUIRED" ? 0 : 1 });
  }
  const zstd = meta.row_groups.some((g) => g.columns.some((c) => c.meta_data?.codec === "ZSTD"));
  const compressors = await parquetCodecs(buf.byteLength, zstd);
  const walkCodecs = await parquetCodecs(Infinity, zstd); // the walker's own decompression is not charged to hyparquet's budget
  const rowGroups: Array<[number, number]> = [];
  let at = 0;
  for (const g of meta.row_groups) {
    const n = Number(g.num_rows);
    const k = rowGroups.length;
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`row group ${k} says it has ${String(g.num_rows)} rows`);
    // Every column holds a value (or a null) for each row: a row count above a column's value count is a lie
    // that would have the reader build rows out of nothing.
    for (const c of g.columns) {
      const values = Number(c.meta_data?.num_values ?? n);
      if (values < n) throw new Error(`row group ${k} says it has ${n} rows but its column ${c.meta_data?.path_in_schema?.join(".") ?? "?"} holds ${values} values`);
    }
    rowGroups.push([at, at + n]);
    at += n;
  }
  // Rows become JavaScript objects: at least a byte of file per row (a text dataset has far more), at most
  // MAX_ROWS_FLOOR rows for any small file.
  const maxRows = Math.max(MAX_ROWS_FLOOR, buf.byteLength);
  if (at > maxRows) throw new Error(`the file says it has ${at} rows, more than the ${maxRows} a ${buf.byteLength}-byte file can hold here (one byte a row)`);
  return {
    columns,
    numRows: at,
    rowGroups,
    async read(cols, start, end) {
      if (!cols.length || end <= start) return [];
      for (let k = 0; k < meta.row_groups.length; k++) {
        const [a, b] = rowGroups[k]!;
        if (b <= start || a >= end) continue;
        for (const c of meta.row_groups[k]!.columns) {
          const name = c.meta_data?.path_in_schema?.[0];
          if (name === undefined || !cols.includes(name)) continue;
          const where = `row group ${k}, column ${c.meta_data!.path_in_schema.join(".")}`;
          const shape = shapes.get(name);
          if (!shape || c.meta_data!.path_in_schema.length !== 1) throw new Error(`${where}: a nested column; expected a flat one (a string or a number per row)`);
          await checkChunkPages(buf, c, b - a, shape, walkCodecs, where);
        }
      }
      const rows = await parquetReadObjects({ file: buf, metadata: meta, columns: [...cols], rowStart: start, rowEnd: end, compressors });
      for (const values of rows) for (const [k, v] of Object.entries(values)) if (typeof v === "bigint") values[k] = Number(v);
      return rows;
    },
  };
}
