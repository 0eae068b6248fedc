/** Byte sizes as the reference accepts them: integers or "64mb", "100kb", "123b" (binary multiples). */
const UNITS: Record<string, number> = { b: 1, kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30, tb: 2 ** 40, pb: 2 ** 50 };

export function parseByteSize(v: number | string, what: string): number {
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${what}: expected a non-negative integer byte count, got ${v}`);
    return v;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?b)?\s*$/i.exec(v);
  if (!m) throw new Error(`${what}: expected bytes like 67108864, "64mb", "100kb" or "123b", got "${v}"`);
  const n = Number(m[1]) * UNITS[(m[2] ?? "b").toLowerCase()]!;
  if (!Number.isInteger(n)) throw new Error(`${what}: "${v}" is not a whole number of bytes`);
  return n;
}
