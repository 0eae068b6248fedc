import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { cpu } from "@mosaicbert/tensor";
import { compareGradients, computeGolden, F32_BOUNDS, GOLDEN_CASES, judgeGolden, runGolden } from "./golden.js";
import { cudaAvailable } from "@mosaicbert/kernels-cuda";

const GOLDEN = fileURLToPath(new URL("../../../../../shared/data/golden/", import.meta.url));
const cuda = cudaAvailable();
if (!cuda.backend) console.log(`[trainer] CUDA golden tests skipped: ${cuda.reason}`);

describe("PyTorch goldens through @mosaicbert/layers on CUDA (bf16, every parameter's gradient on its own)", () => {
  for (const name of GOLDEN_CASES) {
    it.skipIf(!cuda.backend)(name, () => {
      const r = runGolden(cuda.backend!, GOLDEN, name);
      expect(r.ok, `${name}: ${JSON.stringify(r.errors)} ${JSON.stringify(r.failed)}`).toBe(true);
    });
  }
});

// The checker itself, on the CPU: the GPU check (scripts/gpu-check.sh) is only as good as this.
describe("golden checker (CPU)", () => {
  // The CPU reference in f32 (its per-parameter agreement is also pinned by layers' golden test).
  const run = computeGolden(cpu, GOLDEN, "mosaic-tiny-mlm", "f32");

  it("passes the CPU reference at f32 bounds, every parameter compared", () => {
    const r = judgeGolden(run, { bounds: F32_BOUNDS });
    expect(r.ok, JSON.stringify(r.failed)).toBe(true);
    expect(r.params.map((p) => p.name).sort()).toEqual([...run.ours.keys()].sort());
    expect(r.params.length).toBe(31);
  });

  it("fails on one parameter's wrong gradient that the old whole-gradient bound (2e-2) let through", () => {
    // ±20% on every element of small tensors' gradients: each alone fails, the whole vector barely moves.
    for (const bad of ["bert.encoder.layer.0.mlp.wo.weight", "bert.encoder.layer.1.attention.self.Wqkv.bias", "bert.embeddings.LayerNorm.bias"]) {
      const r = judgeGolden(run, { corrupt: bad });
      expect(r.errors.gradients, bad).toBeLessThan(2e-2);
      expect(r.ok).toBe(false);
      expect(r.failed.map((p) => p.name)).toEqual([bad]);
      expect(r.failed[0]!.error).toBeGreaterThan(0.15);
    }
    expect(judgeGolden(run).ok).toBe(true);
  });

  it("fails on a missing, extra, mis-sized or NaN gradient; bounds BERT's key bias by its query bias", () => {
    const ref = new Map<string, Float32Array>([
      ["a", Float32Array.from([1, 2, 3])],
      ["l.query.bias", Float32Array.from([3, 4])],
      ["l.key.bias", Float32Array.from([1e-9, -1e-9])],
    ]);
    const ok = compareGradients(ref, ref, 1e-3);
    expect(ok.every((p) => p.ok)).toBe(true);
    const noisyKey = new Map(ref).set("l.key.bias", Float32Array.from([3e-4, 0]));
    // 3e-4 against |query bias| 5: 6e-5, within 1e-3 (relative to the key bias's own noise it would be ~2e5).
    expect(compareGradients(noisyKey, ref, 1e-3).every((p) => p.ok)).toBe(true);
    expect(compareGradients(new Map(ref).set("l.key.bias", Float32Array.from([0.1, 0])), ref, 1e-3).find((p) => p.name === "l.key.bias")!.ok).toBe(false);
    const fails = (ours: Map<string, Float32Array>) => compareGradients(ours, ref, 1e-3).filter((p) => !p.ok).map((p) => p.name);
    const missing = new Map(ref);
    missing.delete("a");
    expect(fails(missing)).toEqual(["a"]);
    expect(fails(new Map(ref).set("extra", Float32Array.from([0])))).toEqual(["extra"]);
    expect(fails(new Map(ref).set("a", Float32Array.from([1, 2])))).toEqual(["a"]);
    expect(fails(new Map(ref).set("a", Float32Array.from([1, NaN, 3])))).toEqual(["a"]);
    expect(fails(new Map(ref).set("a", Float32Array.from([1, 2, 3.01])))).toEqual(["a"]);
  });
});
