import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { type StoredDType, dtypeRank, nameItemsize, safetensorsName } from "./dtypes.js";

/** A tensor to write: raw little-endian bytes in any typed-array view (Float32Array, Uint16Array for bf16, ...). */
export interface TensorInput {
  dtype: StoredDType;
  shape: readonly number[];
  data: ArrayBufferView;
}

export type TensorInputs = Map<string, TensorInput> | Record<string, TensorInput>;

interface Planned {
  name: string;
  bytes: Uint8Array;
}

const utf8 = new TextEncoder();

function compareBytes(a: string, b: string): number {
  // The reference orders names by their UTF-8 bytes (Rust string order), not UTF-16 units.
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * Validates the tensors and builds the padded JSON header. Tensors are laid out like the reference
 * writer does (wider dtypes first, then by name) so a file read and written back is byte-identical.
 */
function plan(tensors: TensorInputs, metadata: Record<string, string> | undefined, where: string): { header: Uint8Array; parts: Planned[] } {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const items = entries.map(([name, t]) => {
    const field = `${where}: tensor '${name}'`;
    if (name === "" || name === "__metadata__") throw new TypeError(`${field}: reserved or empty tensor name`);
    if (t === null || typeof t !== "object") throw new TypeError(`${field}: expected {dtype, shape, data}`);
    const dt = safetensorsName(t.dtype);
    if (dt === undefined) throw new TypeError(`${field}: dtype: unknown dtype '${String(t.dtype)}'`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new TypeError(`${field}: shape: expected non-negative integers, got ${JSON.stringify(t.shape)}`);
    }
    if (!ArrayBuffer.isView(t.data)) throw new TypeError(`${field}: data: expected a typed array or DataView`);
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const need = t.shape.reduce((a, b) => a * b, 1) * nameItemsize(dt);
    if (bytes.length !== need) {
      throw new TypeError(`${field}: data: holds ${bytes.length} bytes but shape [${t.shape.join(", ")}] of ${dt} needs ${need}`);
    }
    return { name, dt, shape: [...t.shape], bytes };
  });
  items.sort((a, b) => dtypeRank(b.dt) - dtypeRank(a.dt) || compareBytes(a.name, b.name));
  // The header is written key by key, never through a plain object: a tensor named "__proto__" would
  // vanish from one (its bytes still written, the file corrupt) and integer-like names would be reordered.
  const fields: string[] = [];
  if (metadata !== undefined) {
    const meta: string[] = [];
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new TypeError(`${where}: metadata '${k}': expected a string value, got ${typeof v}`);
      meta.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    fields.push(`"__metadata__":{${meta.join(",")}}`);
  }
  let offset = 0;
  for (const it of items) {
    const entry = { dtype: it.dt, shape: it.shape, data_offsets: [offset, offset + it.bytes.length] };
    fields.push(`${JSON.stringify(it.name)}:${JSON.stringify(entry)}`);
    offset += it.bytes.length;
  }
  const json = utf8.encode(`{${fields.join(",")}}`);
  // Pad with spaces so the data section starts 8-byte aligned (as the reference writer does).
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return { header: out, parts: items.map((it) => ({ name: it.name, bytes: it.bytes })) };
}

/** The bytes of a safetensors file holding `tensors` (and `metadata`, string to string). */
export function serializeSafetensors(tensors: TensorInputs, metadata?: Record<string, string>): Uint8Array {
  const { header, parts } = plan(tensors, metadata, "serializeSafetensors");
  const total = header.length + parts.reduce((a, p) => a + p.bytes.length, 0);
  const out = new Uint8Array(total);
  out.set(header, 0);
  let pos = header.length;
  for (const p of parts) {
    out.set(p.bytes, pos);
    pos += p.bytes.length;
  }
  return out;
}

/**
 * Writes a safetensors file atomically: the bytes go to a temporary file beside the target, which is
 * flushed and then renamed over it, so readers never see a half-written checkpoint. Tensors are
 * written one by one, never concatenated in memory.
 */
export function writeSafetensors(file: string, tensors: TensorInputs, metadata?: Record<string, string>): void {
  const { header, parts } = plan(tensors, metadata, file);
  writeAtomic(file, (fd) => {
    writeAll(fd, header);
    for (const p of parts) writeAll(fd, p.bytes);
  });
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30));
}

/** Runs `fill` on a temp file beside `file`, fsyncs it and renames it into place; removes it on failure. */
export function writeAtomic(file: string, fill: (fd: number) => void): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const fd = fs.openSync(tmp, "w");
  try {
    fill(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.closeSync(fd); } catch { /* already closed */ }
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
