import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import {
  FormatError, fromFloat32, openSafetensors, parseSafetensors, readSafetensors, readSafetensorsHeader,
  serializeSafetensors, toFloat32, toInt32, writeSafetensors,
} from "../index.js";

const golden = (p: string) => new URL(`../../../../../shared/data/golden/${p}`, import.meta.url).pathname;
const MLM = golden("mosaic-tiny-mlm/model.safetensors");
const GOLDEN_FILES = ["mosaic-tiny-mlm", "mosaic-tiny-cls3", "bert-tiny-mlm"].flatMap((c) => [
  golden(`${c}/model.safetensors`),
  golden(`${c}/outputs.safetensors`),
]);

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "hub-st-"));
}

describe("safetensors on the goldens", () => {
  it("reads the MosaicBERT tiny MLM checkpoint with the spec's keys and shapes", () => {
    const t = readSafetensors(MLM);
    // 4 embedding + 11 per layer x 2 layers + 5 head entries (tied decoder weight left out).
    expect(t.size).toBe(4 + 11 * 2 + 5);
    expect(t.get("bert.embeddings.word_embeddings.weight")!.shape).toEqual([2048, 128]);
    expect(t.get("bert.encoder.layer.1.attention.self.Wqkv.weight")!.shape).toEqual([384, 128]);
    expect(t.get("bert.encoder.layer.0.mlp.gated_layers.weight")!.shape).toEqual([512, 128]);
    expect(t.get("bert.encoder.layer.0.mlp.wo.weight")!.shape).toEqual([128, 256]);
    expect(t.has("bert.encoder.layer.0.mlp.gated_layers.bias")).toBe(false);
    expect(t.get("cls.predictions.decoder.bias")!.shape).toEqual([2048]);
    for (const e of t.values()) expect(e.dtype).toBe("f32");
    const ln = toFloat32(t.get("bert.embeddings.LayerNorm.weight")!);
    expect(ln.length).toBe(128);
    expect(ln.every(Number.isFinite)).toBe(true);
    expect(readSafetensorsHeader(MLM).metadata).toEqual({ format: "pt" });
  });

  it("header-only read matches the full read", () => {
    const h = readSafetensorsHeader(golden("bert-tiny-mlm/outputs.safetensors"));
    const full = readSafetensors(golden("bert-tiny-mlm/outputs.safetensors"));
    expect(h.tensors.map((x) => x.name)).toEqual([...full.keys()]);
    expect(h.metadata).toBeNull();
    expect(full.get("loss")!.shape).toEqual([1]);
  });

  it.each(GOLDEN_FILES)("write(read(%s)) is byte-identical", (file) => {
    const bytes = new Uint8Array(fs.readFileSync(file));
    const { tensors, metadata } = parseSafetensors(bytes, file);
    expect(Buffer.compare(serializeSafetensors(tensors, metadata ?? undefined), bytes)).toBe(0);
    const dir = tmpdir();
    const out = path.join(dir, "copy.safetensors");
    writeSafetensors(out, tensors, metadata ?? undefined);
    expect(Buffer.compare(fs.readFileSync(out), bytes)).toBe(0);
    expect(fs.readdirSync(dir)).toEqual(["copy.safetensors"]); // no temp file left behind
    fs.rmSync(dir, { recursive: true });
  });

  it("lazy per-tensor reads return the same bytes as a full read", async () => {
    const full = readSafetensors(MLM);
    const f = await openSafetensors(MLM);
    try {
      expect(f.names()).toEqual([...full.keys()]);
      expect(f.metadata).toEqual({ format: "pt" });
      for (const name of ["bert.embeddings.word_embeddings.weight", "cls.predictions.decoder.bias"]) {
        const e = await f.get(name);
        expect(e.shape).toEqual(full.get(name)!.shape);
        expect(Buffer.compare(e.data, full.get(name)!.data)).toBe(0);
      }
      await expect(f.get("nope")).rejects.toThrow(/tensor 'nope'.*not in this file/);
    } finally {
      await f.close();
    }
  });
});

describe("safetensors dtypes", () => {
  it("round-trips f32, bf16, f16, i64, i32, u8, bool, F64 and decodes them to float32", () => {
    const vals = new Float32Array([0, 1.5, -2.25, 3e-3, 65504, -0]);
    const ints = new BigInt64Array([0n, -5n, 123456789012n, 7n]);
    const bytes = serializeSafetensors({
      a: fromFloat32(vals, [2, 3]),
      b: fromFloat32(vals, [6], "bf16"),
      c: fromFloat32(vals, [3, 2], "f16"),
      d: { dtype: "i64", shape: [4], data: ints },
      e: { dtype: "i32", shape: [2, 2], data: new Int32Array([1, -2, 3, -4]) },
      f: { dtype: "u8", shape: [3], data: new Uint8Array([0, 128, 255]) },
      g: { dtype: "bool", shape: [2], data: new Uint8Array([1, 0]) },
      h: { dtype: "F64", shape: [2], data: new Float64Array([0.1, -1e300]) },
      z: { dtype: "f32", shape: [0, 4], data: new Float32Array(0) },
    }, { note: "x" });
    const { tensors: t, metadata } = parseSafetensors(bytes);
    expect(metadata).toEqual({ note: "x" });
    // Wider dtypes are laid out first, then names in order (the reference writer's layout).
    expect([...t.keys()]).toEqual(["d", "h", "a", "z", "e", "b", "c", "f", "g"]);
    expect(Array.from(toFloat32(t.get("a")!))).toEqual(Array.from(vals));
    expect(Array.from(toFloat32(t.get("b")!))).toEqual([0, 1.5, -2.25, 0.0030059814453125, 65536, -0]);
    expect(Array.from(toFloat32(t.get("c")!))).toEqual([0, 1.5, -2.25, 0.0030002593994140625, 65504, -0]);
    expect(Array.from(toFloat32(t.get("d")!))).toEqual([0, -5, 123456790528, 7]);
    expect(() => toInt32(t.get("d")!, "d")).toThrow(/d\[2\] = 123456789012 does not fit in int32/);
    expect(Array.from(toInt32(t.get("e")!))).toEqual([1, -2, 3, -4]);
    expect(Array.from(toFloat32(t.get("f")!))).toEqual([0, 128, 255]);
    expect(Array.from(toFloat32(t.get("g")!))).toEqual([1, 0]);
    expect(Array.from(toFloat32(t.get("h")!))).toEqual([Math.fround(0.1), -Infinity]);
    expect(t.get("z")!.shape).toEqual([0, 4]);
  });

  it("refuses to write inconsistent tensors", () => {
    expect(() => serializeSafetensors({ w: { dtype: "f32", shape: [3], data: new Float32Array(2) } }))
      .toThrow(/tensor 'w': data: holds 8 bytes but shape \[3\] of F32 needs 12/);
    expect(() => serializeSafetensors({ w: { dtype: "q4" as never, shape: [1], data: new Uint8Array(1) } }))
      .toThrow(/tensor 'w': dtype: unknown dtype 'q4'/);
    expect(() => serializeSafetensors({ w: { dtype: "f32", shape: [-1], data: new Float32Array(0) } }))
      .toThrow(/tensor 'w': shape/);
  });
});

describe("safetensors tensor names", () => {
  // Written by the Python reference (safetensors 0.8 save_file): names that are special to JavaScript
  // objects ("__proto__", "constructor") or integer-like ("10", "2"), and a "__proto__" metadata key.
  const ODD = fileURLToPath(new URL("./fixtures/odd-names.safetensors", import.meta.url));

  it("round-trips __proto__, constructor and integer-like names byte for byte", () => {
    const bytes = new Uint8Array(fs.readFileSync(ODD));
    const { tensors, metadata } = parseSafetensors(bytes, ODD);
    expect([...tensors.keys()].sort()).toEqual(["10", "2", "__proto__", "constructor"]);
    expect([...toFloat32(tensors.get("__proto__")!)]).toEqual([1, 2]);
    expect(metadata?.["__proto__"]).toBe("x");
    expect(Buffer.compare(serializeSafetensors(tensors, metadata ?? undefined), bytes)).toBe(0);
  });

  it("writes a tensor named __proto__ that reads back (not a file with a gap)", () => {
    const dir = tmpdir();
    const out = path.join(dir, "proto.safetensors");
    const tensors = new Map([
      ["__proto__", { dtype: "f32" as const, shape: [1], data: new Float32Array([7]) }],
      ["w", { dtype: "f32" as const, shape: [1], data: new Float32Array([8]) }],
    ]);
    writeSafetensors(out, tensors);
    const back = readSafetensors(out);
    expect([...back.keys()]).toEqual(["__proto__", "w"]);
    expect([...toFloat32(back.get("__proto__")!)]).toEqual([7]);
    expect([...toFloat32(back.get("w")!)]).toEqual([8]);
    fs.rmSync(dir, { recursive: true });
  });
});

describe("safetensors header validation", () => {
  const good = serializeSafetensors({
    a: fromFloat32(new Float32Array([1, 2]), [2]),
    b: fromFloat32(new Float32Array([3, 4, 5]), [3]),
  }, { format: "pt" });

  /** Builds a file with the given header JSON and `dataLen` zero bytes of data. */
  function craft(header: unknown, dataLen: number): Uint8Array {
    const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + dataLen);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  }
  const T = (dtype: string, shape: unknown, offs: unknown) => ({ dtype, shape, data_offsets: offs });

  function errorOf(bytes: Uint8Array, file = "bad.safetensors"): string {
    const dir = tmpdir();
    const p = path.join(dir, file);
    fs.writeFileSync(p, bytes);
    try {
      readSafetensors(p);
      // Also from memory, which must fail the same way.
    } catch (e) {
      expect(e).toBeInstanceOf(FormatError);
      expect(() => parseSafetensors(bytes)).toThrow(FormatError);
      return (e as Error).message;
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
    throw new Error("expected the file to be refused");
  }

  it("accepts the well-formed file", () => {
    expect([...parseSafetensors(good).tensors.keys()]).toEqual(["a", "b"]);
  });

  it("names the file and the field in every error", () => {
    expect(errorOf(good.subarray(0, 5))).toMatch(/bad\.safetensors: header size: .*too short/);
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expect(errorOf(huge)).toMatch(/bad\.safetensors: header size: .*exceeds the 100000000-byte limit/);
    expect(errorOf(good.subarray(0, 30))).toMatch(/header size: header length \d+ runs past the end of the 30-byte file/);
    expect(errorOf(craft("{not json", 0))).toMatch(/bad\.safetensors: header: header is not valid JSON/);
    expect(errorOf(craft("[1,2]", 0))).toMatch(/header: header must be a JSON object/);
    expect(errorOf(craft({ w: T("F33", [1], [0, 4]) }, 4))).toMatch(/tensor 'w'\.dtype: unknown dtype "F33"/);
    expect(errorOf(craft({ w: T("F32", [1.5], [0, 4]) }, 4))).toMatch(/tensor 'w'\.shape: expected an array of non-negative integers/);
    expect(errorOf(craft({ w: T("F32", [-1], [0, 4]) }, 4))).toMatch(/tensor 'w'\.shape/);
    expect(errorOf(craft({ w: T("F32", [1], [0]) }, 4))).toMatch(/tensor 'w'\.data_offsets: expected \[begin, end\]/);
    expect(errorOf(craft({ w: T("F32", [1], [4, 0]) }, 4))).toMatch(/tensor 'w'\.data_offsets: end 0 is before begin 4/);
    expect(errorOf(craft({ w: T("F32", [2], [0, 8]) }, 4))).toMatch(/tensor 'w'\.data_offsets: \[0, 8\] runs past the 4-byte data section/);
    expect(errorOf(craft({ w: T("F32", [2], [0, 4]) }, 4))).toMatch(/tensor 'w'\.data_offsets: holds 4 bytes but shape \[2\] of F32 needs 8/);
    expect(errorOf(craft({ v: T("F32", [2], [0, 8]), w: T("F32", [1], [4, 8]) }, 8))).toMatch(/tensor 'w'\.data_offsets: \[4, 8\] overlaps/);
    expect(errorOf(craft({ w: T("F32", [1], [4, 8]) }, 8))).toMatch(/tensor 'w'\.data_offsets: \[4, 8\] leaves a gap after byte 0/);
    expect(errorOf(craft({ w: T("F32", [1], [0, 4]) }, 8))).toMatch(/data_offsets: tensors cover 4 bytes but the data section holds 8/);
    expect(errorOf(craft({ __metadata__: { format: 1 } }, 0))).toMatch(/__metadata__ 'format': expected a string value/);
    expect(errorOf(craft({ __metadata__: { "": null } }, 0))).toMatch(/__metadata__ '': expected a string value, got None/);
    expect(errorOf(craft({ __metadata__: "pt" }, 0))).toMatch(/__metadata__: expected an object of string to string/);
    expect(errorOf(craft({ w: 3 }, 0))).toMatch(/tensor 'w': expected an object/);
  });

  it("reports a truncated golden checkpoint instead of returning short tensors", () => {
    const bytes = fs.readFileSync(MLM);
    expect(errorOf(bytes.subarray(0, bytes.length - 100), "model.safetensors")).toMatch(/model\.safetensors: tensor '.*'\.data_offsets: .*runs past/);
  });

  it("reports a missing file by path", () => {
    expect(() => readSafetensors("/nonexistent/x.safetensors")).toThrow(/\/nonexistent\/x\.safetensors: file: cannot read/);
    expect(() => readSafetensorsHeader("/nonexistent/x.safetensors")).toThrow(/\/nonexistent\/x\.safetensors: file: cannot open/);
  });
});
