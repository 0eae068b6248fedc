import { cpu } from "@mosaicbert/tensor";
import { describe, expect, it } from "vitest";
import type { Batch } from "./batch.js";
import type { ModelConfig } from "./config.js";
import { createModel } from "./factory.js";
import type { ForMaskedLM } from "./mlm.js";
import { preset } from "./presets.js";

// backward's onGradsReady(frontier) promises that nothing queued afterwards writes the gradients at
// offsets ≥ frontier: DDP starts reducing them there. On the CPU every op runs when queued, so a
// snapshot taken in the callback must equal the final gradients over [frontier, end) bit for bit,
// and the region below the frontier must still change (else the callback came too late to help).
const tiny = (arch: ModelConfig["arch"]): ModelConfig =>
  preset("tiny", {
    vocabSize: 40, hiddenSize: 16, numAttentionHeads: 2, intermediateSize: 24, numHiddenLayers: 3, arch,
    maxPositionEmbeddings: 8, initializerRange: 0.2, ...(arch === "bert" ? { alibiStartingSize: null } : {}),
  });

function batch(): Batch {
  const labels = new Int32Array(12).fill(-100);
  labels[1] = 4;
  labels[2] = 30;
  labels[7] = 9;
  labels[9] = 2;
  return {
    inputIds: Int32Array.from([2, 5, 7, 9, 0, 0, 3, 4, 11, 13, 17, 0]),
    attentionMask: Int32Array.from([1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0]),
    tokenTypeIds: new Int32Array(12),
    labels, batchSize: 2, seqLen: 6,
  };
}

function record(m: ForMaskedLM, accumulate: boolean): { calls: Array<{ frontier: number; tail: Float32Array }>; final: Float32Array } {
  if (!accumulate) m.zeroGrad();
  m.forward(batch(), { training: true, seed: 5, gradScale: 0.5 });
  const calls: Array<{ frontier: number; tail: Float32Array }> = [];
  m.backward({
    onGradsReady: (frontier) => {
      calls.push({ frontier, tail: (m.flat.grads.toArray() as Float32Array).slice(frontier) });
    },
  });
  return { calls, final: m.flat.grads.toArray() as Float32Array };
}

describe("backward onGradsReady", () => {
  for (const arch of ["mosaic-bert", "bert"] as const) {
    it(`${arch}: one call per layer plus the embeddings, frontiers descending to 0, tails already final`, () => {
      const m = createModel(tiny(arch), "mlm", cpu, { seed: 11 });
      m.zeroGrad();
      // Second microbatch accumulating onto the first: the promise must hold for accumulation too.
      record(m, true);
      const before = m.flat.grads.toArray() as Float32Array;
      const { calls, final } = record(m, true);
      expect(calls.map((c) => c.frontier)).toEqual([
        m.parameters().get("bert.encoder.layer.2.attention.self.Wqkv.weight")?.offset ?? m.parameters().get("bert.encoder.layer.2.attention.self.query.weight")!.offset,
        m.parameters().get("bert.encoder.layer.1.attention.self.Wqkv.weight")?.offset ?? m.parameters().get("bert.encoder.layer.1.attention.self.query.weight")!.offset,
        m.parameters().get("bert.encoder.layer.0.attention.self.Wqkv.weight")?.offset ?? m.parameters().get("bert.encoder.layer.0.attention.self.query.weight")!.offset,
        0,
      ]);
      for (const c of calls) {
        expect(c.tail.length).toBe(final.length - c.frontier);
        expect(Buffer.from(c.tail.buffer).equals(Buffer.from(final.buffer, c.frontier * 4))).toBe(true);
        // Work queued after the callback did change gradients below the frontier.
        if (c.frontier > 0) {
          const atCall = calls.indexOf(c);
          const w = m.parameters().get("bert.embeddings.word_embeddings.weight")!;
          expect(c.frontier).toBeGreaterThan(w.offset + w.size - 1);
          expect(atCall).toBeLessThan(calls.length - 1);
        }
      }
      // The word embeddings (tied decoder) changed during this backward and are stored first.
      const w = m.parameters().get("bert.embeddings.word_embeddings.weight")!;
      let changed = 0;
      for (let i = w.offset; i < w.offset + w.size; i++) if (before[i] !== final[i]) changed++;
      expect(changed).toBeGreaterThan(0);
      m.dispose();
    });
  }

  it("reports frontier 0 once when nothing is predicted", () => {
    const m = createModel(tiny("mosaic-bert"), "mlm", cpu, { seed: 1 });
    const b = { ...batch(), labels: new Int32Array(12).fill(-100) };
    m.zeroGrad();
    m.forward(b, { training: true, seed: 1 });
    const seen: number[] = [];
    m.backward({ onGradsReady: (f) => seen.push(f) });
    expect(seen).toEqual([0]);
    m.dispose();
  });
});
