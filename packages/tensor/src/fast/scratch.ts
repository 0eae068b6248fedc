import type { Tensor } from "../tensor.js";
import { loadF32, rawOf, storeF32 } from "../cpu/storage.js";
import type { WasmRuntime } from "./runtime.js";

/** A byte range of the WebAssembly memory; `at` is its address once the op's scratch is committed. */
export interface Region {
  at: number;
  /** bf16 bits (inputs only): the kernels widen them while reading. */
  half: boolean;
}

interface Pending {
  region: Region;
  rel: number;
  fill: (() => void) | null;
}

/**
 * Lays out one op's operands in the WebAssembly memory. A tensor the fast backend keeps in that
 * memory (f32, or bf16 for inputs) is used in place; any other operand gets a region of the
 * runtime's scratch block, filled at commit() (inputs) or copied out by store() (outputs).
 * Addresses are valid from commit() until the next op.
 */
export class Scratch {
  private end = 0;
  private readonly pending: Pending[] = [];
  /** Resident input byte ranges, so that an output never overwrites an input it overlaps. */
  private readonly inputs: Array<[number, number]> = [];
  constructor(private readonly rt: WasmRuntime) {}

  /** A scratch region of `bytes`, filled by `fill` (if given) at commit. */
  take(bytes: number, fill: ((at: number) => void) | null = null): Region {
    const region: Region = { at: -1, half: false };
    const rel = this.end;
    this.end += Math.ceil(Math.max(bytes, 0) / 64) * 64;
    this.pending.push({ region, rel, fill: fill === null ? null : () => fill(region.at) });
    return region;
  }

  /** Address of t's elements when it lives in the memory, else -1. */
  private residentAt(t: Tensor): number {
    const raw = t.storage as Float32Array;
    if (!this.rt.owns(raw)) return -1;
    return raw.byteOffset + t.offset * raw.BYTES_PER_ELEMENT;
  }

  /** A float input: in place (f32 or bf16 bits), else copied in (bf16 as bits, f16 decoded to f32). */
  input(t: Tensor): Region {
    const half = t.dtype === "bf16";
    const at = t.dtype === "f32" || half ? this.residentAt(t) : -1;
    if (at >= 0) {
      this.inputs.push([at, at + t.nbytes]);
      return { at, half };
    }
    const r = this.take(t.size * (half ? 2 : 4), (a) => {
      if (half) this.rt.u16.set(rawOf(t) as Uint16Array, a >> 1);
      else this.rt.f32.set(loadF32(t), a >> 2);
    });
    r.half = half;
    return r;
  }

  /** An i32 input copied from host memory. */
  ints(data: Int32Array): Region {
    return this.take(data.length * 4, (a) => this.rt.i32.set(data, a >> 2));
  }

  /** A float32 input copied from host memory. */
  floats(data: Float32Array): Region {
    return this.take(data.length * 4, (a) => this.rt.f32.set(data, a >> 2));
  }

  /**
   * Where a kernel writes t's float32 values: t itself when it lives in the memory as f32 and does
   * not overlap an input taken so far, else scratch (then call store). With `keep`, the scratch
   * copy starts with t's values (for kernels that read the old output).
   */
  output(t: Tensor, keep = false): Region {
    const at = t.dtype === "f32" ? this.residentAt(t) : -1;
    if (at >= 0 && !this.inputs.some(([a, b]) => at < b && a < at + t.nbytes)) return { at, half: false };
    return this.take(t.size * 4, keep ? (a) => this.rt.f32.set(loadF32(t), a >> 2) : null);
  }

  /** Whether the region is t's own storage (nothing to copy back). */
  inPlace(r: Region, t: Tensor): boolean {
    const at = this.residentAt(t);
    return at >= 0 && r.at === at;
  }

  /** Allocates the scratch regions and copies the inputs in. */
  commit(): void {
    const base = this.pending.length === 0 ? 0 : this.rt.scratch(this.end);
    for (const p of this.pending) p.region.at = base + p.rel;
    for (const p of this.pending) p.fill?.();
  }

  /** A live float32 view of n floats of r (valid until the memory grows). */
  f32(r: Region, n: number): Float32Array {
    return this.rt.f32.subarray(r.at >> 2, (r.at >> 2) + n);
  }

  /** A live float64 view of n doubles of r (8-byte aligned: every region is). */
  f64(r: Region, n: number): Float64Array {
    return new Float64Array(this.rt.buffer, r.at, n);
  }

  /** Copies an output region into t (nothing when the kernel wrote t in place). */
  store(r: Region, t: Tensor): void {
    if (!this.inPlace(r, t)) storeF32(t, this.f32(r, t.size));
  }
}
