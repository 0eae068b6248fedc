import { FormatError } from "../errors.js";
import { type SafetensorsDTypeName, type StoredDType, SAFETENSORS_DTYPES, isSafetensorsDTypeName, nameItemsize, storedDType } from "./dtypes.js";

/** Headers larger than this are refused (the reference implementation uses the same limit). */
export const MAX_HEADER_BYTES = 100_000_000;

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
export function parseHeaderSize(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || prefix.length < 8) {
    throw new FormatError(file, "header size", `file is ${fileSize} bytes, too short for the 8-byte header length prefix`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new FormatError(file, "header size", `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
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
export function parseHeaderJson(json: Uint8Array, headerSize: number, fileSize: number, file: string): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(json);
  } catch {
    throw new FormatError(file, "header", "header is not valid UTF-8");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new FormatError(file, "header", `header is not valid JSON (${(e as Error).message})`);
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
        if (typeof v !== "string") throw new FormatError(file, `__metadata__.${k}`, `expected a string value, got ${JSON.stringify(v)}`);
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
      throw new FormatError(file, `${field}.dtype`, `unknown dtype ${JSON.stringify(v.dtype)}: expected one of ${SAFETENSORS_DTYPES.join(", ")}`);
    }
    if (!Array.isArray(v.shape) || !v.shape.every(isNonNegInt)) {
      throw new FormatError(file, `${field}.shape`, `expected an array of non-negative integers, got ${JSON.stringify(v.shape)}`);
    }
    const offs = v.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isNonNegInt)) {
      throw new FormatError(file, `${field}.data_offsets`, `expected [begin, end] non-negative integers, got ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) throw new FormatError(file, `${field}.data_offsets`, `end ${end} is before begin ${begin}`);
    if (end > dataLen) {
      throw new FormatError(file, `${field}.data_offsets`, `[${begin}, ${end}] runs past the ${dataLen}-byte data section (truncated file?)`);
    }
    const shape = v.shape as number[];
    const numel = shape.reduce((a, b) => a * b, 1);
    const expected = numel * nameItemsize(v.dtype);
    if (!Number.isSafeInteger(expected) || expected !== end - begin) {
      throw new FormatError(file, `${field}.data_offsets`, `holds ${end - begin} bytes but shape [${shape.join(", ")}] of ${v.dtype} needs ${expected}`);
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
