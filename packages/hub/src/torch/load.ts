import * as fs from "node:fs";
import { FormatError } from "../errors.js";
import { copyBytes } from "../bytes.js";
import { type StoredDType, storedItemsize } from "../safetensors/dtypes.js";
import type { SafetensorsEntry, TensorMap } from "../safetensors/read.js";
import { PyGlobal, PyTuple, unpickle } from "./pickle.js";
import { type ByteSource, bufferSource, fileSource } from "./source.js";
import { ZipArchive, looksLikeZip } from "./zip.js";
import { describeValue, shown } from "../text.js";

/**
 * Budgets of the .bin reader: a checkpoint is written by a stranger, so what it may cost is bounded
 * before anything is allocated. Every limit has a default that real checkpoints stay far below.
 */
export interface TorchReadOptions {
  /**
   * Most bytes of tensor data the reader may produce, all tensors together (strided, stride-0 and
   * overlapping views are copied out contiguous; compressed entries count as inflated). Default: twice
   * the file size plus 64 MiB.
   */
  maxOutputBytes?: number;
  /** Deepest nesting of dicts walked for tensors. Default 1000. */
  maxDepth?: number;
  /**
   * Most tensor names produced: a dict reachable along several paths yields a name per path, so
   * shared sub-dicts cannot multiply into 2^40 names. Default 100,000 (large models have a few thousand).
   */
  maxTensors?: number;
}

const DEFAULT_MAX_DEPTH = 1000;
const DEFAULT_MAX_TENSORS = 100_000;
/** Longest tensor name built by joining nested keys. */
const MAX_NAME_CHARS = 1 << 16;

interface Limits {
  maxOutputBytes: number;
  maxDepth: number;
  maxTensors: number;
}

function limitsFor(o: TorchReadOptions, fileSize: number): Limits {
  const pos = (v: number | undefined, name: string, def: number) => {
    if (v === undefined) return def;
    if (!(typeof v === "number" && v >= 0 && (Number.isSafeInteger(v) || v === Infinity))) throw new TypeError(`readPytorchBin: ${name}: expected a non-negative integer, got ${String(v)}`);
    return v;
  };
  return {
    maxOutputBytes: pos(o.maxOutputBytes, "maxOutputBytes", 2 * fileSize + 64 * 2 ** 20),
    maxDepth: pos(o.maxDepth, "maxDepth", DEFAULT_MAX_DEPTH),
    maxTensors: pos(o.maxTensors, "maxTensors", DEFAULT_MAX_TENSORS),
  };
}

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
/** torch dtype objects of tensors this reader cannot hold (pickled by `_rebuild_tensor_v3`). */
const UNSUPPORTED_TORCH_DTYPES = /^(uint(16|32|64)|float8_\w+|float4_\w+|complex(32|64|128)|cfloat|cdouble|chalf|bits\w+|quint\w+|qint\w+)$/;
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
  if (!Array.isArray(x) || x.length > 64 || !x.every(isInt)) throw new FormatError(file, what, `expected a tuple of at most 64 non-negative integers, got ${describeValue(x)}`);
  return [...x];
}

/** The pickle hooks shared by the zip and legacy formats; `fetch` supplies storage bytes by key. */
function makeHooks(file: string, where: string, storages: Map<string, Storage>, parsePid: (pid: unknown[]) => Storage | { key: string; type: StorageType; numel: number }) {
  return {
    findClass(module: string, name: string): unknown {
      const full = `${module}.${name}`;
      if (module === "torch" && Object.hasOwn(STORAGE_DTYPES, name)) return new StorageType(name, STORAGE_DTYPES[name]!);
      if (CALLABLES.has(full)) return new PyGlobal(module, name);
      if (module === "torch" && /^\w+Storage$/.test(name)) {
        throw new FormatError(file, where, `unsupported dtype: ${full} (complex, float8, unsigned 16/32/64-bit, …); expected one of ${Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`).join(", ")}`);
      }
      if (full === "torch._utils._rebuild_tensor_v3" || (module === "torch" && UNSUPPORTED_TORCH_DTYPES.test(name))) {
        throw new FormatError(file, where, `unsupported dtype: ${full} (torch writes it for dtypes such as uint16, uint32 and float8, which this reader does not load); expected tensors of ${Object.values(STORAGE_DTYPES).join(", ")}`);
      }
      throw new UnsafePickleError(file, full, where);
    },
    reduce(fn: unknown, args: unknown[]): unknown {
      if (!(fn instanceof PyGlobal)) throw new FormatError(file, where, `refusing to call ${describeValue(fn)}: only tensor-rebuild globals can be called`);
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
      if (!(pid instanceof PyTuple) || pid[0] !== "storage") throw new FormatError(file, where, `unsupported persistent id ${describeValue(pid)} (expected ('storage', ...))`);
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
  if (!(x instanceof StorageType)) throw new FormatError(file, where, `persistent id names ${describeValue(x)} where a torch.*Storage type was expected`);
  return x;
}

function swapBytes(b: Uint8Array, size: number): Uint8Array {
  if (size === 1) return b;
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i += size) for (let k = 0; k < size; k++) out[i + k] = b[i + size - 1 - k]!;
  return out;
}

/** Element count of a shape, or null when it exceeds 2^53 (checked at every step, like the reference's checked_mul). */
function elementCount(shape: number[]): number | null {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return null;
  }
  return n;
}

/** What a view needs from its storage: its element count and the last storage element it reads. */
interface ViewPlan {
  numel: number;
  /** Index of the last storage element read (-1 for an empty view). */
  last: number;
}

/**
 * Checks a view against its storage's declared size before anything is read or allocated: the element
 * count and the farthest element must be representable, and the farthest element inside the storage.
 */
function planView(t: TorchTensor, file: string, name: string): ViewPlan {
  const { storage, offset, shape, stride } = t;
  const field = `tensor '${name}'`;
  const desc = () => `view (offset ${offset}, size [${shape.join(", ")}], stride [${stride.join(", ")}])`;
  const numel = elementCount(shape);
  if (numel === null) throw new FormatError(file, field, `${desc()}: the element count overflows`);
  if (numel === 0) return { numel, last: -1 };
  let last = offset;
  for (let i = 0; i < shape.length; i++) {
    last += (shape[i]! - 1) * stride[i]!;
    if (!Number.isSafeInteger(last)) throw new FormatError(file, field, `${desc()} reaches past any storage`);
  }
  if (last >= storage.numel) {
    throw new FormatError(file, field, `${desc()} reaches element ${last} but storage '${shown(storage.key, 60)}' holds ${storage.numel}`);
  }
  return { numel, last };
}

/** Copies a strided view (checked by planView) out of its storage into contiguous row-major bytes. */
function materialize(t: TorchTensor, plan: ViewPlan, file: string, name: string): SafetensorsEntry {
  const { storage, offset, shape, stride } = t;
  const isz = storedItemsize(storage.dtype);
  const bytes = storage.bytes!;
  const { numel, last } = plan;
  if (numel === 0) return { dtype: storage.dtype, shape, data: new Uint8Array(0) };
  if ((last + 1) * isz > bytes.length) {
    throw new FormatError(file, `tensor '${name}'`, `reaches element ${last} but storage '${shown(storage.key, 60)}' holds ${Math.floor(bytes.length / isz)}`);
  }
  let contiguous = true;
  for (let i = shape.length - 1, expect = 1; i >= 0; i--) {
    if (shape[i]! !== 1 && stride[i] !== expect) contiguous = false;
    expect *= shape[i]!;
  }
  if (contiguous) return { dtype: storage.dtype, shape, data: copyBytes(bytes, offset * isz, (offset + numel) * isz) };
  const out = new Uint8Array(numel * isz);
  // Walk the outer dimensions; copy each innermost row as one block when it is contiguous, else
  // element by element (byte loops: no allocation per element, so a 64 MiB stride-0 view stays fast).
  const nd = shape.length;
  const rowLen = shape[nd - 1]!;
  const rowStride = stride[nd - 1]!;
  const rows = numel / rowLen;
  const idx = new Array<number>(nd).fill(0);
  let src = offset;
  let dst = 0;
  for (let r = 0; r < rows; r++) {
    if (rowStride === 1) {
      out.set(bytes.subarray(src * isz, (src + rowLen) * isz), dst);
      dst += rowLen * isz;
    } else if (rowStride === 0) {
      // One element repeated (expand/broadcast): write it once, then double the filled span.
      const start = dst;
      out.set(bytes.subarray(src * isz, (src + 1) * isz), dst);
      const end = start + rowLen * isz;
      for (let filled = isz; filled < rowLen * isz; filled *= 2) out.copyWithin(start + filled, start, Math.min(start + filled, end - filled));
      dst = end;
    } else {
      for (let j = 0, e = src * isz; j < rowLen; j++, e += rowStride * isz) for (let k = 0; k < isz; k++) out[dst++] = bytes[e + k]!;
    }
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]!++;
      src += stride[d]!;
      if (idx[d]! < shape[d]!) break;
      src -= stride[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return { dtype: storage.dtype, shape, data: out };
}

/** A dict key as it appears in a tensor name (only scalar keys can name tensors). */
function keyName(k: unknown, file: string): string {
  if (typeof k === "string") return k;
  if (typeof k === "number" || typeof k === "bigint" || typeof k === "boolean") return String(k);
  if (k === null) return "None";
  throw new FormatError(file, "data.pkl", `a dict key that is ${describeValue(k)} leads to tensors: only strings and numbers can name tensors`);
}

type Dict = Map<unknown, unknown>;
type Named = Array<[string, TorchTensor]>;

/**
 * An iterative, memoised post-order fold over nested dicts (no engine stack limit, however deep; a
 * dict shared by many parents is folded once). Refuses a dict that contains itself and nesting past
 * `maxDepth`. Values that are neither tensors nor dicts are ignored.
 */
function foldDicts<R>(root: Dict, file: string, maxDepth: number, f: { init(): R; tensor(acc: R, key: unknown, t: TorchTensor): void; child(acc: R, key: unknown, child: R): void }): R {
  const done = new Map<Dict, R>();
  const active = new Set<Dict>();
  interface Frame { dict: Dict; it: Iterator<[unknown, unknown]>; acc: R; key: unknown }
  const stack: Frame[] = [];
  const enter = (dict: Dict, key: unknown) => {
    if (active.has(dict)) throw new FormatError(file, "data.pkl", `a dict contains itself (through key ${describeValue(key)}): not a state dict`);
    if (stack.length >= maxDepth) throw new FormatError(file, "data.pkl", `dicts are nested deeper than ${maxDepth} levels (limit maxDepth)`);
    active.add(dict);
    stack.push({ dict, it: dict.entries(), acc: f.init(), key: undefined });
  };
  enter(root, undefined);
  for (;;) {
    const top = stack[stack.length - 1]!;
    const next = top.it.next();
    if (next.done) {
      stack.pop();
      active.delete(top.dict);
      done.set(top.dict, top.acc);
      const parent = stack[stack.length - 1];
      if (!parent) return top.acc;
      f.child(parent.acc, parent.key, top.acc);
      continue;
    }
    const [k, x] = next.value;
    if (x instanceof TorchTensor) f.tensor(top.acc, k, x);
    else if (x instanceof Map) {
      const memo = done.get(x);
      if (memo !== undefined) f.child(top.acc, k, memo);
      else {
        top.key = k;
        enter(x, k);
      }
    }
  }
}

/**
 * Finds the tensors of the unpickled object: nested dict keys joined with ".". Names are first only
 * counted (memoised, so shared sub-dicts cost nothing) and refused past `maxTensors` before any is
 * built: dicts sharing sub-dicts 40 levels deep would otherwise name 2^40 paths. Each distinct view
 * object appears once among the values (tied weights share one entry).
 */
function findTensors(value: unknown, file: string, limits: Limits): Map<string, TorchTensor> {
  if (value instanceof TorchTensor) return new Map([["tensor", value]]);
  if (!(value instanceof Map)) throw new FormatError(file, "data.pkl", `the checkpoint holds ${describeValue(value)}, not a dict of tensors`);
  const tooMany = () => new FormatError(file, "data.pkl", `more than ${limits.maxTensors} tensor names (shared sub-dicts multiply names; limit maxTensors)`);
  const count = foldDicts(value, file, limits.maxDepth, {
    init: () => ({ n: 0 }),
    tensor: (acc) => { acc.n++; },
    child: (acc, _k, c) => { acc.n += c.n; },
  });
  if (count.n > limits.maxTensors) throw tooMany();
  // Joining names touches each name once per nesting level: bounded separately.
  let work = 0;
  const workLimit = 16 * limits.maxTensors + 1024;
  const add = (out: Named, name: string, t: TorchTensor) => {
    if (name.length > MAX_NAME_CHARS) throw new FormatError(file, "data.pkl", `a tensor name is longer than ${MAX_NAME_CHARS} characters`);
    if (++work > workLimit) throw tooMany();
    out.push([name, t]);
  };
  const result = foldDicts<Named>(value, file, limits.maxDepth, {
    init: () => [],
    tensor: (acc, k, t) => add(acc, keyName(k, file), t),
    child: (acc, k, c) => {
      if (c.length === 0) return;
      const prefix = keyName(k, file);
      for (const [n, t] of c) add(acc, `${prefix}.${n}`, t);
    },
  });
  const out = new Map<string, TorchTensor>();
  for (const [name, t] of result) {
    const prev = out.get(name);
    if (prev !== undefined && prev !== t) throw new FormatError(file, `tensor '${name}'`, "two different tensors have this name (nested keys joined with '.' collide)");
    out.set(name, t);
  }
  if (out.size === 0) throw new FormatError(file, "data.pkl", "the checkpoint holds no tensors");
  return out;
}

/**
 * Checks every view against its storage and the output budget (before any storage is read), then
 * returns what `finish` needs: the storages to load and a function that copies the views out.
 */
function planTensors(tensors: Map<string, TorchTensor>, file: string, limits: Limits): { storages: Set<Storage>; finish: () => TensorMap } {
  const plans = new Map<TorchTensor, ViewPlan>();
  let outBytes = 0;
  for (const [name, t] of tensors) {
    if (plans.has(t)) continue;
    const p = planView(t, file, name);
    plans.set(t, p);
    outBytes += p.numel * storedItemsize(t.storage.dtype);
    if (outBytes > limits.maxOutputBytes) {
      throw new FormatError(file, `tensor '${name}'`, `the tensors need more than ${limits.maxOutputBytes} bytes (limit maxOutputBytes; stride-0 or overlapping views of small storages?)`);
    }
  }
  const storages = new Set([...plans.keys()].map((t) => t.storage));
  return {
    storages,
    finish: () => {
      const done = new Map<TorchTensor, SafetensorsEntry>();
      const out: TensorMap = new Map();
      for (const [name, t] of tensors) {
        let e = done.get(t);
        if (!e) done.set(t, (e = materialize(t, plans.get(t)!, file, name)));
        out.set(name, e);
      }
      return out;
    },
  };
}

function readZip(src: ByteSource, o: TorchReadOptions): TensorMap {
  const file = src.name;
  const limits = limitsFor(o, src.size);
  const zip = new ZipArchive(src);
  const budget = { left: limits.maxOutputBytes };
  const pklName = [...zip.entries.keys()].find((n) => n === "data.pkl" || /^[^/]+\/data\.pkl$/.test(n));
  if (!pklName) throw new FormatError(file, "data.pkl", "zip archive has no <name>/data.pkl: not a torch.save checkpoint");
  const prefix = pklName.slice(0, -"data.pkl".length);
  const byteorderEntry = zip.entries.has(`${prefix}byteorder`) ? new TextDecoder().decode(zip.read(`${prefix}byteorder`, { budget })).trim() : "little";
  if (byteorderEntry !== "little" && byteorderEntry !== "big") throw new FormatError(file, `${prefix}byteorder`, `expected 'little' or 'big', got '${byteorderEntry}'`);
  const storages = new Map<string, Storage>();
  const where = pklName;
  const hooks = makeHooks(file, where, storages, (pid) => {
    const [, type, key, , numel] = pid;
    const st = pidStorageType(type, file, where);
    if (typeof key !== "string" || !isInt(numel)) throw new FormatError(file, where, `storage persistent id must be ('storage', type, key: str, location, numel: int), got key ${describeValue(key)} and numel ${describeValue(numel)}`);
    return { key, type: st, numel };
  });
  const value = unpickle(zip.read(pklName, { budget }), hooks, `${file}: ${pklName}`).value;
  const plan = planTensors(findTensors(value, file, limits), file, limits);
  const loaded = new Map<string, Uint8Array>();
  for (const s of plan.storages) {
    const entry = `${prefix}data/${s.key}`;
    const need = s.numel * storedItemsize(s.dtype);
    const declared = zip.entries.get(entry)?.size;
    if (declared !== undefined && declared < need) {
      throw new FormatError(file, entry, `storage holds ${declared} bytes, fewer than ${s.numel} ${s.dtype} elements`);
    }
    let b = loaded.get(s.key);
    if (!b) {
      b = zip.read(entry, { budget });
      if (byteorderEntry === "big") b = swapBytes(b, storedItemsize(s.dtype));
      loaded.set(s.key, b);
    }
    if (b.length < need) throw new FormatError(file, entry, `storage holds ${b.length} bytes, fewer than ${s.numel} ${s.dtype} elements`);
    s.bytes = b;
  }
  return plan.finish();
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/**
 * The pre-1.6 format: pickles of the magic number, protocol version and system info, then the
 * object (storages as persistent ids), the sorted storage keys, and each storage as an int64
 * element count followed by its raw bytes.
 */
function readLegacy(src: ByteSource, o: TorchReadOptions): TensorMap {
  const file = src.name;
  const limits = limitsFor(o, src.size);
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
  if (version !== 1001) throw new FormatError(file, "protocol version", `expected 1001, got ${describeValue(version)}`);
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
  const plan = planTensors(findTensors(value, file, limits), file, limits);
  const keys = next(none, "storage keys");
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) throw new FormatError(file, "storage keys", "expected a list of storage keys");
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (const key of keys as string[]) {
    const s = storages.get(key);
    const field = `storage ${shown(key, 60)}`;
    if (!s) throw new FormatError(file, field, "listed but never referenced");
    if (s.bytes) throw new FormatError(file, field, "listed twice");
    if (pos + 8 > data.length) throw new FormatError(file, field, "truncated before the element count");
    const n = Number(dv.getBigInt64(pos, true));
    const isz = storedItemsize(s.dtype);
    pos += 8;
    if (n < 0 || pos + n * isz > data.length) throw new FormatError(file, field, `${n} elements run past the end of the ${data.length}-byte file (truncated?)`);
    if (n < s.numel) throw new FormatError(file, field, `holds ${n} elements but the pickle declares ${s.numel}`);
    s.bytes = data.subarray(pos, pos + n * isz);
    pos += n * isz;
  }
  for (const v of views) {
    // The view's offset and size count elements of its dtype (torch multiplies both by the element size).
    const root = storages.get(v.root)!;
    const isz = storedItemsize(v.storage.dtype);
    if (!root.bytes) continue; // reported below if a tensor uses it
    if ((v.offset + v.storage.numel) * isz > root.bytes.length) {
      throw new FormatError(file, `storage ${shown(v.root, 60)}`, `view ${shown(v.storage.key, 80)} (offset ${v.offset}, ${v.storage.numel} elements) reaches past the storage's ${Math.floor(root.bytes.length / isz)} elements`);
    }
    v.storage.bytes = root.bytes.subarray(v.offset * isz, (v.offset + v.storage.numel) * isz);
  }
  for (const s of plan.storages) {
    if (!s.bytes) s.bytes = storages.get(s.key)?.bytes ?? null;
    if (!s.bytes) throw new FormatError(file, `storage ${shown(s.key, 60)}`, "referenced but its data is missing");
  }
  return plan.finish();
}

/**
 * Reads the tensors of a PyTorch checkpoint (`pytorch_model.bin`, torch.save output) without
 * running its pickle: zip archives (torch >= 1.6) and the legacy format. Nested dicts are
 * flattened with "." between keys; non-contiguous views come back contiguous; tied tensors
 * appear under each of their names.
 */
export function readPytorchBin(source: string | Uint8Array, options: TorchReadOptions = {}): TensorMap {
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
    return looksLikeZip(src.read(0, 4)) ? readZip(src, options) : readLegacy(src, options);
  } catch (e) {
    // Engine errors (stack, array length, ...) never escape without the file named.
    if (e instanceof FormatError || e instanceof TypeError && /^readPytorchBin: /.test(e.message)) throw e;
    throw new FormatError(src.name, "checkpoint", `cannot be read: ${e instanceof Error ? `${e.name}: ${e.message}` : describeValue(e)}`);
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
