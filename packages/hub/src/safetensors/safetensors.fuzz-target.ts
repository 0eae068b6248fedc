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
  field: /: (header size|header|data_offsets|__metadata__|tensor '.*'(\.\w+)?): /,
  run: (p) => parseSafetensors(applyBytes(SEEDS[p.base]!, p.ops), SOURCE),
  check,
  describe: describePlan,
};

/** Header-level damage: JSON edits re-serialized, with the length prefix true or lying by a little. */
export const safetensorsHeader: FuzzTarget<{ plan: Plan; lie: number; truncate: number }> = {
  name: "safetensors (header JSON)",
  arbitrary: fc.record({ plan: jsonPlan(HEADERS.length), lie: fc.constantFrom(0, 0, 0, -1, 1, -8, 1000), truncate: fc.constantFrom(0, 0, 0, 1, 4) }),
  source: () => SOURCE,
  field: /: (header size|header|data_offsets|__metadata__|tensor '.*'(\.\w+)?): /,
  run: ({ plan, lie, truncate }) => {
    const h = HEADERS[plan.base]!;
    const b = assemble(applyJson(h.json, plan.ops), h.data, lie);
    return parseSafetensors(b.subarray(0, b.length - truncate), SOURCE);
  },
  check,
  describe: describePlan,
};
