/**
 * Render a sample as one JSON line exactly like the golden `expected.jsonl` files (Python
 * `json.dumps` text): str as text, bytes as base64, 64-bit and str_int ints as decimal strings,
 * small ints as numbers, floats as Python reprs (non-finite as "NaN"/"Infinity"/"-Infinity"),
 * ndarray as {dtype, shape, data(base64)}, json as the value, pkl as {value, pickle(base64)}.
 */
import { getCodec } from "./encodings.js";
import type { NDArray } from "./ndarray.js";
import { MAX_PICKLE_DEPTH, readPickle, type PickleValue } from "./pickle.js";
import { parsePyJson, pyDumps, pyFloatRepr, PyFloat, type PyJson } from "./pyjson.js";
import type { RawSample } from "./reader.js";

function b64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}

function floatValue(x: number): PyJson {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  return new PyFloat(x);
}

/** Values (containers and scalars) one rendered pkl column may expand to. */
export const MAX_RENDERED_PICKLE_VALUES = 1 << 21;

/**
 * How many values `root` prints as, counting a shared container at each place it appears (as
 * json.dumps repeats it) — memoised per container, so it costs one visit each: forty levels of a
 * list holding the next one twice are a few hundred bytes of pickle and 2^40 printed values. A
 * container inside itself is refused as json.dumps refuses it ("Circular reference detected").
 */
function printedValues(root: PickleValue): number {
  const memo = new Map<object, number>();
  const open = new Set<object>();
  const count = (v: PickleValue, depth: number): number => {
    if (!Array.isArray(v) && !(v instanceof Map)) return 1;
    const known = memo.get(v);
    if (known !== undefined) return known;
    if (open.has(v)) throw new Error("pickle value contains itself (circular reference); it cannot be printed as JSON");
    if (depth >= MAX_PICKLE_DEPTH) throw new Error(`pickle: containers nested more than ${MAX_PICKLE_DEPTH} deep`);
    open.add(v);
    let n = 1;
    for (const x of v instanceof Map ? v.values() : v) n += count(x, depth + 1);
    open.delete(v);
    memo.set(v, n);
    return n;
  };
  return count(root, 0);
}

/** The JSON form of a pickle value, refused when it would print more than `budget` values (see printedValues). */
function pickleJson(root: PickleValue, budget = MAX_RENDERED_PICKLE_VALUES): PyJson {
  const n = printedValues(root);
  if (n > budget) throw new Error(`pickle value expands to ${n} values when printed, more than ${budget} (shared containers repeated)`);
  const conv = (v: PickleValue): PyJson => {
    if (v instanceof Uint8Array) return b64(v);
    if (Array.isArray(v)) return v.map(conv);
    if (v instanceof Map) {
      // json.dumps turns non-string keys into text: ints as digits, floats as repr, True -> "true".
      const m = new Map<string, PyJson>();
      for (const [k, x] of v) {
        const key = typeof k === "string" ? k : k === null ? "null" : typeof k === "boolean" ? String(k) : k instanceof PyFloat ? pyFloatRepr(k.value) : k.toString();
        m.set(key, conv(x));
      }
      return m;
    }
    return v;
  };
  return conv(root);
}

/** One column's rendering (the encoding decides the JSON type). */
export function renderColumn(encoding: string, bytes: Uint8Array): PyJson {
  const base = encoding.split(":")[0]!;
  if (base === "ndarray") {
    const a = getCodec(encoding).decode(bytes) as NDArray;
    return new Map<string, PyJson>([["dtype", a.dtype], ["shape", a.shape], ["data", b64(a.data)]]);
  }
  switch (encoding) {
    case "bytes":
      return b64(bytes);
    case "json":
      return parsePyJson(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes));
    case "pkl":
      return new Map<string, PyJson>([["value", pickleJson(readPickle(bytes))], ["pickle", b64(bytes)]]);
    case "int": case "int64": case "uint64": case "str_int":
      return String(getCodec(encoding).decode(bytes));
    case "float16": case "float32": case "float64": case "str_float":
      return floatValue(getCodec(encoding).decode(bytes) as number);
    default:
      return getCodec(encoding).decode(bytes) as PyJson;
  }
}

/** The full expected.jsonl line for global sample `index`. */
export function renderSampleLine(index: number, r: RawSample): string {
  const sample = new Map<string, PyJson>();
  r.entry.column_names.forEach((name, c) => {
    try {
      sample.set(name, renderColumn(r.entry.column_encodings[c]!, r.columns[c]!));
    } catch (e) {
      throw new Error(`${r.entry.raw_data.basename} sample ${r.indexInShard}: column "${name}" (${r.entry.column_encodings[c]}): ${(e as Error).message}`);
    }
  });
  return pyDumps(new Map<string, PyJson>([
    ["index", index], ["shard", r.shard], ["index_in_shard", r.indexInShard], ["sample", sample],
  ]));
}
