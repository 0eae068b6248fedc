import * as fs from "node:fs";
import { FormatError } from "../errors.js";
import { copyBytes } from "../bytes.js";
import { type StoredDType, storedItemsize } from "../safetensors/dtypes.js";
import type { SafetensorsEntry, TensorMap } from "../safetensors/read.js";
import { PyGlobal, PyTuple, unpickle } from "./pickle.js";
import { type ByteSource, bufferSource, fileSource } from "./source.js";
import { ZipArchive, looksLikeZip } from "./zip.js";

/** Raised for any global outside the tensor-rebuild allow-list: the pickle is never run. */
export class UnsafePickleError extends FormatError {
  constructor(file: string, readonly global: string, where: string) {
    super(file, where, `refusing to load ${global} from ${where}: only tensor-rebuild globals are allowed (${ALLOWED.join(", ")})`);
    this.name = "UnsafePickleError";
  }
}

const STORAGE_DTYPES: Record<string, StoredDType> = {
  FloatStorage: "f32", DoubleStorage: "F64", HalfStorage: "f16", BFloat16Storage: "bf16", LongStorage: "i64",
  IntStorage: "i32", ShortStorage: "I16", CharStorage: "I8", ByteStorage: "u8", BoolStorage: "bool",
};
const CALLABLES = new Set([
  "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor", "torch._utils._rebuild_parameter",
  "torch._utils._rebuild_parameter_with_state", "collections.OrderedDict", "torch.Size",
]);
const ALLOWED = [...CALLABLES, ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`)];

class StorageType {
  constructor(readonly name: string, readonly dtype: StoredDType) {}
}

/** A storage named by a persistent id; its bytes are fetched when a tensor first needs them. */
class Storage {
  bytes: Uint8Array | null = null;
  constructor(readonly key: string, readonly dtype: StoredDType, readonly numel: number) {}
}

/** What `_rebuild_tensor_v2` describes: a strided view of a storage. */
export class TorchTensor {
  constructor(readonly storage: Storage, readonly offset: number, readonly shape: number[], readonly stride: number[]) {}
}

function isInt(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

function intTuple(x: unknown, file: string, what: string): number[] {
  if (!Array.isArray(x) || !x.every(isInt)) throw new FormatError(file, what, `expected a tuple of non-negative integers, got ${String(x)}`);
  return [...x];
}

/** The pickle hooks shared by the zip and legacy formats; `fetch` supplies storage bytes by key. */
function makeHooks(file: string, where: string, storages: Map<string, Storage>, parsePid: (pid: unknown[]) => Storage | { key: string; type: StorageType; numel: number }) {
  return {
    findClass(module: string, name: string): unknown {
      const full = `${module}.${name}`;
      if (module === "torch" && Object.hasOwn(STORAGE_DTYPES, name)) return new StorageType(name, STORAGE_DTYPES[name]!);
      if (CALLABLES.has(full)) return new PyGlobal(module, name);
      throw new UnsafePickleError(file, full, where);
    },
    reduce(fn: unknown, args: unknown[]): unknown {
      if (!(fn instanceof PyGlobal)) throw new FormatError(file, where, `refusing to call ${String(fn)}: only tensor-rebuild globals can be called`);
      switch (fn.toString()) {
        case "torch._utils._rebuild_tensor_v2":
        case "torch._utils._rebuild_tensor": {
          const [storage, offset, size, stride] = args;
          if (!(storage instanceof Storage)) throw new FormatError(file, where, `${fn} expects a storage as first argument`);
          if (!isInt(offset)) throw new FormatError(file, where, `${fn}: storage offset must be a non-negative integer`);
          const shape = intTuple(size, file, `${where}: tensor size`);
          const strides = intTuple(stride, file, `${where}: tensor stride`);
          if (shape.length !== strides.length) throw new FormatError(file, where, `tensor size [${shape}] and stride [${strides}] differ in length`);
          return new TorchTensor(storage, offset, shape, strides);
        }
        case "torch._utils._rebuild_parameter":
        case "torch._utils._rebuild_parameter_with_state":
          if (!(args[0] instanceof TorchTensor)) throw new FormatError(file, where, `${fn} expects a tensor`);
          return args[0];
        case "collections.OrderedDict": {
          const m = new Map<unknown, unknown>();
          if (Array.isArray(args[0])) for (const kv of args[0]) if (Array.isArray(kv) && kv.length === 2) m.set(kv[0], kv[1]);
          return m;
        }
        case "torch.Size":
          return args[0] instanceof PyTuple ? args[0] : new PyTuple();
        default:
          throw new FormatError(file, where, `refusing to call ${fn}`);
      }
    },
    build(obj: unknown, _state: unknown): unknown {
      // state_dict() OrderedDicts carry a `_metadata` attribute (module versions); tensors may carry
      // a dict of Python attributes. Neither changes the weights, so the state is dropped.
      if (obj instanceof Map || obj instanceof TorchTensor) return obj;
      throw new FormatError(file, where, "BUILD on an object that is neither a dict nor a tensor");
    },
    persistentLoad(pid: unknown): unknown {
      if (!(pid instanceof PyTuple) || pid[0] !== "storage") throw new FormatError(file, where, `unsupported persistent id ${String(pid)} (expected ('storage', ...))`);
      const parsed = parsePid(pid);
      if (parsed instanceof Storage) return parsed;
      const { key, type, numel } = parsed;
      let s = storages.get(key);
      if (!s) {
        s = new Storage(key, type.dtype, numel);
        storages.set(key, s);
      } else if (s.dtype !== type.dtype) {
        // The same bytes viewed as another dtype: keep a separate typed handle over the same key.
        const alias = new Storage(key, type.dtype, numel);
        return alias;
      }
      return s;
    },
  };
}

function pidStorageType(x: unknown, file: string, where: string): StorageType {
  if (!(x instanceof StorageType)) throw new FormatError(file, where, `persistent id names ${String(x)} where a torch.*Storage type was expected`);
  return x;
}

function swapBytes(b: Uint8Array, size: number): Uint8Array {
  if (size === 1) return b;
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i += size) for (let k = 0; k < size; k++) out[i + k] = b[i + size - 1 - k]!;
  return out;
}

/** Copies a strided view out of its storage into contiguous row-major bytes. */
function materialize(t: TorchTensor, file: string, name: string): SafetensorsEntry {
  const { storage, offset, shape, stride } = t;
  const isz = storedItemsize(storage.dtype);
  const bytes = storage.bytes!;
  const numel = shape.reduce((a, b) => a * b, 1);
  const field = `tensor '${name}'`;
  if (numel === 0) return { dtype: storage.dtype, shape, data: new Uint8Array(0) };
  const last = offset + shape.reduce((acc, d, i) => acc + (d - 1) * stride[i]!, 0);
  if ((last + 1) * isz > bytes.length) {
    throw new FormatError(file, field, `view (offset ${offset}, size [${shape}], stride [${stride}]) reaches element ${last} but storage '${storage.key}' holds ${bytes.length / isz}`);
  }
  let contiguous = true;
  for (let i = shape.length - 1, expect = 1; i >= 0; i--) {
    if (shape[i]! !== 1 && stride[i] !== expect) contiguous = false;
    expect *= shape[i]!;
  }
  if (contiguous) return { dtype: storage.dtype, shape, data: copyBytes(bytes, offset * isz, (offset + numel) * isz) };
  const out = new Uint8Array(numel * isz);
  const idx = new Array<number>(shape.length).fill(0);
  let src = offset;
  for (let n = 0; n < numel; n++) {
    out.set(bytes.subarray(src * isz, (src + 1) * isz), n * isz);
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d]!++;
      src += stride[d]!;
      if (idx[d]! < shape[d]!) break;
      src -= stride[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return { dtype: storage.dtype, shape, data: out };
}

/** Walks the unpickled object and collects tensors, nested dict keys joined with "." */
function collect(value: unknown, file: string): TensorMap {
  const out: TensorMap = new Map();
  const done = new Map<TorchTensor, SafetensorsEntry>();
  const walk = (v: unknown, prefix: string) => {
    if (v instanceof TorchTensor) {
      let e = done.get(v);
      if (!e) done.set(v, (e = materialize(v, file, prefix)));
      out.set(prefix, e);
    } else if (v instanceof Map) {
      for (const [k, x] of v) walk(x, prefix ? `${prefix}.${String(k)}` : String(k));
    }
  };
  if (value instanceof TorchTensor) walk(value, "tensor");
  else if (value instanceof Map) walk(value, "");
  else throw new FormatError(file, "data.pkl", "the checkpoint holds no dict of tensors");
  if (out.size === 0) throw new FormatError(file, "data.pkl", "the checkpoint holds no tensors");
  return out;
}

function readZip(src: ByteSource): TensorMap {
  const file = src.name;
  const zip = new ZipArchive(src);
  const pklName = [...zip.entries.keys()].find((n) => n === "data.pkl" || /^[^/]+\/data\.pkl$/.test(n));
  if (!pklName) throw new FormatError(file, "data.pkl", "zip archive has no <name>/data.pkl: not a torch.save checkpoint");
  const prefix = pklName.slice(0, -"data.pkl".length);
  const byteorderEntry = zip.entries.has(`${prefix}byteorder`) ? new TextDecoder().decode(zip.read(`${prefix}byteorder`)).trim() : "little";
  if (byteorderEntry !== "little" && byteorderEntry !== "big") throw new FormatError(file, `${prefix}byteorder`, `expected 'little' or 'big', got '${byteorderEntry}'`);
  const storages = new Map<string, Storage>();
  const where = pklName;
  const hooks = makeHooks(file, where, storages, (pid) => {
    const [, type, key, , numel] = pid;
    if (typeof key !== "string" || !isInt(numel)) throw new FormatError(file, where, "storage persistent id must be ('storage', type, key: str, location, numel: int)");
    return { key, type: pidStorageType(type, file, where), numel };
  });
  const value = unpickle(zip.read(pklName), hooks, `${file}: ${pklName}`).value;
  const loaded = new Map<string, Uint8Array>();
  for (const s of allStorages(value)) {
    let b = loaded.get(s.key);
    if (!b) {
      const entry = `${prefix}data/${s.key}`;
      b = zip.read(entry);
      if (byteorderEntry === "big") b = swapBytes(b, storedItemsize(s.dtype));
      loaded.set(s.key, b);
    }
    if (b.length < s.numel * storedItemsize(s.dtype)) {
      throw new FormatError(file, `${prefix}data/${s.key}`, `storage holds ${b.length} bytes, fewer than ${s.numel} ${s.dtype} elements`);
    }
    s.bytes = b;
  }
  return collect(value, file);
}

/** Every storage a tensor of the object tree refers to (aliases included). */
function allStorages(value: unknown): Set<Storage> {
  const out = new Set<Storage>();
  const seen = new Set<unknown>();
  const walk = (v: unknown) => {
    if (v === null || typeof v !== "object" || seen.has(v)) return;
    seen.add(v);
    if (v instanceof TorchTensor) out.add(v.storage);
    else if (v instanceof Map) for (const x of v.values()) walk(x);
    else if (Array.isArray(v)) for (const x of v) walk(x);
  };
  walk(value);
  return out;
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/**
 * The pre-1.6 format: pickles of the magic number, protocol version and system info, then the
 * object (storages as persistent ids), the sorted storage keys, and each storage as an int64
 * element count followed by its raw bytes.
 */
function readLegacy(src: ByteSource): TensorMap {
  const file = src.name;
  const data = src.read(0, src.size);
  const none = {
    findClass(module: string, name: string): never { throw new UnsafePickleError(file, `${module}.${name}`, "legacy header"); },
    reduce(): never { throw new FormatError(file, "legacy header", "unexpected call"); },
    build(): never { throw new FormatError(file, "legacy header", "unexpected BUILD"); },
    persistentLoad(): never { throw new FormatError(file, "legacy header", "unexpected persistent id"); },
  };
  let pos = 0;
  const next = (hooks: Parameters<typeof unpickle>[1], what: string) => {
    try {
      const r = unpickle(data, hooks, `${file}: ${what}`, pos);
      pos = r.end;
      return r.value;
    } catch (e) {
      if (e instanceof FormatError) throw e;
      throw new FormatError(file, what, (e as Error).message);
    }
  };
  let magic: unknown;
  try {
    magic = next(none, "magic number");
  } catch {
    throw new FormatError(file, "format", "not a PyTorch checkpoint: neither a zip archive (torch.save since 1.6) nor the legacy pickle format");
  }
  if (magic !== LEGACY_MAGIC) throw new FormatError(file, "format", "not a PyTorch checkpoint: neither a zip archive (torch.save since 1.6) nor the legacy pickle format");
  const version = next(none, "protocol version");
  if (version !== 1001) throw new FormatError(file, "protocol version", `expected 1001, got ${String(version)}`);
  const sysInfo = next(none, "sys info");
  if (sysInfo instanceof Map && sysInfo.get("little_endian") === false) throw new FormatError(file, "sys info", "big-endian legacy checkpoints are not supported");
  const storages = new Map<string, Storage>();
  const views: Array<{ storage: Storage; root: string; offset: number }> = [];
  const hooks = makeHooks(file, "legacy pickle", storages, (pid) => {
    const [, type, key, , numel, view] = pid;
    if (typeof key !== "string" || !isInt(numel)) throw new FormatError(file, "legacy pickle", "storage persistent id must be ('storage', type, key, location, numel, view)");
    const st = pidStorageType(type, file, "legacy pickle");
    if (view instanceof PyTuple) {
      // (view key, offset, size): a slice of the root storage `key`.
      const [viewKey, offset, size] = view;
      if (typeof viewKey !== "string" || !isInt(offset) || !isInt(size)) throw new FormatError(file, "legacy pickle", "bad storage view metadata");
      const s = new Storage(`${key}[${viewKey}]`, st.dtype, size);
      views.push({ storage: s, root: key, offset });
      if (!storages.has(key)) storages.set(key, new Storage(key, st.dtype, numel));
      return s;
    }
    return { key, type: st, numel };
  });
  const value = next(hooks, "legacy pickle");
  const keys = next(none, "storage keys");
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) throw new FormatError(file, "storage keys", "expected a list of storage keys");
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (const key of keys as string[]) {
    const s = storages.get(key);
    if (!s) throw new FormatError(file, `storage ${key}`, "listed but never referenced");
    if (pos + 8 > data.length) throw new FormatError(file, `storage ${key}`, "truncated before the element count");
    const n = Number(dv.getBigInt64(pos, true));
    const nbytes = n * storedItemsize(s.dtype);
    pos += 8;
    if (n < 0 || pos + nbytes > data.length) throw new FormatError(file, `storage ${key}`, `${n} elements run past the end of the ${data.length}-byte file (truncated?)`);
    s.bytes = data.subarray(pos, pos + nbytes);
    pos += nbytes;
  }
  for (const v of views) {
    const root = storages.get(v.root)!;
    const isz = storedItemsize(v.storage.dtype);
    v.storage.bytes = root.bytes!.subarray(v.offset, v.offset + v.storage.numel * isz);
  }
  for (const s of allStorages(value)) if (!s.bytes && storages.get(s.key)?.bytes) s.bytes = storages.get(s.key)!.bytes;
  for (const s of allStorages(value)) if (!s.bytes) throw new FormatError(file, `storage ${s.key}`, "referenced but its data is missing");
  return collect(value, file);
}

/**
 * Reads the tensors of a PyTorch checkpoint (`pytorch_model.bin`, torch.save output) without
 * running its pickle: zip archives (torch >= 1.6) and the legacy format. Nested dicts are
 * flattened with "." between keys; non-contiguous views come back contiguous; tied tensors
 * appear under each of their names.
 */
export function readPytorchBin(source: string | Uint8Array): TensorMap {
  let src: ByteSource;
  if (typeof source === "string") {
    try {
      src = fileSource(source);
    } catch (e) {
      throw new FormatError(source, "file", `cannot open: ${(e as Error).message}`);
    }
  } else src = bufferSource(source);
  try {
    if (src.size < 4) throw new FormatError(src.name, "format", `file is only ${src.size} bytes: not a PyTorch checkpoint`);
    return looksLikeZip(src.read(0, 4)) ? readZip(src) : readLegacy(src);
  } finally {
    src.close();
  }
}

/** Whether a file looks like a torch.save zip archive (cheap check on the first bytes). */
export function isTorchZip(path: string): boolean {
  const fd = fs.openSync(path, "r");
  try {
    const b = new Uint8Array(4);
    fs.readSync(fd, b, 0, 4, 0);
    return looksLikeZip(b);
  } finally {
    fs.closeSync(fd);
  }
}
