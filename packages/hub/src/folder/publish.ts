import * as fs from "node:fs";
import * as path from "node:path";
import { HubError } from "../hub/env.js";
import { PYTORCH_FILE, PYTORCH_INDEX, SAFETENSORS_FILE, SAFETENSORS_INDEX, TOKENIZER_FILES } from "./folder.js";

/** Files a training run writes beside the model that are not the model: they stay local unless asked for. */
export const TRAINING_STATE_FILES = [/^optimizer\.(safetensors|pt|bin)$/, /^scheduler\.pt$/, /^trainer_state\.json$/, /^rng_state(_\d+)?\.pth$/, /^training_args\.bin$/];

export interface UploadPlan {
  /** Files of the folder to publish (relative paths), sorted. */
  files: string[];
  /** Files of the folder that stay local, each with why. */
  leftOut: Array<{ file: string; reason: string }>;
  config: Record<string, unknown>;
}

function readConfig(file: string): Record<string, unknown> {
  let j: unknown;
  try {
    j = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new HubError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (j === null || typeof j !== "object" || Array.isArray(j)) throw new HubError(`${file}: expected a JSON object`);
  return j as Record<string, unknown>;
}

/** Shard file names listed by a weights index (weight_map values), each a plain name in the folder. */
function shardsOf(dir: string, index: string): string[] {
  const file = path.join(dir, index);
  const map = (readConfig(file) as { weight_map?: unknown }).weight_map;
  if (map === null || typeof map !== "object" || Array.isArray(map)) throw new HubError(`${file}: weight_map: expected an object of tensor name → shard file`);
  const shards = [...new Set(Object.values(map as Record<string, unknown>))];
  for (const s of shards) {
    if (typeof s !== "string" || s !== path.basename(s) || s.startsWith(".")) throw new HubError(`${file}: weight_map: expected shard file names in this folder, got ${JSON.stringify(s)}`);
    if (!fs.existsSync(path.join(dir, s))) throw new HubError(`${file}: shard '${s}' is missing from ${dir}`);
  }
  return shards as string[];
}

/** Python modules named by config.json's auto_map ("module.Class" → module.py), the code trust_remote_code runs. */
function autoMapModules(config: Record<string, unknown>): string[] {
  const map = config.auto_map;
  if (map === null || typeof map !== "object") return [];
  const mods = Object.values(map as Record<string, unknown>)
    .flatMap((v) => (Array.isArray(v) ? v : [v]))
    .filter((v): v is string => typeof v === "string" && !v.includes("--"))
    .map((v) => `${v.split(".")[0]}.py`);
  return [...new Set(mods)];
}

/** Most Python files followed from the auto_map modules; a folder needing more is refused. */
export const MAX_REMOTE_CODE_FILES = 256;
/** Python files larger than this are not scanned for imports (they are still published when imported). */
const MAX_SCANNED_PY_BYTES = 8 << 20;

/**
 * Modules a Python source imports that live in the folder: relative imports (`from .x import …`,
 * `from . import x, y`, `import .x`, as transformers' get_relative_imports finds them, indented ones
 * included) and plain `import x` / `from x import …` when `x.py` is beside it.
 */
export function localImports(source: string, isLocal: (file: string) => boolean): string[] {
  const out = new Set<string>();
  const add = (mod: string, relative: boolean) => {
    const top = mod.split(".")[0]!;
    if (!/^[A-Za-z_]\w*$/.test(top)) return;
    const file = `${top}.py`;
    if (isLocal(file) || (relative && !mod.includes("."))) out.add(file);
  };
  for (const raw of source.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, "");
    let m: RegExpExecArray | null;
    if ((m = /^\s*from\s+\.\s+import\s+\(?([\w\s,]+)/.exec(line))) {
      for (const name of m[1]!.split(",")) if (name.trim()) add(name.trim().split(/\s+/)[0]!, true);
    } else if ((m = /^\s*from\s+\.([\w.]+)\s+import\b/.exec(line))) add(m[1]!, true);
    else if ((m = /^\s*import\s+\.([\w.]+)\s*$/.exec(line))) add(m[1]!, true);
    else if ((m = /^\s*from\s+([A-Za-z_][\w.]*)\s+import\b/.exec(line))) add(m[1]!, false);
    else if ((m = /^\s*import\s+([\w.,\s]+?)\s*$/.exec(line))) {
      for (const part of m[1]!.split(",")) {
        const mod = part.trim().split(/\s+/)[0];
        if (mod) add(mod, false);
      }
    }
  }
  return [...out];
}

/**
 * The Python files trust_remote_code needs: the auto_map modules and, transitively, the modules of this
 * folder they import (at most MAX_REMOTE_CODE_FILES). A missing relatively-imported module is an error,
 * as it is for transformers.
 */
function remoteCode(dir: string, config: Record<string, unknown>, configFile: string, has: (f: string) => boolean): string[] {
  const roots = autoMapModules(config);
  for (const f of roots) if (!has(f)) throw new HubError(`${configFile}: auto_map names ${f}, which is not in the folder (transformers could not load the model)`);
  const seen = new Set<string>(roots);
  const queue = [...roots];
  while (queue.length > 0) {
    const f = queue.shift()!;
    const file = path.join(dir, f);
    if (fs.statSync(file).size > MAX_SCANNED_PY_BYTES) continue;
    for (const dep of localImports(fs.readFileSync(file, "utf8"), has)) {
      if (seen.has(dep)) continue;
      if (!has(dep)) throw new HubError(`${file}: imports .${dep.slice(0, -3)}, but ${dep} is not in the folder (transformers could not load the model)`);
      if (seen.size >= MAX_REMOTE_CODE_FILES) throw new HubError(`${file}: the auto_map modules import more than ${MAX_REMOTE_CODE_FILES} Python files of ${dir}; expected a handful of modules`);
      seen.add(dep);
      queue.push(dep);
    }
  }
  return [...seen];
}

/**
 * What publishing a model folder uploads: config.json, the weights (single file or the shards an index names),
 * tokenizer files, the Python files config.json's auto_map names with the modules of the folder they import
 * (transitively), and README.md. Training state (optimizer
 * moments, trainer_state.json, …) only with `includeTrainingState`; anything else (plots, logs, sub-folders)
 * stays local. Refuses a folder without a top-level config.json, e.g. a training save folder.
 */
export function planUpload(dir: string, o: { includeTrainingState?: boolean } = {}): UploadPlan {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new HubError(`${dir}: not a folder`);
  const configFile = path.join(dir, "config.json");
  if (!fs.existsSync(configFile)) {
    const latest = path.join(dir, "latest");
    const hint = fs.existsSync(latest)
      ? ` It looks like a training save folder: publish one of its checkpoints, e.g. ${path.join(dir, fs.readFileSync(latest, "utf8").trim())}`
      : fs.existsSync(path.join(dir, "checkpoints")) ? ` It looks like a training save folder: publish one of the folders in ${path.join(dir, "checkpoints")}` : "";
    throw new HubError(`${dir}: no config.json at the top of the folder, so it is not a model folder.${hint}`);
  }
  const config = readConfig(configFile);
  const has = (f: string) => fs.existsSync(path.join(dir, f)) && fs.statSync(path.join(dir, f)).isFile();
  const weights = has(SAFETENSORS_FILE) ? [SAFETENSORS_FILE]
    : has(SAFETENSORS_INDEX) ? [SAFETENSORS_INDEX, ...shardsOf(dir, SAFETENSORS_INDEX)]
    : has(PYTORCH_FILE) ? [PYTORCH_FILE]
    : has(PYTORCH_INDEX) ? [PYTORCH_INDEX, ...shardsOf(dir, PYTORCH_INDEX)]
    : null;
  if (!weights) throw new HubError(`${dir}: no weights (${SAFETENSORS_FILE}, ${SAFETENSORS_INDEX}, ${PYTORCH_FILE} or ${PYTORCH_INDEX})`);
  const code = remoteCode(dir, config, configFile, has);
  const model = new Set(["config.json", ...weights, ...TOKENIZER_FILES.filter(has), ...code, ...(has("README.md") ? ["README.md"] : [])]);
  const files: string[] = [];
  const leftOut: UploadPlan["leftOut"] = [];
  for (const ent of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const f = ent.name;
    if (model.has(f)) files.push(f);
    else if (TRAINING_STATE_FILES.some((re) => re.test(f))) {
      if (o.includeTrainingState) files.push(f);
      else leftOut.push({ file: f, reason: "training state (--include-training-state publishes it)" });
    } else if (ent.isDirectory()) leftOut.push({ file: `${f}/`, reason: "a folder" });
    else leftOut.push({ file: f, reason: f.endsWith(".py") ? "Python code that no auto_map module imports" : "not a model file" });
  }
  return { files, leftOut, config };
}
