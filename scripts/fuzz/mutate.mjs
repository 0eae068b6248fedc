// Mutation plans as fast-check arbitraries: small, printable descriptions of how to damage a real
// file (byte level, JSON level, line level) so every failing input can be reproduced from its plan.
import fc from "fast-check";

// A position as a fraction of the input, uniform over [0, 1): fc.double spreads its values over the float
// encodings, which puts ~90% of them below 1e-6 (every edit at the first byte) and most of the rest near 1.
const at = fc.integer({ min: 0, max: 2 ** 30 - 1 }).map((i) => i / 2 ** 30);
const smallBytes = fc.uint8Array({ minLength: 1, maxLength: 8 });
/** Length and offset values that tend to break parsers. */
const INTERESTING = [0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 63, 2 ** 64 - 1];

const byteOp = fc.oneof(
  fc.record({ k: fc.constant("flip"), at, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant("trunc"), at }),
  fc.record({ k: fc.constant("set"), at, bytes: smallBytes }),
  fc.record({ k: fc.constant("ins"), at, bytes: smallBytes }),
  fc.record({ k: fc.constant("del"), at, len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ k: fc.constant("dup"), at, from: at, len: fc.integer({ min: 1, max: 256 }) }),
  fc.record({
    k: fc.constant("int"),
    at,
    width: fc.constantFrom(1, 2, 4, 8),
    value: fc.oneof(fc.constantFrom(...INTERESTING), fc.constantFrom("size", "size-1", "size+1"), fc.nat()),
  }),
);

/** A plan: which seed file, then 1..4 byte-level edits. */
export function bytePlan(seedCount) {
  return fc.record({ base: fc.nat({ max: seedCount - 1 }), ops: fc.array(byteOp, { minLength: 1, maxLength: 4 }) });
}

function pos(frac, n) {
  return Math.min(n, Math.floor(frac * (n + 1)));
}

/** Applies byte-level edits to a copy of `base`. */
export function applyBytes(base, ops) {
  let b = base.slice();
  for (const op of ops) {
    const p = pos(op.at, b.length);
    switch (op.k) {
      case "flip":
        if (p < b.length) b[p] ^= 1 << op.bit;
        break;
      case "trunc":
        b = b.slice(0, p);
        break;
      case "set":
        for (let i = 0; i < op.bytes.length && p + i < b.length; i++) b[p + i] = op.bytes[i];
        break;
      case "ins": {
        const out = new Uint8Array(b.length + op.bytes.length);
        out.set(b.subarray(0, p), 0);
        out.set(op.bytes, p);
        out.set(b.subarray(p), p + op.bytes.length);
        b = out;
        break;
      }
      case "del": {
        const out = new Uint8Array(Math.max(0, b.length - Math.min(op.len, b.length - p)));
        out.set(b.subarray(0, p), 0);
        out.set(b.subarray(p + op.len), p);
        b = out;
        break;
      }
      case "dup": {
        const q = pos(op.from, b.length);
        const block = b.slice(q, q + op.len);
        for (let i = 0; i < block.length && p + i < b.length; i++) b[p + i] = block[i];
        break;
      }
      case "int": {
        const v = op.value === "size" ? b.length : op.value === "size-1" ? b.length - 1 : op.value === "size+1" ? b.length + 1 : op.value;
        let x = BigInt.asUintN(64, BigInt(Math.max(0, Math.floor(v))));
        for (let i = 0; i < op.width && p + i < b.length; i++, x >>= 8n) b[p + i] = Number(x & 0xffn);
        break;
      }
    }
  }
  return b;
}

/** JSON values that are the wrong type or an absurd size for almost any field. */
const WEIRD = [null, true, false, 0, -1, 1.5, -0.5, 1e12, 1e308, -1e308, 2 ** 53, 2 ** 64, "", "x", "1e12", "NaN", [], [null], {}, { a: 1 }, "../../etc/passwd", "\u0000", "é"];

const jsonOp = fc.oneof(
  fc.record({ k: fc.constant("replace"), at, value: fc.oneof(fc.constantFrom(...WEIRD), fc.jsonValue({ maxDepth: 2 })) }),
  fc.record({ k: fc.constant("delete"), at }),
  fc.record({ k: fc.constant("addKey"), at, key: fc.oneof(fc.constantFrom("__proto__", "constructor", "toString", "hidden_size", "unknown_key"), fc.string({ maxLength: 6 })), value: fc.constantFrom(...WEIRD) }),
  fc.record({ k: fc.constant("wrap"), at }),
  fc.record({ k: fc.constant("scale"), at, factor: fc.constantFrom(-1, 0, 2, 1e6, 1e12, 0.5) }),
);

/** A plan: which seed document, then 1..3 structural JSON edits. */
export function jsonPlan(seedCount) {
  return fc.record({ base: fc.nat({ max: seedCount - 1 }), ops: fc.array(jsonOp, { minLength: 1, maxLength: 3 }) });
}

/** Every [parent, key] slot of a JSON tree (the root is [holder, "root"]). */
function slots(holder) {
  const out = [];
  const walk = (parent, key) => {
    out.push([parent, key]);
    const v = parent[key];
    if (v && typeof v === "object") for (const k of Object.keys(v)) walk(v, Array.isArray(v) ? Number(k) : k);
  };
  walk(holder, "root");
  return out;
}

/** Applies structural edits to a deep copy of a JSON document. */
export function applyJson(doc, ops) {
  const holder = { root: structuredClone(doc) };
  for (const op of ops) {
    const all = slots(holder);
    const [parent, key] = all[Math.min(all.length - 1, Math.floor(op.at * all.length))];
    switch (op.k) {
      case "replace":
        parent[key] = structuredClone(op.value);
        break;
      case "delete":
        if (Array.isArray(parent)) parent.splice(key, 1);
        else if (parent !== holder) delete parent[key];
        break;
      case "addKey": {
        const v = parent[key];
        if (v && typeof v === "object" && !Array.isArray(v)) Object.defineProperty(v, op.key, { value: op.value, enumerable: true, writable: true, configurable: true });
        break;
      }
      case "wrap":
        parent[key] = [parent[key]];
        break;
      case "scale":
        if (typeof parent[key] === "number") parent[key] = parent[key] * op.factor;
        break;
    }
  }
  return holder.root;
}

const lineOp = fc.oneof(
  fc.record({ k: fc.constant("dropLine"), at }),
  fc.record({ k: fc.constant("dupLine"), at }),
  fc.record({ k: fc.constant("swapLines"), at, with: at }),
  fc.record({ k: fc.constant("insText"), at, text: fc.oneof(fc.string({ maxLength: 12, unit: "binary" }), fc.constantFrom("\t", "\r", "\n", "\ufeff", "\u0000", '"', "{", "}", "\t\t", "-1", "1e309", "\ud800", "key: [", ": :", "&a *a", "!!binary x")) }),
  fc.record({ k: fc.constant("flipByte"), at, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant("truncText"), at }),
);

/** A plan: which seed text, then 1..4 line- or character-level edits. */
export function textPlan(seedCount) {
  return fc.record({ base: fc.nat({ max: seedCount - 1 }), ops: fc.array(lineOp, { minLength: 1, maxLength: 4 }) });
}

/** Applies text edits; byte flips work on the UTF-8 bytes, so the result may not be valid UTF-8. */
export function applyText(text, ops) {
  let bytes = new TextEncoder().encode(text);
  for (const op of ops) {
    const s = new TextDecoder().decode(bytes);
    let lines = s.split("\n");
    const li = Math.min(lines.length - 1, Math.floor(op.at * lines.length));
    switch (op.k) {
      case "dropLine":
        lines.splice(li, 1);
        bytes = new TextEncoder().encode(lines.join("\n"));
        break;
      case "dupLine":
        lines.splice(li, 0, lines[li]);
        bytes = new TextEncoder().encode(lines.join("\n"));
        break;
      case "swapLines": {
        const lj = Math.min(lines.length - 1, Math.floor(op.with * lines.length));
        [lines[li], lines[lj]] = [lines[lj], lines[li]];
        bytes = new TextEncoder().encode(lines.join("\n"));
        break;
      }
      case "insText": {
        const p = pos(op.at, s.length);
        bytes = new TextEncoder().encode(s.slice(0, p) + op.text + s.slice(p));
        break;
      }
      case "flipByte": {
        const p = pos(op.at, bytes.length);
        if (p < bytes.length) bytes[p] ^= 1 << op.bit;
        break;
      }
      case "truncText":
        bytes = bytes.slice(0, pos(op.at, bytes.length));
        break;
    }
  }
  return bytes;
}

/** A short printable form of a plan for reports. */
export function describePlan(plan) {
  return JSON.stringify(plan, (_k, v) => (v instanceof Uint8Array ? `0x${Buffer.from(v).toString("hex")}` : typeof v === "number" && !Number.isInteger(v) ? Number(v.toFixed(4)) : v));
}
