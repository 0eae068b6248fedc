import * as fs from "node:fs";
import * as path from "node:path";
import { MDSReader } from "@mosaicbert/data-streaming";
import { Rng } from "@mosaicbert/tensor";

/**
 * Text loaders over a local MDS split with a `text` column (what convert_dataset.py writes for C4).
 *
 * Training: every epoch visits the split in a seeded order (shuffle_seed + epoch; identity when
 * shuffle is off), cut into global batches with drop_last; rank r of W takes the r-th slice of
 * each global batch, so a W-process run sees exactly the samples of the 1-process run, batch for
 * batch. The state (epoch, batch within the epoch) is two integers, saved in checkpoints.
 */
export interface LoaderState {
  epoch: number;
  batchInEpoch: number;
  samplesSeen: number;
}

export function openSplit(local: string, split: string): MDSReader {
  const dir = path.join(local, split);
  if (!fs.existsSync(path.join(dir, "index.json"))) {
    throw new Error(`data: no MDS split at ${dir} (expected ${path.join(dir, "index.json")}; build one with \`mosaicbert data\` or pass --data DIR holding ${split}/)`);
  }
  const reader = new MDSReader(local, { split });
  const names = reader.index.shards[0]?.column_names ?? [];
  if (!names.includes("text")) throw new Error(`data: ${dir}: expected a 'text' column (one document per sample), found ${names.join(", ") || "no columns"}`);
  if (reader.size === 0) throw new Error(`data: ${dir} holds no samples`);
  return reader;
}

async function texts(reader: MDSReader, ids: readonly number[]): Promise<string[]> {
  const out: string[] = [];
  for (const i of ids) {
    const v = (await reader.get(i)).text;
    out.push(typeof v === "string" ? v : new TextDecoder().decode(v as Uint8Array));
  }
  return out;
}

/** A seeded permutation of 0..n−1 (Fisher–Yates). */
export function permutation(n: number, seed: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const rng = new Rng(seed >>> 0);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

export class TrainTextLoader {
  readonly batchesPerEpoch: number;
  private epoch = 0;
  private batchInEpoch = 0;
  private samplesSeen = 0;
  private order: Int32Array | null = null;
  private orderEpoch = -1;

  constructor(
    readonly reader: MDSReader,
    readonly opts: { globalBatchSize: number; rank: number; worldSize: number; shuffle: boolean; shuffleSeed: number },
  ) {
    this.batchesPerEpoch = Math.floor(reader.size / opts.globalBatchSize);
    if (this.batchesPerEpoch === 0) {
      throw new Error(`data: ${reader.dir} has ${reader.size} samples, fewer than one global batch of ${opts.globalBatchSize} (drop_last)`);
    }
  }

  get samplesPerEpoch(): number {
    return this.batchesPerEpoch * this.opts.globalBatchSize;
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  private orderFor(epoch: number): Int32Array {
    if (this.orderEpoch !== epoch || !this.order) {
      const n = this.reader.size;
      this.order = this.opts.shuffle ? permutation(n, this.opts.shuffleSeed + epoch) : Int32Array.from({ length: n }, (_, i) => i);
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  /** This rank's texts of the next global batch, and the epoch it belongs to. */
  async next(): Promise<{ texts: string[]; epoch: number }> {
    if (this.batchInEpoch >= this.batchesPerEpoch) {
      this.epoch++;
      this.batchInEpoch = 0;
    }
    const { globalBatchSize: G, rank, worldSize: W } = this.opts;
    const D = G / W;
    const order = this.orderFor(this.epoch);
    const start = this.batchInEpoch * G + rank * D;
    const ids = Array.from(order.subarray(start, start + D));
    const epoch = this.epoch;
    this.batchInEpoch++;
    this.samplesSeen += G;
    return { texts: await texts(this.reader, ids), epoch };
  }

  state(): LoaderState {
    return { epoch: this.epoch, batchInEpoch: this.batchInEpoch, samplesSeen: this.samplesSeen };
  }

  loadState(s: Partial<LoaderState>, where = "loader state"): void {
    for (const k of ["epoch", "batchInEpoch", "samplesSeen"] as const) {
      if (!Number.isInteger(s[k]) || (s[k] as number) < 0) throw new Error(`${where}: ${k}: expected an integer ≥ 0, got ${JSON.stringify(s[k])}`);
    }
    this.epoch = s.epoch!;
    this.batchInEpoch = s.batchInEpoch!;
    this.samplesSeen = s.samplesSeen!;
  }
}

/**
 * The fixed evaluation set: the first `numBatches` batches of `globalBatchSize` samples of the split
 * in file order (all of it with −1), the last batch possibly short; each rank takes its slice.
 */
export async function evalTexts(reader: MDSReader, o: { globalBatchSize: number; numBatches: number; rank: number; worldSize: number }): Promise<string[][]> {
  const n = o.numBatches < 0 ? reader.size : Math.min(reader.size, o.numBatches * o.globalBatchSize);
  const batches: string[][] = [];
  for (let start = 0; start < n; start += o.globalBatchSize) {
    const size = Math.min(o.globalBatchSize, n - start);
    const per = Math.ceil(size / o.worldSize);
    const lo = start + Math.min(size, o.rank * per);
    const hi = start + Math.min(size, (o.rank + 1) * per);
    batches.push(await texts(reader, Array.from({ length: hi - lo }, (_, i) => lo + i)));
  }
  return batches;
}
