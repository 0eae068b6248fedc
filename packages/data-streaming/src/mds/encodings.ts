/**
 * MDS column encodings (every non-image one): name -> fixed byte size and value <-> bytes.
 * Decoded JS types: str/str_decimal -> string, bytes -> Uint8Array, int/int64/uint64/str_int ->
 * bigint, int8..uint32 -> number, float16/32/64/str_float -> number, json -> parsed value,
 * pkl -> plain data via the safe pickle reader, ndarray* -> NDArray.
 */
import { halfToNumber, numberToHalf } from "./float16.js";
import { decodeNdarray, encodeNdarray, ndFixedSize, parseNdEncoding } from "./ndarray.js";
import { readPickle, pickleToJs } from "./pickle.js";
import { parsePyJson, pyDumps, pyFloatRepr, pyJsonToJs, type PyJson } from "./pyjson.js";

export interface Codec {
  /** Fixed byte size, or null for variable-length values. */
  size: number | null;
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

/** Encodings that need an image library; named so the error can say so. */
export const IMAGE_ENCODINGS = ["pil", "jpeg", "png", "list[pil]", "list[jpeg]", "list[png]", "jpeg_array", "jpegarray"];

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function dataView(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function describe(v: unknown): string {
  if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
  if (typeof v === "bigint") return `${v}n`;
  try {
    return `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
  } catch {
    return typeof v;
  }
}

function toBigInt(v: unknown, what: string): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  if (typeof v === "string" && /^[+-]?\d+$/.test(v.trim())) return BigInt(v.trim());
  throw new Error(`expected an integer (${what}), got ${describe(v)}`);
}

function intCodec(bytes: 1 | 2 | 4 | 8, signed: boolean): Codec {
  const bits = BigInt(bytes * 8);
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  const name = `${signed ? "int" : "uint"}${bytes * 8}`;
  return {
    size: bytes,
    encode(v) {
      const x = toBigInt(v, name);
      if (x < min || x > max) throw new Error(`${x} is out of range for ${name} [${min}, ${max}]`);
      const out = new Uint8Array(bytes);
      const dv = dataView(out);
      if (bytes === 8) dv.setBigUint64(0, BigInt.asUintN(64, x), true);
      else if (bytes === 4) dv.setUint32(0, Number(BigInt.asUintN(32, x)), true);
      else if (bytes === 2) dv.setUint16(0, Number(BigInt.asUintN(16, x)), true);
      else out[0] = Number(BigInt.asUintN(8, x));
      return out;
    },
    decode(b) {
      const dv = dataView(b);
      if (bytes === 8) return signed ? dv.getBigInt64(0, true) : dv.getBigUint64(0, true);
      if (bytes === 4) return signed ? dv.getInt32(0, true) : dv.getUint32(0, true);
      if (bytes === 2) return signed ? dv.getInt16(0, true) : dv.getUint16(0, true);
      return signed ? dv.getInt8(0) : dv.getUint8(0);
    },
  };
}

function floatCodec(bytes: 2 | 4 | 8): Codec {
  return {
    size: bytes,
    encode(v) {
      if (typeof v !== "number") throw new Error(`expected a number, got ${describe(v)}`);
      const out = new Uint8Array(bytes);
      const dv = dataView(out);
      if (bytes === 8) dv.setFloat64(0, v, true);
      else if (bytes === 4) dv.setFloat32(0, v, true);
      else dv.setUint16(0, numberToHalf(v), true);
      return out;
    },
    decode(b) {
      const dv = dataView(b);
      return bytes === 8 ? dv.getFloat64(0, true) : bytes === 4 ? dv.getFloat32(0, true) : halfToNumber(dv.getUint16(0, true));
    },
  };
}

function textCodec(encode: (v: unknown) => string, decode: (s: string) => unknown): Codec {
  return {
    size: null,
    encode: (v) => utf8.encode(encode(v)),
    decode: (b) => decode(strictUtf8.decode(b)),
  };
}

/** Python float text (`str(float)`): also `inf`, `-inf`, `nan`. */
export function parsePyFloat(s: string): number {
  const t = s.trim().toLowerCase();
  if (t === "inf" || t === "+inf" || t === "infinity") return Infinity;
  if (t === "-inf" || t === "-infinity") return -Infinity;
  if (t === "nan" || t === "-nan" || t === "+nan") return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) throw new Error(`not a Python float: "${s}"`);
  return Number(t);
}

const DECIMAL_RE = /^[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|Infinity|Inf|s?NaN\d*)$/i;

const SIMPLE: Record<string, Codec> = {
  bytes: {
    size: null,
    encode(v) {
      if (!(v instanceof Uint8Array)) throw new Error(`expected a Uint8Array, got ${describe(v)}`);
      return v;
    },
    decode: (b) => b.slice(),
  },
  str: textCodec((v) => {
    if (typeof v !== "string") throw new Error(`expected a string, got ${describe(v)}`);
    return v;
  }, (s) => s),
  int: intCodec(8, true),
  int8: intCodec(1, true), int16: intCodec(2, true), int32: intCodec(4, true), int64: intCodec(8, true),
  uint8: intCodec(1, false), uint16: intCodec(2, false), uint32: intCodec(4, false), uint64: intCodec(8, false),
  float16: floatCodec(2), float32: floatCodec(4), float64: floatCodec(8),
  str_int: textCodec((v) => toBigInt(v, "str_int").toString(), (s) => {
    if (!/^[+-]?\d+$/.test(s.trim())) throw new Error(`str_int value is not an integer: "${s.slice(0, 40)}"`);
    return BigInt(s.trim());
  }),
  str_float: textCodec((v) => {
    if (typeof v !== "number") throw new Error(`expected a number, got ${describe(v)}`);
    return pyFloatRepr(v);
  }, parsePyFloat),
  str_decimal: textCodec((v) => {
    const s = typeof v === "number" ? pyFloatRepr(v) : typeof v === "bigint" ? v.toString() : v;
    if (typeof s !== "string" || !DECIMAL_RE.test(s)) throw new Error(`expected decimal text like "1.2300" or "1E+5", got ${describe(v)}`);
    return s;
  }, (s) => {
    if (!DECIMAL_RE.test(s)) throw new Error(`str_decimal value is not a decimal: "${s.slice(0, 40)}"`);
    return s;
  }),
  json: textCodec((v) => pyDumps(v as PyJson), (s) => pyJsonToJs(parsePyJson(s))),
  pkl: {
    size: null,
    encode() {
      throw new Error("writing pkl values is not supported (pass the pickle bytes as a Uint8Array to store them unchanged)");
    },
    decode: (b) => pickleToJs(readPickle(b)),
  },
};

/**
 * The codec for an encoding string. Throws, naming the encoding, for image encodings (not
 * supported here) and for anything unknown.
 */
export function getCodec(encoding: string): Codec {
  const simple = Object.hasOwn(SIMPLE, encoding) ? SIMPLE[encoding] : undefined;
  if (simple) return simple;
  if (encoding === "ndarray" || encoding.startsWith("ndarray:")) {
    const spec = parseNdEncoding(encoding);
    return {
      size: ndFixedSize(spec),
      encode: (v) => encodeNdarray(spec, v),
      decode: (b) => decodeNdarray(spec, b),
    };
  }
  const base = encoding.split(":")[0]!;
  if (IMAGE_ENCODINGS.includes(base) || IMAGE_ENCODINGS.includes(encoding)) {
    throw new Error(`image encoding "${encoding}" is not supported by this reader/writer (no image codecs); supported: ${supportedEncodings().join(", ")}`);
  }
  throw new Error(`unknown column encoding "${encoding}"; supported: ${supportedEncodings().join(", ")}`);
}

export function supportedEncodings(): string[] {
  return [...Object.keys(SIMPLE), "ndarray[:dtype[:shape]]"];
}

/** Encode one value; a Uint8Array passes through unchanged whatever the encoding (reference quirk). */
export function encodeValue(codec: Codec, value: unknown): Uint8Array {
  return value instanceof Uint8Array ? value : codec.encode(value);
}
