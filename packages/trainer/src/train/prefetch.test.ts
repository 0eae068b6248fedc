import { afterEach, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { TrainTextLoader } from "../data/loader.js";
import type { MlmBatch } from "@mosaicbert/data-streaming";
import { mlmCollator, sampleSeeds, tokenizeAndMask } from "./batches.js";
import { BatchProducer, dataWorkers } from "./prefetch.js";
import { SeedStream } from "./seeds.js";
import { loadTokenizer } from "./tokenizer.js";

// Real C4-layout MDS data (200 documents): StreamingDataset pads this rank's epoch to 256 samples
// (128 canonical nodes), so batches of 32 give 8 per epoch and 18 batches (576 samples) cross two
// epoch boundaries.
const local = fileURLToPath(new URL("../../../../../shared/data/mds/c4-like", import.meta.url));
const G = 32;
const S = 128;
const P = 0.3;
const SEED = 17;
const N = 18;
const { tokenizer } = loadTokenizer("bert-base-uncased");

const source = { local, split: "val" };
const openLoader = () => TrainTextLoader.create({ local, split: "val" }, { globalBatchSize: G, rank: 0, worldSize: 1, shuffle: true, shuffleSeed: 9176 });

/** The trainer's batches without prefetching: read, then tokenize and mask on this thread. */
async function reference(n: number) {
  const loader = await openLoader();
  const out: Array<{ rows: MlmBatch; ids: number[]; epoch: number; after: unknown }> = [];
  for (let i = 0; i < n; i++) {
    const { texts, ids, epoch } = await loader.next();
    out.push({ rows: tokenizeAndMask(texts, tokenizer, S, mlmCollator(tokenizer, P), sampleSeeds(SEED, SeedStream.trainMask, epoch, ids)), ids, epoch, after: loader.state() });
  }
  return out;
}

const producers: BatchProducer[] = [];
const make = (loader: TrainTextLoader, workers: number, workersRead: boolean) => {
  const p = new BatchProducer(loader, { tokenizer, tokenizerName: "bert-base-uncased", seqLen: S, mlmProbability: P, seed: SEED, depth: 4, workers, ...(workersRead ? { source } : {}) });
  producers.push(p);
  return p;
};
afterEach(async () => {
  for (const p of producers.splice(0)) await p.close();
});

const same = (a: MlmBatch, b: MlmBatch) => {
  expect(a.batchSize).toBe(b.batchSize);
  expect(a.seqLen).toBe(b.seqLen);
  expect(a.maxSeqlen).toBe(b.maxSeqlen);
  expect(a.cuSeqlens).toEqual(b.cuSeqlens);
  expect(a.indices).toEqual(b.indices);
  expect(a.maskedPositions).toEqual(b.maskedPositions);
  expect(a.inputIds).toEqual(b.inputIds);
  expect(a.labels).toEqual(b.labels);
  expect(a.attentionMask).toEqual(b.attentionMask);
  expect(a.tokenTypeIds).toEqual(b.tokenTypeIds);
};

describe("BatchProducer (prefetching, worker threads)", () => {
  for (const [workers, workersRead] of [[0, false], [1, false], [1, true]] as const) {
    it(`gives the same batches, masks and loader positions as reading inline, across epochs and a resume (${workers} workers${workersRead ? ", which read the texts" : ""})`, async () => {
      const ref = await reference(N);
      expect(new Set(ref.map((b) => b.epoch))).toEqual(new Set([0, 1, 2]));
      // Masks really are keyed on the epoch: the same document is masked differently in epoch 1.
      const id = ref[0]!.ids[0]!;
      const r8 = ref[8]!.ids.indexOf(id);
      expect(ref[8]!.epoch).toBe(1);
      expect(r8).toBeGreaterThanOrEqual(0);
      expect(ref[8]!.rows.inputIds.subarray(r8 * S, (r8 + 1) * S)).not.toEqual(ref[0]!.rows.inputIds.subarray(0, S));

      const prod = make(await openLoader(), workers, workersRead);
      expect(prod.workerCount).toBe(workers);
      const K = 5; // resume mid-epoch 0 (StreamingDataset cannot resume into the padding past sample 200)
      let resumeAt: unknown = null;
      for (let i = 0; i < K; i++) {
        const b = await prod.next();
        same(b.rows, ref[i]!.rows);
        expect(b.ids).toEqual(ref[i]!.ids);
        expect(b.epoch).toBe(ref[i]!.epoch);
        // The position of the consumed batch, not of the read-ahead (the loader itself is 4 batches further).
        expect(b.after).toEqual(ref[i]!.after);
        resumeAt = b.after;
      }
      // Resume from the consumed batch's position in a fresh loader, as a checkpoint would.
      const loader = await openLoader();
      loader.loadState(resumeAt as never);
      const resumed = make(loader, workers, workersRead);
      for (let i = K; i < N; i++) {
        const b = await resumed.next();
        same(b.rows, ref[i]!.rows);
        expect(b.ids).toEqual(ref[i]!.ids);
        expect(b.after).toEqual(ref[i]!.after);
      }
    });
  }

  it("prefetch() reads ahead before the first next(), which then gives the same batches (1 worker)", async () => {
    const ref = await reference(6);
    const loader = await openLoader();
    const start = loader.state();
    const prod = make(loader, 1, true);
    prod.prefetch();
    // The reads run before anyone asks: the loader moves on by the queue's depth (4 batches) on its own.
    for (let i = 0; i < 100 && loader.state().samplesSeen < 4 * G; i++) await new Promise((r) => setTimeout(r, 10));
    expect(start.samplesSeen).toBe(0);
    expect(loader.state().samplesSeen).toBe(4 * G);
    for (let i = 0; i < 6; i++) {
      const b = await prod.next();
      same(b.rows, ref[i]!.rows);
      expect(b.ids).toEqual(ref[i]!.ids);
      expect(b.after).toEqual(ref[i]!.after);
    }
  });

  it("reads MOSAICBERT_DATA_WORKERS and rejects a malformed value by name", () => {
    expect(dataWorkers({ MOSAICBERT_DATA_WORKERS: "0" })).toBe(0);
    expect(dataWorkers({ MOSAICBERT_DATA_WORKERS: "3" })).toBe(3);
    expect(dataWorkers({})).toBeGreaterThanOrEqual(1);
    expect(() => dataWorkers({ MOSAICBERT_DATA_WORKERS: "two" })).toThrow(/MOSAICBERT_DATA_WORKERS: expected an integer ≥ 0/);
  });
});
