import * as fs from "node:fs";
import * as path from "node:path";
import { FormatError } from "../errors.js";
import { readFileBytes } from "../read-file.js";
import { type TensorMap, readSafetensors, readSafetensorsHeader } from "../safetensors/read.js";
import { type TensorInput, type TensorInputs, writeAtomic, writeSafetensors } from "../safetensors/write.js";
import { storedItemsize } from "../safetensors/dtypes.js";
import { readPytorchBin } from "../torch/load.js";
import { type ModelCardOptions, renderModelCard } from "./card.js";

export const SAFETENSORS_FILE = "model.safetensors";
export const SAFETENSORS_INDEX = "model.safetensors.index.json";
export const PYTORCH_FILE = "pytorch_model.bin";
export const PYTORCH_INDEX = "pytorch_model.bin.index.json";
/** Tokenizer files a Hugging Face folder may carry beside the weights. */
export const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json", "added_tokens.json"];

export interface ModelFolder {
  dir: string;
  config: Record<string, unknown>;
  tensors: TensorMap;
  /** Which weights file(s) the tensors came from. */
  weights: string[];
  /** Tokenizer files present in the folder (absolute paths). */
  tokenizerFiles: string[];
}

function readJson(file: string): unknown {
  const text = readFileBytes(file).toString("utf8");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new FormatError(file, "json", `not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Most `weight_map` entries a shard index may list. The largest published checkpoints have about 10^5
 * tensors; anything far beyond that is a broken or hostile index, refused before it costs time.
 */
export const MAX_INDEX_ENTRIES = 1_000_000;

export interface LoadModelFolderOptions {
  /** Most entries a shard index's `weight_map` may hold; default MAX_INDEX_ENTRIES. */
  maxIndexEntries?: number;
}

/**
 * Loads the tensors of a sharded checkpoint from its index (`weight_map`: tensor name → shard file), in
 * time linear in the number of entries. For safetensors shards every listed name is checked against the
 * shard headers before any tensor data is read.
 */
function loadSharded(
  dir: string,
  indexName: string,
  read: (file: string) => TensorMap,
  headerNames: ((file: string) => Set<string>) | null,
  maxEntries: number,
): { tensors: TensorMap; weights: string[] } {
  const indexFile = path.join(dir, indexName);
  const index = readJson(indexFile) as { weight_map?: unknown };
  const map = index?.weight_map;
  if (map === null || typeof map !== "object" || Array.isArray(map)) throw new FormatError(indexFile, "weight_map", "expected an object of tensor name → shard file");
  const entries = Object.entries(map as Record<string, unknown>);
  if (entries.length > maxEntries) {
    throw new FormatError(indexFile, "weight_map", `lists ${entries.length} tensors, more than the ${maxEntries} a checkpoint index may hold; expected an object of tensor name → shard file, one entry per tensor`);
  }
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of entries) {
    if (typeof shard !== "string" || shard !== path.basename(shard) || shard === "." || shard === "..") {
      throw new FormatError(indexFile, `weight_map.${name}`, `expected a shard file name in this folder, got ${JSON.stringify(shard)}`);
    }
    const list = byShard.get(shard);
    if (list) list.push(name);
    else byShard.set(shard, [name]);
  }
  const missing = (file: string, name: string) => new FormatError(file, `tensor '${name}'`, `listed in ${indexName} but not in the shard`);
  for (const shard of byShard.keys()) {
    if (!fs.existsSync(path.join(dir, shard))) throw new FormatError(indexFile, "weight_map", `shard '${shard}' is missing from ${dir}`);
  }
  if (headerNames) {
    // Cheap checks first: the headers alone say whether every listed tensor is there.
    for (const [shard, names] of byShard) {
      const file = path.join(dir, shard);
      const have = headerNames(file);
      for (const name of names) if (!have.has(name)) throw missing(file, name);
    }
  }
  const tensors: TensorMap = new Map();
  for (const [shard, names] of byShard) {
    const file = path.join(dir, shard);
    const t = read(file);
    for (const name of names) {
      const e = t.get(name);
      if (!e) throw missing(file, name);
      tensors.set(name, e);
    }
  }
  return { tensors, weights: [...byShard.keys()] };
}

function safetensorsNames(file: string): Set<string> {
  return new Set(readSafetensorsHeader(file).tensors.map((t) => t.name));
}

/**
 * Loads a Hugging Face model folder: config.json and the weights from model.safetensors, a sharded
 * model.safetensors.index.json, pytorch_model.bin or its sharded index (in that order of preference).
 */
export function loadModelFolder(dir: string, o: LoadModelFolderOptions = {}): ModelFolder {
  const maxEntries = o.maxIndexEntries ?? MAX_INDEX_ENTRIES;
  const configFile = path.join(dir, "config.json");
  if (!fs.existsSync(configFile)) throw new FormatError(dir, "config.json", "missing: not a Hugging Face model folder");
  const config = readJson(configFile);
  if (config === null || typeof config !== "object" || Array.isArray(config)) throw new FormatError(configFile, "config", "expected a JSON object");
  const has = (f: string) => fs.existsSync(path.join(dir, f));
  let loaded: { tensors: TensorMap; weights: string[] };
  if (has(SAFETENSORS_FILE)) loaded = { tensors: readSafetensors(path.join(dir, SAFETENSORS_FILE)), weights: [SAFETENSORS_FILE] };
  else if (has(SAFETENSORS_INDEX)) loaded = loadSharded(dir, SAFETENSORS_INDEX, readSafetensors, safetensorsNames, maxEntries);
  else if (has(PYTORCH_FILE)) loaded = { tensors: readPytorchBin(path.join(dir, PYTORCH_FILE)), weights: [PYTORCH_FILE] };
  else if (has(PYTORCH_INDEX)) loaded = loadSharded(dir, PYTORCH_INDEX, readPytorchBin, null, maxEntries);
  else throw new FormatError(dir, "weights", `no ${SAFETENSORS_FILE}, ${SAFETENSORS_INDEX}, ${PYTORCH_FILE} or ${PYTORCH_INDEX} in the folder`);
  return {
    dir,
    config: config as Record<string, unknown>,
    ...loaded,
    tokenizerFiles: TOKENIZER_FILES.filter(has).map((f) => path.join(dir, f)),
  };
}

/** Reads a single checkpoint file by its extension: .safetensors, or a torch.save file (.bin/.pt/.pth). */
export function readCheckpoint(file: string): TensorMap {
  return file.endsWith(".safetensors") ? readSafetensors(file) : readPytorchBin(file);
}

export interface SaveModelOptions {
  config: Record<string, unknown>;
  tensors: TensorInputs;
  /** Tokenizer (or other) files to write beside the weights: file name → contents. */
  tokenizerFiles?: Record<string, string | Uint8Array>;
  /** README.md: a string, options for the generated card, or false for none. Default: generated. */
  modelCard?: string | Omit<ModelCardOptions, "config"> | false;
  /** Split the weights into shards of at most this many bytes (with an index), like save_pretrained. */
  maxShardBytes?: number;
}

function writeFileAtomic(file: string, content: string | Uint8Array): void {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  writeAtomic(file, (fd) => {
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
  });
}

function entriesOf(t: TensorInputs): Array<[string, TensorInput]> {
  return t instanceof Map ? [...t.entries()] : Object.entries(t);
}

function nbytes(t: TensorInput): number {
  return t.shape.reduce((a, b) => a * b, 1) * storedItemsize(t.dtype);
}

/**
 * Writes a Hugging Face model folder: config.json, model.safetensors (metadata {"format": "pt"} so
 * transformers accepts it) or shards with model.safetensors.index.json, tokenizer files and a
 * README.md model card. Every file is written atomically. Returns the written file names.
 */
export function saveModelFolder(dir: string, o: SaveModelOptions): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const entries = entriesOf(o.tensors);
  const total = entries.reduce((a, [, t]) => a + nbytes(t), 0);
  const meta = { format: "pt" };
  if (o.maxShardBytes !== undefined && total > o.maxShardBytes) {
    const shards: Array<Array<[string, TensorInput]>> = [[]];
    let size = 0;
    for (const e of entries) {
      const n = nbytes(e[1]);
      if (size > 0 && size + n > o.maxShardBytes) { shards.push([]); size = 0; }
      shards[shards.length - 1]!.push(e);
      size += n;
    }
    const pad = (i: number) => String(i).padStart(5, "0");
    const weightMap: Record<string, string> = {};
    shards.forEach((s, i) => {
      const name = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
      writeSafetensors(path.join(dir, name), new Map(s), meta);
      for (const [k] of s) weightMap[k] = name;
      written.push(name);
    });
    const sorted = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    writeFileAtomic(path.join(dir, SAFETENSORS_INDEX), JSON.stringify({ metadata: { total_size: total }, weight_map: sorted }, null, 2) + "\n");
    written.push(SAFETENSORS_INDEX);
    fs.rmSync(path.join(dir, SAFETENSORS_FILE), { force: true });
  } else {
    writeSafetensors(path.join(dir, SAFETENSORS_FILE), o.tensors, meta);
    written.push(SAFETENSORS_FILE);
    fs.rmSync(path.join(dir, SAFETENSORS_INDEX), { force: true });
  }
  writeFileAtomic(path.join(dir, "config.json"), JSON.stringify(o.config, null, 2) + "\n");
  written.push("config.json");
  for (const [name, content] of Object.entries(o.tokenizerFiles ?? {})) {
    if (name !== path.basename(name) || name.startsWith(".")) throw new TypeError(`saveModelFolder: tokenizerFiles: '${name}' must be a plain file name`);
    writeFileAtomic(path.join(dir, name), content);
    written.push(name);
  }
  if (o.modelCard !== false) {
    const card = typeof o.modelCard === "string"
      ? o.modelCard
      : renderModelCard({ parameters: entries.reduce((a, [, t]) => a + t.shape.reduce((x, y) => x * y, 1), 0), ...o.modelCard, config: o.config });
    writeFileAtomic(path.join(dir, "README.md"), card);
    written.push("README.md");
  }
  return written;
}

/** The header-only view of a folder's weights (names, dtypes, shapes) without reading tensor data. */
export function modelFolderShapes(dir: string): Map<string, { dtype: string; shape: number[] }> {
  const out = new Map<string, { dtype: string; shape: number[] }>();
  const single = path.join(dir, SAFETENSORS_FILE);
  const files = fs.existsSync(single)
    ? [single]
    : [...new Set(Object.values(((readJson(path.join(dir, SAFETENSORS_INDEX)) as { weight_map?: Record<string, string> }).weight_map) ?? {}))].map((f) => path.join(dir, f));
  for (const f of files) for (const t of readSafetensorsHeader(f).tensors) out.set(t.name, { dtype: t.dtype, shape: t.shape });
  return out;
}
