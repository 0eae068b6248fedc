import { cpu } from "@mosaicbert/tensor";
import { relativeL2 } from "@mosaicbert/tensor/testing";
import { describe, expect, it } from "vitest";
import { alibiSlopes } from "./alibi.js";
import type { Batch } from "./batch.js";
import type { StateDict } from "./checkpoint.js";
import { preset } from "./presets.js";
import type { ModelConfig } from "./config.js";
import { MosaicBertModel } from "./factory.js";

/**
 * A literal float64 transcription of the reference forward pass in the padded frame: the full
 * [S, S] ALiBi + key-padding bias matrix (−10000 on padded keys), attention over every padded
 * position, then selection of the real rows. Used to check the unpadded implementation.
 */
function naiveMosaic(config: ModelConfig, sd: StateDict, batch: Batch): Float64Array {
  const { batchSize: B, seqLen: S } = batch;
  const H = config.hiddenSize;
  const nh = config.numAttentionHeads;
  const dh = H / nh;
  const I = config.intermediateSize;
  const eps = config.layerNormEps;
  const w = (n: string) => sd.get(n)!.data;
  const mask = batch.attentionMask!;
  const ln = (x: Float64Array, g: Float32Array, b: Float32Array) => {
    let m = 0;
    for (const v of x) m += v;
    m /= x.length;
    let var_ = 0;
    for (const v of x) var_ += (v - m) ** 2;
    var_ /= x.length;
    const r = 1 / Math.sqrt(var_ + eps);
    return x.map((v, i) => (v - m) * r * g[i]! + b[i]!);
  };
  const lin = (x: Float64Array, W: Float32Array, bias: Float32Array | null, out: number) => {
    const y = new Float64Array(out);
    for (let o = 0; o < out; o++) {
      let s = bias ? bias[o]! : 0;
      for (let k = 0; k < x.length; k++) s += W[o * x.length + k]! * x[k]!;
      y[o] = s;
    }
    return y;
  };
  const erf = (x: number) => {
    // Numerical Recipes' Chebyshev fit of erfc (absolute error < 1.2e-7).
    const t = 1 / (1 + 0.5 * Math.abs(x));
    const y = 1 - t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0 ? y : -y;
  };
  const gelu = (z: number) => 0.5 * z * (1 + erf(z / Math.SQRT2));
  const slopes = alibiSlopes(nh);
  // x[b][s] padded; padded rows are zeros between layers (re-pad semantics).
  let x: Float64Array[] = [];
  for (let i = 0; i < B * S; i++) {
    const e = new Float64Array(H);
    const id = batch.inputIds[i]!;
    const tt = batch.tokenTypeIds ? batch.tokenTypeIds[i]! : 0;
    for (let k = 0; k < H; k++) e[k] = w("bert.embeddings.word_embeddings.weight")[id * H + k]! + w("bert.embeddings.token_type_embeddings.weight")[tt * H + k]!;
    x.push(mask[i] ? ln(e, w("bert.embeddings.LayerNorm.weight"), w("bert.embeddings.LayerNorm.bias")) : new Float64Array(H));
  }
  for (let l = 0; l < config.numHiddenLayers; l++) {
    const p = `bert.encoder.layer.${l}.`;
    const qkv = x.map((r, i) => (mask[i] ? lin(r, w(`${p}attention.self.Wqkv.weight`), w(`${p}attention.self.Wqkv.bias`), 3 * H) : new Float64Array(3 * H)));
    const next: Float64Array[] = [];
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < S; i++) {
        const row = b * S + i;
        if (!mask[row]) {
          next.push(new Float64Array(H));
          continue;
        }
        const ctx = new Float64Array(H);
        for (let h = 0; h < nh; h++) {
          const scores = new Float64Array(S);
          for (let j = 0; j < S; j++) {
            let s = 0;
            for (let d = 0; d < dh; d++) s += qkv[row]![h * dh + d]! * qkv[b * S + j]![H + h * dh + d]!;
            scores[j] = s / Math.sqrt(dh) - slopes[h]! * Math.abs(i - j) + (mask[b * S + j] ? 0 : -10000);
          }
          const mx = Math.max(...scores);
          const ex = scores.map((v) => Math.exp(v - mx));
          const z = ex.reduce((a, v) => a + v, 0);
          for (let j = 0; j < S; j++) for (let d = 0; d < dh; d++) ctx[h * dh + d]! += (ex[j]! / z) * qkv[b * S + j]![2 * H + h * dh + d]!;
        }
        const o = lin(ctx, w(`${p}attention.output.dense.weight`), w(`${p}attention.output.dense.bias`), H).map((v, k) => v + x[row]![k]!);
        const a = ln(o, w(`${p}attention.output.LayerNorm.weight`), w(`${p}attention.output.LayerNorm.bias`));
        const g = lin(a, w(`${p}mlp.gated_layers.weight`), null, 2 * I);
        const hh = new Float64Array(I).map((_, k) => gelu(g[k]!) * g[I + k]!);
        const o2 = lin(hh, w(`${p}mlp.wo.weight`), w(`${p}mlp.wo.bias`), H).map((v, k) => v + a[k]!);
        next.push(ln(o2, w(`${p}mlp.layernorm.weight`), w(`${p}mlp.layernorm.bias`)));
      }
    }
    x = next;
  }
  const out = new Float64Array(B * S * H);
  x.forEach((r, i) => out.set(r, i * H));
  return out;
}

function randomBatch(config: ModelConfig, rows: number[][], seed: number): Batch {
  // rows: per batch row, the 0/1 attention mask.
  const B = rows.length;
  const S = rows[0]!.length;
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) / 16777216;
  const inputIds = Int32Array.from({ length: B * S }, () => 1 + Math.floor(next() * (config.vocabSize - 1)));
  const tokenTypeIds = Int32Array.from({ length: B * S }, () => (next() < 0.5 ? 0 : 1));
  return { inputIds, tokenTypeIds, attentionMask: Int32Array.from(rows.flat()), batchSize: B, seqLen: S };
}

const small = (): ModelConfig => preset("tiny", { vocabSize: 64, hiddenSize: 24, numAttentionHeads: 3, intermediateSize: 20, numHiddenLayers: 2, alibiStartingSize: 8 });

function compare(config: ModelConfig, batch: Batch): number {
  const model = new MosaicBertModel(config, cpu, { seed: 7 });
  // Non-trivial LayerNorm and bias values so that every parameter matters.
  const sd = model.stateDictHost();
  let k = 1;
  for (const [, e] of sd) for (let i = 0; i < e.data.length; i++) if (e.data[i] === 0 || e.data[i] === 1) e.data[i] += 0.05 * Math.sin(k++);
  model.loadStateDict(sd);
  const ours = model.forward(batch).lastHiddenState.toArray() as Float32Array;
  const ref = naiveMosaic(config, sd, batch);
  model.dispose();
  return relativeL2(ours, ref);
}

describe("MosaicBERT encoder vs a naive padded-frame implementation", () => {
  it("longer than alibi_starting_size, right padding, 3 heads (non power of two)", () => {
    const S = 20;
    const rows = [Array(S).fill(1), [...Array(13).fill(1), ...Array(S - 13).fill(0)]];
    expect(compare(small(), randomBatch(small(), rows, 1))).toBeLessThan(1e-5);
  });

  it("a batch with a length-1 sequence", () => {
    const rows = [[1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]];
    expect(compare(small(), randomBatch(small(), rows, 2))).toBeLessThan(1e-5);
  });

  it("left padding and holes: ALiBi distances in the padded frame", () => {
    const rows = [[0, 0, 1, 1, 1, 1, 1, 1], [1, 0, 1, 1, 0, 1, 1, 0], [1, 1, 1, 1, 1, 1, 1, 1]];
    expect(compare(small(), randomBatch(small(), rows, 3))).toBeLessThan(1e-5);
  });

  it("padded output rows are exactly zero", () => {
    const config = small();
    const model = new MosaicBertModel(config, cpu, { seed: 1 });
    const batch = randomBatch(config, [[1, 1, 0, 0], [0, 1, 1, 1]], 4);
    const out = model.forward(batch).lastHiddenState.toArray() as Float32Array;
    const H = config.hiddenSize;
    for (const row of [2, 3, 4]) expect(out.subarray(row * H, (row + 1) * H).every((v) => v === 0)).toBe(true);
    expect(out.subarray(5 * H, 6 * H).some((v) => v !== 0)).toBe(true);
    model.dispose();
  });
});
