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
function remoteCode(config: Record<string, unknown>): string[] {
  const map = config.auto_map;
  if (map === null || typeof map !== "object") return [];
  const mods = Object.values(map as Record<string, unknown>)
    .flatMap((v) => (Array.isArray(v) ? v : [v]))
    .filter((v): v is string => typeof v === "string" && !v.includes("--"))
    .map((v) => `${v.split(".")[0]}.py`);
  return [...new Set(mods)];
}

/**
 * What publishing a model folder uploads: config.json, the weights (single file or the shards an index names),
 * tokenizer files, the Python files config.json's auto_map names, and README.md. Training state (optimizer
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
  const code = remoteCode(config);
  for (const f of code) if (!has(f)) throw new HubError(`${configFile}: auto_map names ${f}, which is not in the folder (transformers could not load the model)`);
  const model = new Set(["config.json", ...weights, ...TOKENIZER_FILES.filter(has), ...code, ...(has("README.md") ? ["README.md"] : [])]);
  const files: string[] = [];
  const leftOut: UploadPlan["leftOut"] = [];
  for (const ent of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const f = ent.name;
    if (model.has(f)) files.push(f);
    else if (TRAINING_STATE_FILES.some((re) => re.test(f))) {
      if (o.includeTrainingState) files.push(f);
      else leftOut.push({ file: f, reason: "training state (--include-training-state publishes it)" });
    } else leftOut.push({ file: ent.isDirectory() ? `${f}/` : f, reason: ent.isDirectory() ? "a folder" : "not a model file" });
  }
  return { files, leftOut, config };
}
