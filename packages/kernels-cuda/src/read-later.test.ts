import { OpError, cpu } from "@mosaicbert/tensor";
import { describe, expect, it } from "vitest";
import { CudaBackend } from "./backend.js";
import type { NativeAddon } from "./native.js";

/**
 * The host side of CudaBackend.readLater against a fake addon whose "device memory" is host bytes:
 * which path a read takes (a pinned slot, or a device snapshot), what wait() returns, and how a
 * device error flag copied with the value is reported. The device side (stream order, the event, the
 * flag copy) is the GPU machine's conformance ("readLater", "device error" checks).
 */
function fakeAddon(o: { slots: number }) {
  const blocks: Array<{ base: number; mem: Uint8Array }> = [];
  let next = 1 << 20;
  const at = (p: number, n: number): Uint8Array => {
    const b = blocks.find((x) => p >= x.base && p + n <= x.base + x.mem.length);
    if (!b) throw new Error(`fake addon: no device memory at ${p} (+${n})`);
    return b.mem.subarray(p - b.base, p - b.base + n);
  };
  const view = (a: ArrayBufferView, n: number) => new Uint8Array(a.buffer, a.byteOffset, n);
  const slots = new Map<number, { bytes: Uint8Array; flag: number }>();
  let nextSlot = 0;
  const state = { flag: 0, readLater: 0, readTake: 0, copies: 0 };
  const native = {
    init: () => ({ device: "fake", smCount: 1, computeCapability: 90, totalMemory: 2 ** 34, cublasLt: 0, cudaRuntime: 0, nccl: 0 }),
    malloc: (n: number) => {
      const base = next;
      next += n + 4096;
      blocks.push({ base, mem: new Uint8Array(n) });
      return base;
    },
    free: () => {},
    memGetInfo: () => [2 ** 34, 2 ** 34],
    memset0: (p: number, n: number) => at(p, n).fill(0),
    h2d: (p: number, src: ArrayBufferView, n: number) => at(p, n).set(view(src, n)),
    d2h: (dst: ArrayBufferView, p: number, n: number) => view(dst, n).set(at(p, n)),
    // Same-dtype copies only (f32 here): what cast(t, t.dtype) does for the snapshot.
    copy: (_dtDst: number, dst: number, _dtSrc: number, src: number, count: number) => {
      state.copies++;
      at(dst, 4 * count).set(at(src, 4 * count).slice());
    },
    sync: () => {
      const f = state.flag;
      state.flag = 0;
      return f;
    },
    readLater: (p: number, n: number) => {
      state.readLater++;
      if (n > 4080 || slots.size >= o.slots) return -1;
      const id = nextSlot++;
      slots.set(id, { bytes: at(p, n).slice(), flag: state.flag });
      return id;
    },
    readTake: (dst: ArrayBufferView, s: number, n: number) => {
      state.readTake++;
      const slot = slots.get(s);
      if (!slot) throw new Error(`no read pending in slot ${s}`);
      slots.delete(s);
      view(dst, n).set(slot.bytes);
      return slot.flag;
    },
  };
  return { native: native as unknown as NativeAddon, state, slots };
}

describe("CudaBackend.read (fake addon)", () => {
  it("returns the values in a new array of the caller's: later writes, frees and other reads leave it alone", () => {
    const { native } = fakeAddon({ slots: 64 });
    const be = new CudaBackend(native);
    const t = be.fromArray([1.5, -2, 3, 0.25], [2, 2], "f32");
    const a = be.read(t) as Float32Array;
    const b = be.read(t) as Float32Array;
    expect(Array.from(a)).toEqual([1.5, -2, 3, 0.25]);
    expect(a.buffer).not.toBe(b.buffer);
    a[0] = 99;
    expect(b[0]).toBe(1.5);
    be.write(t, [7, 7, 7, 7]);
    t.dispose();
    // The freed block, reused by the next tensor, is not what `b` reads.
    const u = be.fromArray([5, 5, 5, 5], [4], "f32");
    expect(Array.from(b)).toEqual([1.5, -2, 3, 0.25]);
    expect(Array.from(be.read(u) as Float32Array)).toEqual([5, 5, 5, 5]);
    // bf16 and i32 decode as before.
    expect(Array.from(be.read(be.fromArray([1.5, -3], [2], "bf16")) as Float32Array)).toEqual([1.5, -3]);
    expect(Array.from(be.read(be.fromArray([4, -9], [2], "i32")) as Int32Array)).toEqual([4, -9]);
  });
});

describe("CudaBackend.fromArray (fake addon)", () => {
  it("uploads Int32Array / Float32Array data as it is: views at an offset, the caller's array free to change after, the CPU backend's errors", () => {
    const { native } = fakeAddon({ slots: 64 });
    const be = new CudaBackend(native);
    const ids = Int32Array.from([9, 8, 7, 6, 5, 4]);
    const t = be.fromArray(ids.subarray(2, 5), [3], "i32");
    ids.fill(0);
    expect(Array.from(be.read(t) as Int32Array)).toEqual([7, 6, 5]);
    const f = Float32Array.from([0.5, -1, 2.25, 3]);
    const u = be.fromArray(f.subarray(1), [3, 1], "f32");
    f[1] = 100;
    expect(Array.from(be.read(u) as Float32Array)).toEqual([-1, 2.25, 3]);
    // Other forms still convert through the CPU backend (rounding, integer checks).
    expect(Array.from(be.read(be.fromArray([1.5, 2.5], [2], "f32")) as Float32Array)).toEqual([1.5, 2.5]);
    expect(Array.from(be.read(be.fromArray(Float32Array.from([1, 2]), [2], "i32")) as Int32Array)).toEqual([1, 2]);
    // Refused before anything is allocated, with the CPU backend's messages.
    const before = be.memoryStats().allocatedBytes;
    for (const [data, shape, dtype] of [[new Int32Array(4), [5], "i32"], [new Float32Array(2), [3], "f32"]] as const) {
      const cpuError = (() => { try { cpu.fromArray(data, shape, dtype); } catch (e) { return (e as Error).message; } return null; })();
      expect(cpuError).toMatch(/fromArray: data: expected \d elements, got \d/);
      expect(() => be.fromArray(data, shape, dtype)).toThrow(cpuError!);
    }
    expect(() => be.fromArray(new Int32Array(2), [-1, -2], "i32")).toThrow(/fromArray/);
    expect(be.memoryStats().allocatedBytes).toBe(before);
  });
});

describe("CudaBackend.readLater (fake addon)", () => {
  it("takes a small value through a pinned slot once: the values of the call, whatever is written after", () => {
    const { native, state, slots } = fakeAddon({ slots: 64 });
    const be = new CudaBackend(native);
    const t = be.fromArray([1.5, -2, 3], [3], "f32");
    const p = be.readLater(t);
    be.write(t, [7, 7, 7]);
    expect(slots.size).toBe(1);
    expect(Array.from(p.wait() as Float32Array)).toEqual([1.5, -2, 3]);
    expect(Array.from(p.wait() as Float32Array)).toEqual([1.5, -2, 3]);
    expect(state.readTake).toBe(1);
    expect(slots.size).toBe(0);
    expect(state.copies).toBe(0);
  });

  it("snapshots on the device when every slot is taken or the value is larger than a slot, and frees the snapshot at wait()", () => {
    const { native, state } = fakeAddon({ slots: 1 });
    const be = new CudaBackend(native);
    const a = be.fromArray([1], [1], "f32");
    const held = be.readLater(a);
    const b = be.fromArray([2, 3], [2], "f32");
    const before = be.memoryStats().allocatedBytes;
    const p = be.readLater(b);
    expect(state.copies).toBe(1);
    expect(be.memoryStats().allocatedBytes).toBeGreaterThan(before);
    be.write(b, [9, 9]);
    expect(Array.from(p.wait() as Float32Array)).toEqual([2, 3]);
    expect(be.memoryStats().allocatedBytes).toBe(before);
    expect(Array.from(held.wait() as Float32Array)).toEqual([1]);
    const big = be.fromArray(new Float32Array(1021).fill(0.5), [1021], "f32");
    const q = be.readLater(big);
    be.write(big, new Float32Array(1021));
    expect(state.copies).toBe(2);
    expect((q.wait() as Float32Array).every((v) => v === 0.5)).toBe(true);
  });

  it("reports a device error flagged before the read as the op's OpError, once taken, and again on a second wait", () => {
    const { native, state } = fakeAddon({ slots: 64 });
    const be = new CudaBackend(native);
    const t = be.fromArray([4], [1], "f32");
    state.flag = 1; // what the embedding kernel sets for an id out of range
    const p = be.readLater(t);
    let first: unknown;
    try {
      p.wait();
    } catch (e) {
      first = e;
    }
    expect(first).toBeInstanceOf(OpError);
    expect((first as Error).message).toMatch(/embedding.*ids.*out of range/);
    expect(() => p.wait()).toThrow(first as Error);
    expect(state.readTake).toBe(1);
    // Reported once: the flag is cleared, so the next read succeeds.
    expect(Array.from(be.readLater(t).wait() as Float32Array)).toEqual([4]);
  });
});
