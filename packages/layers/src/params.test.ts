import { cpu } from "@mosaicbert/tensor";
import { describe, expect, it } from "vitest";
import { createModel } from "./factory.js";
import { preset } from "./presets.js";

const config = preset("tiny", { vocabSize: 500 });

describe("flat parameter store", () => {
  it("every parameter and gradient is an aligned view into one flat buffer", () => {
    const m = createModel(config, "mlm", cpu, { computeDtype: "bf16" });
    const { params, grads, lowp } = m.flat;
    expect(params.dtype).toBe("f32");
    expect(grads.dtype).toBe("f32");
    expect(lowp!.dtype).toBe("bf16");
    let end = 0;
    for (const p of m.parameters().values()) {
      expect(p.param.owner).toBe(params);
      expect(p.grad.owner).toBe(grads);
      expect(p.lowp!.owner).toBe(lowp);
      expect(p.offset % 64).toBe(0);
      expect(p.offset).toBeGreaterThanOrEqual(end);
      end = p.offset + p.size;
    }
    expect(params.size).toBeGreaterThanOrEqual(end);
    expect(m.numParameters()).toBe([...m.parameters().values()].reduce((n, p) => n + p.size, 0));
    m.dispose();
  });

  it("BERT's query/key/value are contiguous so that they form one fused [3H, H] matrix", () => {
    const m = createModel(preset("bert-base", { numHiddenLayers: 1, vocabSize: 100, hiddenSize: 64, numAttentionHeads: 4, intermediateSize: 64 }), "encoder", cpu);
    const ps = m.parameters();
    const q = ps.get("bert.encoder.layer.0.attention.self.query.weight")!;
    const k = ps.get("bert.encoder.layer.0.attention.self.key.weight")!;
    const v = ps.get("bert.encoder.layer.0.attention.self.value.weight")!;
    expect(k.offset).toBe(q.offset + q.size);
    expect(v.offset).toBe(k.offset + k.size);
    m.dispose();
  });

  it("reference initialisation: N(0, 0.02²) weights, zero biases, unit LayerNorm, zero padding row; seeded", () => {
    const a = createModel(config, "mlm", cpu, { seed: 3 });
    const b = createModel(config, "mlm", cpu, { seed: 3 });
    const c = createModel(config, "mlm", cpu, { seed: 4 });
    const host = (m: typeof a, n: string) => m.parameters().get(n)!.param.toArray() as Float32Array;
    const w = host(a, "bert.encoder.layer.0.mlp.gated_layers.weight");
    const mean = w.reduce((s, x) => s + x, 0) / w.length;
    const std = Math.sqrt(w.reduce((s, x) => s + (x - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(1e-3);
    expect(std).toBeGreaterThan(0.019);
    expect(std).toBeLessThan(0.021);
    expect(host(a, "bert.encoder.layer.0.mlp.wo.bias").every((x) => x === 0)).toBe(true);
    expect(host(a, "cls.predictions.decoder.bias").every((x) => x === 0)).toBe(true);
    expect(host(a, "bert.encoder.layer.1.mlp.layernorm.weight").every((x) => x === 1)).toBe(true);
    const emb = host(a, "bert.embeddings.word_embeddings.weight");
    expect(emb.subarray(0, config.hiddenSize).every((x) => x === 0)).toBe(true);
    expect(emb.subarray(config.hiddenSize, 2 * config.hiddenSize).some((x) => x !== 0)).toBe(true);
    expect(host(b, "bert.encoder.layer.0.mlp.gated_layers.weight").every((x, i) => x === w[i])).toBe(true);
    expect(host(c, "bert.encoder.layer.0.mlp.gated_layers.weight")[0]).not.toBe(w[0]);
    for (const m of [a, b, c]) m.dispose();
  });

  it("gradients accumulate across backward calls until zeroGrad", () => {
    const m = createModel(config, "mlm", cpu, { seed: 1 });
    const labels = new Int32Array(8).fill(-100);
    labels[3] = 42;
    const batch = { inputIds: Int32Array.from([2, 3, 4, 5, 6, 7, 8, 9]), labels, batchSize: 2, seqLen: 4 };
    const step = (scale: number) => {
      m.forward(batch, { grad: true, gradScale: scale });
      m.backward();
      return Float32Array.from(m.flat.grads.toArray() as Float32Array);
    };
    const once = step(1);
    const twice = step(1);
    m.zeroGrad();
    const half = step(0.5);
    // Probes inside parameters (first and last element of each), never in the alignment padding
    // between them, which is zero whatever backward does.
    let nonzero = 0;
    for (const p of m.parameters().values()) {
      for (const i of [p.offset, p.offset + p.size - 1]) {
        expect(twice[i]).toBeCloseTo(2 * once[i]!, 6);
        expect(half[i]).toBeCloseTo(0.5 * once[i]!, 6);
        if (once[i] !== 0) nonzero++;
      }
    }
    expect(nonzero).toBeGreaterThan(10);
    const rel = (a: Float32Array, b: Float32Array, f: number) => {
      let d = 0;
      let n = 0;
      for (let i = 0; i < a.length; i++) {
        d += (a[i]! - f * b[i]!) ** 2;
        n += (f * b[i]!) ** 2;
      }
      return Math.sqrt(d / n);
    };
    expect(rel(twice, once, 2)).toBeLessThan(1e-6);
    expect(rel(half, once, 0.5)).toBeLessThan(1e-6);
    m.dispose();
  });
});
