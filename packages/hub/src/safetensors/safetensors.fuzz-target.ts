// Fuzz targets for the safetensors reader: real golden files and small written files, damaged at the
// byte level (lying header size, truncation, bit flips) and at the header level (offsets out of
// range, overlapping or leaving gaps, dtype/shape mismatch, wrong JSON types, invalid UTF-8).
import * as fs from "node:fs";
import fc from "fast-check";
import { applyBytes, applyJson, bytePlan, describePlan, jsonPlan, type Plan } from "../../../../scripts/fuzz/mutate.mjs";
import type { FuzzTarget } from "../../../../scripts/fuzz/target.d.mts";
import { toFloat32 } from "./decode.js";
import { parseSafetensors } from "./read.js";
import { serializeSafetensors } from "./write.js";

const GOLDEN = new URL("../../../../../shared/data/golden/", import.meta.url).pathname;
const SOURCE = "fuzz/model.safetensors";

function small(): Uint8Array[] {
  const f32 = Float32Array.from({ length: 12 }, (_, i) => i - 5.5);
  return [
    serializeSafetensors({
      "a.weight": { dtype: "f32", shape: [3, 4], data: f32 },
      "a.bias": { dtype: "bf16", shape: [4], data: Uint16Array.from([0x3f80, 0xbf80, 0x7f80, 0x7fc0]) },
      ids: { dtype: "i64", shape: [2], data: BigInt64Array.from([1n, -2n]) },
      mask: { dtype: "bool", shape: [3], data: Uint8Array.from([1, 0, 1]) },
      half: { dtype: "f16", shape: [1, 2], data: Uint16Array.from([0x3c00, 0x7c00]) },
      scalar: { dtype: "f32", shape: [], data: Float32Array.from([7]) },
      empty: { dtype: "f32", shape: [0, 3], data: new Float32Array(0) },
    }, { format: "pt" }),
    serializeSafetensors({ only: { dtype: "u8", shape: [5], data: Uint8Array.from([1, 2, 3, 4, 5]) } }),
  ];
}

/** Byte-level seeds: two small files and the header + first tensors of a real golden checkpoint. */
const SEEDS: Uint8Array[] = [...small(), new Uint8Array(fs.readFileSync(`${GOLDEN}mosaic-tiny-cls3/model.safetensors`))];

function headerOf(b: Uint8Array): { json: unknown; data: Uint8Array } {
  const n = Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
  return { json: JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + n))), data: b.subarray(8 + n) };
}
const HEADERS = SEEDS.map(headerOf);

/** Accepted files must decode: every tensor's bytes match its shape and convert to float32. */
function check(result: ReturnType<typeof parseSafetensors>): void {
  for (const [name, t] of result.tensors) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const f = toFloat32(t);
    if (f.length !== numel) throw new Error(`accepted tensor '${name}' decodes to ${f.length} values, shape says ${numel}`);
  }
}

function assemble(json: unknown, data: Uint8Array, lie: number): Uint8Array {
  const head = new TextEncoder().encode(JSON.stringify(json) ?? "null");
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, head.length + lie)), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

/** Byte-level damage anywhere in the file (most of a real file is tensor data, so small seeds dominate). */
export const safetensorsBytes: FuzzTarget<Plan> = {
  name: "safetensors (bytes)",
  arbitrary: bytePlan(SEEDS.length),
  source: () => SOURCE,
  field: /: (header size|header|data_offsets|__metadata__( '.*')?|tensor '.*'(\.\w+)?): /,
  run: (p) => parseSafetensors(applyBytes(SEEDS[p.base]!, p.ops), SOURCE),
  check,
  describe: describePlan,
};

/** Header-level damage: JSON edits re-serialized, with the length prefix true or lying by a little. */
export const safetensorsHeader: FuzzTarget<{ plan: Plan; lie: number; truncate: number }> = {
  name: "safetensors (header JSON)",
  arbitrary: fc.record({ plan: jsonPlan(HEADERS.length), lie: fc.constantFrom(0, 0, 0, -1, 1, -8, 1000), truncate: fc.constantFrom(0, 0, 0, 1, 4) }),
  source: () => SOURCE,
  field: /: (header size|header|data_offsets|__metadata__( '.*')?|tensor '.*'(\.\w+)?): /,
  run: ({ plan, lie, truncate }) => {
    const h = HEADERS[plan.base]!;
    const b = assemble(applyJson(h.json, plan.ops), h.data, lie);
    return parseSafetensors(b.subarray(0, b.length - truncate), SOURCE);
  },
  check,
  describe: describePlan,
};

/**
 * Structure-aware inputs (#18): headers built to attack the parser's structure rather than mutated
 * bytes: deep nesting (up to 300k levels, in an ignored field or in the shape), dimensions whose
 * product overflows (with or without a 0 after the overflow), duplicate or lone-surrogate names, a BOM,
 * and declared sizes (offsets, header length) that disagree with the data actually present.
 */
interface Structure {
  depth: number;
  nestIn: "extra" | "shape" | "metadata";
  dims: number[];
  dtype: "F32" | "U8" | "F64";
  data: number;
  declared: number;
  names: Array<"w" | "w" | "dup" | "surrogate" | "__proto__" | "constructor">;
  bom: boolean;
  lie: number;
  /** Make sizes agree with the shape (so some inputs are valid and must load intact). */
  consistent: boolean;
}

const structure: fc.Arbitrary<Structure> = fc.record({
  depth: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 200, max: 300_000 })),
  nestIn: fc.constantFrom("extra", "shape", "metadata"),
  dims: fc.array(fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constantFrom(2 ** 16, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53)), { maxLength: 5 }),
  dtype: fc.constantFrom("F32", "U8", "F64"),
  data: fc.integer({ min: 0, max: 64 }),
  declared: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(2 ** 32, 2 ** 53 - 1, 2 ** 53)),
  names: fc.array(fc.constantFrom("w", "w", "dup", "surrogate", "__proto__", "constructor"), { minLength: 1, maxLength: 3 }),
  bom: fc.constantFrom(false, false, false, true),
  lie: fc.constantFrom(0, 0, 0, 0, 0, 0, -1, 1, 2 ** 20, 2 ** 40),
  consistent: fc.constantFrom(true, true, false),
});

const ITEMSIZE = { F32: 4, U8: 1, F64: 8 } as const;

function structured(s: Structure): Uint8Array {
  if (s.consistent) {
    const numel = s.dims.reduce((a, d) => a * d, 1);
    if (numel * ITEMSIZE[s.dtype] <= 4096 && s.dims.every((d) => d <= 4096)) {
      s = { ...s, declared: numel * ITEMSIZE[s.dtype], data: s.names.length * numel * ITEMSIZE[s.dtype] };
    }
  }
  const nest = (inner: string) => `${"[".repeat(s.depth)}${inner}${"]".repeat(s.depth)}`;
  const shape = s.nestIn === "shape" && s.depth > 0 ? nest(String(s.dims[0] ?? 1)) : `[${s.dims.join(",")}]`;
  const entries: string[] = [];
  let begin = 0;
  s.names.forEach((n, i) => {
    const name = n === "dup" ? "w" : n === "surrogate" ? "x\\udc00" : n === "w" ? `w${i}` : n;
    const extra = s.nestIn === "extra" && s.depth > 0 ? `,"extra":${nest("0")}` : "";
    entries.push(`"${name}":{"dtype":"${s.dtype}","shape":${shape},"data_offsets":[${begin},${begin + s.declared}]${extra}}`);
    begin += s.declared;
  });
  if (s.nestIn === "metadata" && s.depth > 0) entries.push(`"__metadata__":{"m":${nest('"x"')}}`);
  const head = new TextEncoder().encode(`${s.bom ? "\ufeff" : ""}{${entries.join(",")}}`);
  const out = new Uint8Array(8 + head.length + s.data);
  new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, head.length + s.lie)), true);
  out.set(head, 8);
  return out;
}

export const safetensorsStructure: FuzzTarget<Structure> = {
  name: "safetensors (structure: nesting, overflow, names, declared sizes)",
  arbitrary: structure,
  source: () => SOURCE,
  field: /: (header size|header|data_offsets|__metadata__( '.*')?|tensor '.*'(\.\w+)?): /,
  run: (s) => parseSafetensors(structured(s), SOURCE),
  check,
  describe: (s) => JSON.stringify(s),
};
