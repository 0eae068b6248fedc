/**
 * A minimal pickle virtual machine that only *describes* objects: it never imports or calls
 * anything. Every GLOBAL / STACK_GLOBAL is resolved through `findClass`, which returns a plain value
 * for the few allowed names and throws for everything else, and REDUCE / BUILD / persistent ids are
 * handed to callbacks. Covers the opcodes of protocols 0-5 that torch.save and plain data use.
 */
import { FormatError } from "../errors.js";
import { copyBytes } from "../bytes.js";

/** A reference to a Python global (module + name), as resolved by `findClass`. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  toString(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Python tuples are kept apart from lists so persistent ids and call arguments can be checked. */
export class PyTuple extends Array<unknown> {}

export interface PickleHooks {
  /** Resolves a global; throws to refuse it. */
  findClass(module: string, name: string): unknown;
  /** Applies `callable(*args)` (REDUCE); throws to refuse it. */
  reduce(callable: unknown, args: unknown[]): unknown;
  /** Applies BUILD (setstate) to `obj`; returns the resulting object. */
  build(obj: unknown, state: unknown): unknown;
  /** Resolves a persistent id (torch: storages). */
  persistentLoad(pid: unknown): unknown;
}

/** Malformed pickle: names the file (and archive entry) and the byte offset of the opcode. */
export class PickleError extends FormatError {
  constructor(file: string, readonly pos: number, message: string) {
    super(file, `pickle byte ${pos}`, message);
    this.name = "PickleError";
  }
}

const MARK = Symbol("mark");

function tuple(items: unknown[]): PyTuple {
  const t = new PyTuple();
  for (const x of items) t.push(x);
  return t;
}

/** Unpickles one object starting at `start`; returns it and the offset just past STOP. */
export function unpickle(data: Uint8Array, hooks: PickleHooks, file: string, start = 0): { value: unknown; end: number } {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const latin1 = new TextDecoder("latin1");
  const utf8 = new TextDecoder("utf-8");
  let pos = start;
  let opPos = start;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const fail = (msg: string): never => {
    throw new PickleError(file, opPos, msg);
  };
  const need = (n: number) => {
    if (n < 0 || pos + n > data.length) fail(`truncated: opcode needs ${n} more bytes but the pickle ends at byte ${data.length}`);
  };
  const u8 = () => { need(1); return data[pos++]!; };
  const u16 = () => { need(2); const v = dv.getUint16(pos, true); pos += 2; return v; };
  const i32 = () => { need(4); const v = dv.getInt32(pos, true); pos += 4; return v; };
  const u32 = () => { need(4); const v = dv.getUint32(pos, true); pos += 4; return v; };
  const u64 = () => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(data.length)) fail(`length ${v} exceeds the pickle size`);
    return Number(v);
  };
  const bytes = (n: number) => { need(n); const b = data.subarray(pos, pos + n); pos += n; return b; };
  // Short ASCII strings (dict keys, storage keys) skip TextDecoder, which costs far more per call.
  const text = (b: Uint8Array): string => {
    if (b.length <= 64) {
      let s = "";
      for (let i = 0; i < b.length; i++) {
        if (b[i]! >= 0x80) return utf8.decode(b);
        s += String.fromCharCode(b[i]!);
      }
      return s;
    }
    return utf8.decode(b);
  };
  const line = () => {
    const nl = data.indexOf(0x0a, pos);
    if (nl < 0) fail("truncated: text opcode has no terminating newline");
    const s = latin1.decode(data.subarray(pos, nl));
    pos = nl + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail("stack underflow (malformed pickle)");
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail("stack underflow (malformed pickle)");
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (prev === undefined) fail("MARK expected but none is open (malformed pickle)");
    stack = prev!;
    return items;
  };
  const memoGet = (k: number) => {
    if (!memo.has(k)) fail(`memo key ${k} was never stored (malformed pickle)`);
    return memo.get(k);
  };
  const longLE = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return Number.isSafeInteger(Number(v)) && BigInt(Number(v)) === v ? Number(v) : v;
  };
  const setItems = (d: unknown, items: unknown[]) => {
    if (!(d instanceof Map)) fail("SETITEM(S) target is not a dict");
    if (items.length % 2) fail("SETITEMS got an odd number of items");
    for (let i = 0; i < items.length; i += 2) (d as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const codePoint = (n: number): string => (n <= 0x10ffff ? String.fromCodePoint(n) : fail(`\\U escape ${n.toString(16)} is not a code point`));
  const textInt = (s: string): number | bigint | boolean => {
    if (s === "01") return true;
    if (s === "00") return false;
    // Python itself refuses integer literals longer than 4300 digits (int_max_str_digits); parsing them is quadratic.
    if (s.length > 4300) fail(`integer literal of ${s.length} characters is too long`);
    const t = s.endsWith("L") ? s.slice(0, -1) : s;
    if (!/^[-+]?\d+$/.test(t)) fail(`bad integer literal '${s}'`);
    const b = BigInt(t);
    return Number.isSafeInteger(Number(b)) ? Number(b) : b;
  };

  for (;;) {
    opPos = pos;
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME: frames are contiguous in memory already
      case 0x2e: { // STOP
        const value = pop();
        return { value, end: pos };
      }
      case 0x28: metastack.push(stack); stack = []; break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x49: stack.push(textInt(line())); break; // INT
      case 0x4c: stack.push(textInt(line())); break; // LONG
      case 0x8a: stack.push(longLE(bytes(u8()))); break; // LONG1
      case 0x8b: {
        // No checkpoint needs integers this wide; refusing them keeps a hostile file from costing quadratic time.
        const n = i32();
        if (n < 0 || n > 1024) fail(`LONG4 of ${n} bytes is out of range`);
        stack.push(longLE(bytes(n)));
        break;
      }
      case 0x47: { need(8); stack.push(dv.getFloat64(pos, false)); pos += 8; break; } // BINFLOAT (big-endian)
      case 0x46: { const s = line(); const f = Number(s); if (Number.isNaN(f) && !/nan/i.test(s)) fail(`bad float literal '${s}'`); stack.push(f); break; }
      case 0x58: stack.push(text(bytes(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(text(bytes(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(utf8.decode(bytes(u64()))); break; // BINUNICODE8
      case 0x56: stack.push(line().replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, a: string, b: string) => codePoint(parseInt(a ?? b, 16)))); break; // UNICODE
      case 0x55: stack.push(latin1.decode(bytes(u8()))); break; // SHORT_BINSTRING
      case 0x54: { const n = i32(); if (n < 0) fail("negative BINSTRING length"); stack.push(latin1.decode(bytes(n))); break; }
      case 0x53: { const s = line().trim(); stack.push(s.slice(1, -1)); break; } // STRING (repr, quotes stripped)
      case 0x42: stack.push(copyBytes(bytes(u32()))); break; // BINBYTES
      case 0x43: stack.push(copyBytes(bytes(u8()))); break; // SHORT_BINBYTES
      case 0x8e: stack.push(copyBytes(bytes(u64()))); break; // BINBYTES8
      case 0x96: stack.push(copyBytes(bytes(u64()))); break; // BYTEARRAY8
      case 0x29: stack.push(new PyTuple()); break; // EMPTY_TUPLE
      case 0x74: { const items = popMark(); stack.push(tuple(items)); break; } // TUPLE
      case 0x85: stack.push(tuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(tuple([a, b])); break; }
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(tuple([a, b, c])); break; }
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: { const items = popMark(); stack.push([...items]); break; } // LIST
      case 0x61: { const x = pop(); const l = top(); if (!Array.isArray(l)) fail("APPEND target is not a list"); (l as unknown[]).push(x); break; }
      case 0x65: { const items = popMark(); const l = top(); if (!Array.isArray(l)) fail("APPENDS target is not a list"); for (const x of items) (l as unknown[]).push(x); break; }
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x64: { const items = popMark(); const d = new Map(); setItems(d, items); stack.push(d); break; } // DICT
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        const d = top();
        if (!(d instanceof Map)) fail("SETITEM(S) target is not a dict");
        (d as Map<unknown, unknown>).set(k, v);
        break;
      }
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x90: { const items = popMark(); const s = top(); if (!(s instanceof Set)) fail("ADDITEMS target is not a set"); for (const x of items) (s as Set<unknown>).add(x); break; }
      case 0x91: { const items = popMark(); stack.push(new Set(items)); break; } // FROZENSET
      case 0x70: memo.set(Number(line()), top()); break; // PUT
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x67: stack.push(memoGet(Number(line()))); break; // GET
      case 0x68: stack.push(memoGet(u8())); break; // BINGET
      case 0x6a: stack.push(memoGet(u32())); break; // LONG_BINGET
      case 0x63: { const mod = line(); const name = line(); stack.push(hooks.findClass(mod, name)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const mod = pop();
        if (typeof mod !== "string" || typeof name !== "string") fail("STACK_GLOBAL needs two strings");
        stack.push(hooks.findClass(mod as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!(args instanceof PyTuple)) fail("REDUCE arguments are not a tuple");
        stack.push(hooks.reduce(fn, [...(args as PyTuple)]));
        break;
      }
      case 0x81: { // NEWOBJ: cls.__new__(cls, *args), only for allowed classes
        const args = pop();
        const cls = pop();
        if (!(args instanceof PyTuple)) fail("NEWOBJ arguments are not a tuple");
        stack.push(hooks.reduce(cls, [...(args as PyTuple)]));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!(args instanceof PyTuple) || !(kwargs instanceof Map) || kwargs.size) fail("NEWOBJ_EX with keyword arguments is not supported");
        stack.push(hooks.reduce(cls, [...(args as PyTuple)]));
        break;
      }
      case 0x62: { const state = pop(); const obj = pop(); stack.push(hooks.build(obj, state)); break; } // BUILD
      case 0x51: stack.push(hooks.persistentLoad(pop())); break; // BINPERSID
      case 0x50: stack.push(hooks.persistentLoad(line())); break; // PERSID
      case 0x69: { const mod = line(); const name = line(); hooks.findClass(mod, name); fail(`INST ${mod}.${name} is not supported`); break; }
      case 0x6f: { const items = popMark(); hooks.reduce(items[0], items.slice(1)); fail("OBJ is not supported"); break; }
      case 0x82: case 0x83: case 0x84: fail("EXT opcodes (copyreg extension registry) are not supported"); break;
      case 0x97: fail("NEXT_BUFFER / out-of-band buffers are not supported"); break;
      case 0x98: break; // READONLY_BUFFER
      default:
        fail(`unknown opcode 0x${op.toString(16).padStart(2, "0")} (not a pickle, or corrupted)`);
    }
  }
}
