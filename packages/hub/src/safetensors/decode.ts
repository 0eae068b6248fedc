import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from "@mosaicbert/tensor";
import { copyBytes } from "../bytes.js";
import type { StoredDType } from "./dtypes.js";

/** Copies bytes into a fresh, aligned buffer when a typed-array view at their offset is not allowed. */
function aligned(data: Uint8Array, align: number): Uint8Array {
  return data.byteOffset % align === 0 ? data : copyBytes(data);
}

function fp8ToF32(b: number, expBits: number, mantBits: number, bias: number, e4m3: boolean): number {
  const sign = b & 0x80 ? -1 : 1;
  const e = (b >> mantBits) & ((1 << expBits) - 1);
  const m = b & ((1 << mantBits) - 1);
  if (e4m3) {
    if (e === 0xf && m === 0x7) return NaN; // E4M3FN: no infinities, one NaN pattern per sign
  } else if (e === (1 << expBits) - 1) {
    return m ? NaN : sign * Infinity;
  }
  if (e === 0) return sign * (m / (1 << mantBits)) * 2 ** (1 - bias);
  return sign * (1 + m / (1 << mantBits)) * 2 ** (e - bias);
}

/**
 * Decodes a stored tensor's little-endian bytes to float32, whatever its dtype (integers are
 * converted to the nearest float32; 64-bit integers beyond 2^53 lose precision).
 */
export function toFloat32(entry: { dtype: StoredDType; data: Uint8Array }): Float32Array {
  const { dtype, data } = entry;
  switch (dtype) {
    case "f32": {
      const d = aligned(data, 4);
      return new Float32Array(d.buffer, d.byteOffset, d.length / 4).slice();
    }
    case "bf16": {
      const d = aligned(data, 2);
      return decodeBf16(new Uint16Array(d.buffer, d.byteOffset, d.length / 2));
    }
    case "f16": {
      const d = aligned(data, 2);
      return decodeF16(new Uint16Array(d.buffer, d.byteOffset, d.length / 2));
    }
    case "F64": {
      const d = aligned(data, 8);
      return Float32Array.from(new Float64Array(d.buffer, d.byteOffset, d.length / 8));
    }
    case "i64": {
      const d = aligned(data, 8);
      const v = new BigInt64Array(d.buffer, d.byteOffset, d.length / 8);
      const out = new Float32Array(v.length);
      for (let i = 0; i < v.length; i++) out[i] = Number(v[i]!);
      return out;
    }
    case "U64": {
      const d = aligned(data, 8);
      const v = new BigUint64Array(d.buffer, d.byteOffset, d.length / 8);
      const out = new Float32Array(v.length);
      for (let i = 0; i < v.length; i++) out[i] = Number(v[i]!);
      return out;
    }
    case "i32": {
      const d = aligned(data, 4);
      return Float32Array.from(new Int32Array(d.buffer, d.byteOffset, d.length / 4));
    }
    case "U32": {
      const d = aligned(data, 4);
      return Float32Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length / 4));
    }
    case "I16": {
      const d = aligned(data, 2);
      return Float32Array.from(new Int16Array(d.buffer, d.byteOffset, d.length / 2));
    }
    case "U16": {
      const d = aligned(data, 2);
      return Float32Array.from(new Uint16Array(d.buffer, d.byteOffset, d.length / 2));
    }
    case "I8":
      return Float32Array.from(new Int8Array(data.buffer, data.byteOffset, data.length));
    case "u8":
      return Float32Array.from(data);
    case "bool":
      return Float32Array.from(data, (x) => (x ? 1 : 0));
    case "F8_E4M3":
      return Float32Array.from(data, (b) => fp8ToF32(b, 4, 3, 7, true));
    case "F8_E5M2":
      return Float32Array.from(data, (b) => fp8ToF32(b, 5, 2, 15, false));
    default:
      throw new TypeError(`toFloat32: dtype: unsupported dtype '${String(dtype)}'`);
  }
}

/** Decodes an integer tensor (i32, i64, u8, bool, ...) to Int32Array; throws on values outside int32. */
export function toInt32(entry: { dtype: StoredDType; data: Uint8Array }, name = "tensor"): Int32Array {
  if (entry.dtype === "i32") {
    const d = aligned(entry.data, 4);
    return new Int32Array(d.buffer, d.byteOffset, d.length / 4).slice();
  }
  if (entry.dtype === "i64") {
    const d = aligned(entry.data, 8);
    const v = new BigInt64Array(d.buffer, d.byteOffset, d.length / 8);
    const out = new Int32Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (x > 2147483647n || x < -2147483648n) throw new RangeError(`toInt32: ${name}[${i}] = ${x} does not fit in int32`);
      out[i] = Number(x);
    }
    return out;
  }
  const f = toFloat32(entry);
  const out = new Int32Array(f.length);
  for (let i = 0; i < f.length; i++) {
    if (!Number.isInteger(f[i]!)) throw new RangeError(`toInt32: ${name}[${i}] = ${f[i]} is not an integer (dtype ${entry.dtype})`);
    out[i] = f[i]!;
  }
  return out;
}

/** Encodes float32 values as a writable tensor entry of a floating dtype (f32, bf16 or f16). */
export function fromFloat32(values: Float32Array, shape: readonly number[], dtype: "f32" | "bf16" | "f16" = "f32"): { dtype: StoredDType; shape: number[]; data: Uint8Array } {
  let raw: ArrayBufferView;
  if (dtype === "f32") raw = values;
  else if (dtype === "bf16") raw = encodeBf16(values);
  else raw = encodeF16(values);
  return { dtype, shape: [...shape], data: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) };
}

