/** Element types a tensor can hold. Floating types compute in float32 on the CPU backend. */
export type DType = "f32" | "bf16" | "f16" | "i32" | "i64" | "u8" | "bool";

export const DTYPES: readonly DType[] = ["f32", "bf16", "f16", "i32", "i64", "u8", "bool"];

const ITEMSIZE: Record<DType, number> = { f32: 4, bf16: 2, f16: 2, i32: 4, i64: 8, u8: 1, bool: 1 };

/** Bytes per element. */
export function itemsize(dtype: DType): number {
  const n = ITEMSIZE[dtype];
  if (n === undefined) throw new TypeError(`unknown dtype '${String(dtype)}': expected one of ${DTYPES.join(", ")}`);
  return n;
}

export function isFloat(dtype: DType): boolean {
  return dtype === "f32" || dtype === "bf16" || dtype === "f16";
}

export function isInt(dtype: DType): boolean {
  return dtype === "i32" || dtype === "i64" || dtype === "u8" || dtype === "bool";
}

/** The typed array that stores a dtype's raw bits on the host. */
export type RawArray = Float32Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array;

export function rawArray(dtype: DType, length: number): RawArray {
  switch (dtype) {
    case "f32": return new Float32Array(length);
    case "bf16":
    case "f16": return new Uint16Array(length);
    case "i32": return new Int32Array(length);
    case "i64": return new BigInt64Array(length);
    case "u8":
    case "bool": return new Uint8Array(length);
    default: throw new TypeError(`unknown dtype '${String(dtype)}'`);
  }
}

// ---------------------------------------------------------------------------------------------
// bfloat16: the top 16 bits of an IEEE float32. Conversion rounds to nearest, ties to even;
// NaN stays NaN (quiet bit forced so rounding can never turn it into Inf), ±Inf stays ±Inf.

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

export function f32ToBf16Bits(x: number): number {
  f32buf[0] = x;
  const u = u32buf[0]!;
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x007fffff) !== 0) return ((u >>> 16) | 0x0040) & 0xffff;
  const rounded = u + 0x7fff + ((u >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

export function bf16BitsToF32(bits: number): number {
  u32buf[0] = (bits & 0xffff) << 16;
  return f32buf[0]!;
}

/** Rounds a number to the nearest bfloat16 value (returned as a JS number). */
export function roundBf16(x: number): number {
  return bf16BitsToF32(f32ToBf16Bits(x));
}

export function encodeBf16(src: ArrayLike<number>, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  // Bulk path: reinterpret float32 bits without per-element calls.
  const f = src instanceof Float32Array ? src : Float32Array.from(src);
  const u = new Uint32Array(f.buffer, f.byteOffset, f.length);
  for (let i = 0; i < u.length; i++) {
    const b = u[i]!;
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0) dst[i] = ((b >>> 16) | 0x0040) & 0xffff;
    else dst[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return dst;
}

export function decodeBf16(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const u = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) u[i] = src[i]! << 16;
  return dst;
}

// ---------------------------------------------------------------------------------------------
// IEEE half precision (f16), round to nearest even, subnormals, NaN and Inf preserved.

export function f32ToF16Bits(x: number): number {
  f32buf[0] = x;
  const u = u32buf[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && (m & 1))) m++;
    return sign | m;
  }
  const rest = mant & 0x1fff;
  let m = mant >>> 13;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
    m++;
    if (m === 0x400) { m = 0; e++; if (e >= 0x1f) return sign | 0x7c00; }
  }
  return sign | (e << 10) | m;
}

export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >>> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** Float32 values → f16 bit patterns (round to nearest even), like encodeBf16. */
export function encodeF16(src: ArrayLike<number>, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  for (let i = 0; i < src.length; i++) dst[i] = f32ToF16Bits(src[i]!);
  return dst;
}

/** f16 bit patterns → float32 values, like decodeBf16. */
export function decodeF16(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  for (let i = 0; i < src.length; i++) dst[i] = f16BitsToF32(src[i]!);
  return dst;
}
