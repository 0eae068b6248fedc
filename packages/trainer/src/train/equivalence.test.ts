import { describe, expect, it } from "vitest";
import { cpu } from "@mosaicbert/tensor";
import { bertBaseUncased, encodeBatch, mlmBatch, type MlmBatch } from "@mosaicbert/data-streaming";
import { createModel, preset, type ForMaskedLM } from "@mosaicbert/layers";
import { SingleProcessCommunicator } from "../parallel/communicator.js";
import { SocketCommunicator } from "../parallel/socket.js";
import { freePort } from "../parallel/port.js";
import { MDSReader } from "@mosaicbert/data-streaming";
import { sampleCorpusDir } from "../paths.js";
import { mlmCollator, sliceRows, tokenizeAndMask } from "./batches.js";
import { forwardBackward } from "./step.js";

// The tiny preset without dropout, so microbatching cannot change any random draw.
const config = preset("tiny", { hiddenDropoutProb: 0 });
const S = 48;

async function corpusTexts(n: number): Promise<string[]> {
  const r = new MDSReader(sampleCorpusDir(), { split: "train" });
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await r.get(i)).text as string);
  return out;
}

/** A real batch where every row predicts exactly `k` positions (1..k): microbatch means then equal the batch mean. */
async function evenBatch(rows: number, k: number): Promise<MlmBatch> {
  const tb = encodeBatch(await corpusTexts(rows), undefined, S, bertBaseUncased());
  const labels = new Int32Array(rows * S).fill(-100);
  const inputIds = Int32Array.from(tb.inputIds);
  for (let r = 0; r < rows; r++) {
    for (let s = 1; s <= k; s++) {
      labels[r * S + s] = inputIds[r * S + s]!;
      inputIds[r * S + s] = 103; // [MASK]
    }
  }
  return mlmBatch({ ...tb, inputIds }, labels);
}

const grads = (m: ForMaskedLM) => Float32Array.from(m.flat.grads.toArray() as Float32Array);

function expectClose(a: Float32Array, b: Float32Array, rel: number): void {
  let maxAbs = 0;
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(a[i]!));
    maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
  }
  expect(maxAbs).toBeGreaterThan(0);
  expect(maxDiff).toBeLessThanOrEqual(rel * maxAbs);
}

const opts = { seed: 17, step: 0, rank: 0, comm: new SingleProcessCommunicator(), bucketElements: 1 << 20 };

describe("gradient accumulation", () => {
  it("4 microbatches give the gradient of 1 batch (tiny model, real text, equal masked counts)", async () => {
    const batch = await evenBatch(4, 8);
    const one = createModel(config, "mlm", cpu, { seed: 17 });
    const four = createModel(config, "mlm", cpu, { seed: 17 });
    one.zeroGrad();
    four.zeroGrad();
    const r1 = await forwardBackward(one, batch, { ...opts, microbatchSize: 4 });
    const r4 = await forwardBackward(four, batch, { ...opts, microbatchSize: 1 });
    expect(r4.loss).toBeCloseTo(r1.loss, 5);
    expectClose(grads(one), grads(four), 1e-5);
    expect(r4.cost).toEqual(r1.cost);
    one.dispose();
    four.dispose();
  });

  it("weights each microbatch's mean loss by its share of the samples (Composer), not by its masked tokens", async () => {
    const texts = await corpusTexts(6);
    const tok = bertBaseUncased();
    const batch = tokenizeAndMask(texts, tok, S, mlmCollator(tok, 0.3), [1, 2, 3, 4, 5, 6]);
    const m = createModel(config, "mlm", cpu, { seed: 17 });
    m.zeroGrad();
    const acc = await forwardBackward(m, batch, { ...opts, microbatchSize: 2 });
    // By hand: three separate forward passes, each microbatch's mean weighted by 2/6.
    let want = 0;
    const counts: number[] = [];
    for (let r0 = 0; r0 < 6; r0 += 2) {
      const out = m.forward(sliceRows(batch, r0, r0 + 2), { training: false, grad: false, returnLogits: false });
      want += (out.loss!.item() * 2) / 6;
      counts.push(out.numPredicted);
    }
    // The masked counts differ between microbatches, so this is not the global token mean.
    expect(new Set(counts).size).toBeGreaterThan(1);
    expect(acc.loss).toBeCloseTo(want, 5);
    m.dispose();
  });
});

describe("data parallelism", () => {
  // Dropout on. The loader deals a global batch round-robin (rank r gets samples r, r + 2, …), and
  // 1-sample microbatch j of rank r draws the dropout masks of global sample j·2 + r: the 2-rank
  // run draws exactly the 1-process run's masks.
  const withDropout = preset("tiny", { hiddenDropoutProb: 0.1 });
  it("2 ranks averaging gradients over sockets equal the 1-process big batch (dropout active)", async () => {
    const tok = bertBaseUncased();
    const texts = await corpusTexts(4);
    const seeds = [11, 12, 13, 14];
    const batch = tokenizeAndMask(texts, tok, S, mlmCollator(tok, 0.3), seeds);
    const rankRows = (r: number) => tokenizeAndMask([texts[r]!, texts[r + 2]!], tok, S, mlmCollator(tok, 0.3), [seeds[r]!, seeds[r + 2]!]);
    const single = createModel(withDropout, "mlm", cpu, { seed: 17 });
    single.zeroGrad();
    const big = await forwardBackward(single, batch, { ...opts, microbatchSize: 1 });

    const port = await freePort();
    const comms = await Promise.all([0, 1].map((rank) => SocketCommunicator.connect({ rank, worldSize: 2, masterPort: port, timeoutMs: 10_000 })));
    const models = comms.map(() => createModel(withDropout, "mlm", cpu, { seed: 17 }));
    const results = await Promise.all(
      comms.map((comm, r) => {
        models[r]!.zeroGrad();
        return forwardBackward(models[r]!, rankRows(r), { ...opts, rank: r, comm, microbatchSize: 1, bucketElements: 1_000_000 });
      }),
    );
    const g0 = grads(models[0]!);
    const g1 = grads(models[1]!);
    // Every rank holds the same averaged gradient, bit for bit.
    expect(Buffer.compare(Buffer.from(g0.buffer), Buffer.from(g1.buffer))).toBe(0);
    expectClose(grads(single), g0, 1e-5);
    expect(results[0]!.loss).toBeCloseTo(big.loss, 5);
    expect(results[1]!.cost).toEqual(big.cost);
    await Promise.all(comms.map((c) => c.close()));
    for (const m of [single, ...models]) m.dispose();
  });
});
