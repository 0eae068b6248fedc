/**
 * Text that came from a file or a server, made safe to print: control characters (C0, DEL, C1), the
 * bidirectional overrides and lone surrogates are escaped, so a hostile name cannot move the cursor,
 * recolour the terminal or reorder what the user reads; and long text is cut to a bound.
 */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `s` with every unprintable character written as \xNN / \uNNNN (nothing else changes). */
export function printable(s: string): string {
  return s.replace(UNPRINTABLE, (c) => {
    const n = c.charCodeAt(0);
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u${n.toString(16).padStart(4, "0")}`;
  });
}

/** `s` cut to at most `max` characters (the cut marked with how much was left out). */
export function capText(s: string, max: number): string {
  if (s.length <= max) return s;
  return `${s.slice(0, max)}… (${s.length - max} more characters)`;
}

/** Printable and capped: the form every message built from untrusted text goes through. */
export function shown(s: string, max = 200): string {
  return printable(capText(s, max));
}

/**
 * A short description of any value for an error message, whatever its size or shape: strings and
 * numbers in full (capped), containers by kind and length, never a walk over their contents (shared or
 * self-containing structures would make `String(x)` run for minutes or overflow the stack).
 */
export function describeValue(x: unknown, max = 80): string {
  if (x === null) return "None";
  if (x === undefined) return "nothing";
  if (typeof x === "string") return `'${shown(x, max)}'`;
  if (typeof x === "number" || typeof x === "boolean" || typeof x === "bigint") return shown(String(x), max);
  if (Array.isArray(x)) {
    const kind = x.constructor?.name === "PyTuple" ? "tuple" : "list";
    if (x.length === 0) return `empty ${kind}`;
    const flat = x.length <= 8 && x.every((v) => typeof v === "number" || typeof v === "bigint");
    return flat ? `${kind} (${x.map(String).join(", ")})` : `${kind} of ${x.length} items`;
  }
  if (x instanceof Map) return `dict of ${x.size} items`;
  if (x instanceof Set) return `set of ${x.size} items`;
  if (x instanceof Uint8Array) return `bytes of length ${x.length}`;
  const name = (x as object).constructor?.name;
  if (name === "PyGlobal") return shown(String(x), max);
  return `a ${typeof name === "string" ? shown(name, 40) : "value"}`;
}
