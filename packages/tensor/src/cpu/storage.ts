import { decodeBf16, decodeF16, encodeBf16, encodeF16, type RawArray } from "../dtype.js";
import type { Tensor } from "../tensor.js";

/**
 * Storage access for the CPU backend. A tensor's storage is the owner's whole typed array; every
 * accessor takes the tensor's own window [offset, offset + size), so views work everywhere.
 */

/** The raw elements of t (a subarray sharing storage). */
export function rawOf(t: Tensor): RawArray {
  const s = t.storage as RawArray;
  return s.subarray(t.offset, t.offset + t.size) as RawArray;
}

/** Float values of t as float32. f32 tensors return a live view (do not write unless in place); bf16/f16 a decoded copy. */
export function loadF32(t: Tensor): Float32Array {
  const r = rawOf(t);
  if (t.dtype === "f32") return r as Float32Array;
  if (t.dtype === "bf16") return decodeBf16(r as Uint16Array);
  if (t.dtype === "f16") return decodeF16(r as Uint16Array);
  throw new TypeError(`loadF32: dtype ${t.dtype} is not a float type`);
}

/** A float32 buffer to compute t's new values into: t's own storage for f32, a scratch array otherwise. Pair with storeF32. */
export function outF32(t: Tensor): Float32Array {
  return t.dtype === "f32" ? (rawOf(t) as Float32Array) : new Float32Array(t.size);
}

/** Writes float values into t, rounding to bf16/f16 (nearest even) as needed. No-op when buf is t's own f32 storage. */
export function storeF32(t: Tensor, buf: Float32Array): void {
  const r = rawOf(t);
  if (t.dtype === "f32") {
    if (buf !== r && !(buf.buffer === r.buffer && buf.byteOffset === r.byteOffset)) (r as Float32Array).set(buf);
    return;
  }
  if (t.dtype === "bf16") {
    encodeBf16(buf, r as Uint16Array);
    return;
  }
  if (t.dtype === "f16") {
    encodeF16(buf, r as Uint16Array);
    return;
  }
  throw new TypeError(`storeF32: dtype ${t.dtype} is not a float type`);
}

/** Integer values of an i32 tensor (live view). */
export function i32Of(t: Tensor): Int32Array {
  return rawOf(t) as Int32Array;
}

/** A 0/1 mask (i32, u8 or bool) as a function-free Int32Array-like view. */
export function maskOf(t: Tensor): Int32Array | Uint8Array {
  return rawOf(t) as Int32Array | Uint8Array;
}
