// Fuzz targets for the PyTorch .bin reader: the golden torch.save checkpoint and small crafted ones,
// damaged in the pickle (mutated opcodes, truncated frames, huge length prefixes), in the zip
// structure, and in the legacy format; plus pickles that smuggle a forbidden global in every
// encoding the VM knows (GLOBAL, STACK_GLOBAL with memo, INST, OBJ, REDUCE/NEWOBJ/BUILD on
// unexpected objects), which must always be refused.
import * as fs from "node:fs";
import fc from "fast-check";
import { zipSync } from "fflate";
import { applyBytes, bytePlan, describePlan, type Plan } from "../../../../scripts/fuzz/mutate.mjs";
import type { FuzzTarget } from "../../../../scripts/fuzz/target.d.mts";
import { toFloat32 } from "../safetensors/decode.js";
import type { TensorMap } from "../safetensors/read.js";
import { readPytorchBin } from "./load.js";
import { PickleBuilder, f32bytes as f32, legacyCheckpoint } from "./pickle-writer.test-util.js";
import { bufferSource } from "./source.js";
import { ZipArchive } from "./zip.js";
import { craftZip, deepDicts, sharedDicts, torchArchive } from "../testing/hostile.js";

const BIN = new URL("../../../../../shared/data/golden/mosaic-tiny-mlm/pytorch_model.bin", import.meta.url).pathname;
const SOURCE = "<buffer>";
const enc = new TextEncoder();

/** The golden checkpoint split into its pickle and its other entries. */
function goldenParts(): { pkl: Uint8Array; rest: Record<string, Uint8Array> } {
  const zip = new ZipArchive(bufferSource(new Uint8Array(fs.readFileSync(BIN))));
  const rest: Record<string, Uint8Array> = {};
  let pkl: Uint8Array = new Uint8Array(0);
  for (const name of zip.entries.keys()) {
    if (name.endsWith("/data.pkl")) pkl = zip.read(name);
    else rest[name] = zip.read(name);
  }
  return { pkl, rest };
}

function crafted(): { pkl: Uint8Array; rest: Record<string, Uint8Array> } {
  const pb = new PickleBuilder().proto(2).global("collections", "OrderedDict").emptyTuple().reduce().mark()
    .str("w").tensor({ storage: "FloatStorage", key: "0", numel: 6, offset: 0, shape: [2, 3], stride: [3, 1] })
    .str("t").tensor({ storage: "FloatStorage", key: "0", numel: 6, offset: 1, shape: [2, 2], stride: [1, 3] })
    .str("i").tensor({ storage: "LongStorage", key: "1", numel: 2, offset: 0, shape: [2], stride: [1] })
    .setitems().emptyDict().str("_metadata").emptyDict().op(0x73).build().stop();
  return {
    pkl: pb.bytes(),
    rest: {
      "archive/byteorder": enc.encode("little"),
      "archive/version": enc.encode("3\n"),
      "archive/data/0": f32([1, 2, 3, 4, 5, 6]),
      "archive/data/1": new Uint8Array(BigInt64Array.from([3n, -4n]).buffer),
    },
  };
}

const PARTS = [crafted(), goldenParts()];

function archive(pkl: Uint8Array, rest: Record<string, Uint8Array>): Uint8Array {
  return zipSync({ "archive/data.pkl": pkl, ...rest }, { level: 0 });
}


/** Accepted checkpoints must hold tensors whose bytes match their shapes and decode. */
function check(t: TensorMap): void {
  for (const [name, e] of t) {
    const numel = e.shape.reduce((a, b) => a * b, 1);
    if (toFloat32(e).length !== numel) throw new Error(`accepted tensor '${name}' does not match its shape [${e.shape}]`);
  }
}

/** Mutated pickle inside an otherwise valid archive (CRCs recomputed, so the pickle VM sees the damage). */
export const torchPickle: FuzzTarget<Plan> = {
  name: ".bin pickle (data.pkl)",
  arbitrary: bytePlan(PARTS.length),
  source: () => SOURCE,
  run: (p) => readPytorchBin(archive(applyBytes(PARTS[p.base]!.pkl, p.ops), PARTS[p.base]!.rest)),
  check,
  describe: describePlan,
};

const ZIPS = [archive(PARTS[0]!.pkl, PARTS[0]!.rest), zipSync({ "archive/data.pkl": PARTS[0]!.pkl, ...PARTS[0]!.rest }, { level: 6 })];

/** Damage anywhere in a small archive: central directory, local headers, sizes, deflate stream. */
export const torchZip: FuzzTarget<Plan> = {
  name: ".bin zip container",
  arbitrary: bytePlan(ZIPS.length),
  source: () => SOURCE,
  run: (p) => readPytorchBin(applyBytes(ZIPS[p.base]!, p.ops)),
  check,
  describe: describePlan,
};

const LEGACY = [legacyCheckpoint()];

/** Damage to the pre-1.6 format: header pickles, storage key list, int64 element counts. */
export const torchLegacy: FuzzTarget<Plan> = {
  name: ".bin legacy format",
  arbitrary: bytePlan(LEGACY.length),
  source: () => SOURCE,
  run: (p) => readPytorchBin(applyBytes(LEGACY[p.base]!, p.ops)),
  check,
  describe: describePlan,
};

/** Globals that must never be resolved, in spellings that a sloppy allow-list might let through. */
const FORBIDDEN: Array<[string, string]> = [
  ["os", "system"], ["posix", "system"], ["builtins", "eval"], ["builtins", "exec"], ["__builtin__", "eval"],
  ["subprocess", "Popen"], ["builtins", "getattr"], ["torch", "load"], ["torch._utils", "_rebuild_tensor_v2 "],
  ["torch._utils ", "_rebuild_tensor_v2"], ["torch._utils", "_rebuild_tensor_v2\u0000"], ["torch", "FloatStorage.__init__"],
  ["collections", "OrderedDict.__class__"], ["torch.storage", "_load_from_bytes"], ["numpy.core.multiarray", "_reconstruct"],
  ["torch._utils._rebuild_tensor_v2", ""], ["", "eval"], ["torch", "_utils._rebuild_tensor_v2"],
];

type Encoding = "GLOBAL" | "STACK_GLOBAL" | "STACK_GLOBAL_MEMO" | "INST" | "OBJ" | "NEWOBJ" | "REDUCE_LAMBDA";

/** Emits code that leaves the forbidden global (or an instance of it) on the stack. */
function smuggle(pb: PickleBuilder, [mod, name]: [string, string], how: Encoding): PickleBuilder {
  switch (how) {
    case "GLOBAL": return pb.global(mod, name).mark().str("id").tuple().reduce();
    case "STACK_GLOBAL": return pb.stackGlobal(mod, name).mark().str("id").tuple().reduce();
    case "STACK_GLOBAL_MEMO": // the strings come from the memo, as pickletools-optimized files do
      return pb.str(mod).op(0x94).str(name).op(0x94).op(0x30, 0x30).op(0x68, 0).op(0x68, 1).op(0x93).emptyTuple().reduce();
    case "INST": return pb.mark().str("id").op(0x69).raw(enc.encode(`${mod}\n${name}\n`));
    case "OBJ": return pb.mark().global(mod, name).str("id").op(0x6f);
    case "NEWOBJ": return pb.global(mod, name).emptyTuple().op(0x81);
    case "REDUCE_LAMBDA": return pb.global(mod, name).emptyTuple().reduce().emptyDict().build();
  }
}

/** Where in an otherwise valid checkpoint pickle the global is placed. */
type Place = "top" | "value" | "key" | "tensorArg" | "buildState" | "ordereddictArg";

function evilPickle(g: [string, string], how: Encoding, where: Place): Uint8Array {
  const pb = new PickleBuilder().proto(2);
  const tensor = { storage: "FloatStorage", key: "0", numel: 6, offset: 0, shape: [2, 3], stride: [3, 1] };
  if (where === "top") return smuggle(pb, g, how).stop().bytes();
  pb.global("collections", "OrderedDict");
  if (where === "ordereddictArg") smuggle(pb.mark(), g, how).tuple();
  else pb.emptyTuple();
  pb.reduce().mark();
  if (where === "key") smuggle(pb, g, how).tensor(tensor);
  else if (where === "value") pb.str("x").op(0x28).op(0x74) && smuggle(pb.str("y"), g, how);
  else if (where === "tensorArg") {
    pb.str("w").global("torch._utils", "_rebuild_tensor_v2").mark();
    smuggle(pb, g, how).int(0).ints([2, 3]).ints([3, 1]).bool(false).emptyDict().tuple().reduce();
  } else pb.str("w").tensor(tensor);
  pb.setitems();
  if (where === "buildState") smuggle(pb, g, how).build();
  return pb.stop().bytes();
}

/** Every checkpoint carrying a forbidden global is refused, whatever the encoding and position. */
export const torchForbidden: FuzzTarget<{ g: number; how: Encoding; where: Place; cut: number }> = {
  name: ".bin forbidden globals",
  arbitrary: fc.record({
    g: fc.nat({ max: FORBIDDEN.length - 1 }),
    how: fc.constantFrom<Encoding>("GLOBAL", "STACK_GLOBAL", "STACK_GLOBAL_MEMO", "INST", "OBJ", "NEWOBJ", "REDUCE_LAMBDA"),
    where: fc.constantFrom<Place>("top", "value", "key", "tensorArg", "buildState", "ordereddictArg"),
    cut: fc.constantFrom(0, 0, 0, 1, 2),
  }),
  source: () => SOURCE,
  run: ({ g, how, where, cut }) => {
    const pkl = evilPickle(FORBIDDEN[g]!, how, where);
    return readPytorchBin(archive(pkl.subarray(0, pkl.length - cut), { ...PARTS[0]!.rest }));
  },
  check: (_t, input) => {
    throw new Error(`a pickle carrying ${FORBIDDEN[input.g]!.join(".")} (${input.how}, ${input.where}) was accepted`);
  },
  describe: (i) => `${JSON.stringify(FORBIDDEN[i.g]!.join("."))} via ${i.how} at ${i.where}, cut ${i.cut}`,
};

/**
 * Structure-aware inputs (#18): checkpoints built to attack the reader's walk and its size checks,
 * not mutated bytes: dicts sharing sub-dicts (up to 2^45 paths), a dict containing itself, nesting up to
 * 120k levels, views with stride 0, overlapping or reaching past their storage, storages declaring more
 * or fewer elements than their zip entry holds, zip entries overlapping one another, and deflated
 * entries declaring sizes deflate cannot reach.
 */
type Structure =
  | { kind: "shared"; depth: number }
  | { kind: "cycle"; viaList: boolean }
  | { kind: "deep"; levels: number }
  | { kind: "views"; elements: number; declared: number; views: Array<{ offset: number; dims: Array<{ size: number; stride: number }> }> }
  | { kind: "zip"; storages: number; overlap: number[]; declaredSize: number; deflated: boolean };

const dim = fc.record({
  size: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constantFrom(1024, 16384, 2 ** 20, 2 ** 31)),
  stride: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constantFrom(0, 0, 2 ** 20, 2 ** 40)),
});
const structure: fc.Arbitrary<Structure> = fc.oneof(
  fc.record({ kind: fc.constant("shared" as const), depth: fc.integer({ min: 1, max: 45 }) }),
  fc.record({ kind: fc.constant("cycle" as const), viaList: fc.boolean() }),
  fc.record({ kind: fc.constant("deep" as const), levels: fc.oneof(fc.integer({ min: 1, max: 1200 }), fc.integer({ min: 1200, max: 120_000 })) }),
  fc.record({
    kind: fc.constant("views" as const),
    elements: fc.integer({ min: 0, max: 64 }),
    declared: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(2 ** 28, 2 ** 31)),
    views: fc.array(fc.record({ offset: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.constantFrom(2 ** 31 - 1)), dims: fc.array(dim, { maxLength: 4 }) }), { minLength: 1, maxLength: 64 }),
  }),
  fc.record({
    kind: fc.constant("zip" as const),
    storages: fc.integer({ min: 1, max: 32 }),
    overlap: fc.array(fc.nat({ max: 31 }), { maxLength: 8 }),
    declaredSize: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 4096 }), fc.constantFrom(2 ** 30, 2 ** 32 - 1)),
    deflated: fc.boolean(),
  }),
);

const T = (key: string, numel: number, shape: number[], stride: number[], offset = 0) => ({ storage: "FloatStorage", key, numel, offset, shape, stride });
const idx = (n: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };

function structured(s: Structure): Uint8Array {
  const two = { "0": f32([1, 2]) };
  switch (s.kind) {
    case "shared":
      return torchArchive(sharedDicts(s.depth), two);
    case "cycle": {
      const pb = new PickleBuilder().proto(2).emptyDict().op(0x94).str("w").tensor(T("0", 2, [2], [1])).op(0x73);
      if (s.viaList) pb.str("l").emptyList().op(0x68, 0).op(0x61).op(0x73); // a list holding the dict: not walked
      else pb.str("self").op(0x68, 0).op(0x73);
      return torchArchive(pb.stop().bytes(), two);
    }
    case "deep":
      return torchArchive(deepDicts(s.levels), two);
    case "views": {
      const pb = new PickleBuilder().proto(2).emptyDict().mark();
      s.views.forEach((v, i) => pb.str(`v${i}`).tensor(T("0", s.declared, v.dims.map((d) => d.size), v.dims.map((d) => d.stride), v.offset)));
      return torchArchive(pb.setitems().stop().bytes(), { "0": f32(Array.from({ length: s.elements }, (_, i) => i)) });
    }
    case "zip": {
      const pb = new PickleBuilder().proto(2).emptyDict().mark();
      for (let i = 0; i < s.storages; i++) pb.str(`w${i}`).tensor(T(String(i), 16, [16], [1]));
      const items: Parameters<typeof craftZip>[0] = [{ name: "archive/data.pkl", data: pb.setitems().stop().bytes() }];
      for (let i = 0; i < s.storages; i++) {
        const name = `archive/data/${i}`;
        const lie = i === 0 && s.declaredSize >= 0 ? { declaredSize: s.declaredSize, method: (s.deflated ? 8 : 0) as 0 | 8 } : {};
        if (i > 0 && s.overlap.includes(i)) items.push({ name, data: new Uint8Array(0), sameAs: "archive/data/0" });
        else items.push({ name, data: f32(Array.from({ length: 16 }, (_, k) => k + i)), ...lie });
      }
      return craftZip(items);
    }
  }
}

export const torchStructure: FuzzTarget<Structure> = {
  name: ".bin structure (shared/cyclic/deep dicts, views, declared sizes, zip overlaps)",
  arbitrary: structure,
  source: () => SOURCE,
  run: (s) => readPytorchBin(structured(s)),
  check: (t: TensorMap, s: Structure) => {
    check(t);
    if (s.kind !== "views") return;
    // Storage element i holds the value i: each accepted view must read exactly offset + Σ index·stride.
    s.views.forEach((v, i) => {
      const got = toFloat32(t.get(`v${i}`)!);
      const shape = v.dims.map((d) => d.size);
      const idx = shape.map(() => 0);
      for (let n = 0; n < got.length; n++) {
        const want = v.offset + v.dims.reduce((a, d, k) => a + idx[k]! * d.stride, 0);
        if (got[n] !== want) throw new Error(`view v${i} element ${n}: got ${got[n]}, the storage holds ${want} there`);
        for (let k = shape.length - 1; k >= 0 && ++idx[k]! === shape[k]; k--) idx[k] = 0;
      }
    });
  },
  describe: (s) => JSON.stringify(s),
};
