// Hostile weight files, built byte by byte (never downloaded): the corpus the readers are tested
// against in CI, through the API and through the CLI. Each case is a few bytes to ~1 MB and names what
// a correct reader must do: refuse it with a message matching `refuse`, or load it intact.
import { crc32 } from "../torch/crc32.js";
import { PickleBuilder, f32bytes } from "../torch/pickle-writer.test-util.js";

export interface HostileCase {
  /** Short name (also a file-name stem). */
  name: string;
  /** What the case attacks. */
  what: string;
  /** "bin" (torch.save zip or legacy file) or "safetensors". */
  kind: "bin" | "safetensors";
  bytes: Uint8Array;
  /** The refusal's message must match this; absent: the file must load. */
  refuse?: RegExp;
}

const enc = new TextEncoder();

interface ZipItem {
  name: string;
  data: Uint8Array;
  /** Central-directory size to declare instead of data.length (a lie). */
  declaredSize?: number;
  /** 8: declare the entry deflated. */
  method?: 0 | 8;
  /** Point this central entry at the local header of the named entry (overlap) instead of its own. */
  sameAs?: string;
}

/** A zip archive of the given entries, written by hand so the central directory can lie. */
export function craftZip(items: ZipItem[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  const offsets = new Map<string, number>();
  let offset = 0;
  for (const it of items) {
    if (it.sameAs) continue;
    const n = enc.encode(it.name);
    const local = new DataView(new ArrayBuffer(30 + n.length));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 20, true);
    local.setUint16(8, it.method ?? 0, true);
    local.setUint32(14, crc32(it.data), true);
    local.setUint32(18, it.data.length, true);
    local.setUint32(22, it.declaredSize ?? it.data.length, true);
    local.setUint16(26, n.length, true);
    new Uint8Array(local.buffer).set(n, 30);
    offsets.set(it.name, offset);
    chunks.push(new Uint8Array(local.buffer), it.data);
    offset += local.byteLength + it.data.length;
  }
  for (const it of items) {
    const n = enc.encode(it.name);
    const src = it.sameAs ? items.find((x) => x.name === it.sameAs)! : it;
    const cd = new DataView(new ArrayBuffer(46 + n.length));
    cd.setUint32(0, 0x02014b50, true);
    cd.setUint16(4, 20, true);
    cd.setUint16(6, 20, true);
    cd.setUint16(10, src.method ?? 0, true);
    cd.setUint32(16, crc32(src.data), true);
    cd.setUint32(20, src.data.length, true);
    cd.setUint32(24, src.declaredSize ?? src.data.length, true);
    cd.setUint16(28, n.length, true);
    cd.setUint32(42, offsets.get(src.name)!, true);
    new Uint8Array(cd.buffer).set(n, 46);
    central.push(new Uint8Array(cd.buffer));
  }
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  const eocd = new DataView(new ArrayBuffer(22));
  eocd.setUint32(0, 0x06054b50, true);
  eocd.setUint16(8, central.length, true);
  eocd.setUint16(10, central.length, true);
  eocd.setUint32(12, cdSize, true);
  eocd.setUint32(16, offset, true);
  const out = new Uint8Array(offset + cdSize + 22);
  let p = 0;
  for (const c of [...chunks, ...central, new Uint8Array(eocd.buffer)]) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

/** A torch.save-style archive: `archive/data.pkl`, byteorder, and the storages `archive/data/<key>`. */
export function torchArchive(pkl: Uint8Array, storages: Record<string, Uint8Array> = {}): Uint8Array {
  return craftZip([
    { name: "archive/data.pkl", data: pkl },
    { name: "archive/byteorder", data: enc.encode("little") },
    ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data })),
  ]);
}

const T = (key: string, numel: number, shape: number[], stride: number[], offset = 0) =>
  ({ storage: "FloatStorage", key, numel, offset, shape, stride });

/** {"w": tensor} memoised as 0, then `depth` dicts each holding the previous one twice: 2^depth paths. */
export function sharedDicts(depth: number): Uint8Array {
  const pb = new PickleBuilder().proto(2).emptyDict().str("w").tensor(T("0", 2, [2], [1])).op(0x73).op(0x94);
  for (let i = 0; i < depth; i++) pb.emptyDict().mark().str("a").op(0x6a).raw(u32(i)).str("b").op(0x6a).raw(u32(i)).setitems().op(0x94);
  return pb.stop().bytes();
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** `levels` dicts nested one in the next ({"k": {"k": ... {"w": tensor}}}), built without recursion. */
export function deepDicts(levels: number): Uint8Array {
  const pb = new PickleBuilder().proto(2);
  for (let i = 0; i < levels; i++) pb.emptyDict().str("k");
  pb.emptyDict().str("w").tensor(T("0", 2, [2], [1])).op(0x73);
  for (let i = 0; i < levels; i++) pb.op(0x73);
  return pb.stop().bytes();
}

/** A list holding the previous list twice, `depth` times: printing it with String() never ends. */
function sharedList(pb: PickleBuilder, depth: number): PickleBuilder {
  pb.emptyList().op(0x94);
  for (let i = 0; i < depth; i++) pb.op(0x30).emptyList().mark().op(0x6a).raw(u32(i)).op(0x6a).raw(u32(i)).appends().op(0x94);
  return pb;
}

/** A legacy (pre-1.6) checkpoint whose tensor reads a view at element offset 2 of its root storage. */
export function legacyViewCheckpoint(): Uint8Array {
  const pb = new PickleBuilder();
  pb.proto(2).long(0x1950a86a20f9469cfc6cn).stop();
  pb.proto(2).int(1001).stop();
  pb.proto(2).emptyDict().mark().str("little_endian").bool(true).setitems().stop();
  pb.proto(2).emptyDict().str("v");
  // _rebuild_tensor_v2(storage view (key "9", offset 2, size 3) of root "7" (6 floats), 0, (3,), (1,))
  pb.global("torch._utils", "_rebuild_tensor_v2").mark();
  pb.mark().str("storage").global("torch", "FloatStorage").str("7").str("cpu").int(6).mark().str("9").int(2).int(3).tuple().tuple().persid();
  pb.int(0).ints([3]).ints([1]).bool(false).global("collections", "OrderedDict").emptyTuple().reduce().tuple().reduce();
  pb.op(0x73).stop();
  pb.proto(2).emptyList().mark().str("7").appends().stop();
  pb.raw(new Uint8Array(BigInt64Array.from([6n]).buffer)).raw(f32bytes([10, 11, 12, 13, 14, 15]));
  return pb.bytes();
}

/** The hostile .bin cases (each is refused) and the unusual-but-valid ones (each loads intact). */
export function hostileBins(): HostileCase[] {
  const cases: HostileCase[] = [];
  const add = (name: string, what: string, bytes: Uint8Array, refuse?: RegExp) => cases.push({ name, what, kind: "bin", bytes, refuse });
  add("shared-dicts", "dicts sharing sub-dicts 40 levels deep (2^40 paths)",
    torchArchive(sharedDicts(40), { "0": f32bytes([1, 2]) }), /more than \d+ tensor names/);
  add("self-dict", "a dict containing itself",
    torchArchive(new PickleBuilder().proto(2).emptyDict().op(0x94).str("self").op(0x68, 0).op(0x73).str("w").tensor(T("0", 2, [2], [1])).op(0x73).stop().bytes(), { "0": f32bytes([1, 2]) }),
    /a dict contains itself/);
  add("deep-dicts", "200,000 levels of nested dicts",
    torchArchive(deepDicts(200_000), { "0": f32bytes([1, 2]) }), /nested deeper than 1000 levels/);
  const stride0 = new PickleBuilder().proto(2).emptyDict().mark();
  for (let i = 0; i < 64; i++) stride0.str(`w${i}`).tensor(T("0", 1, [16384, 16384], [0, 0]));
  add("stride0", "64 stride-0 views of one float, 1 GiB each",
    torchArchive(stride0.setitems().stop().bytes(), { "0": f32bytes([1]) }), /need more than \d+ bytes/);
  const overlap = new PickleBuilder().proto(2).emptyDict().mark();
  for (let i = 0; i < 64; i++) overlap.str(`w${i}`).tensor(T(String(i), 16384, [16384], [1]));
  const pkl = overlap.setitems().stop().bytes();
  add("overlapping-entries", "64 zip entries sharing one 64 KiB data region",
    craftZip([{ name: "archive/data.pkl", data: pkl }, { name: "archive/data/0", data: new Uint8Array(65536) },
      ...Array.from({ length: 63 }, (_, i) => ({ name: `archive/data/${i + 1}`, data: new Uint8Array(0), sameAs: "archive/data/0" }))]),
    /overlaps/);
  add("storage-bomb", "a 1 GiB storage declared by a 1 MiB file (deflated entry)",
    craftZip([{ name: "archive/data.pkl", data: new PickleBuilder().proto(2).emptyDict().str("w").tensor(T("0", 2 ** 28, [2 ** 28], [1])).op(0x73).stop().bytes() },
      { name: "archive/data/0", data: new Uint8Array(1_100_000), method: 8, declaredSize: 2 ** 30 }]),
    /need more than \d+ bytes/);
  add("inflate-lie", "a deflated data.pkl of 1 KiB claiming 1 GiB",
    craftZip([{ name: "archive/data.pkl", data: new Uint8Array(1024), method: 8, declaredSize: 2 ** 30 }]), /more than deflate can produce/);
  add("shared-list-message", "a persistent id holding a list shared 40 levels deep (String() of it is 2^40 long)",
    torchArchive(sharedList(new PickleBuilder().proto(2).mark().str("storage"), 40).str("0").str("cpu").int(1).tuple().persid().stop().bytes()),
    /persistent id names list of 2 items/);
  add("view-past-storage", "a view reaching past its declared storage",
    torchArchive(new PickleBuilder().proto(2).emptyDict().str("w").tensor(T("0", 4, [2, 2], [2, 1], 2)).op(0x73).stop().bytes(), { "0": f32bytes([1, 2, 3, 4]) }),
    /reaches element 5 but storage '0' holds 4/);
  add("shape-overflow", "a view whose element count overflows",
    torchArchive(new PickleBuilder().proto(2).emptyDict().str("w").tensor(T("0", 1, [2 ** 20, 2 ** 20, 2 ** 20], [0, 0, 0])).op(0x73).stop().bytes(), { "0": f32bytes([1]) }),
    /element count overflows/);
  const legacy = legacyViewCheckpoint();
  const lie = legacy.slice();
  new DataView(lie.buffer).setBigInt64(lie.length - 24 - 8, 2n, true); // the root storage now claims 2 elements
  add("legacy-short-storage", "a legacy storage holding fewer elements than its views need", lie, /holds 2 elements but the pickle declares 6/);
  // Valid but unusual: must load with their content intact.
  add("legacy-view-offset", "a legacy view at a nonzero element offset (loads: [12, 13, 14])", legacy);
  const many = new PickleBuilder().proto(2).emptyDict().mark();
  for (let i = 0; i < 20_000; i++) many.str(`k${i}`).int(i);
  many.str("__proto__").tensor(T("0", 2, [2], [1])).str("constructor").tensor(T("0", 2, [1], [1], 1));
  add("many-keys", "a 20,000-key dict with __proto__ and constructor keys (loads)", torchArchive(many.setitems().stop().bytes(), { "0": f32bytes([5, 6]) }));
  return cases;
}

/** A safetensors file from its header text and data bytes. */
export function safetensorsFile(header: string | Uint8Array, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = typeof header === "string" ? enc.encode(header) : header;
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** The hostile safetensors cases (each is refused) and the unusual-but-valid ones (each loads intact). */
export function hostileSafetensors(): HostileCase[] {
  const cases: HostileCase[] = [];
  const add = (name: string, what: string, bytes: Uint8Array, refuse?: RegExp) => cases.push({ name, what, kind: "safetensors", bytes, refuse });
  const w = '"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}';
  add("deep-header", "a header nested 200,000 levels deep", safetensorsFile(`{"x":${"[".repeat(200_000)}${"]".repeat(200_000)},${w}}`, f32bytes([1, 2])), /nested deeper than 128 levels/);
  add("shape-overflow", "shape [2^32, 2^32, 0, 2^32] (its product overflows before the 0)",
    safetensorsFile(`{"w":{"dtype":"F32","shape":[4294967296,4294967296,0,4294967296],"data_offsets":[0,0]}}`), /element count of .* overflows/);
  add("bom", "a header starting with a UTF-8 byte-order mark", safetensorsFile(Uint8Array.from([0xef, 0xbb, 0xbf, ...enc.encode(`{${w}}`)]), f32bytes([1, 2])), /byte-order mark/);
  add("lone-surrogate", "a tensor name holding a lone surrogate", safetensorsFile(`{"w\\ud800":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32bytes([1, 2])), /lone UTF-16 surrogate/);
  add("duplicate-name", "one tensor name twice", safetensorsFile(`{${w},${w}}`, f32bytes([1, 2])), /appears twice/);
  add("huge-message", "a 200,000-entry shape (a naive error message would be 400 kB)",
    safetensorsFile(`{"w":{"dtype":"F32","shape":[${new Array(200_000).fill(1).join(",")}],"data_offsets":[0,8]}}`, new Uint8Array(8)),
    /holds 8 bytes but shape list of 200000 items of F32 needs 4/);
  add("size-lie", "a header declaring more bytes than the file holds", (() => {
    const f = safetensorsFile(`{${w}}`, f32bytes([1, 2]));
    new DataView(f.buffer).setBigUint64(0, 2n ** 40n, true);
    return f;
  })(), /header length \d+ exceeds/);
  add("proto-name", "tensors named __proto__ and constructor (loads)",
    safetensorsFile('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"constructor":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32bytes([7, 8])));
  return cases;
}
