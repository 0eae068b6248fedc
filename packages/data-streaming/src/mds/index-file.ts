/** index.json (version 2): types, validation with errors naming the file and field, writing. */
import { getCodec } from "./encodings.js";
import { parseCompression } from "./compression.js";
import { MAX_INDEX_BYTES, MAX_RAW_SHARD_BYTES } from "./limits.js";

export interface FileInfo {
  basename: string;
  bytes: number;
  hashes: Record<string, string>;
}

export interface ShardEntry {
  column_encodings: string[];
  column_names: string[];
  column_sizes: Array<number | null>;
  compression: string | null;
  format: "mds";
  hashes: string[];
  raw_data: FileInfo;
  samples: number;
  size_limit: number | null;
  version: 2;
  zip_data: FileInfo | null;
}

export interface MdsIndex {
  shards: ShardEntry[];
  version: 2;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

/** A shard basename is a relative path with at most one directory part (merged indexes). */
function checkBasename(b: unknown): string | null {
  if (typeof b !== "string" || !b) return "a non-empty relative path";
  const parts = b.split("/");
  if (b.startsWith("/") || b.includes("\\") || parts.length > 2 || parts.some((p) => p === "" || p === "." || p === "..")) {
    return "a relative file name (at most one folder part, no '..')";
  }
  return null;
}

/**
 * Validate a parsed index.json. `file` is named in every error with the failing field and what
 * was expected. Encodings are only checked to be strings here; unknown ones fail on first decode.
 */
export function validateIndex(obj: unknown, file: string): MdsIndex {
  const bad = (field: string, expected: string, got: unknown): never => {
    let shown: string;
    try {
      shown = JSON.stringify(got)?.slice(0, 60) ?? String(got);
    } catch {
      shown = String(got);
    }
    throw new Error(`${file}: ${field}: expected ${expected}, got ${shown}`);
  };
  if (!isObj(obj)) return bad("(top level)", 'an object {"shards": [...], "version": 2}', obj);
  if (obj.version !== 2) bad("version", "2 (the only index version there is)", obj.version);
  if (!Array.isArray(obj.shards)) bad("shards", "a list of shard entries", obj.shards);
  (obj.shards as unknown[]).forEach((s, i) => {
    const f = `shards[${i}]`;
    if (!isObj(s)) return bad(f, "an object", s);
    if (s.format !== "mds") bad(`${f}.format`, '"mds" (other shard formats are not supported)', s.format);
    if (s.version !== 2) bad(`${f}.version`, "2", s.version);
    const names = s.column_names, encs = s.column_encodings, sizes = s.column_sizes;
    if (!Array.isArray(names) || !names.every((n) => typeof n === "string")) bad(`${f}.column_names`, "a list of strings", names);
    if (!Array.isArray(encs) || !encs.every((n) => typeof n === "string") || encs.length !== (names as string[]).length) {
      bad(`${f}.column_encodings`, `a list of ${(names as string[]).length} encoding strings`, encs);
    }
    if (!Array.isArray(sizes) || sizes.length !== (names as string[]).length || !sizes.every((n) => n === null || (isCount(n) && n > 0))) {
      bad(`${f}.column_sizes`, `a list of ${(names as string[]).length} positive integers or nulls`, sizes);
    }
    (encs as string[]).forEach((enc, k) => {
      let size: number | null | undefined;
      try {
        size = getCodec(enc).size;
      } catch {
        return; // reported when a sample of this column is decoded (lets other columns be read)
      }
      if (size !== (sizes as Array<number | null>)[k]) {
        bad(`${f}.column_sizes[${k}]`, `${size} for encoding "${enc}" of column "${(names as string[])[k]}"`, (sizes as unknown[])[k]);
      }
    });
    if (s.compression !== null) {
      if (typeof s.compression !== "string") bad(`${f}.compression`, "null or a compression string", s.compression);
      try {
        parseCompression(s.compression as string);
      } catch (e) {
        bad(`${f}.compression`, (e as Error).message, s.compression);
      }
    }
    if (!Array.isArray(s.hashes) || !s.hashes.every((h) => typeof h === "string")) bad(`${f}.hashes`, "a list of hash names", s.hashes);
    if (!isCount(s.samples) || !Number.isSafeInteger(s.samples)) bad(`${f}.samples`, "a non-negative integer", s.samples);
    if (s.size_limit !== null && !isCount(s.size_limit)) bad(`${f}.size_limit`, "null or a non-negative integer", s.size_limit);
    const checkInfo = (key: "raw_data" | "zip_data") => {
      const d = s[key];
      if (!isObj(d)) return bad(`${f}.${key}`, '{"basename", "bytes", "hashes"}', d);
      const why = checkBasename(d.basename);
      if (why) bad(`${f}.${key}.basename`, why, d.basename);
      if (!isCount(d.bytes) || !Number.isSafeInteger(d.bytes)) bad(`${f}.${key}.bytes`, "a non-negative integer", d.bytes);
      if (!isObj(d.hashes) || !Object.values(d.hashes).every((h) => typeof h === "string" && /^[0-9a-f]+$/i.test(h))) {
        bad(`${f}.${key}.hashes`, "an object of algorithm -> hex digest", d.hashes);
      }
    };
    checkInfo("raw_data");
    // A raw shard is u32 count, u32 offsets[samples + 1], header, samples; its size is its last
    // (u32) offset. So a claim of more samples than the bytes can index is refused here, before a
    // dataset sizes anything by it.
    const raw = (s.raw_data as Obj).bytes as number;
    if (raw > MAX_RAW_SHARD_BYTES) bad(`${f}.raw_data.bytes`, `at most ${MAX_RAW_SHARD_BYTES} (MDS offsets are u32)`, raw);
    const nVar = (sizes as Array<number | null>).filter((x) => x === null).length;
    const perSample = 4 + 4 * nVar + (sizes as Array<number | null>).reduce<number>((a, x) => a + (x ?? 0), 0);
    const least = 8 + (s.samples as number) * perSample;
    if (least > raw) {
      bad(`${f}.samples`, `at most ${Math.floor((raw - 8) / perSample)} for a ${raw}-byte shard (8 + samples × ${perSample} bytes ≤ raw_data.bytes)`, s.samples);
    }
    if (s.compression === null) {
      if (s.zip_data !== null && s.zip_data !== undefined) bad(`${f}.zip_data`, "null for an uncompressed shard", s.zip_data);
    } else checkInfo("zip_data");
  });
  return obj as unknown as MdsIndex;
}

export function parseIndexText(text: string, file: string): MdsIndex {
  if (text.length > MAX_INDEX_BYTES) throw new Error(`${file}: ${text.length} characters, more than the ${MAX_INDEX_BYTES} an index.json may have`);
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  return validateIndex(obj, file);
}
