import { seedKey } from "@mosaicbert/tensor/backend-kit";
import { describe, expect, it } from "vitest";
import { CudaBackend } from "./backend.js";
import { MATMUL } from "./matmul-pack.js";
import type { NativeAddon } from "./native.js";

// What the CUDA backend asks the addon to do for the fused ops of issue #17, checked on the CPU with a
// recording stand-in for the addon (device memory is only addresses here; the kernels themselves are
// checked by the conformance suite on the GPU). A bias gradient asked of matmul must be produced exactly
// once: by the GEMM (its pack's biasGrad slot) or by a column-sum call, never both, never neither.

interface Call {
  fn: string;
  args: unknown[];
}

function fakeBackend(): { be: CudaBackend; calls: Call[] } {
  const calls: Call[] = [];
  let next = 1 << 20;
  const addon = new Proxy({} as Record<string, unknown>, {
    get(_t, fn: string) {
      if (fn === "then") return undefined;
      return (...args: unknown[]) => {
        // The matmul pack is one buffer reused by every call: record a copy.
        calls.push({ fn, args: args.map((a) => (a instanceof Float64Array ? Float64Array.from(a) : a)) });
        switch (fn) {
          case "init": return { device: "fake", smCount: 1, computeCapability: 90, totalMemory: 1 << 30, cublasLt: 0, cudaRuntime: 0, nccl: 0 };
          case "malloc": { const p = next; next += (args[0] as number) + 4096; return p; }
          case "memGetInfo": return [1 << 30, 1 << 30];
          case "sync": return 0;
          default: return undefined;
        }
      };
    },
  }) as unknown as NativeAddon;
  return { be: new CudaBackend(addon), calls };
}

/** The matmul packs and the column-sum calls made while `f` ran. */
function record(calls: Call[], f: () => void): { packs: Float64Array[]; sums: unknown[][] } {
  const from = calls.length;
  f();
  const mine = calls.slice(from);
  return {
    packs: mine.filter((c) => c.fn === "matmul").map((c) => c.args[0] as Float64Array),
    sums: mine.filter((c) => c.fn === "sumRows").map((c) => c.args),
  };
}

describe("CudaBackend routing of the fused ops (recording addon)", () => {
  it("matmul biasGrad: from the GEMM epilogue when a goes in as given, else one column-sum call on a", () => {
    const { be, calls } = fakeBackend();
    const dy = be.empty([6, 4], "bf16");
    const x = be.empty([6, 3], "bf16");
    const gw = be.empty([4, 3], "f32");
    const gb = be.empty([4], "f32");

    // The plain weight-gradient product: the GEMM's pack carries gb's address, no column sums.
    let r = record(calls, () => be.matmul(dy, x, { transA: true, out: gw, accumulate: true, biasGrad: gb }));
    expect(r.packs).toHaveLength(1);
    expect(r.packs[0]![MATMUL.biasGrad]).toBe(be.ptr(gb));
    expect(r.packs[0]![MATMUL.accumulate]).toBe(1);
    expect(r.sums).toHaveLength(0);

    // A mixed pair whose b is cast (b f32 → bf16): a still goes in as given, so the epilogue still applies.
    const x32 = be.empty([6, 3], "f32");
    r = record(calls, () => be.matmul(dy, x32, { transA: true, out: gw, biasGrad: gb }));
    expect(r.packs.map((p) => p[MATMUL.biasGrad])).toEqual([be.ptr(gb)]);
    expect(r.sums).toHaveLength(0);

    // A mixed pair whose a is cast (a f32 → bf16): the sums come from a itself (f32), by the column-sum kernel.
    const dy32 = be.empty([6, 4], "f32");
    r = record(calls, () => be.matmul(dy32, x, { transA: true, out: gw, biasGrad: gb }));
    expect(r.packs.map((p) => p[MATMUL.biasGrad])).toEqual([0]);
    // sumRows(out, dtype code of f32 = 0, x, N rows, M columns, accumulate).
    expect(r.sums).toEqual([[be.ptr(gb), 0, be.ptr(dy32), 6, 4, 0]]);

    // out sharing a's storage (computed aside): column sums first, GEMM without the epilogue.
    const flat = be.empty([6 * 4 + 4 * 4], "f32");
    const a32 = flat.view(0, [6, 4]);
    const out = flat.view(24, [4, 4]);
    const y = be.empty([6, 4], "f32");
    r = record(calls, () => be.matmul(a32, y, { transA: true, out, biasGrad: gb }));
    expect(r.packs.map((p) => p[MATMUL.biasGrad])).toEqual([0]);
    expect(r.sums).toHaveLength(1);

    // No bias gradient asked: none computed.
    r = record(calls, () => be.matmul(dy, x, { transA: true, out: gw }));
    expect(r.packs.map((p) => p[MATMUL.biasGrad])).toEqual([0]);
    expect(r.sums).toHaveLength(0);
  });

  it("addLayerNorm / layerNormBackward pass the dropout (p, seed key, offset) and the masked-gradient output where addon.cc reads them", () => {
    const { be, calls } = fakeBackend();
    const x = be.empty([5, 256], "bf16");
    const r = be.empty([5, 256], "bf16");
    const w = be.empty([256], "f32");
    const d = { p: 0.1, seed: 77, offset: 5 };
    const from = calls.length;
    const l = be.addLayerNorm(x, r, w, w, 1e-12, { dropout: d });
    const fwd = calls.slice(from).find((c) => c.fn === "layerNorm")!.args;
    // addon.cc: layerNorm(…, eps = 15, p = 16, key = 17, offset = 18).
    expect(fwd.slice(15)).toEqual([1e-12, 0.1, seedKey(77), 5]);
    expect(fwd[3]).toBe(be.ptr(x));
    expect(fwd[5]).toBe(be.ptr(r));
    expect(fwd[6]).toBe(be.ptr(l.sum));

    const dy = be.empty([5, 256], "bf16");
    const out = be.empty([5, 256], "bf16");
    const g = be.empty([256], "f32");
    const from2 = calls.length;
    be.layerNormBackward(dy, l.sum, w, l.mean, l.rstd, { dweight: g, dbias: g, dropoutGrad: { out, dropout: d } });
    const bwd = calls.slice(from2).find((c) => c.fn === "layerNormBackward")!.args;
    // addon.cc: layerNormBackward(…, N = 12, H = 13, dxd = 14, p = 15, key = 16, offset = 17).
    expect(bwd.slice(12)).toEqual([5, 256, be.ptr(out), 0.1, seedKey(77), 5]);

    // Without dropout: p 0 and no masked output.
    const from3 = calls.length;
    be.layerNormBackward(dy, l.sum, w, l.mean, l.rstd, { dweight: g, dbias: g });
    expect(calls.slice(from3).find((c) => c.fn === "layerNormBackward")!.args.slice(14)).toEqual([0, 0, 0, 0]);
    const from4 = calls.length;
    be.addLayerNorm(x, r, w, w, 1e-5);
    expect(calls.slice(from4).find((c) => c.fn === "layerNorm")!.args.slice(16)).toEqual([0, 0, 0]);
  });
});
