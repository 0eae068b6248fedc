/**
 * Python-compatible JSON text: what `json.dumps(obj)` (ensure_ascii, separators ", " and ": ")
 * prints. The MDS header and index.json are written this way, and byte-identical shards need it.
 * JS numbers cannot tell 1 from 1.0, so floats that must print as Python floats are wrapped in
 * PyFloat; bigints print as Python ints; Maps keep their key order (Python dicts do too).
 */

/** A float that prints the way Python's `repr(float)` does (e.g. `1.0`, `1e-05`, `1e+16`). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** Already-rendered JSON text, inserted verbatim. */
export class PyRaw {
  constructor(readonly text: string) {}
}

export type PyJson =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyFloat
  | PyRaw
  | PyJson[]
  | Map<string, PyJson>
  | { [key: string]: PyJson };

/** Python `repr(x)` for a finite or non-finite float (`nan`, `inf`, `-inf` as Python writes them). */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  // toExponential() without an argument gives the shortest digits that round-trip, like repr.
  const [mant, expText] = Math.abs(x).toExponential().split("e");
  const digits = mant!.replace(".", "");
  const exp = Number(expText);
  if (exp >= -4 && exp < 16) {
    if (exp >= digits.length - 1) return sign + digits + "0".repeat(exp - digits.length + 1) + ".0";
    if (exp >= 0) return sign + digits.slice(0, exp + 1) + "." + digits.slice(exp + 1);
    return sign + "0." + "0".repeat(-exp - 1) + digits;
  }
  const m = digits.length > 1 ? digits[0] + "." + digits.slice(1) : digits;
  const e = Math.abs(exp) < 10 ? "0" + Math.abs(exp) : String(Math.abs(exp));
  return `${sign}${m}e${exp < 0 ? "-" : "+"}${e}`;
}

/** Float as `json.dumps` prints it (NaN/Infinity spelled as JSON extensions). */
export function pyJsonFloat(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  return pyFloatRepr(x);
}

/** JSON string literal with Python's ensure_ascii escaping (lowercase \uXXXX for non-ASCII). */
export function pyJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x08) out += "\\b";
    else if (c === 0x0c) out += "\\f";
    else if (c < 0x20 || c > 0x7e) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += s[i];
  }
  return out + '"';
}

/** `json.dumps(value, sort_keys=sortKeys)` with default separators. */
export function pyDumps(value: PyJson, sortKeys = false): string {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "string") return pyJsonString(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (Number.isInteger(value)) return Object.is(value, -0) ? "0" : BigInt(value).toString();
    return pyJsonFloat(value);
  }
  if (value instanceof PyFloat) return pyJsonFloat(value.value);
  if (value instanceof PyRaw) return value.text;
  if (Array.isArray(value)) return "[" + value.map((v) => pyDumps(v, sortKeys)).join(", ") + "]";
  const entries: Array<[string, PyJson]> =
    value instanceof Map ? [...value.entries()] : Object.entries(value);
  if (sortKeys) entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return "{" + entries.map(([k, v]) => pyJsonString(k) + ": " + pyDumps(v, sortKeys)).join(", ") + "}";
}

/** Nesting parsePyJson accepts (Python's json stops near 1000 on its recursion limit). */
export const MAX_JSON_DEPTH = 1000;

/** Sets `o[k] = v` as an own data property, also for "__proto__" (which plain assignment would treat as the prototype). */
export function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === "__proto__") Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  else o[k] = v;
}

/**
 * Parse JSON keeping what Python's `json.loads` would keep: ints (bigint when beyond 2^53) apart
 * from floats (PyFloat), object key order (Map). `NaN`/`Infinity`/`-Infinity` are accepted as
 * Python does. Throws with the character offset on malformed text.
 */
export function parsePyJson(text: string, maxDepth = MAX_JSON_DEPTH): PyJson {
  let i = 0;
  let depth = 0;
  const fail = (what: string): never => {
    throw new Error(`invalid JSON at offset ${i}: ${what}`);
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const value = (): PyJson => {
    ws();
    const c = text[i];
    // Counted before descending, so a value nested 200k deep is an error here, not the engine's stack.
    if ((c === "{" || c === "[") && depth >= maxDepth) fail(`nested more than ${maxDepth} deep`);
    if (c === "{") {
      depth++;
      i++;
      const m = new Map<string, PyJson>();
      ws();
      if (text[i] === "}") {
        i++;
        depth--;
        return m;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a string key");
        const k = str();
        ws();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        m.set(k, value());
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") {
          i++;
          depth--;
          return m;
        } else fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      depth++;
      i++;
      const a: PyJson[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        depth--;
        return a;
      }
      for (;;) {
        a.push(value());
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") {
          i++;
          depth--;
          return a;
        } else fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
      ["NaN", new PyFloat(NaN)],
      ["Infinity", new PyFloat(Infinity)],
      ["-Infinity", new PyFloat(-Infinity)],
    ] as Array<[string, PyJson]>) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 1100));
    if (!m) return fail("unexpected character");
    i += m[0].length;
    if (m[1] === undefined && m[2] === undefined) {
      const b = BigInt(m[0]);
      return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
    }
    return new PyFloat(Number(m[0]));
  };
  const str = (): string => {
    i++;
    let out = "";
    for (;;) {
      if (i >= text.length) fail("unterminated string");
      const c = text[i++]!;
      if (c === '"') return out;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = text[i++];
      const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
      if (e !== undefined && e in simple) out += simple[e];
      else if (e === "u") {
        const h = text.slice(i, i + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(h)) fail("bad \\u escape");
        out += String.fromCharCode(parseInt(h, 16));
        i += 4;
      } else fail("bad escape");
    }
  };
  const v = value();
  ws();
  if (i !== text.length) fail("trailing characters");
  return v;
}

/** Everyday JS from a parsePyJson tree: PyFloat -> number, safe ints -> number, Maps -> objects. */
export function pyJsonToJs(v: PyJson): unknown {
  if (typeof v === "bigint") return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (v instanceof PyFloat) return v.value;
  if (v instanceof PyRaw) return JSON.parse(v.text);
  if (Array.isArray(v)) return v.map(pyJsonToJs);
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) setOwn(o, k, pyJsonToJs(x));
    return o;
  }
  if (v !== null && typeof v === "object") {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) setOwn(o, k, pyJsonToJs(x));
    return o;
  }
  return v;
}
