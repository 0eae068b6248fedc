/**
 * Rebuild the writer's input samples from a golden `expected.jsonl` (the inverse of render.ts),
 * so tests can write the same samples with our writer and compare files byte for byte.
 */
import { parsePyJson, PyFloat, type PyJson } from "./pyjson.js";

function num(v: PyJson): number {
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  if (v instanceof PyFloat) return v.value;
  if (typeof v === "number") return v;
  throw new Error(`expected a rendered float, got ${String(v)}`);
}

export function inputFromRendered(encoding: string, v: PyJson): unknown {
  if (encoding.startsWith("ndarray")) {
    const m = v as Map<string, PyJson>;
    return { dtype: m.get("dtype"), shape: m.get("shape"), data: new Uint8Array(Buffer.from(m.get("data") as string, "base64")) };
  }
  switch (encoding) {
    case "str": case "str_decimal": return v;
    case "bytes": return new Uint8Array(Buffer.from(v as string, "base64"));
    case "int": case "int64": case "uint64": case "str_int": return BigInt(v as string);
    case "float16": case "float32": case "float64": case "str_float": return num(v);
    case "json": return v;
    // The reference writer passes bytes through unchanged, so the stored pickle is the input.
    case "pkl": return new Uint8Array(Buffer.from((v as Map<string, PyJson>).get("pickle") as string, "base64"));
    default: return v;
  }
}

/** Samples (column -> writer input) of a golden dataset, given its column encodings. */
export function goldenInputs(expectedJsonl: string, columns: Record<string, string>): Array<Record<string, unknown>> {
  return expectedJsonl.trimEnd().split("\n").map((line) => {
    const sample = (parsePyJson(line) as Map<string, PyJson>).get("sample") as Map<string, PyJson>;
    const out: Record<string, unknown> = {};
    for (const [k, enc] of Object.entries(columns)) out[k] = inputFromRendered(enc, sample.get(k)!);
    return out;
  });
}
