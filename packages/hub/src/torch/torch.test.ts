import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { zipSync } from "fflate";
import { FormatError, UnsafePickleError, ZipArchive, crc32, readPytorchBin, readSafetensors, toFloat32 } from "../index.js";
import { bufferSource } from "./source.js";
import { PickleBuilder, f32bytes, legacyCheckpoint } from "./pickle-writer.test-util.js";
import { craftZip } from "../testing/hostile.js";

const golden = (p: string) => new URL(`../../../../../shared/data/golden/${p}`, import.meta.url).pathname;
const BIN = golden("mosaic-tiny-mlm/pytorch_model.bin");


function archive(pkl: Uint8Array, storages: Record<string, Uint8Array>, level: 0 | 6 = 0): Uint8Array {
  const files: Record<string, Uint8Array> = {
    "archive/data.pkl": pkl,
    "archive/byteorder": new TextEncoder().encode("little"),
    "archive/version": new TextEncoder().encode("3\n"),
  };
  for (const [k, v] of Object.entries(storages)) files[`archive/data/${k}`] = v;
  return zipSync(files, { level });
}

describe("PyTorch .bin on the golden checkpoint", () => {
  it("loads exactly the tensors of model.safetensors plus the tied decoder weight", () => {
    const bin = readPytorchBin(BIN);
    const st = readSafetensors(golden("mosaic-tiny-mlm/model.safetensors"));
    expect(bin.size).toBe(st.size + 1);
    for (const [name, e] of st) {
      const b = bin.get(name);
      expect(b, name).toBeDefined();
      expect(b!.dtype).toBe(e.dtype);
      expect(b!.shape).toEqual(e.shape);
      expect(Buffer.compare(b!.data, e.data), name).toBe(0);
    }
    const dec = bin.get("cls.predictions.decoder.weight")!;
    expect(dec.shape).toEqual([2048, 128]);
    expect(Buffer.compare(dec.data, st.get("bert.embeddings.word_embeddings.weight")!.data)).toBe(0);
  });

  it("reads the same from memory as from disk", () => {
    const fromMem = readPytorchBin(new Uint8Array(fs.readFileSync(BIN)));
    expect([...fromMem.keys()]).toEqual([...readPytorchBin(BIN).keys()]);
  });

  it("reports a truncated checkpoint and a corrupted storage clearly", () => {
    const bytes = new Uint8Array(fs.readFileSync(BIN));
    expect(() => readPytorchBin(bytes.subarray(0, bytes.length - 50))).toThrow(/zip: no end-of-central-directory record/);
    expect(() => readPytorchBin(bytes.subarray(0, 2_000_000))).toThrow(FormatError);
    const bad = bytes.slice();
    bad[5000] ^= 0xff; // inside storage 0 (the word embeddings)
    expect(() => readPytorchBin(bad)).toThrow(/pytorch_model\/data\/0: CRC-32 mismatch/);
  });

  it("rejects garbage with the file name", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hub-bin-"));
    const p = path.join(dir, "junk.bin");
    fs.writeFileSync(p, "this is not a checkpoint at all");
    expect(() => readPytorchBin(p)).toThrow(/junk\.bin: format: not a PyTorch checkpoint/);
    fs.writeFileSync(p, "ab");
    expect(() => readPytorchBin(p)).toThrow(/junk\.bin: format: file is only 2 bytes/);
    expect(() => readPytorchBin(path.join(dir, "missing.bin"))).toThrow(/missing\.bin: file: cannot open/);
    fs.rmSync(dir, { recursive: true });
  });
});

describe("the pickle allow-list", () => {
  it("refuses os.system (GLOBAL) and runs nothing", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hub-evil-"));
    const marker = path.join(dir, "pwned");
    const pkl = new PickleBuilder().proto(2).global("os", "system").mark().str(`touch ${marker}`).tuple().reduce().stop().bytes();
    const p = path.join(dir, "evil.bin");
    fs.writeFileSync(p, archive(pkl, {}));
    let err: unknown;
    try {
      readPytorchBin(p);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsafePickleError);
    expect((err as Error).message).toMatch(/evil\.bin.*refusing to load os\.system from archive\/data\.pkl: only tensor-rebuild globals are allowed/);
    expect(fs.existsSync(marker)).toBe(false);
    fs.rmSync(dir, { recursive: true });
  });

  it.each([
    ["uint16", /unsupported dtype: torch\._utils\._rebuild_tensor_v3 \(torch writes it for dtypes such as uint16/],
    ["float8", /unsupported dtype: torch\._utils\._rebuild_tensor_v3/],
    ["complex64", /unsupported dtype: torch\.ComplexFloatStorage .*expected one of torch\.FloatStorage/],
  ])("reports a %s tensor (torch.save, torch 2.13) as an unsupported dtype, not an unsafe global", (name, message) => {
    const file = fileURLToPath(new URL(`./fixtures/${name}.bin`, import.meta.url));
    let err: unknown;
    try {
      readPytorchBin(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FormatError);
    expect(err).not.toBeInstanceOf(UnsafePickleError);
    expect((err as Error).message).toMatch(new RegExp(`${name}\\.bin: ${name}/data\\.pkl: `));
    expect((err as Error).message).toMatch(message);
  });

  it("refuses STACK_GLOBAL builtins.eval, even when nested inside an allowed call", () => {
    const pkl = new PickleBuilder().proto(4).emptyDict().str("w")
      .global("collections", "OrderedDict").mark().stackGlobal("builtins", "eval").mark().str("1+1").tuple().reduce().tuple().reduce()
      .op(0x73).stop().bytes();
    expect(() => readPytorchBin(archive(pkl, {}))).toThrow(/refusing to load builtins\.eval/);
  });

  it("refuses calling an allowed storage class and malformed persistent ids", () => {
    const call = new PickleBuilder().proto(2).global("torch", "FloatStorage").emptyTuple().reduce().stop().bytes();
    expect(() => readPytorchBin(archive(call, {}))).toThrow(/refusing to call/);
    const pid = new PickleBuilder().proto(2).str("evil").persid().stop().bytes();
    expect(() => readPytorchBin(archive(pid, {}))).toThrow(/unsupported persistent id/);
  });

  it("reports truncated and unknown opcodes with the byte offset", () => {
    const good = new PickleBuilder().proto(2).emptyDict().str("a").stop().bytes();
    expect(() => readPytorchBin(archive(good.subarray(0, 6), {}))).toThrow(/archive\/data\.pkl: pickle byte 3: truncated/);
    const unknown = new PickleBuilder().proto(2).op(0xff).bytes();
    expect(() => readPytorchBin(archive(unknown, {}))).toThrow(/pickle byte 2: unknown opcode 0xff/);
  });
});

describe("tensor rebuilding", () => {
  it("makes strided views contiguous, honours offsets and shared storages, inflates deflated entries", () => {
    const pkl = new PickleBuilder().proto(2).emptyDict().mark()
      // [3, 2] transposed view of a 2x3 row-major storage: stride (1, 3).
      .str("t").tensor({ storage: "FloatStorage", key: "0", numel: 6, offset: 0, shape: [3, 2], stride: [1, 3] })
      // The second row of the same storage (shared, offset 3).
      .str("row1").tensor({ storage: "FloatStorage", key: "0", numel: 6, offset: 3, shape: [3], stride: [1] })
      // Every other element: stride 2.
      .str("even").tensor({ storage: "FloatStorage", key: "0", numel: 6, offset: 0, shape: [3], stride: [2] })
      // Broadcast (stride 0) and a bf16 storage.
      .str("bcast").tensor({ storage: "BFloat16Storage", key: "1", numel: 2, offset: 1, shape: [2, 2], stride: [0, 0] })
      .str("ids").tensor({ storage: "LongStorage", key: "2", numel: 2, offset: 0, shape: [2], stride: [1] })
      .str("empty").tensor({ storage: "FloatStorage", key: "0", numel: 6, offset: 0, shape: [0, 3], stride: [3, 1] })
      .setitems().stop().bytes();
    const storages = {
      "0": f32bytes([0, 1, 2, 3, 4, 5]),
      "1": Uint8Array.from([0x80, 0x3f, 0x40, 0xc0]), // bf16 1.0, -3.0
      "2": new Uint8Array(BigInt64Array.from([7n, -1n]).buffer),
    };
    for (const level of [0, 6] as const) {
      const t = readPytorchBin(archive(pkl, storages, level));
      expect(t.get("t")!.shape).toEqual([3, 2]);
      expect(Array.from(toFloat32(t.get("t")!))).toEqual([0, 3, 1, 4, 2, 5]);
      expect(Array.from(toFloat32(t.get("row1")!))).toEqual([3, 4, 5]);
      expect(Array.from(toFloat32(t.get("even")!))).toEqual([0, 2, 4]);
      expect(t.get("bcast")!.dtype).toBe("bf16");
      expect(Array.from(toFloat32(t.get("bcast")!))).toEqual([-3, -3, -3, -3]);
      expect(t.get("ids")!.dtype).toBe("i64");
      expect(Array.from(toFloat32(t.get("ids")!))).toEqual([7, -1]);
      expect(t.get("empty")!.data.length).toBe(0);
    }
  });

  it("refuses a view that reaches past its storage", () => {
    const pkl = new PickleBuilder().proto(2).emptyDict().str("w")
      .tensor({ storage: "FloatStorage", key: "0", numel: 4, offset: 2, shape: [2, 2], stride: [2, 1] }).op(0x73).stop().bytes();
    expect(() => readPytorchBin(archive(pkl, { "0": f32bytes([1, 2, 3, 4]) }))).toThrow(/tensor 'w': view .* reaches element 5 but storage '0' holds 4/);
    const inside = new PickleBuilder().proto(2).emptyDict().str("w")
      .tensor({ storage: "FloatStorage", key: "0", numel: 4, offset: 0, shape: [2, 2], stride: [2, 1] }).op(0x73).stop().bytes();
    expect(() => readPytorchBin(archive(inside, {}))).toThrow(/archive\/data\/0: entry missing from the zip archive/);
  });

  it("reads the legacy (pre-1.6) non-zip format", () => {
    const bytes = legacyCheckpoint();
    const t = readPytorchBin(bytes);
    expect([...t.keys()]).toEqual(["a.weight", "a.bias"]);
    expect(Array.from(toFloat32(t.get("a.weight")!))).toEqual([1, 3, 2, 4]);
    expect(Array.from(toFloat32(t.get("a.bias")!))).toEqual([9, 8]);
    const truncated = bytes.subarray(0, bytes.length - 4);
    expect(() => readPytorchBin(truncated)).toThrow(/storage 140002: 2 elements run past the end/);
  });
});

/** A ZIP64 archive of STORED entries, every size and offset moved to the 64-bit extra fields. */
function zip64(files: Record<string, Uint8Array>): Uint8Array {
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const enc = new TextEncoder();
  const crc = (b: Uint8Array) => crc32(b);
  for (const [name, data] of Object.entries(files)) {
    const n = enc.encode(name);
    const local = new DataView(new ArrayBuffer(30 + n.length + 20));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 45, true);
    local.setUint32(14, crc(data), true);
    local.setUint32(18, 0xffffffff, true);
    local.setUint32(22, 0xffffffff, true);
    local.setUint16(26, n.length, true);
    local.setUint16(28, 20, true);
    new Uint8Array(local.buffer).set(n, 30);
    local.setUint16(30 + n.length, 1, true);
    local.setUint16(32 + n.length, 16, true);
    local.setBigUint64(34 + n.length, BigInt(data.length), true);
    local.setBigUint64(42 + n.length, BigInt(data.length), true);
    const cd = new DataView(new ArrayBuffer(46 + n.length + 28));
    cd.setUint32(0, 0x02014b50, true);
    cd.setUint16(4, 45, true);
    cd.setUint16(6, 45, true);
    cd.setUint32(16, crc(data), true);
    cd.setUint32(20, 0xffffffff, true);
    cd.setUint32(24, 0xffffffff, true);
    cd.setUint16(28, n.length, true);
    cd.setUint16(30, 28, true);
    cd.setUint32(42, 0xffffffff, true);
    new Uint8Array(cd.buffer).set(n, 46);
    cd.setUint16(46 + n.length, 1, true);
    cd.setUint16(48 + n.length, 24, true);
    cd.setBigUint64(50 + n.length, BigInt(data.length), true);
    cd.setBigUint64(58 + n.length, BigInt(data.length), true);
    cd.setBigUint64(66 + n.length, BigInt(offset), true);
    chunks.push(new Uint8Array(local.buffer), data);
    central.push(new Uint8Array(cd.buffer));
    offset += local.byteLength + data.length;
  }
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  const count = BigInt(central.length);
  const rec = new DataView(new ArrayBuffer(56 + 20 + 22));
  rec.setUint32(0, 0x06064b50, true);
  rec.setBigUint64(4, 44n, true);
  rec.setUint16(12, 45, true);
  rec.setUint16(14, 45, true);
  rec.setBigUint64(24, count, true);
  rec.setBigUint64(32, count, true);
  rec.setBigUint64(40, BigInt(cdSize), true);
  rec.setBigUint64(48, BigInt(offset), true);
  rec.setUint32(56, 0x07064b50, true);
  rec.setBigUint64(64, BigInt(offset + cdSize), true);
  rec.setUint32(72, 1, true);
  rec.setUint32(76, 0x06054b50, true);
  rec.setUint16(84, 0xffff, true);
  rec.setUint16(86, 0xffff, true);
  rec.setUint32(88, 0xffffffff, true);
  rec.setUint32(92, 0xffffffff, true);
  return Buffer.concat([...chunks, ...central, new Uint8Array(rec.buffer)]);
}

describe("zip containers", () => {
  it("reads ZIP64 archives (64-bit sizes and offsets in extra fields)", () => {
    const pkl = new PickleBuilder().proto(2).emptyDict().str("w")
      .tensor({ storage: "FloatStorage", key: "0", numel: 3, offset: 0, shape: [3], stride: [1] }).op(0x73).stop().bytes();
    const bytes = zip64({ "big/data.pkl": pkl, "big/byteorder": new TextEncoder().encode("little"), "big/data/0": f32bytes([1.5, 2.5, -3]) });
    const zip = new ZipArchive(bufferSource(bytes, "big.bin"));
    expect([...zip.entries.keys()]).toEqual(["big/data.pkl", "big/byteorder", "big/data/0"]);
    expect(Array.from(toFloat32(readPytorchBin(bytes).get("w")!))).toEqual([1.5, 2.5, -3]);
  });

  it("honours byteorder 'big' by swapping each element", () => {
    const pkl = new PickleBuilder().proto(2).emptyDict().str("w")
      .tensor({ storage: "FloatStorage", key: "0", numel: 2, offset: 0, shape: [2], stride: [1] }).op(0x73).stop().bytes();
    const le = f32bytes([1, -2]);
    const be = new Uint8Array(8);
    for (let i = 0; i < 8; i += 4) for (let k = 0; k < 4; k++) be[i + k] = le[i + 3 - k]!;
    const bytes = zipSync({ "a/data.pkl": pkl, "a/byteorder": new TextEncoder().encode("big"), "a/data/0": be }, { level: 0 });
    expect(Array.from(toFloat32(readPytorchBin(bytes).get("w")!))).toEqual([1, -2]);
  });
});

describe("budgets and shared structure", () => {
  const T = (key: string, numel: number, shape: number[], stride: number[], offset = 0) => ({ storage: "FloatStorage", key, numel, offset, shape, stride });

  it("names a sub-dict shared by two keys under both (memoised, flattened once)", () => {
    const pkl = new PickleBuilder().proto(2).emptyDict().mark()
      .str("a").emptyDict().str("w").tensor(T("0", 2, [2], [1])).op(0x73).op(0x94)
      .str("b").op(0x68, 0).setitems().stop().bytes();
    const t = readPytorchBin(archive(pkl, { "0": f32bytes([1, 2]) }));
    expect([...t.keys()]).toEqual(["a.w", "b.w"]);
    expect(t.get("a.w")).toBe(t.get("b.w"));
  });

  it("lets the caller set the limits", () => {
    const pkl = new PickleBuilder().proto(2).emptyDict().str("w").tensor(T("0", 1, [1024, 1024], [0, 0])).op(0x73).stop().bytes();
    const bytes = archive(pkl, { "0": f32bytes([3]) });
    expect(Array.from(toFloat32(readPytorchBin(bytes).get("w")!)).every((x) => x === 3)).toBe(true);
    expect(() => readPytorchBin(bytes, { maxOutputBytes: 1 << 20 })).toThrow(/need more than 1048576 bytes \(limit maxOutputBytes/);
    const nested = new PickleBuilder().proto(2).emptyDict().str("a").emptyDict().str("b").emptyDict().str("w").tensor(T("0", 1, [1], [1])).op(0x73, 0x73, 0x73).stop().bytes();
    expect([...readPytorchBin(archive(nested, { "0": f32bytes([3]) })).keys()]).toEqual(["a.b.w"]);
    expect(() => readPytorchBin(archive(nested, { "0": f32bytes([3]) }), { maxDepth: 2 })).toThrow(/nested deeper than 2 levels/);
    expect(() => readPytorchBin(bytes, { maxTensors: 0 })).toThrow(/more than 0 tensor names/);
    expect(() => readPytorchBin(bytes, { maxDepth: -1 })).toThrow(/maxDepth: expected a non-negative integer/);
  });

  it("refuses duplicate zip entries and colliding tensor names", () => {
    const pkl = new PickleBuilder().proto(2).emptyDict().str("w").tensor(T("0", 1, [1], [1])).op(0x73).stop().bytes();
    const dup = craftZip([{ name: "archive/data.pkl", data: pkl }, { name: "archive/data.pkl", data: pkl }, { name: "archive/data/0", data: f32bytes([1]) }]);
    expect(() => readPytorchBin(dup)).toThrow(/appears twice in the central directory/);
    const clash = new PickleBuilder().proto(2).emptyDict().mark().str("a.w").tensor(T("0", 1, [1], [1]))
      .str("a").emptyDict().str("w").tensor(T("0", 1, [1], [1])).op(0x73).setitems().stop().bytes();
    expect(() => readPytorchBin(archive(clash, { "0": f32bytes([1]) }))).toThrow(/tensor 'a\.w': two different tensors have this name/);
  });
});
