/**
 * The work behind `mosaicbert data convert | cat | order` (the CLI file only parses options).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import zlib from "node:zlib";
import { MDSReader } from "../mds/reader.js";
import { renderSampleLine } from "../mds/render.js";
import { MDSWriter } from "../mds/writer.js";
import { openParquet, type ParquetFile } from "../parquet/read.js";
import { type BertTokenizer, tokenizerFromFile } from "../tokenizer/index.js";
import { StreamingDataset, type StreamingDatasetOptions } from "./dataset.js";
import { isObjectStoreUrl } from "./remotes/index.js";
import { DatasetUploader } from "./remotes/upload.js";

export interface ConvertOptions {
  inputs: string[];
  out: string;
  compression?: string | null;
  sizeLimit?: number | string;
  /** Hash names recorded in index.json (sorted), e.g. ["sha1", "xxh64"]. */
  hashes?: string[];
  /** Pre-tokenize: concatenate [CLS] ids [SEP] of every text and cut into this many tokens. */
  concatTokens?: number;
  vocab?: string;
  /** Write a progress line to this stream (stderr in the CLI). */
  progress?: NodeJS.WritableStream;
  overwrite?: boolean;
  /** For a remote --out: time limit of one request before it is cancelled and retried (see DatasetUploader). */
  uploadTimeoutMs?: number;
}

/**
 * A parquet file's rows (the Hugging Face Hub's datasets), one row group at a time: column `text`, and
 * `timestamp` / `url` when the file has them (C4's layout).
 */
async function* parquetRecords(file: string): AsyncGenerator<{ text: string; timestamp: string; url: string }> {
  let pq: ParquetFile;
  try {
    pq = await openParquet(file);
  } catch (e) {
    throw new Error(`${file}: cannot read parquet (${(e as Error).message})`);
  }
  if (!pq.columns.includes("text")) throw new Error(`${file}: no column "text" (columns: ${pq.columns.join(", ")}); expected the texts in a string column "text"`);
  const cols = ["text", "timestamp", "url"].filter((c) => pq.columns.includes(c));
  for (const [start, end] of pq.rowGroups) {
    let rows: Record<string, unknown>[];
    try {
      rows = await pq.read(cols, start, end);
    } catch (e) {
      throw new Error(`${file}: cannot read rows ${start}–${end - 1} (${(e as Error).message})`);
    }
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      if (r.text === null || r.text === undefined) continue;
      if (typeof r.text !== "string") throw new Error(`${file}: row ${start + i + 1}: "text" is ${typeof r.text}; expected a string`);
      yield { text: r.text, timestamp: timestampText(r.timestamp, `${file}: row ${start + i + 1}`), url: typeof r.url === "string" ? r.url : "" };
    }
  }
}

/** A parquet timestamp as C4 writes it (2019-04-25T12:57:54Z; milliseconds only when there are some), or the string as it is. */
function timestampText(v: unknown, where: string): string {
  if (typeof v === "string") return v;
  if (!(v instanceof Date)) return "";
  if (Number.isNaN(v.getTime())) throw new Error(`${where}: "timestamp" is outside the dates JavaScript can hold`);
  return v.toISOString().replace(/\.000Z$/, "Z");
}

/** Texts of one input file, one record at a time (constant memory for .jsonl/.json.gz/.txt; a row group at a time for .parquet). */
async function* records(file: string): AsyncGenerator<{ text: string; timestamp: string; url: string }> {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such input file`);
  if (/\.parquet$/i.test(file)) {
    yield* parquetRecords(file);
    return;
  }
  const gz = file.endsWith(".gz");
  const base = gz ? file.slice(0, -3) : file;
  if (!/\.(jsonl?|txt)$/.test(base)) throw new Error(`${file}: unsupported input; expected .json, .jsonl, .json.gz, .jsonl.gz, .txt or .parquet`);
  let input: NodeJS.ReadableStream = fs.createReadStream(file);
  if (gz) input = input.pipe(zlib.createGunzip());
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  let arrayText: string[] | null = null;
  for await (const line of lines) {
    n++;
    if (base.endsWith(".txt")) {
      if (line.trim()) yield { text: line, timestamp: "", url: "" };
      continue;
    }
    if (arrayText) {
      arrayText.push(line);
      continue;
    }
    if (!line.trim()) continue;
    if (n === 1 && line.trimStart().startsWith("[")) {
      arrayText = [line]; // a whole-file JSON array: read it all (not constant memory)
      continue;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new Error(`${file}:${n}: not a JSON object line: ${(e as Error).message}`);
    }
    yield toRecord(obj, `${file}:${n}`);
  }
  if (arrayText) {
    let arr: unknown;
    try {
      arr = JSON.parse(arrayText.join("\n"));
    } catch (e) {
      throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(arr)) throw new Error(`${file}: expected a JSON array of {text, ...} objects`);
    for (let i = 0; i < arr.length; i++) yield toRecord(arr[i], `${file}[${i}]`);
  }
}

function toRecord(obj: unknown, where: string): { text: string; timestamp: string; url: string } {
  const o = obj as Record<string, unknown>;
  if (!o || typeof o !== "object" || typeof o.text !== "string") throw new Error(`${where}: expected an object with a string "text" field`);
  return { text: o.text, timestamp: typeof o.timestamp === "string" ? o.timestamp : "", url: typeof o.url === "string" ? o.url : "" };
}

/** Convert text files to MDS; returns the number of samples written. */
export async function convertToMds(opts: ConvertOptions): Promise<number> {
  if (!opts.inputs.length) throw new Error("convert: give at least one --input file");
  const concat = opts.concatTokens;
  if (concat !== undefined && (!Number.isInteger(concat) || concat < 1)) throw new Error(`convert: --concat-tokens must be a positive integer, got ${concat}`);
  if (concat !== undefined && !opts.vocab) throw new Error("convert: --concat-tokens needs --vocab FILE (vocab.txt or tokenizer.json)");
  const tok = concat !== undefined ? tokenizerFromFile(opts.vocab!) : null;
  if (!isRemoteDataset(opts.out)) return writeMds(opts, tok, opts.out);
  if (!isObjectStoreUrl(opts.out)) throw new Error(`convert: --out ${opts.out}: expected a folder or an s3://, gs:// or hf://datasets/… URL`);
  // A remote --out: shards are staged in a temporary folder, uploaded as they are written, index.json last.
  const uploader = await DatasetUploader.open(opts.out, { overwrite: opts.overwrite, timeoutMs: opts.uploadTimeoutMs });
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), "mosaicbert-convert-"));
  try {
    const n = await writeMds(opts, tok, staging, (file) => uploader.add(file, path.basename(file)));
    await uploader.finish(path.join(staging, "index.json"));
    return n;
  } catch (e) {
    await uploader.abort();
    throw e;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

async function writeMds(opts: ConvertOptions, tok: BertTokenizer | null, out: string, onShard?: (file: string) => Promise<void>): Promise<number> {
  const concat = opts.concatTokens;
  const writer = new MDSWriter({
    out,
    onShard,
    columns: tok ? { tokens: "bytes" } : { text: "str", timestamp: "str", url: "str" },
    compression: opts.compression ?? null,
    sizeLimit: opts.sizeLimit,
    hashes: opts.hashes,
    overwrite: opts.overwrite,
  });
  const totalBytes = opts.inputs.reduce((a, f) => a + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);
  let written = 0;
  let lastShown = 0;
  const show = (force = false) => {
    if (!opts.progress) return;
    const now = Date.now();
    if (!force && now - lastShown < 200) return;
    lastShown = now;
    opts.progress.write(`\rconverting: ${written} samples written (inputs ${(totalBytes / 2 ** 20).toFixed(1)} MiB)`);
  };
  // Token buffer for --concat-tokens (the reference's ConcatTokensDataset with wrapping on).
  let buffer: number[] = [];
  for (const file of opts.inputs) {
    for await (const r of records(file)) {
      if (tok) {
        // A loop, not push(...ids): a long document has more ids than a call takes arguments.
        buffer.push(tok.clsId);
        for (const id of tok.textToIds(r.text)) buffer.push(id);
        buffer.push(tok.sepId);
        // Samples are cut at an offset and the rest kept once, not re-sliced per sample (quadratic on long documents).
        let at = 0;
        while (buffer.length - at >= concat!) {
          const ids = BigInt64Array.from(buffer.slice(at, at + concat!), (x) => BigInt(x));
          at += concat!;
          await writer.write({ tokens: new Uint8Array(ids.buffer) });
          written++;
        }
        if (at > 0) buffer = buffer.slice(at);
      } else {
        await writer.write(r);
        written++;
      }
      show();
    }
  }
  await writer.finish();
  show(true);
  opts.progress?.write("\n");
  return written;
}

/** Whether `dir` names a remote dataset (s3://, gs://, hf://, http(s)://, file://) rather than a folder. */
export function isRemoteDataset(dir: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(dir);
}

/**
 * `data cat`: expected.jsonl-style lines of a dataset folder, or of a remote one (its shards are
 * downloaded into `local`, default a cache folder, as they are reached).
 */
export async function* catLines(dir: string, limit = Infinity, local?: string): AsyncGenerator<string> {
  const r = isRemoteDataset(dir) ? await StreamingDataset.create({ remote: dir, local }) : new MDSReader(dir);
  for (let i = 0; i < Math.min(r.size, limit); i++) {
    const raw = await r.getRaw(i);
    let line: string;
    try {
      line = renderSampleLine(i, raw);
    } catch (e) {
      // The message names the shard by its basename: put the dataset in front, so it names the file.
      throw new Error(`${dir.replace(/\/+$/, "")}/${(e as Error).message}`);
    }
    yield line;
  }
}

export interface OrderOptions extends Pick<StreamingDatasetOptions, "shuffle" | "shuffleAlgo" | "shuffleSeed" | "shuffleBlockSize" | "numCanonicalNodes" | "partitionAlgo" | "batchSize"> {
  worldSize: number;
  workers: number;
  epoch: number;
  /** Ranks per node (default: all ranks on one node). */
  ranksPerNode?: number;
  /** Cache folder for a remote dataset's index.json. */
  local?: string;
}

/** `data order`: every rank's and worker's sample ids for one epoch (padding −1 left out). */
export async function epochOrder(dir: string, o: OrderOptions): Promise<{ epoch: number; ranks: Array<{ rank: number; workers: Array<{ worker: number; sample_ids: number[] }> }> }> {
  const rpn = o.ranksPerNode ?? o.worldSize;
  if (!Number.isInteger(o.worldSize) || o.worldSize < 1 || o.worldSize % rpn) throw new Error(`order: --world-size must be a positive multiple of ranks per node, got ${o.worldSize}`);
  const ds = await StreamingDataset.create({
    ...(isRemoteDataset(dir) ? { remote: dir, local: o.local } : { local: dir }), shuffle: o.shuffle, shuffleAlgo: o.shuffleAlgo, shuffleSeed: o.shuffleSeed, shuffleBlockSize: o.shuffleBlockSize,
    numCanonicalNodes: o.numCanonicalNodes, partitionAlgo: o.partitionAlgo, batchSize: o.batchSize,
    world: { numNodes: o.worldSize / rpn, ranksPerNode: rpn, rank: 0, workersPerRank: o.workers }, validateHash: false,
  });
  const work = ds.epochWork(o.epoch);
  const ranks = work.flatMap((node, n) => node.map((rank, r) => ({
    rank: n * rpn + r,
    workers: rank.map((ids, w) => ({ worker: w, sample_ids: ids.filter((x) => x !== -1) })),
  })));
  return { epoch: o.epoch, ranks };
}

