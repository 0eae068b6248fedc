import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { recipesDir, sampleCorpusDir } from "../paths.js";
import { PRETRAIN_SCHEMA, type PretrainConfig } from "./pretrain-schema.js";
import { ConfigError, type Problem, type Schema, schemaAt, validate } from "./schema.js";

/** Recipe names shipped in packages/trainer/recipes. */
export function recipeNames(): string[] {
  return readdirSync(recipesDir())
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Resolves a recipe argument: a shipped name ("mosaic-bert-base") or a path to a yaml file. */
export function resolveRecipe(nameOrPath: string): string {
  const byName = join(recipesDir(), `${nameOrPath}.yaml`);
  if (!nameOrPath.includes("/") && !nameOrPath.endsWith(".yaml") && !nameOrPath.endsWith(".yml")) {
    if (existsSync(byName)) return byName;
    throw new Error(`--config: no recipe named '${nameOrPath}': expected one of ${recipeNames().join(", ")} or a path to a .yaml file`);
  }
  const p = isAbsolute(nameOrPath) ? nameOrPath : resolve(nameOrPath);
  if (!existsSync(p)) throw new Error(`--config: file not found: ${p}`);
  return p;
}

/** Keys the reference took from Composer or launcher defaults; a recipe may leave them out. */
const DEFAULTS: Partial<PretrainConfig> = {
  data_remote: null,
  algorithms: {},
  eval_subset_num_batches: -1,
  global_eval_batch_size: null,
  device: "auto",
  progress_bar: true,
  log_to_console: true,
  console_log_interval: "1ba",
  callbacks: {},
  save_folder: null,
  save_interval: "1000ba",
  save_num_checkpoints_to_keep: -1,
};

/**
 * Parses one `--set key=value` override into [dotted key, typed value], typed by the schema:
 * string and duration keys keep the text as is, every other value is read as YAML
 * (numbers, true/false, null, [0.9, 0.98]). Unknown keys fail with the key named.
 */
export function parseOverride(text: string, schema: Schema = PRETRAIN_SCHEMA): [string, unknown] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new ConfigError("--set", [{ key: text, message: "expected key=value with a dotted key, e.g. optimizer.lr=1e-3" }]);
  const key = text.slice(0, eq).trim();
  const raw = text.slice(eq + 1);
  const s = schemaAt(schema, key);
  if ("message" in s) throw new ConfigError("--set", [s]);
  if (raw === "null" && "nullable" in s && s.nullable) return [key, null];
  if (s.type === "string" || s.type === "duration") return [key, raw];
  let value: unknown;
  try {
    value = parseYaml(raw);
  } catch (e) {
    throw new ConfigError("--set", [{ key, message: `cannot read value ${JSON.stringify(raw)}: ${(e as Error).message}` }]);
  }
  return [key, value];
}

/** Sets a dotted key; every part is an own data property (parseOverride has checked it against the schema). */
function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split(".");
  const define = (o: Record<string, unknown>, k: string, v: unknown) =>
    Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  let o = obj;
  for (const p of parts.slice(0, -1)) {
    const next = Object.hasOwn(o, p) ? o[p] : undefined;
    if (next === null || typeof next !== "object" || Array.isArray(next)) define(o, p, {});
    o = o[p] as Record<string, unknown>;
  }
  define(o, parts[parts.length - 1]!, value);
}

/** Values a recipe may reference that are not recipe keys. */
const BUILTINS: Record<string, () => string> = {
  /** The public-domain English sample shipped with this package (MDS, train/ and val/). */
  sample_corpus: sampleCorpusDir,
};

/** A recipe file's size limit (the shipped ones are ~2 KB). */
const MAX_RECIPE_BYTES = 1 << 20;

/** Nesting of flow collections (`[`, `{`) or compact block entries (`- - -`) a recipe may have (the shipped ones use 2). */
const MAX_FLOW_DEPTH = 64;

/**
 * Refuses deeply nested flow collections (`[[[[…`) and compact block entries (`- - - - …` on one
 * line) before the YAML parser sees them: the parser recurses per level, and 20,000 levels (a 40 KB
 * file) abort the whole process in the regex compiler. Quoted scalars and comments are skipped; the
 * count only has to bound the parser's recursion. (Nesting by indentation costs quadratic bytes: the
 * file size limit keeps it where the parser fails with an error of its own.)
 */
function checkFlowDepth(text: string): void {
  let depth = 0;
  let line = 1;
  const compact = (at: number) => {
    const m = /^[ \t]*((?:[-?:][ \t]+)*)/.exec(text.slice(at, at + 4 * MAX_FLOW_DEPTH + 8))!;
    if (m[1]!.replace(/\s/g, "").length > MAX_FLOW_DEPTH) throw new Error(`line ${line}: entries nested more than ${MAX_FLOW_DEPTH} deep`);
  };
  compact(0);
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\n") {
      line++;
      compact(i + 1);
    }
    else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i + 1 < text.length && text[i + 1] !== "\n") i++;
    } else if (c === '"' || c === "'") {
      for (i++; i < text.length && text[i] !== c; i++) {
        if (text[i] === "\\" && c === '"') i++;
        else if (text[i] === "\n") line++;
      }
    } else if (c === "[" || c === "{") {
      if (++depth > MAX_FLOW_DEPTH) throw new Error(`line ${line}: collections nested more than ${MAX_FLOW_DEPTH} deep`);
    } else if ((c === "]" || c === "}") && depth > 0) depth--;
  }
}

/** Characters one interpolated string may expand to. */
const MAX_INTERPOLATED = 1 << 16;

/**
 * Replaces `${key}` with the top-level value of `key` (whole-string references keep the value's type).
 * Each referenced key is resolved once (memoised), a cycle is reported, and an expanded string is
 * capped, so references of references cannot multiply into gigabytes or minutes.
 */
function interpolate(root: unknown, top: Record<string, unknown>, problems: Problem[]): unknown {
  const resolved = new Map<string, unknown>();
  const resolving = new Set<string>();
  const walk = (node: unknown, path: string): unknown => {
    if (typeof node === "string") {
      const look = (k: string): unknown => {
        // Own keys only: `${constructor}` must not reach Object.prototype.
        const known = Object.hasOwn(top, k);
        if (!known && Object.hasOwn(BUILTINS, k)) return BUILTINS[k]!();
        if (!known) {
          problems.push({ key: path, message: `\${${k}} refers to a top-level key that does not exist` });
          return undefined;
        }
        if (resolved.has(k)) return resolved.get(k);
        if (resolving.has(k)) {
          problems.push({ key: path, message: `\${${k}}: references form a cycle` });
          return undefined;
        }
        // A referenced value may itself hold references (data_local: ${sample_corpus}).
        resolving.add(k);
        const v = walk(top[k], k);
        resolving.delete(k);
        resolved.set(k, v);
        return v;
      };
      const whole = /^\$\{([A-Za-z0-9_]+)\}$/.exec(node);
      if (whole) return look(whole[1]!);
      let out = "";
      let last = 0;
      for (const m of node.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)) {
        out += node.slice(last, m.index) + String(look(m[1]!));
        last = m.index + m[0].length;
        if (out.length > MAX_INTERPOLATED) {
          problems.push({ key: path, message: `\${…} references expand to more than the ${MAX_INTERPOLATED} characters a value may have` });
          return "";
        }
      }
      return out + node.slice(last);
    }
    if (Array.isArray(node)) return node.map((v, i) => walk(v, `${path}[${i}]`));
    if (node && typeof node === "object") {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, path ? `${path}.${k}` : k)]));
    }
    return node;
  };
  return walk(root, "");
}

export interface LoadOptions {
  /** `--set key=value` overrides, applied in order after the file. */
  overrides?: readonly string[];
  /** Processes in the run, for the batch-divisibility checks. Default 1. */
  worldSize?: number;
}

/** Reads, overrides, interpolates and validates a recipe; throws ConfigError naming every bad key. */
export function loadRecipe(nameOrPath: string, opts: LoadOptions = {}): { config: PretrainConfig; file: string } {
  const file = resolveRecipe(nameOrPath);
  let doc: unknown;
  try {
    const size = statSync(file).size;
    if (size > MAX_RECIPE_BYTES) throw new Error(`${size} bytes, more than the ${MAX_RECIPE_BYTES} a recipe may have`);
    const text = readFileSync(file, "utf8");
    checkFlowDepth(text);
    doc = parseYaml(text);
  } catch (e) {
    throw new ConfigError(file, [{ key: "", message: `not valid YAML: ${(e as Error).message}` }]);
  }
  return { config: buildConfig(doc, file, opts), file };
}

/** Validates an already-parsed recipe document (see loadRecipe). */
export function buildConfig(doc: unknown, source: string, opts: LoadOptions = {}): PretrainConfig {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new ConfigError(source, [{ key: "", message: "expected a YAML mapping of recipe keys" }]);
  }
  const raw: Record<string, unknown> = { ...structuredClone(DEFAULTS), ...(structuredClone(doc) as Record<string, unknown>) };
  const problems: Problem[] = [];
  for (const o of opts.overrides ?? []) {
    try {
      const [k, v] = parseOverride(o);
      setPath(raw, k, v);
    } catch (e) {
      // Report every bad override at once, with the recipe's own problems.
      if (e instanceof ConfigError) problems.push(...e.problems.map((p) => ({ key: p.key, message: `${p.message} (--set ${o})` })));
      else throw e;
    }
  }
  const cfg = interpolate(raw, raw, problems) as Record<string, unknown>;
  problems.push(...validate(cfg, PRETRAIN_SCHEMA));
  if (problems.length === 0) problems.push(...crossChecks(cfg as unknown as PretrainConfig, opts.worldSize ?? 1));
  if (problems.length > 0) {
    // A referenced key is resolved where it is used and where it stands: report each problem once.
    const seen = new Set<string>();
    throw new ConfigError(source, problems.filter((p) => !seen.has(`${p.key}\0${p.message}`) && !!seen.add(`${p.key}\0${p.message}`)));
  }
  return cfg as unknown as PretrainConfig;
}

/** Rules that involve several keys. */
export function crossChecks(c: PretrainConfig, worldSize: number): Problem[] {
  const out: Problem[] = [];
  const g = c.global_train_batch_size;
  if (g % worldSize !== 0) {
    out.push({ key: "global_train_batch_size", message: `${g} is not divisible by the ${worldSize} processes of the run` });
    return out;
  }
  const device = g / worldSize;
  if (c.device_train_microbatch_size !== "auto" && device % c.device_train_microbatch_size !== 0) {
    out.push({
      key: "device_train_microbatch_size",
      message: `${c.device_train_microbatch_size} does not divide the per-device batch of ${device} (global_train_batch_size ${g} / ${worldSize} processes)`,
    });
  }
  const ge = c.global_eval_batch_size ?? g;
  if (ge % worldSize !== 0) out.push({ key: "global_eval_batch_size", message: `${ge} is not divisible by the ${worldSize} processes of the run` });
  for (const l of ["train_loader", "eval_loader"] as const) {
    if (c[l].dataset.max_seq_len < 3) out.push({ key: `${l}.dataset.max_seq_len`, message: `must leave room for [CLS] and [SEP], got ${c[l].dataset.max_seq_len}` });
  }
  if (c.scheduler.name !== "constant_with_warmup" && c.scheduler.alpha_f === undefined) {
    out.push({ key: "scheduler.alpha_f", message: `missing: ${c.scheduler.name} needs alpha_f (the final LR multiplier)` });
  }
  return out;
}
