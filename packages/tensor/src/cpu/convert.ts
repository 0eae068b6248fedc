import { type DType, type RawArray, encodeBf16, encodeF16 } from "../dtype.js";
import { OpError } from "../errors.js";
import type { HostData } from "../backend.js";

/**
 * Host data → raw storage of a dtype. Floats round to nearest even (bf16/f16); a Uint16Array
 * given for a bf16/f16 target is taken as raw bit patterns. Integer targets take integers only
 * (a fraction or an out-of-range value throws, naming its position) unless `truncate` is set
 * (dtype casts), which rounds toward zero like a C cast.
 */
export function convertInto(op: string, arg: string, dst: RawArray, dtype: DType, data: HostData, truncate = false): void {
  const n = dst.length;
  if (data.length !== n) throw new OpError(op, arg, `expected ${n} elements, got ${data.length}`);
  const isBig = data instanceof BigInt64Array;
  const num = (i: number): number => (isBig ? Number((data as BigInt64Array)[i]!) : (data as ArrayLike<number>)[i]!);
  switch (dtype) {
    case "f32": {
      const d = dst as Float32Array;
      if (isBig) for (let i = 0; i < n; i++) d[i] = num(i);
      else d.set(data as ArrayLike<number>);
      return;
    }
    case "bf16":
    case "f16": {
      const d = dst as Uint16Array;
      if (data instanceof Uint16Array) {
        d.set(data);
        return;
      }
      const f = data instanceof Float32Array ? data : Float32Array.from({ length: n }, (_, i) => num(i));
      if (dtype === "bf16") encodeBf16(f, d);
      else encodeF16(f, d);
      return;
    }
    case "i64": {
      const d = dst as BigInt64Array;
      if (isBig) {
        d.set(data as BigInt64Array);
        return;
      }
      for (let i = 0; i < n; i++) d[i] = BigInt(intValue(op, arg, dtype, num(i), i, truncate));
      return;
    }
    case "i32":
    case "u8":
    case "bool": {
      const d = dst as Int32Array | Uint8Array;
      for (let i = 0; i < n; i++) {
        const v = num(i);
        // bool takes the value before any truncation, as torch's and C's casts do: any non-zero value,
        // fractions and NaN included, is true (NaN !== 0).
        d[i] = dtype === "bool" ? (v !== 0 ? 1 : 0) : intValue(op, arg, dtype, v, i, truncate);
      }
      return;
    }
    default:
      throw new OpError(op, "dtype", `unknown dtype '${String(dtype)}'`);
  }
}

/** Element i's value for an integer dtype (i64, i32, u8): truncated toward zero if `truncate`, then range-checked. */
function intValue(op: string, arg: string, dtype: DType, value: number, i: number, truncate: boolean): number {
  const v = truncate ? (Number.isFinite(value) ? Math.trunc(value) : 0) : value;
  if (dtype === "i64") {
    if (!Number.isSafeInteger(v)) throw new OpError(op, arg, `value ${v} at position ${i} is not an integer representable as i64`);
    return v;
  }
  const [lo, hi] = dtype === "i32" ? [-2147483648, 2147483647] : [0, 255];
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new OpError(op, arg, `value ${v} at position ${i} is not an integer in [${lo}, ${hi}] (dtype ${dtype})`);
  }
  return v;
}

/**
 * The checks of convertInto without writing anything: throws the OpError convertInto would throw for
 * `data` → n elements of dtype. Lets a caller refuse bad data before it allocates the destination.
 */
export function checkConvertible(op: string, arg: string, n: number, dtype: DType, data: HostData, truncate = false): void {
  if (data.length !== n) throw new OpError(op, arg, `expected ${n} elements, got ${data.length}`);
  // Float and bool targets take any number; an i64 target takes a BigInt64Array as it is.
  if (dtype !== "i64" && dtype !== "i32" && dtype !== "u8") return;
  if (data instanceof BigInt64Array) {
    if (dtype === "i64") return;
    for (let i = 0; i < n; i++) intValue(op, arg, dtype, Number(data[i]!), i, truncate);
    return;
  }
  const a = data as ArrayLike<number>;
  for (let i = 0; i < n; i++) intValue(op, arg, dtype, a[i]!, i, truncate);
}
