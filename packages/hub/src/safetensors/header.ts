import { FormatError } from "../errors.js";
import { describeValue, shown } from "../text.js";
import { type SafetensorsDTypeName, type StoredDType, SAFETENSORS_DTYPES, isSafetensorsDTypeName, nameItemsize, storedDType } from "./dtypes.js";

/** Headers larger than this are refused (the reference implementation uses the same limit). */
export const MAX_HEADER_BYTES = 100_000_000;
/** Deepest JSON nesting a header may have (a valid one needs 3; serde_json, the reference's parser, stops at 128). */
export const MAX_HEADER_DEPTH = 128;

/** Budgets of the safetensors header parser; each defaults to the reference implementation's. */
export interface SafetensorsReadOptions {
  /** Largest header in bytes; default 100,000,000. */
  maxHeaderBytes?: number;
  /** Deepest nesting of arrays and objects in the header JSON; default 128. */
  maxHeaderDepth?: number;
}

// eslint-disable-next-line no-control-regex
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Walks the header text once, iteratively, before JSON.parse sees it: refuses nesting deeper than
 * `maxDepth` (no engine stack overflow in JSON.parse or in anything that walks the result) and keys
 * repeated within one object or holding lone surrogates (JSON.parse would silently keep the last
 * one; the reference reader refuses both). Malformed JSON is left for JSON.parse to report.
 */
function scanHeader(text: string, file: string, maxDepth: number): void {
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      for (;;) {
        j = text.indexOf('"', j);
        if (j < 0) return; // unterminated: JSON.parse reports it
        let bs = 0;
        while (text.charCodeAt(j - 1 - bs) === 0x5c) bs++;
        if (bs % 2 === 0) break;
        j++;
      }
      const top = stack[stack.length - 1];
      if (top && expectKey) {
        let key: string;
        try {
          key = JSON.parse(text.slice(i, j + 1)) as string;
        } catch {
          return;
        }
        if (LONE_SURROGATE.test(key)) throw new FormatError(file, "header", `key '${shown(key)}' holds a lone UTF-16 surrogate (invalid Unicode)`);
        if (top.has(key)) throw new FormatError(file, stack.length === 1 ? `tensor '${key}'` : "header", `key '${shown(key)}' appears twice in one object`);
        top.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      if (stack.length >= maxDepth) throw new FormatError(file, "header", `JSON is nested deeper than ${maxDepth} levels (limit maxHeaderDepth)`);
      stack.push(c === 0x7b ? new Set() : null);
      expectKey = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      expectKey = stack[stack.length - 1] !== null && stack.length > 0;
    }
  }
}

export interface TensorInfo {
  name: string;
  dtype: StoredDType;
  /** The dtype as spelled in the header (F32, BF16, ...). */
  headerDType: SafetensorsDTypeName;
  shape: number[];
  /** Byte range [begin, end) relative to the start of the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Byte length of the JSON header (the u64 prefix value). */
  headerSize: number;
  /** Absolute file offset of the data section (8 + headerSize). */
  dataStart: number;
  /** Tensors in file order (ascending offsets). */
  tensors: TensorInfo[];
  metadata: Record<string, string> | null;
}

/** Reads the u64 little-endian header length and checks it against the limits and the file size. */
export function parseHeaderSize(prefix: Uint8Array, fileSize: number, file: string, o: SafetensorsReadOptions = {}): number {
  const maxHeaderBytes = o.maxHeaderBytes ?? MAX_HEADER_BYTES;
  if (fileSize < 8 || prefix.length < 8) {
    throw new FormatError(file, "header size", `file is ${fileSize} bytes, too short for the 8-byte header length prefix`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(maxHeaderBytes)) {
    throw new FormatError(file, "header size", `header length ${n} exceeds the ${maxHeaderBytes}-byte limit (not a safetensors file? limit maxHeaderBytes)`);
  }
  const size = Number(n);
  if (8 + size > fileSize) {
    throw new FormatError(file, "header size", `header length ${size} runs past the end of the ${fileSize}-byte file (truncated?)`);
  }
  if (size < 2) throw new FormatError(file, "header size", `header length ${size} is too small for a JSON object`);
  return size;
}

function isNonNegInt(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

/**
 * Parses and validates the JSON header: every tensor has a known dtype, a shape of non-negative
 * integers and data_offsets whose length matches the shape; the tensors tile the data section
 * exactly (ordered, no overlap, no gap, ending at the end of the file).
 */
export function parseHeaderJson(json: Uint8Array, headerSize: number, fileSize: number, file: string, o: SafetensorsReadOptions = {}): SafetensorsHeader {
  if (json[0] === 0xef && json[1] === 0xbb && json[2] === 0xbf) throw new FormatError(file, "header", "header starts with a UTF-8 byte-order mark (the reference reader refuses it)");
  if (json[0] !== 0x7b) throw new FormatError(file, "header", "header must be a JSON object starting with '{' (the reference reader requires it)");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(json);
  } catch {
    throw new FormatError(file, "header", "header is not valid UTF-8");
  }
  scanHeader(text, file, o.maxHeaderDepth ?? MAX_HEADER_DEPTH);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new FormatError(file, "header", `header is not valid JSON (${shown((e as Error).message)})`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new FormatError(file, "header", "header must be a JSON object mapping tensor names to {dtype, shape, data_offsets}");
  }
  const dataLen = fileSize - 8 - headerSize;
  let metadata: Record<string, string> | null = null;
  const tensors: TensorInfo[] = [];
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw new FormatError(file, "__metadata__", "expected an object of string to string");
      }
      for (const [k, v] of Object.entries(value)) {
        // The key as written (it may be empty, or hold dots and quotes): __metadata__ 'key', as tensors are named.
        if (typeof v !== "string") throw new FormatError(file, `__metadata__ '${k}'`, `expected a string value, got ${describeValue(v)}`);
        if (LONE_SURROGATE.test(v)) throw new FormatError(file, `__metadata__ '${k}'`, "value holds a lone UTF-16 surrogate (invalid Unicode)");
      }
      metadata = value as Record<string, string>;
      continue;
    }
    const field = `tensor '${name}'`;
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new FormatError(file, field, "expected an object {dtype, shape, data_offsets}");
    }
    const v = value as Record<string, unknown>;
    if (!isSafetensorsDTypeName(v.dtype)) {
      throw new FormatError(file, `${field}.dtype`, `unknown dtype ${typeof v.dtype === "string" ? JSON.stringify(shown(v.dtype, 40)) : describeValue(v.dtype)}: expected one of ${SAFETENSORS_DTYPES.join(", ")}`);
    }
    if (!Array.isArray(v.shape) || !v.shape.every(isNonNegInt)) {
      throw new FormatError(file, `${field}.shape`, `expected an array of non-negative integers, got ${describeValue(v.shape)}`);
    }
    // The element count is checked at every step, like the reference's checked_mul: [2^32, 2^32, 0, 2^32] overflows.
    let numel = 1;
    for (const d of v.shape as number[]) {
      numel *= d;
      if (!Number.isSafeInteger(numel)) throw new FormatError(file, `${field}.shape`, `the element count of ${describeValue(v.shape)} overflows`);
    }
    const offs = v.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isNonNegInt)) {
      throw new FormatError(file, `${field}.data_offsets`, `expected [begin, end] non-negative integers, got ${describeValue(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) throw new FormatError(file, `${field}.data_offsets`, `end ${end} is before begin ${begin}`);
    if (end > dataLen) {
      throw new FormatError(file, `${field}.data_offsets`, `[${begin}, ${end}] runs past the ${dataLen}-byte data section (truncated file?)`);
    }
    const shape = v.shape as number[];
    const expected = numel * nameItemsize(v.dtype);
    if (!Number.isSafeInteger(expected) || expected !== end - begin) {
      throw new FormatError(file, `${field}.data_offsets`, `holds ${end - begin} bytes but shape ${shape.length <= 8 ? `[${shape.join(", ")}]` : describeValue(shape)} of ${v.dtype} needs ${expected}`);
    }
    tensors.push({ name, dtype: storedDType(v.dtype), headerDType: v.dtype, shape: [...shape], begin, end });
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const t of tensors) {
    if (t.begin < pos) throw new FormatError(file, `tensor '${t.name}'.data_offsets`, `[${t.begin}, ${t.end}] overlaps the previous tensor, which ends at ${pos}`);
    if (t.begin > pos) throw new FormatError(file, `tensor '${t.name}'.data_offsets`, `[${t.begin}, ${t.end}] leaves a gap after byte ${pos}`);
    pos = t.end;
  }
  if (pos !== dataLen) {
    throw new FormatError(file, "data_offsets", `tensors cover ${pos} bytes but the data section holds ${dataLen} (trailing bytes or missing tensors)`);
  }
  return { headerSize, dataStart: 8 + headerSize, tensors, metadata };
}
