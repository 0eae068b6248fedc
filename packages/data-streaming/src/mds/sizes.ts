/**
 * Byte sizes as the reference's `bytes_to_int` reads them: a number (truncated to an integer), a
 * string of digits with an optional "b" ("123", "123b"), or a decimal number and a binary unit
 * kb…yb, case and surrounding spaces ignored, giving trunc(value × 1024^k) ("1.1kb" → 1126, "1e3kb", ".5mb").
 */
const UNITS: Array<[suffix: string, bytes: number]> = [
  ["kb", 2 ** 10], ["mb", 2 ** 20], ["gb", 2 ** 30], ["tb", 2 ** 40], ["pb", 2 ** 50], ["eb", 2 ** 60], ["zb", 2 ** 70], ["yb", 2 ** 80],
];

/** Python's float() syntax (digits may be grouped by single underscores), lower case. */
const DIGITS = "\\d(?:_?\\d)*";
const PY_FLOAT = new RegExp(`^[+-]?(?:(?:${DIGITS}(?:\\.(?:${DIGITS})?)?|\\.${DIGITS})(?:e[+-]?${DIGITS})?|inf(?:inity)?|nan)$`);

function checked(n: number, v: number | string, what: string): number {
  if (!Number.isFinite(n)) throw new Error(`${what}: expected a finite byte count, got ${typeof v === "string" ? `"${v}"` : v}`);
  const bytes = Math.trunc(n);
  if (bytes < 0) throw new Error(`${what}: expected a non-negative byte count, got ${typeof v === "string" ? `"${v}"` : v}`);
  return bytes + 0; // -0 → 0
}

export function parseByteSize(v: number | string, what: string): number {
  if (typeof v === "number") return checked(v, v, what);
  const s = v.toLowerCase().trim();
  const unit = UNITS.find(([suffix]) => s.endsWith(suffix));
  const bad = () => new Error(`${what}: expected bytes like 67108864, "123b", "64mb" or "1.5gb" (units b, kb, mb, gb, tb, pb, eb, zb, yb), got "${v}"`);
  if (unit) {
    const num = s.slice(0, -unit[0].length).trim();
    if (!PY_FLOAT.test(num) || num.endsWith("nan")) throw bad();
    return checked(Number(num.replaceAll("_", "").replace(/inf(inity)?$/, "Infinity")) * unit[1], v, what);
  }
  const digits = s.endsWith("b") ? s.slice(0, -1) : s;
  if (!/^\d+$/.test(digits)) throw bad();
  return checked(Number(digits), v, what);
}
