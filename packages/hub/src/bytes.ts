/**
 * A fresh copy of `b` in its own ArrayBuffer (offset 0, so any typed-array view of it is aligned).
 * Buffer#slice would return a view, which is why this never calls `b.slice()`.
 */
export function copyBytes(b: Uint8Array, start = 0, end = b.length): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(b.subarray(start, end));
  return out;
}
