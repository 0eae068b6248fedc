import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { BertTokenizer, MlmBatch, MlmCollator } from "@mosaicbert/data-streaming";
import type { LoaderState, SplitSource, TrainTextLoader } from "../data/loader.js";
import { mlmCollator, sampleSeeds, tokenizeAndMask } from "./batches.js";
import type { BatchJob, BatchReply, BatchWorkerData } from "./batch-worker.js";
import { SeedStream } from "./seeds.js";

/** A training batch ready for the device, with where the loader stands once it is consumed. */
export interface PreparedBatch {
  rows: MlmBatch;
  /** Global sample ids of the rows, in order. */
  ids: number[];
  epoch: number;
  /** The loader position after this batch: what a checkpoint written after its step records. */
  after: LoaderState;
}

export interface ProducerOptions {
  /** Used when `workers` is 0 (tokenize and mask on this thread). */
  tokenizer: BertTokenizer;
  /** The recipe's tokenizer_name: each worker loads its own copy. */
  tokenizerName: string;
  seqLen: number;
  mlmProbability: number;
  /** Run seed: row r's mask seed is deriveSeed(seed, trainMask, epoch, id_r), as without prefetching. */
  seed: number;
  /** Batches read and prepared ahead of the one being trained on. Default 4. */
  depth?: number;
  /** worker_threads that tokenize and mask; 0 = on the calling thread. Default: dataWorkers(). */
  workers?: number;
  /**
   * The loader's split. When it is local, the workers also read the texts (from the split as the
   * loader opened it, handed over once: shard decompression leaves the training thread too); a remote
   * split is read here, so only one reader downloads into the cache.
   */
  source?: SplitSource;
}

/**
 * Worker count: MOSAICBERT_DATA_WORKERS if set, else 2 (one batch of 256 × 128 takes ≈ 12 ms of one
 * core, a quarter of a GPU step; two keep up with bursts after an evaluation), at most cores − 1.
 */
export function dataWorkers(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.MOSAICBERT_DATA_WORKERS;
  if (v !== undefined && v !== "") {
    if (!/^\d+$/.test(v.trim())) throw new Error(`MOSAICBERT_DATA_WORKERS: expected an integer ≥ 0 (0 = tokenize on the training thread), got ${JSON.stringify(v)}`);
    return Number(v.trim());
  }
  return Math.max(1, Math.min(2, availableParallelism() - 1));
}

/**
 * The worker entry beside this module: the .ts source under the test/dev loader hooks, else the
 * built batch-worker.js (tsup's dist/, or the results bundle's dist/); null when it is missing (a
 * bundle made without it), so the producer falls back to this thread instead of failing the run.
 */
function workerEntry(): { url: URL; execArgv: string[] } | null {
  const self = import.meta.url;
  const e = self.endsWith(".ts")
    ? { url: new URL("./batch-worker.ts", self), execArgv: ["--import", fileURLToPath(new URL("../from-source/register-ts.mjs", self))] }
    : { url: new URL("./batch-worker.js", self), execArgv: [] };
  return e.url.protocol === "file:" && existsSync(fileURLToPath(e.url)) ? e : null;
}

interface Pending {
  resolve: (r: MlmBatch) => void;
  reject: (e: Error) => void;
}

/**
 * Prefetching batch producer: keeps `depth` batches in flight ahead of the trainer. The loader is
 * advanced in order on this thread (its position is captured after each batch, so a checkpoint
 * records the position of the batch actually trained, not of the read-ahead); the texts are read
 * (local split), tokenized and masked in worker threads while the device runs the current step. Every batch is
 * what `tokenizeAndMask(texts, …, sampleSeeds(seed, trainMask, epoch, ids))` gives on this thread:
 * masks depend only on (seed, epoch, sample id), never on which thread or when.
 */
export class BatchProducer {
  private readonly queue: Array<Promise<PreparedBatch>> = [];
  private reading: Promise<unknown> = Promise.resolve();
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private jobs = 0;
  private failure: Error | null = null;
  private closed = false;
  private readonly workerReads: boolean;
  /** Masks batches prepared on this thread (no workers). */
  private collator: MlmCollator | null = null;
  readonly depth: number;
  /** Why fewer workers run than asked (null when none is missing). */
  readonly note: string | null = null;

  constructor(
    private readonly loader: TrainTextLoader,
    private readonly o: ProducerOptions,
  ) {
    this.depth = Math.max(1, o.depth ?? 4);
    let n = o.workers ?? dataWorkers();
    const entry = n > 0 ? workerEntry() : null;
    if (n > 0 && !entry) {
      this.note = `data workers: batch-worker.js not found beside ${fileURLToPath(import.meta.url)}; tokenizing on the training thread`;
      n = 0;
    }
    this.workerReads = n > 0 && o.source !== undefined && !o.source.remote;
    if (entry && n > 0) {
      const { url, execArgv } = entry;
      for (let i = 0; i < n; i++) {
        const data: BatchWorkerData = { tokenizerName: o.tokenizerName, mlmProbability: o.mlmProbability, dataset: this.workerReads ? loader.ds.opened() : null };
        const w = new Worker(url, { workerData: data, execArgv });
        w.on("message", (m: BatchReply) => this.onReply(m));
        w.on("error", (e) => this.fail(new Error(`data worker ${i}: ${e.message}`)));
        w.on("exit", (code) => {
          if (!this.closed) this.fail(new Error(`data worker ${i} exited (code ${code}) while the trainer still needed batches`));
        });
        this.workers.push(w);
      }
    }
  }

  /** Worker threads in use (0: batches are prepared on this thread). */
  get workerCount(): number {
    return this.workers.length;
  }

  /** The next batch in loader order; the queue is topped up before this returns. */
  next(): Promise<PreparedBatch> {
    if (this.closed) return Promise.reject(new Error("BatchProducer: next() after close()"));
    this.fill();
    const head = this.queue.shift()!;
    this.fill();
    return head;
  }

  /**
   * Starts preparing the first `depth` batches from the loader's position now, before anyone asks: for a run whose
   * position is already final (a fresh one), so that they are ready when its first step asks. Nothing else changes:
   * `next()` gives the same batches in the same order either way.
   */
  prefetch(): void {
    if (!this.closed) this.fill();
  }

  /** Stops the workers; batches still in flight are dropped (the loader state of consumed ones stands). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error("BatchProducer closed"));
    this.pending.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private fill(): void {
    while (this.queue.length < this.depth) {
      // Loader reads stay strictly sequential: its position after batch t is captured before batch t+1 is read.
      const read = this.reading.then(async () => {
        const b = this.workerReads ? { ...this.loader.nextIds(), texts: undefined } : await this.loader.next();
        return { ...b, after: this.loader.state() };
      });
      this.reading = read.catch(() => undefined);
      const batch = read.then(async (b): Promise<PreparedBatch> => {
        const seeds = sampleSeeds(this.o.seed, SeedStream.trainMask, b.epoch, b.ids);
        const rows = await this.prepare(b.texts, b.ids, seeds);
        return { rows, ids: b.ids, epoch: b.epoch, after: b.after };
      });
      // Read-ahead that is never consumed (a run stopping) must not surface as an unhandled rejection.
      batch.catch(() => undefined);
      this.queue.push(batch);
    }
  }

  private prepare(texts: string[] | undefined, ids: number[], seeds: number[]): Promise<MlmBatch> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.workers.length === 0) {
      this.collator ??= mlmCollator(this.o.tokenizer, this.o.mlmProbability);
      return Promise.resolve(tokenizeAndMask(texts!, this.o.tokenizer, this.o.seqLen, this.collator, seeds));
    }
    const job = this.jobs++;
    return new Promise<MlmBatch>((resolve, reject) => {
      this.pending.set(job, { resolve, reject });
      const msg: BatchJob = { job, ...(texts ? { texts } : { ids }), seeds, seqLen: this.o.seqLen };
      this.workers[job % this.workers.length]!.postMessage(msg);
    });
  }

  private onReply(m: BatchReply): void {
    const p = this.pending.get(m.job);
    if (!p) return;
    this.pending.delete(m.job);
    if ("error" in m) p.reject(new Error(`data worker: tokenize/mask failed: ${m.error}`));
    else p.resolve(m.batch);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
