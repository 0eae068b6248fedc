// Builds pickle bytes opcode by opcode so tests can craft checkpoints (and hostile ones) without Python.
const enc = new TextEncoder();

export class PickleBuilder {
  private parts: number[] = [];

  op(...bytes: number[]): this {
    this.parts.push(...bytes);
    return this;
  }
  raw(b: Uint8Array): this {
    for (const x of b) this.parts.push(x);
    return this;
  }
  proto(n = 2): this { return this.op(0x80, n); }
  mark(): this { return this.op(0x28); }
  tuple(): this { return this.op(0x74); }
  emptyTuple(): this { return this.op(0x29); }
  emptyDict(): this { return this.op(0x7d); }
  emptyList(): this { return this.op(0x5d); }
  setitems(): this { return this.op(0x75); }
  appends(): this { return this.op(0x65); }
  reduce(): this { return this.op(0x52); }
  build(): this { return this.op(0x62); }
  persid(): this { return this.op(0x51); }
  none(): this { return this.op(0x4e); }
  bool(b: boolean): this { return this.op(b ? 0x88 : 0x89); }
  stop(): this { return this.op(0x2e); }
  global(mod: string, name: string): this { return this.op(0x63).raw(enc.encode(`${mod}\n${name}\n`)); }
  stackGlobal(mod: string, name: string): this { return this.str(mod).str(name).op(0x93); }
  str(s: string): this {
    if (/^[\x00-\x7f]*$/.test(s)) {
      // ASCII: its UTF-8 bytes are its char codes (no encoder call: deep hostile pickles use 10^5 of these).
      const n = s.length;
      this.parts.push(0x58, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24);
      for (let i = 0; i < n; i++) this.parts.push(s.charCodeAt(i));
      return this;
    }
    const b = enc.encode(s);
    return this.op(0x58, b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, b.length >>> 24).raw(b);
  }
  int(n: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, n, true);
    return this.op(0x4a).raw(b);
  }
  long(n: bigint): this {
    const bytes: number[] = [];
    let v = n;
    while (v !== 0n && v !== -1n) { bytes.push(Number(v & 0xffn)); v >>= 8n; }
    if (bytes.length === 0 || (bytes[bytes.length - 1]! & 0x80)) bytes.push(0);
    return this.op(0x8a, bytes.length, ...bytes);
  }
  ints(xs: number[]): this {
    this.mark();
    for (const x of xs) this.int(x);
    return this.tuple();
  }
  /** A torch `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())` call. */
  tensor(o: { storage: string; key: string; numel: number; offset: number; shape: number[]; stride: number[]; legacy?: boolean }): this {
    this.global("torch._utils", "_rebuild_tensor_v2").mark();
    this.mark().str("storage").global("torch", o.storage).str(o.key).str("cpu").int(o.numel);
    if (o.legacy) this.none();
    this.tuple().persid();
    this.int(o.offset).ints(o.shape).ints(o.stride).bool(false);
    this.global("collections", "OrderedDict").emptyTuple().reduce();
    return this.tuple().reduce();
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** Little-endian float32 bytes of xs. */
export function f32bytes(xs: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(xs).buffer);
}

/**
 * A checkpoint in the legacy (pre-1.6, non-zip) torch.save format: magic, protocol, sys info, the pickled
 * OrderedDict of two tensors (a.weight [2, 2] stored column-major, a.bias [2]), the storage keys, then each
 * storage as an element count and its raw floats.
 */
export function legacyCheckpoint(): Uint8Array {
  const pb = new PickleBuilder();
  pb.proto(2).long(0x1950a86a20f9469cfc6cn).stop();
  pb.proto(2).int(1001).stop();
  pb.proto(2).emptyDict().mark().str("little_endian").bool(true).setitems().stop();
  pb.proto(2).global("collections", "OrderedDict").emptyTuple().reduce().mark()
    .str("a.weight").tensor({ storage: "FloatStorage", key: "140001", numel: 4, offset: 0, shape: [2, 2], stride: [1, 2], legacy: true })
    .str("a.bias").tensor({ storage: "FloatStorage", key: "140002", numel: 2, offset: 0, shape: [2], stride: [1], legacy: true })
    .setitems().emptyDict().str("_metadata").emptyDict().op(0x73).build().stop();
  pb.proto(2).emptyList().mark().str("140001").str("140002").appends().stop();
  const count = (n: number) => new Uint8Array(BigInt64Array.from([BigInt(n)]).buffer);
  pb.raw(count(4)).raw(f32bytes([1, 2, 3, 4])).raw(count(2)).raw(f32bytes([9, 8]));
  return pb.bytes();
}
