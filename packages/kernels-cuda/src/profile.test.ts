import { describe, expect, it } from "vitest";
import { gemmShape, PhaseProfiler } from "./profile.js";
import { timedStandInBackend as fakeBackend } from "./testing/index.js";

// The profiler's GEMM table on the CPU: a stand-in addon whose events carry given times (event i is
// recorded at `clock`, which each op call advances by the time set for it), so what the table sums and
// divides is known exactly (testing/index.ts).

describe("gemmShape", () => {
  it("reads M, N, K through the transposes and names what the call fuses", () => {
    const be = fakeBackend(() => 0);
    const x = be.empty([300, 768], "bf16"); // tokens × hidden
    const w = be.empty([2304, 768], "bf16"); // Wqkv [out, in]
    const bias = be.empty([2304], "bf16");
    expect(gemmShape(x, w, { transB: true, bias })).toEqual({ shape: "300×2304×768 NT bias", flops: 2 * 300 * 2304 * 768 });
    const dy = be.empty([300, 2304], "bf16");
    const gw = be.empty([2304, 768], "f32");
    const gb = be.empty([2304], "f32");
    // The weight gradient dyᵀ·x: M = 2304 outputs, N = 768 inputs, K = 300 tokens.
    expect(gemmShape(dy, x, { transA: true, out: gw, accumulate: true, biasGrad: gb })).toEqual({ shape: "2304×768×300 TN bgrad+acc", flops: 2 * 2304 * 768 * 300 });
    // dx = dy·W: 300 × 768 over K = 2304; "none" is no activation.
    expect(gemmShape(dy, w, { activation: "none" })).toEqual({ shape: "300×768×2304 NN", flops: 2 * 300 * 768 * 2304 });
    expect(gemmShape(x, w, { transB: true, bias, activation: "gelu" }).shape).toBe("300×2304×768 NT bias+gelu");
    // a of more than two dimensions: its last is K, the rest are rows ([B, S, H] → B·S rows).
    const x3 = be.empty([4, 75, 768], "bf16");
    expect(gemmShape(x3, w, { transB: true })).toEqual({ shape: "300×2304×768 NT", flops: 2 * 300 * 2304 * 768 });
  });
});

describe("PhaseProfiler", () => {
  it("sums GEMM time per shape, slowest first, with the achieved TFLOP/s", () => {
    // Each matmul call takes 2 ms on the stand-in clock, every other op 0.5 ms.
    const cuda = fakeBackend((fn) => (fn === "matmul" ? 2 : fn === "geglu" ? 0.5 : 0));
    const prof = new PhaseProfiler(cuda);
    const be = prof.backend;
    const x = be.empty([1000, 768], "bf16");
    const w1 = be.empty([6144, 768], "bf16");
    const w2 = be.empty([768, 3072], "bf16");
    prof.begin();
    const h = be.matmul(x, w1, { transB: true }); // 1000 × 6144 × 768
    const g = be.geglu(h);
    be.matmul(g, w2, { transB: true }); // 1000 × 768 × 3072
    be.matmul(x, w1, { transB: true }); // the first shape again
    const r = prof.end();
    expect(r.gemms.map((e) => [e.shape, e.calls, e.ms])).toEqual([
      ["1000×6144×768 NT", 2, 4],
      ["1000×768×3072 NT", 1, 2],
    ]);
    // 2 · 1000 · 6144 · 768 FLOPs per call, two calls in 4 ms.
    expect(r.gemms[0]!.tflops).toBeCloseTo((2 * 2 * 1000 * 6144 * 768) / (4e-3 * 1e12), 9);
    expect(r.phases.gemm).toBe(6);
    expect(r.phases.elementwise).toBe(0.5);
    expect(r.ops.matmul).toBe(6);
    expect(r.calls).toEqual({ matmul: 3, geglu: 1 });
    expect(r.sections).toEqual([]);
  });

  it("times a weight-gradient product's bias gradient as its own op (column sums), the GEMM without it", () => {
    // matmul 2 ms, the column sums 0.25 ms on the stand-in clock; `seen` lists the addon calls that advance it.
    const seen: string[] = [];
    const cuda = fakeBackend((fn) => {
      if (fn === "matmul" || fn === "sumRows") seen.push(fn);
      return fn === "matmul" ? 2 : fn === "sumRows" ? 0.25 : 0;
    });
    const prof = new PhaseProfiler(cuda);
    const be = prof.backend;
    const dy = be.empty([300, 2304], "bf16");
    const x = be.empty([300, 768], "bf16");
    const gw = be.empty([2304, 768], "f32");
    const gb = be.empty([2304], "f32");
    // Outside a region the call is the backend's own: one fused addon call, no separate sums.
    be.matmul(dy, x, { transA: true, out: gw, accumulate: true, biasGrad: gb });
    expect(seen).toEqual(["matmul"]);
    seen.length = 0;
    prof.begin();
    be.matmul(dy, x, { transA: true, out: gw, accumulate: true, biasGrad: gb });
    be.matmul(dy, x, { transA: true, out: gw, biasGrad: gb }); // written, not accumulated
    const r = prof.end();
    expect(seen).toEqual(["sumRows", "matmul", "sumRows", "matmul"]);
    expect(r.gemms.map((e) => [e.shape, e.calls, e.ms])).toEqual([
      ["2304×768×300 TN acc", 1, 2],
      ["2304×768×300 TN", 1, 2],
    ]);
    expect(r.ops).toEqual({ sumRows: 0.5, matmul: 4 });
    expect(r.phases["column sums"]).toBe(0.5);
    expect(r.phases.gemm).toBe(4);
    expect(r.calls).toEqual({ sumRows: 2, matmul: 2 });
  });

  it("sections: device time from each mark to the next, the last to the region's end; marks outside a region ignored", () => {
    const cuda = fakeBackend((fn) => (fn === "matmul" ? 2 : fn === "gatherRows" ? 0.5 : fn === "d2d" ? 1 : 0));
    const prof = new PhaseProfiler(cuda);
    const be = prof.backend;
    const x = be.empty([8, 16], "bf16");
    const w = be.empty([16, 16], "bf16");
    const idx = be.empty([4], "i32");
    prof.mark("outside");
    prof.begin();
    be.matmul(x, w); // 2 ms before the first mark: in the total, in no section
    prof.mark("batch 1");
    be.matmul(x, w);
    be.gatherRows(x, idx);
    prof.mark("batch 2");
    be.gatherRows(x, idx);
    cuda.native.d2d(0, 0, 0); // 1 ms of device work outside the ops: in the section's time, not its busy time
    const r = prof.end();
    expect(r.sections).toEqual([{ label: "batch 1", ms: 2.5, busyMs: 2.5 }, { label: "batch 2", ms: 1.5, busyMs: 0.5 }]);
    expect(r.totalMs).toBe(6);
    expect(r.phases["host gaps"]).toBe(1);
    expect(r.calls).toEqual({ matmul: 2, gatherRows: 2 });
    // A later region starts with no sections.
    prof.begin();
    expect(prof.end().sections).toEqual([]);
  });
});
