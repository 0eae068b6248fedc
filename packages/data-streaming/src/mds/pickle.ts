/**
 * A deliberately tiny pickle reader for plain data only: dict, list, tuple, set, str, bytes, int,
 * float, bool, None (protocols 0-5). Any opcode that would import a global or build an object
 * (GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ, EXT*, PERSID, buffers) is refused, so
 * reading a hostile `pkl` column can never execute anything.
 *
 * The result keeps Python's distinctions: ints are bigint, floats are PyFloat, dicts are Maps in
 * insertion order. `pickleToJs` turns that into everyday JS values.
 */
import { PyFloat, setOwn } from "./pyjson.js";

export type PickleValue =
  | null | boolean | bigint | PyFloat | string | Uint8Array
  | PickleValue[] | PickleTuple | Map<PickleKey, PickleValue>;
export type PickleKey = string | bigint | boolean | null | PyFloat;

/** A Python tuple (kept apart from lists only so a caller can tell them apart). */
export class PickleTuple extends Array<PickleValue> {}

const REFUSED: Record<number, string> = {
  0x63: "GLOBAL", 0x93: "STACK_GLOBAL", 0x52: "REDUCE", 0x62: "BUILD", 0x69: "INST", 0x6f: "OBJ",
  0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x50: "PERSID", 0x51: "BINPERSID", 0x82: "EXT1",
  0x83: "EXT2", 0x84: "EXT4", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
};

/** Container nesting a value may have (CPython's pickler and json stop near 1000 on recursion). */
export const MAX_PICKLE_DEPTH = 1000;

function tuple(items: PickleValue[]): PickleTuple {
  const t = new PickleTuple();
  for (const x of items) t.push(x);
  return t;
}

/**
 * The key Python's dict would file `k` under: equal ints, floats and bools are one key (1 == 1.0 ==
 * True), strings apart from numbers. NaN is only equal to itself (the same object).
 */
function dictSlot(k: PickleKey): string | PyFloat {
  if (typeof k === "string") return "s" + k;
  if (typeof k === "bigint") return "i" + k;
  if (typeof k === "boolean") return k ? "i1" : "i0";
  if (k === null) return "N";
  const x = k.value;
  if (Number.isNaN(x)) return k;
  if (Number.isInteger(x)) return "i" + BigInt(x);
  return "f" + x;
}

const latin1 = new TextDecoder("latin1");
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Reads one pickle. Work and memory are linear in its size: every opcode pushes at most one value,
 * containers are filled by reference (a value shared through the memo is stored once), marks are
 * kept on their own stack and dict keys are found through a hash index (no scan of existing keys).
 */
export function readPickle(b: Uint8Array): PickleValue {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const stack: PickleValue[] = [];
  /** Stack heights at each MARK (CPython's metastack): popping to a mark is O(items). */
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  /** Per dict: Python key identity -> the key object stored in the Map (the first one inserted). */
  const keyIndex = new WeakMap<Map<PickleKey, PickleValue>, Map<string | PyFloat, PickleKey>>();
  let pos = 0;
  const fail = (msg: string): never => {
    throw new Error(`pickle: ${msg} (at byte ${pos} of ${b.length})`);
  };
  const need = (n: number) => {
    if (pos + n > b.length) fail("truncated data");
  };
  const u8 = () => (need(1), b[pos++]!);
  const take = (n: number) => {
    need(n);
    const s = b.subarray(pos, pos + n);
    pos += n;
    return s;
  };
  const line = () => {
    const end = b.indexOf(0x0a, pos);
    if (end < 0) fail("unterminated text opcode");
    const s = latin1.decode(b.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const utf8 = (s: Uint8Array) => strictUtf8.decode(s);
  const floor = () => (marks.length ? marks[marks.length - 1]! : 0);
  const pop = (): PickleValue => {
    if (stack.length <= floor()) return fail("stack underflow");
    return stack.pop()!;
  };
  const popMark = (): PickleValue[] => {
    const at = marks.pop();
    if (at === undefined) return fail("MARK missing");
    return stack.splice(at);
  };
  const top = (): PickleValue => {
    if (stack.length <= floor()) return fail("stack empty");
    return stack[stack.length - 1]!;
  };
  const asList = (v: PickleValue): PickleValue[] => {
    if (!Array.isArray(v) || v instanceof PickleTuple) fail("APPEND target is not a list or set");
    return v as PickleValue[];
  };
  const asDict = (v: PickleValue): Map<PickleKey, PickleValue> => {
    if (!(v instanceof Map)) fail("SETITEM target is not a dict");
    return v as Map<PickleKey, PickleValue>;
  };
  const key = (k: PickleValue): PickleKey => {
    if (k === null || typeof k === "string" || typeof k === "bigint" || typeof k === "boolean" || k instanceof PyFloat) return k;
    return fail("dict key is not a plain scalar");
  };
  const setKey = (d: Map<PickleKey, PickleValue>, k: PickleValue, v: PickleValue) => {
    const kk = key(k);
    let index = keyIndex.get(d);
    if (!index) keyIndex.set(d, (index = new Map()));
    // Python keeps the first of equal keys and replaces its value.
    const slot = dictSlot(kk);
    const existing = index.get(slot);
    if (existing !== undefined) {
      d.set(existing, v);
      return;
    }
    index.set(slot, kk);
    d.set(kk, v);
  };
  const signedLE = (s: Uint8Array): bigint => {
    let v = 0n;
    for (let k = s.length - 1; k >= 0; k--) v = (v << 8n) | BigInt(s[k]!);
    if (s.length && s[s.length - 1]! & 0x80) v -= 1n << BigInt(8 * s.length);
    return v;
  };
  const u64 = () => {
    need(8);
    const n = dv.getBigUint64(pos, true);
    pos += 8;
    if (n > BigInt(b.length)) fail("length beyond data");
    return Number(n);
  };
  for (;;) {
    const at = pos;
    const op = u8();
    if (REFUSED[op]) {
      pos = at;
      fail(`refusing opcode ${REFUSED[op]} (0x${op.toString(16)}): it would import or construct a Python object; only plain data (dict/list/tuple/set/str/bytes/int/float/bool/None) is allowed`);
    }
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: take(8); break; // FRAME: framing is transparent to a reader
      case 0x2e: { // STOP
        if (marks.length) fail("MARK left open at STOP");
        const v = pop();
        if (stack.length) fail("data left on the stack at STOP");
        return v;
      }
      case 0x4e: stack.push(null); break;
      case 0x88: stack.push(true); break;
      case 0x89: stack.push(false); break;
      case 0x4a: need(4); stack.push(BigInt(dv.getInt32(pos, true))); pos += 4; break; // BININT
      case 0x4b: stack.push(BigInt(u8())); break; // BININT1
      case 0x4d: need(2); stack.push(BigInt(dv.getUint16(pos, true))); pos += 2; break; // BININT2
      case 0x8a: stack.push(signedLE(take(u8()))); break; // LONG1
      case 0x8b: { need(4); const n = dv.getInt32(pos, true); pos += 4; if (n < 0) fail("negative LONG4 size"); stack.push(signedLE(take(n))); break; }
      case 0x49: { // INT (text); I01/I00 are protocol-0 booleans
        const s = line();
        if (s === "01") stack.push(true);
        else if (s === "00") stack.push(false);
        else if (/^[+-]?\d+$/.test(s)) stack.push(BigInt(s));
        else fail(`bad INT "${s}"`);
        break;
      }
      case 0x4c: { const s = line().replace(/L$/, ""); if (!/^[+-]?\d+$/.test(s)) fail(`bad LONG "${s}"`); stack.push(BigInt(s)); break; }
      case 0x47: need(8); stack.push(new PyFloat(dv.getFloat64(pos, false))); pos += 8; break; // BINFLOAT (big-endian)
      case 0x46: { const s = line(); const x = Number(s); if (Number.isNaN(x) && !/nan/i.test(s)) fail(`bad FLOAT "${s}"`); stack.push(new PyFloat(x)); break; }
      case 0x8c: stack.push(utf8(take(u8()))); break; // SHORT_BINUNICODE
      case 0x58: { need(4); const n = dv.getUint32(pos, true); pos += 4; stack.push(utf8(take(n))); break; }
      case 0x8d: stack.push(utf8(take(u64()))); break; // BINUNICODE8
      case 0x56: stack.push(line().replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, a, c) => String.fromCodePoint(parseInt(a ?? c, 16)))); break; // UNICODE
      case 0x55: stack.push(latin1.decode(take(u8()))); break; // SHORT_BINSTRING
      case 0x54: { need(4); const n = dv.getInt32(pos, true); pos += 4; if (n < 0) fail("negative BINSTRING size"); stack.push(latin1.decode(take(n))); break; }
      case 0x43: stack.push(take(u8()).slice()); break; // SHORT_BINBYTES
      case 0x42: { need(4); const n = dv.getUint32(pos, true); pos += 4; stack.push(take(n).slice()); break; }
      case 0x8e: case 0x96: stack.push(take(u64()).slice()); break; // BINBYTES8, BYTEARRAY8
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x29: stack.push(tuple([])); break; // EMPTY_TUPLE
      case 0x8f: stack.push([]); break; // EMPTY_SET (a set reads back as a list)
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x74: stack.push(tuple(popMark())); break; // TUPLE
      case 0x91: stack.push(popMark()); break; // FROZENSET
      case 0x64: { // DICT
        const items = popMark();
        const d = new Map<PickleKey, PickleValue>();
        for (let k = 0; k + 1 < items.length; k += 2) setKey(d, items[k]!, items[k + 1]!);
        stack.push(d);
        break;
      }
      case 0x85: stack.push(tuple([pop()])); break;
      case 0x86: { const y = pop(); const x = pop(); stack.push(tuple([x, y])); break; }
      case 0x87: { const z = pop(); const y = pop(); const x = pop(); stack.push(tuple([x, y, z])); break; }
      case 0x61: { const v = pop(); asList(top()).push(v); break; } // APPEND
      case 0x65: case 0x90: { // APPENDS, ADDITEMS (a loop: spreading 100k+ items overflows the call)
        const items = popMark();
        const list = asList(top());
        for (const x of items) list.push(x);
        break;
      }
      case 0x73: { const v = pop(); const k = pop(); setKey(asDict(top()), k, v); break; } // SETITEM
      case 0x75: { // SETITEMS
        const items = popMark();
        const d = asDict(top());
        for (let k = 0; k + 1 < items.length; k += 2) setKey(d, items[k]!, items[k + 1]!);
        break;
      }
      case 0x30: // POP: the top value, or an open MARK when nothing is above it (as CPython)
        if (stack.length <= floor() && marks.length) marks.pop();
        else pop();
        break;
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: need(4); memo.set(dv.getUint32(pos, true), top()); pos += 4; break; // LONG_BINPUT
      case 0x70: memo.set(Number(line()), top()); break; // PUT
      case 0x68: case 0x6a: case 0x67: { // BINGET, LONG_BINGET, GET
        let idx: number;
        if (op === 0x68) idx = u8();
        else if (op === 0x6a) { need(4); idx = dv.getUint32(pos, true); pos += 4; }
        else idx = Number(line());
        if (!memo.has(idx)) fail(`memo key ${idx} missing`);
        stack.push(memo.get(idx)!);
        break;
      }
      default:
        pos = at;
        fail(`unsupported opcode 0x${op.toString(16)}`);
    }
  }
}

/**
 * Everyday JS: safe ints as numbers (others bigint), floats as numbers, str-keyed dicts as objects
 * (a "__proto__" key stays an ordinary own key). A container shared in the pickle is converted once
 * and shared in the result (cycles included), so the work is linear in the pickle's size; nesting
 * deeper than MAX_PICKLE_DEPTH is refused.
 */
export function pickleToJs(v: PickleValue): unknown {
  const done = new Map<object, unknown>();
  const conv = (x: PickleValue, depth: number): unknown => {
    if (typeof x === "bigint") return x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x;
    if (x instanceof PyFloat) return x.value;
    if (!Array.isArray(x) && !(x instanceof Map)) return x;
    const seen = done.get(x);
    if (seen !== undefined) return seen;
    if (depth >= MAX_PICKLE_DEPTH) throw new Error(`pickle: containers nested more than ${MAX_PICKLE_DEPTH} deep`);
    if (Array.isArray(x)) {
      const out: unknown[] = x instanceof PickleTuple ? new PickleTuple() : [];
      done.set(x, out);
      for (const item of x) out.push(conv(item, depth + 1));
      return out;
    }
    let allStrings = true;
    for (const k of x.keys()) if (typeof k !== "string") { allStrings = false; break; }
    if (allStrings) {
      const o: Record<string, unknown> = {};
      done.set(x, o);
      for (const [k, item] of x) setOwn(o, k as string, conv(item, depth + 1));
      return o;
    }
    const m = new Map<unknown, unknown>();
    done.set(x, m);
    for (const [k, item] of x) m.set(conv(k as PickleValue, depth + 1), conv(item, depth + 1));
    return m;
  };
  return conv(v, 0);
}
