/**
 * The `ndarray` column encoding family: `ndarray`, `ndarray:DTYPE`, `ndarray:DTYPE:D0,D1,...`.
 * Values are kept as their raw little-endian bytes (C order) so every dtype, float16 included,
 * round-trips bit for bit; `ndarrayValues` gives a typed view.
 */

export type NdDtype =
  | "uint8" | "int8" | "uint16" | "int16" | "float16" | "uint32" | "int32" | "float32"
  | "uint64" | "int64" | "float64";

export interface NDArray {
  dtype: NdDtype;
  shape: number[];
  /** Raw little-endian values in C order; length = product(shape) * itemsize. */
  data: Uint8Array;
}

export const DTYPE_CODES: Record<NdDtype, number> = {
  uint8: 8, int8: 9, uint16: 16, int16: 17, float16: 18, uint32: 32, int32: 33, float32: 34,
  uint64: 64, int64: 65, float64: 66,
};
const DTYPE_BY_CODE = new Map<number, NdDtype>(
  Object.entries(DTYPE_CODES).map(([k, v]) => [v, k as NdDtype]),
);

export function itemSize(dtype: NdDtype): number {
  return DTYPE_CODES[dtype] >> 3 || 1;
}

export function isNdDtype(s: string): s is NdDtype {
  return Object.hasOwn(DTYPE_CODES, s);
}

/** A typed-array view (a copy, so alignment never matters). float16 gives the raw bits. */
export function ndarrayValues(a: NDArray):
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array
  | BigUint64Array | BigInt64Array | Float64Array {
  const buf = a.data.slice().buffer;
  switch (a.dtype) {
    case "uint8": return new Uint8Array(buf);
    case "int8": return new Int8Array(buf);
    case "uint16": case "float16": return new Uint16Array(buf);
    case "int16": return new Int16Array(buf);
    case "uint32": return new Uint32Array(buf);
    case "int32": return new Int32Array(buf);
    case "float32": return new Float32Array(buf);
    case "uint64": return new BigUint64Array(buf);
    case "int64": return new BigInt64Array(buf);
    case "float64": return new Float64Array(buf);
  }
}

export interface NdSpec {
  dtype: NdDtype | null;
  shape: number[] | null;
}

/** Parse `ndarray[:dtype[:d0,d1,...]]`; throws on anything else. */
export function parseNdEncoding(encoding: string): NdSpec {
  const parts = encoding.split(":");
  if (parts[0] !== "ndarray" || parts.length > 3) throw new Error(`not an ndarray encoding: "${encoding}"`);
  let dtype: NdDtype | null = null;
  let shape: number[] | null = null;
  if (parts.length >= 2) {
    if (!isNdDtype(parts[1]!)) throw new Error(`ndarray encoding "${encoding}": unknown dtype "${parts[1]}"`);
    dtype = parts[1];
  }
  if (parts.length === 3) {
    shape = parts[2]!.split(",").map((d) => {
      if (!/^\d+$/.test(d) || Number(d) === 0) throw new Error(`ndarray encoding "${encoding}": bad dimension "${d}"`);
      return Number(d);
    });
  }
  return { dtype, shape };
}

export function ndFixedSize(spec: NdSpec): number | null {
  if (!spec.dtype || !spec.shape) return null;
  return spec.shape.reduce((a, b) => a * b, 1) * itemSize(spec.dtype);
}

const SHAPE_WORD = [1, 2, 4, 8];

export function decodeNdarray(spec: NdSpec, b: Uint8Array): NDArray {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let pos = 0;
  const need = (n: number, what: string) => {
    if (pos + n > b.length) throw new Error(`ndarray value truncated reading ${what} (${b.length} bytes)`);
  };
  let dtype = spec.dtype;
  if (!dtype) {
    need(1, "dtype code");
    const d = DTYPE_BY_CODE.get(b[pos++]!);
    if (!d) throw new Error(`ndarray value has unknown dtype code ${b[pos - 1]}`);
    dtype = d;
  }
  let shape = spec.shape;
  if (!shape) {
    need(1, "shape header");
    const h = b[pos++]!;
    const ndim = h >> 2;
    const w = SHAPE_WORD[h & 3]!;
    need(ndim * w, "shape");
    shape = [];
    for (let k = 0; k < ndim; k++, pos += w) {
      shape.push(w === 1 ? dv.getUint8(pos) : w === 2 ? dv.getUint16(pos, true) : w === 4 ? dv.getUint32(pos, true) : Number(dv.getBigUint64(pos, true)));
    }
  }
  const n = shape.reduce((a, c) => a * c, 1) * itemSize(dtype);
  if (b.length - pos !== n) {
    throw new Error(`ndarray value of dtype ${dtype} shape [${shape}] needs ${n} value bytes, found ${b.length - pos}`);
  }
  return { dtype, shape, data: b.slice(pos) };
}

export function encodeNdarray(spec: NdSpec, v: unknown): Uint8Array {
  const a = v as NDArray;
  if (!a || typeof a !== "object" || !isNdDtype(a.dtype) || !Array.isArray(a.shape) || !(a.data instanceof Uint8Array)) {
    throw new Error("expected an NDArray {dtype, shape, data: Uint8Array}");
  }
  if (a.shape.length === 0 || a.shape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`ndarray shape [${a.shape}] must have at least one dimension, all positive (zero-size and 0-d arrays are not allowed)`);
  }
  if (a.shape.length > 63) throw new Error(`ndarray has ${a.shape.length} dimensions; at most 63 are allowed`);
  const n = a.shape.reduce((x, y) => x * y, 1) * itemSize(a.dtype);
  if (a.data.length !== n) throw new Error(`ndarray data has ${a.data.length} bytes; dtype ${a.dtype} shape [${a.shape}] needs ${n}`);
  if (spec.dtype && spec.dtype !== a.dtype) throw new Error(`ndarray dtype ${a.dtype} does not match the column's ${spec.dtype}`);
  if (spec.shape && spec.shape.join(",") !== a.shape.join(",")) throw new Error(`ndarray shape [${a.shape}] does not match the column's [${spec.shape}]`);
  const head: number[] = [];
  if (!spec.dtype) head.push(DTYPE_CODES[a.dtype]);
  let shapeBytes = new Uint8Array(0);
  if (!spec.shape) {
    const max = Math.max(...a.shape);
    const code = max <= 0xff ? 0 : max <= 0xffff ? 1 : max <= 0xffffffff ? 2 : 3;
    head.push((a.shape.length << 2) | code);
    const w = SHAPE_WORD[code]!;
    shapeBytes = new Uint8Array(a.shape.length * w);
    const dv = new DataView(shapeBytes.buffer);
    a.shape.forEach((d, k) => {
      if (w === 1) dv.setUint8(k, d);
      else if (w === 2) dv.setUint16(k * 2, d, true);
      else if (w === 4) dv.setUint32(k * 4, d, true);
      else dv.setBigUint64(k * 8, BigInt(d), true);
    });
  }
  const out = new Uint8Array(head.length + shapeBytes.length + a.data.length);
  out.set(head, 0);
  out.set(shapeBytes, head.length);
  out.set(a.data, head.length + shapeBytes.length);
  return out;
}
