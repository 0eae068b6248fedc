import type { Tensor } from "../tensor.js";
import { loadF32, rawOf } from "../cpu/storage.js";
import { HEAP, type WasmRuntime } from "./runtime.js";

/**
 * Lays out one op's operands in the WebAssembly scratch area: take() hands out 16-byte aligned
 * byte offsets from HEAP; commit() grows the memory to fit; then the put methods and f32() copy data in and out.
 */
export class Scratch {
  private end = HEAP;
  constructor(private readonly rt: WasmRuntime) {}

  /** Byte offset of a fresh region of `bytes`. */
  take(bytes: number): number {
    const at = this.end;
    this.end += Math.ceil(Math.max(bytes, 0) / 16) * 16;
    return at;
  }

  /** Grows the memory to hold every region taken so far. */
  commit(): void {
    this.rt.reserve(this.end);
  }

  /** Copies t's storage in as stored (f32 or bf16 bits; f16 decoded to f32); returns whether it is bf16. */
  putFloat(at: number, t: Tensor): boolean {
    if (t.dtype === "bf16") {
      this.rt.u16.set(rawOf(t) as Uint16Array, at >> 1);
      return true;
    }
    this.rt.f32.set(loadF32(t), at >> 2);
    return false;
  }

  /** Bytes putFloat writes for t. */
  static floatBytes(t: Tensor): number {
    return t.size * (t.dtype === "bf16" ? 2 : 4);
  }

  putF32(at: number, data: Float32Array): void {
    this.rt.f32.set(data, at >> 2);
  }

  putI32(at: number, data: Int32Array): void {
    this.rt.i32.set(data, at >> 2);
  }

  /** A live float32 view of n floats at `at` (valid until the memory grows). */
  f32(at: number, n: number): Float32Array {
    return this.rt.f32.subarray(at >> 2, (at >> 2) + n);
  }
}
