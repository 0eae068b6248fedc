import * as fs from "node:fs";
import { FormatError } from "../errors.js";
import { readFileBytes } from "../read-file.js";
import type { StoredDType } from "./dtypes.js";
import { type SafetensorsHeader, type SafetensorsReadOptions, type TensorInfo, parseHeaderJson, parseHeaderSize } from "./header.js";

/** One stored tensor: its dtype, shape and raw little-endian bytes (row-major, contiguous). */
export interface SafetensorsEntry {
  dtype: StoredDType;
  shape: number[];
  data: Uint8Array;
}

/** Tensors by name, in file order. */
export type TensorMap = Map<string, SafetensorsEntry>;

/** Parses a whole safetensors file held in memory. Entries' `data` are views into `bytes` (no copy). */
export function parseSafetensors(bytes: Uint8Array, file = "<buffer>", o: SafetensorsReadOptions = {}): { tensors: TensorMap; metadata: Record<string, string> | null } {
  const headerSize = parseHeaderSize(bytes.subarray(0, 8), bytes.length, file, o);
  const header = parseHeaderJson(bytes.subarray(8, 8 + headerSize), headerSize, bytes.length, file, o);
  const tensors: TensorMap = new Map();
  for (const t of header.tensors) {
    tensors.set(t.name, { dtype: t.dtype, shape: t.shape, data: bytes.subarray(header.dataStart + t.begin, header.dataStart + t.end) });
  }
  return { tensors, metadata: header.metadata };
}

/** Reads every tensor of a safetensors file (a path, or the file's bytes). */
export function readSafetensors(source: string | Uint8Array, o: SafetensorsReadOptions = {}): TensorMap {
  if (typeof source === "string") return parseSafetensors(readFileBytes(source), source, o).tensors;
  return parseSafetensors(source, "<buffer>", o).tensors;
}

/** Reads only the `__metadata__` string map (null when absent). */
export function readSafetensorsMetadata(source: string | Uint8Array): Record<string, string> | null {
  if (typeof source === "string") return readSafetensorsHeader(source).metadata;
  return parseSafetensors(source).metadata;
}

/** Reads and validates only the header (a few kilobytes, whatever the file size). */
export function readSafetensorsHeader(path: string, o: SafetensorsReadOptions = {}): SafetensorsHeader {
  let fd: number;
  try {
    fd = fs.openSync(path, "r");
  } catch (e) {
    throw new FormatError(path, "file", `cannot open: ${(e as Error).message}`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const prefix = new Uint8Array(8);
    fs.readSync(fd, prefix, 0, Math.min(8, size), 0);
    const headerSize = parseHeaderSize(prefix, size, path, o);
    const json = new Uint8Array(headerSize);
    readFullySync(fd, json, 8, path);
    return parseHeaderJson(json, headerSize, size, path, o);
  } finally {
    fs.closeSync(fd);
  }
}

function readFullySync(fd: number, dst: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < dst.length) {
    const n = fs.readSync(fd, dst, done, dst.length - done, position + done);
    if (n === 0) throw new FormatError(file, "header", `unexpected end of file at byte ${position + done} (truncated while open?)`);
    done += n;
  }
}

/**
 * A safetensors file opened for lazy, per-tensor reading: only the header is read up front and each
 * `get` reads that tensor's bytes at its offset, so multi-gigabyte checkpoints never sit in memory whole.
 */
export class SafetensorsFile {
  private constructor(
    readonly path: string,
    readonly header: SafetensorsHeader,
    private readonly handle: fs.promises.FileHandle,
    private readonly byName: Map<string, TensorInfo>,
  ) {}

  static async open(path: string, o: SafetensorsReadOptions = {}): Promise<SafetensorsFile> {
    const header = readSafetensorsHeader(path, o);
    const handle = await fs.promises.open(path, "r");
    return new SafetensorsFile(path, header, handle, new Map(header.tensors.map((t) => [t.name, t])));
  }

  get metadata(): Record<string, string> | null {
    return this.header.metadata;
  }

  /** Tensor names in file order. */
  names(): string[] {
    return this.header.tensors.map((t) => t.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new FormatError(this.path, `tensor '${name}'`, `not in this file (it has ${this.byName.size} tensors)`);
    return t;
  }

  /** Reads one tensor's bytes from disk. */
  async get(name: string): Promise<SafetensorsEntry> {
    const t = this.info(name);
    const data = new Uint8Array(t.end - t.begin);
    let done = 0;
    while (done < data.length) {
      const { bytesRead } = await this.handle.read(data, done, data.length - done, this.header.dataStart + t.begin + done);
      if (bytesRead === 0) throw new FormatError(this.path, `tensor '${name}'`, "file ended before the tensor's data (truncated while open?)");
      done += bytesRead;
    }
    return { dtype: t.dtype, shape: [...t.shape], data };
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Opens a safetensors file for lazy per-tensor reads; close it when done. */
export function openSafetensors(path: string, o: SafetensorsReadOptions = {}): Promise<SafetensorsFile> {
  return SafetensorsFile.open(path, o);
}
