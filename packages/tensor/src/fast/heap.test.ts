import { describe, expect, it } from "vitest";
import { cpu } from "../cpu/backend.js";
import { Rng } from "../random.js";
import { relativeL2 } from "../testing.js";
import { FastCpuBackend } from "./backend.js";
import { ALIGN, Heap } from "./heap.js";

describe("Heap (blocks of the WebAssembly memory)", () => {
  const make = (limit = 1 << 20) => {
    const grown: number[] = [];
    return { heap: new Heap(100, limit, (end) => grown.push(end)), grown };
  };

  it("hands out aligned, disjoint blocks and grows the memory to cover them", () => {
    const { heap, grown } = make();
    const a = heap.alloc(10);
    const b = heap.alloc(200);
    expect(a).toBe(128);
    expect(b).toBe(128 + ALIGN);
    expect(b % ALIGN).toBe(0);
    expect(grown).toEqual([128 + ALIGN, 128 + ALIGN + 256]);
    expect(heap.liveBytes).toBe(ALIGN + 256);
    expect(heap.sizeOf(b)).toBe(256);
  });

  it("reuses freed blocks first-fit and merges neighbours", () => {
    const { heap } = make();
    const a = heap.alloc(64);
    const b = heap.alloc(64);
    const c = heap.alloc(64);
    heap.alloc(64);
    heap.release(a);
    heap.release(c);
    // b alone between two free blocks: releasing it merges all three into one 192-byte block.
    heap.release(b);
    expect(heap.alloc(192)).toBe(a);
    expect(heap.liveBytes).toBe(256);
  });

  it("takes back a free block at the top when growing", () => {
    const { heap } = make();
    heap.alloc(64);
    const b = heap.alloc(64);
    heap.release(b);
    const c = heap.alloc(128);
    expect(c).toBe(b);
    expect(heap.end).toBe(b + 128);
  });

  it("returns -1 when the memory cannot grow, and stays usable", () => {
    let refuse = true;
    const heap = new Heap(0, 1 << 20, () => {
      if (refuse) throw new RangeError("WebAssembly.Memory.grow(): Maximum memory size exceeded");
    });
    expect(heap.alloc(100)).toBe(-1);
    expect(heap.liveBytes).toBe(0);
    refuse = false;
    expect(heap.alloc(100)).toBe(0);
  });

  it("returns -1 past its limit and refuses a release of an unknown block", () => {
    const { heap } = make(1024);
    expect(heap.alloc(2000)).toBe(-1);
    const a = heap.alloc(512);
    expect(a).toBeGreaterThan(0);
    expect(heap.alloc(512)).toBe(-1);
    expect(() => heap.release(a + 64)).toThrow(/not a live block/);
    heap.release(a);
    expect(() => heap.release(a)).toThrow(/not a live block/);
  });
});

describe("fast backend tensors in the WebAssembly memory", () => {
  const fast = new FastCpuBackend({ threads: 2 });

  it("keeps f32/bf16/i32 tensors of 1 KiB or more in the memory, zeroed, and gives the block back on dispose", () => {
    const rt = fast.runtime;
    const before = rt.heap.liveBytes;
    const t = fast.empty([16, 16], "f32");
    const small = fast.zeros([8], "f32");
    const u8 = fast.zeros([4096], "u8");
    expect(rt.owns(t.storage as Float32Array)).toBe(true);
    expect(rt.owns(small.storage as Float32Array)).toBe(false);
    expect(rt.owns(u8.storage as Uint8Array)).toBe(false);
    expect(Array.from(fast.read(t) as Float32Array).every((v) => v === 0)).toBe(true);
    fast.fill(t, 3);
    const at = (t.storage as Float32Array).byteOffset;
    t.dispose();
    expect(rt.heap.liveBytes).toBe(before);
    // The block is reused, and a fresh tensor starts at zero again.
    const u = fast.zeros([16, 16], "f32");
    expect((u.storage as Float32Array).byteOffset).toBe(at);
    expect(Array.from(fast.read(u) as Float32Array).every((v) => v === 0)).toBe(true);
    u.dispose();
    small.dispose();
    u8.dispose();
  });

  it("matmul with K = 0 writes every element of its (unzeroed) output: zeros plus the bias, on either GEMM", () => {
    // torch 2.13: torch.zeros(300, 0) @ torch.zeros(0, 300) is all zeros; torch.addmm(bias, a, b) is bias on every row.
    for (const be of [fast, new FastCpuBackend({ threads: 2, native: false })]) {
      for (const [M, N] of [[300, 300], [7, 1030]]) {
        // Leave a freed block full of 7s where the output will be placed.
        be.fromArray(new Float32Array(M * N).fill(7), [M, N], "f32").dispose();
        const y = be.matmul(be.zeros([M, 0], "f32"), be.zeros([0, N], "f32"));
        expect(y.shape).toEqual([M, N]);
        expect((be.read(y) as Float32Array).every((v) => v === 0)).toBe(true);
        y.dispose();
        const biasv = Float32Array.from({ length: N }, (_, j) => j - 1.5);
        const bias = be.fromArray(biasv, [N], "f32");
        for (const dt of ["f32", "bf16"] as const) {
          be.fromArray(new Float32Array(M * N).fill(7), [M, N], "f32").dispose();
          const yb = be.matmul(be.zeros([M, 0], dt), be.zeros([0, N], dt), { bias });
          // Every row is the bias, rounded to the output dtype.
          const row = Array.from(be.read(be.cast(bias, dt)) as Float32Array);
          const got = be.read(yb) as Float32Array;
          for (const i of [0, 1, M - 1]) expect(Array.from(got.subarray(i * N, (i + 1) * N))).toEqual(row);
          yb.dispose();
        }
      }
    }
  });

  it("refuses bad fromArray / cast input before allocating: no bytes counted, the memory not grown", () => {
    const be = new FastCpuBackend({ threads: 1 });
    try {
      const before = be.memoryStats().allocatedBytes;
      const mem = be.runtime.buffer.byteLength;
      expect(() => be.fromArray([1, 2, 3], [2 ** 26], "f32")).toThrow("fromArray: data: expected 67108864 elements, got 3");
      expect(() => be.fromArray(new Float32Array(2 ** 22).fill(2.5), [2 ** 22], "i32")).toThrow(/fromArray: data: value 2.5 at position 0 is not an integer/);
      const x = be.fromArray(new Float32Array(2 ** 16).fill(2.5e9), [2 ** 16], "f32");
      const withX = be.memoryStats().allocatedBytes;
      expect(() => be.cast(x, "i32")).toThrow("cast: x: value 2500000000 at position 0 is not an integer in [-2147483648, 2147483647] (dtype i32)");
      expect(be.memoryStats().allocatedBytes).toBe(withX);
      x.dispose();
      expect(be.memoryStats().allocatedBytes).toBe(before);
      expect(be.runtime.buffer.byteLength).toBe(mem);
      // Casting a float to bool tests v ≠ 0 before any truncation (torch 2.13: [0.5, -0.25, nan, 0] → [True, True, True, False]).
      const f = be.fromArray([0.5, -0.25, NaN, 0], [4], "f32");
      expect(Array.from(be.cast(f, "bool").toArray() as Uint8Array)).toEqual([1, 1, 1, 0]);
    } finally {
      be.runtime.close();
    }
  });

  it("makes host-array tensors when the memory is full, and computes on them through scratch", () => {
    const full = new FastCpuBackend({ threads: 2 });
    const heap = full.runtime.heap;
    const alloc = heap.alloc.bind(heap);
    const rng = new Rng(9);
    const ad = rng.normalArray(64 * 80);
    const bd = rng.normalArray(80 * 48);
    // Scratch still fits (taken before the memory is "full"); tensors do not.
    full.runtime.scratch(4 << 20);
    heap.alloc = () => -1;
    try {
      const a = full.fromArray(ad, [64, 80], "f32");
      const y = full.matmul(a, full.fromArray(bd, [80, 48], "f32"));
      expect(full.runtime.owns(a.storage as Float32Array)).toBe(false);
      expect(full.runtime.owns(y.storage as Float32Array)).toBe(false);
      const ref = cpu.matmul(cpu.fromArray(ad, [64, 80], "f32"), cpu.fromArray(bd, [80, 48], "f32"));
      expect(relativeL2(full.read(y) as Float32Array, cpu.read(ref) as Float32Array)).toBeLessThan(1e-6);
    } finally {
      heap.alloc = alloc;
      full.runtime.close();
    }
  });

  it("computes the same product when the output overlaps an input (written through scratch)", () => {
    const rng = new Rng(5);
    const n = 40;
    const ad = rng.normalArray(n * n);
    const bd = rng.normalArray(n * n);
    const a = fast.fromArray(ad, [n, n], "f32");
    const b = fast.fromArray(bd, [n, n], "f32");
    fast.matmul(a, b, { out: a, accumulate: true });
    const ra = cpu.fromArray(ad, [n, n], "f32");
    cpu.matmul(ra, cpu.fromArray(bd, [n, n], "f32"), { out: ra, accumulate: true });
    expect(relativeL2(fast.read(a) as Float32Array, cpu.read(ra) as Float32Array)).toBeLessThan(1e-6);
  });

  it("uses operands kept in the memory in place, including views at an offset", () => {
    const rng = new Rng(6);
    const [M, K, N] = [30, 64, 20];
    const big = rng.normalArray((M + 3) * K);
    const bd = rng.normalArray(N * K);
    const whole = fast.fromArray(big, [M + 3, K], "f32");
    const a = whole.rows(3, M + 3);
    const y = fast.matmul(a, fast.fromArray(bd, [N, K], "bf16"), { transB: true });
    const ref = cpu.matmul(cpu.fromArray(big, [M + 3, K], "f32").rows(3, M + 3), cpu.fromArray(bd, [N, K], "bf16"), { transB: true });
    expect(relativeL2(fast.read(y) as Float32Array, cpu.read(ref) as Float32Array)).toBeLessThan(1e-6);
  });
});
