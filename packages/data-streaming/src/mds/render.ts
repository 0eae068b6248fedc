/**
 * Render a sample as one JSON line exactly like the golden `expected.jsonl` files (Python
 * `json.dumps` text): str as text, bytes as base64, 64-bit and str_int ints as decimal strings,
 * small ints as numbers, floats as Python reprs (non-finite as "NaN"/"Infinity"/"-Infinity"),
 * ndarray as {dtype, shape, data(base64)}, json as the value, pkl as {value, pickle(base64)}.
 */
import { getCodec } from "./encodings.js";
import type { NDArray } from "./ndarray.js";
import { PickleTuple, readPickle, type PickleValue } from "./pickle.js";
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

function pickleJson(v: PickleValue): PyJson {
  if (v instanceof Uint8Array) return b64(v);
  if (v instanceof PickleTuple || Array.isArray(v)) return [...v].map(pickleJson);
  if (v instanceof Map) {
    // json.dumps turns non-string keys into text: ints as digits, floats as repr, True -> "true".
    const m = new Map<string, PyJson>();
    for (const [k, x] of v) {
      const key = typeof k === "string" ? k : k === null ? "null" : typeof k === "boolean" ? String(k) : k instanceof PyFloat ? pyFloatRepr(k.value) : k.toString();
      m.set(key, pickleJson(x));
    }
    return m;
  }
  return v;
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
