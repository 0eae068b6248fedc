import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { recipesDir, sampleCorpusDir } from "../paths.js";
import { IGNORED_KEYS, PRETRAIN_SCHEMA, type PretrainConfig } from "./pretrain-schema.js";
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
  // Keys of the reference yamls that are ignored (or, model.use_pretrained, checked) when the recipe is built.
  if (schema === PRETRAIN_SCHEMA && (Object.hasOwn(IGNORED_KEYS, key) || key === "model.use_pretrained")) {
    try {
      return [key, parseYaml(raw)];
    } catch {
      return [key, raw];
    }
  }
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

/** `${…}` with no `$`, `{` or `}` inside; group 1: a backslash escaping it (`\${x}` stays literal). */
const REF = /(\\)?\$\{([^${}]*)\}/g;
const WHOLE_REF = /^\$\{([^${}]*)\}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `model.model_config.hidden_size`, `betas.0` or `betas[0]` → its parts; null when malformed. */
function refParts(ref: string): string[] | null {
  const parts: string[] = [];
  for (const seg of ref.split(".")) {
    const m = /^([A-Za-z0-9_-]+)((?:\[\d+\])*)$/.exec(seg);
    if (!m) return null;
    parts.push(m[1]!, ...[...m[2]!.matchAll(/\d+/g)].map((x) => x[0]));
  }
  return parts;
}

/** `${oc.env:NAME}` / `${oc.env:NAME,default}` (omegaconf 2.2): the variable's text, else the default (`null` → null). */
function envValue(args: string, ref: string, at: string, problems: Problem[]): unknown {
  const comma = args.indexOf(",");
  const name = (comma < 0 ? args : args.slice(0, comma)).trim();
  if (!ENV_NAME.test(name)) {
    problems.push({ key: at, message: `\${${ref}}: expected \${oc.env:NAME} or \${oc.env:NAME,default} with NAME an environment variable name` });
    return undefined;
  }
  const value = process.env[name];
  if (value !== undefined) return value;
  if (comma < 0) {
    problems.push({ key: at, message: `\${${ref}}: the environment variable ${name} is not set (set it, or give a default: \${oc.env:${name},default})` });
    return undefined;
  }
  const dflt = args.slice(comma + 1).trim();
  if (dflt === "null") return null;
  const quoted = /^(['"])(.*)\1$/.exec(dflt);
  return quoted ? quoted[2]! : dflt;
}

/**
 * Resolves omegaconf references (omegaconf 2.2 semantics, what the reference main.py loads recipes
 * with): `${key}` and `${dotted.key}` / `${list.0}` are absolute paths from the top of the recipe;
 * `${oc.env:NAME}` and `${oc.env:NAME,default}` read the environment; `\${…}` is kept literally. A
 * whole-string reference keeps the value's type; inside a longer string the value is written as
 * text. An unresolvable reference is a problem naming the key that holds it and the reference. Each
 * referenced key is resolved once (memoised), a cycle is reported, and an expanded string is capped,
 * so references of references cannot multiply into gigabytes or minutes.
 */
function interpolate(root: unknown, top: Record<string, unknown>, problems: Problem[]): unknown {
  const resolved = new Map<string, unknown>();
  const resolving = new Set<string>();
  const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

  /** The resolved value at `canon` (whose raw value is `raw`), memoised, with cycles reported against `at`. */
  const resolveAt = (canon: string, raw: unknown, ref: string, at: string): unknown => {
    if (resolved.has(canon)) return resolved.get(canon);
    if (resolving.has(canon)) {
      problems.push({ key: at, message: `\${${ref}}: references form a cycle` });
      return undefined;
    }
    // A referenced value may itself hold references (data_local: ${sample_corpus}).
    resolving.add(canon);
    const v = walk(raw, canon);
    resolving.delete(canon);
    resolved.set(canon, v);
    return v;
  };

  /** The value `${ref}` names, or undefined after recording a problem against `at`. */
  const look = (ref: string, at: string): unknown => {
    const r = ref.trim();
    const colon = r.indexOf(":");
    if (colon >= 0) {
      const resolver = r.slice(0, colon).trim();
      if (resolver === "oc.env") return envValue(r.slice(colon + 1), ref, at, problems);
      problems.push({ key: at, message: `\${${ref}}: the resolver '${resolver}' is not supported (supported: oc.env, as in \${oc.env:NAME} or \${oc.env:NAME,default})` });
      return undefined;
    }
    if (r.startsWith(".")) {
      problems.push({ key: at, message: `\${${ref}}: relative references are not supported; use the absolute dotted path from the top of the recipe (e.g. \${model.name})` });
      return undefined;
    }
    const parts = refParts(r);
    if (!parts) {
      problems.push({ key: at, message: `\${${ref}}: expected a key (\${max_seq_len}), a dotted path from the top of the recipe (\${model.name}) or \${oc.env:NAME}` });
      return undefined;
    }
    // Own keys only: `${constructor}` must not reach Object.prototype.
    if (parts.length === 1 && !Object.hasOwn(top, parts[0]!) && Object.hasOwn(BUILTINS, parts[0]!)) return BUILTINS[parts[0]!]!();
    let node: unknown = top;
    let canon = "";
    for (const [i, p] of parts.entries()) {
      let child: unknown;
      let next: string;
      if (Array.isArray(node) && /^\d+$/.test(p) && Number(p) < node.length) {
        child = node[Number(p)];
        next = `${canon}[${p}]`;
      } else if (isMap(node) && Object.hasOwn(node, p)) {
        child = node[p];
        next = canon ? `${canon}.${p}` : p;
      } else {
        const where = canon ? ` (${isMap(node) || Array.isArray(node) ? `no '${p}' under '${canon}'` : `'${canon}' is ${node === null ? "null" : typeof node}, it has no '${p}'`})` : "";
        problems.push({ key: at, message: `\${${ref}} refers to a ${parts.length === 1 ? "top-level " : ""}key that does not exist${where}` });
        return undefined;
      }
      canon = next;
      // A step through a reference (`a: ${b}`, then `${a.c}`) follows it first.
      node = typeof child === "string" && i < parts.length - 1 ? resolveAt(canon, child, ref, at) : child;
    }
    return resolveAt(canon, node, ref, at);
  };

  const walk = (node: unknown, path: string): unknown => {
    if (typeof node === "string") {
      if (!node.includes("${")) return node;
      const whole = WHOLE_REF.exec(node);
      if (whole) return look(whole[1]!, path);
      let out = "";
      let last = 0;
      const literal = (text: string): boolean => {
        if (!text.includes("${")) return true;
        problems.push({ key: path, message: `cannot read the reference in ${JSON.stringify(node.slice(0, 200))}: nested or unterminated \${…} (expected \${key}, \${dotted.key} or \${oc.env:NAME[,default]})` });
        return false;
      };
      for (const m of node.matchAll(REF)) {
        if (!literal(node.slice(last, m.index))) return "";
        if (m[1]) out += node.slice(last, m.index) + "${" + m[2]! + "}";
        else {
          const v = look(m[2]!, path);
          if (v !== null && typeof v === "object") {
            problems.push({ key: path, message: `\${${m[2]}} is ${Array.isArray(v) ? "a list" : "a mapping"}; it can only be used as the whole value, not inside a string` });
          }
          out += node.slice(last, m.index) + String(v);
        }
        last = m.index + m[0].length;
        if (out.length > MAX_INTERPOLATED) {
          problems.push({ key: path, message: `\${…} references expand to more than the ${MAX_INTERPOLATED} characters a value may have` });
          return "";
        }
      }
      if (!literal(node.slice(last))) return "";
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

/**
 * Removes the keys of the reference yamls that have no effect (IGNORED_KEYS), each named in a
 * warning, and `model.use_pretrained` (false: what this trainer does; true: refused, naming what to
 * do instead).
 */
function dropIgnoredKeys(raw: Record<string, unknown>, problems: Problem[], warnings: string[]): void {
  const parentOf = (key: string): Record<string, unknown> | null => {
    let o: unknown = raw;
    for (const p of key.split(".").slice(0, -1)) {
      if (o === null || typeof o !== "object" || Array.isArray(o) || !Object.hasOwn(o, p)) return null;
      o = (o as Record<string, unknown>)[p];
    }
    return o !== null && typeof o === "object" && !Array.isArray(o) ? (o as Record<string, unknown>) : null;
  };
  for (const [key, why] of Object.entries(IGNORED_KEYS)) {
    const parent = parentOf(key);
    const last = key.slice(key.lastIndexOf(".") + 1);
    if (!parent || !Object.hasOwn(parent, last)) continue;
    delete parent[last];
    warnings.push(`${key} is ignored: ${why}`);
  }
  const model = parentOf("model.use_pretrained");
  if (model && Object.hasOwn(model, "use_pretrained")) {
    const v = model.use_pretrained;
    delete model.use_pretrained;
    if (v === true) {
      problems.push({
        key: "model.use_pretrained",
        message:
          "true (start from the pretrained Hugging Face weights of pretrained_model_name) is not supported: pretrain trains from a random initialization; " +
          "set it to false or remove the key. To start from pretrained weights, download them with `mosaicbert hub pull OWNER/NAME` and fine-tune that folder " +
          "with `mosaicbert finetune --model DIR`; to continue a pretraining run of your own, use `mosaicbert pretrain --resume CHECKPOINT_DIR`",
      });
    } else if (v !== false && v !== null) {
      problems.push({ key: "model.use_pretrained", message: `expected false (true is not supported), got ${JSON.stringify(v)}` });
    }
  }
}

/**
 * Composer's save_folder format fields: `{run_name}` becomes the run name (`{{` and `}}` are literal
 * braces). The per-process fields Composer also knows ({rank}, {local_rank}, …) are refused: one
 * folder is written, by rank 0.
 */
function formatSaveFolder(cfg: Record<string, unknown>, problems: Problem[]): void {
  const v = cfg.save_folder;
  if (typeof v !== "string" || !/[{}]/.test(v)) return;
  cfg.save_folder = v.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (m, name: string | undefined) => {
    if (m === "{{") return "{";
    if (m === "}}") return "}";
    if (name === "run_name" && typeof cfg.run_name === "string") return cfg.run_name;
    if (name !== "run_name") {
      problems.push({ key: "save_folder", message: `{${name}} in ${JSON.stringify(v)}: only {run_name} is filled in (one folder for the run, written by rank 0); write {{ and }} for literal braces` });
    }
    return m;
  });
}

/** A save_folder that is a URL: refused up front, as checkpoints are written to a local folder only. */
function checkLocalSaveFolder(cfg: Record<string, unknown>, problems: Problem[]): void {
  const v = cfg.save_folder;
  if (typeof v !== "string" || !/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return;
  problems.push({
    key: "save_folder",
    message:
      `${JSON.stringify(v)} is a URL, but checkpoints are written to a local folder only (uploading to s3://, gs://, hf:// or http(s):// is not supported); ` +
      "expected a local path such as ./runs/{run_name} (in save_folder or --save-folder), then copy that folder to object storage yourself (e.g. `aws s3 sync`)",
  });
}

export interface LoadOptions {
  /** `--set key=value` overrides, applied in order after the file. */
  overrides?: readonly string[];
  /** Processes in the run, for the batch-divisibility checks. Default 1. */
  worldSize?: number;
  /** Receives one line per warning (keys of the reference yamls that are accepted and ignored). */
  warnings?: string[];
}

/**
 * Reads, overrides, interpolates and validates a recipe; throws ConfigError naming every bad key.
 * `warnings`: one line per ignored key, for the caller to print.
 */
export function loadRecipe(nameOrPath: string, opts: LoadOptions = {}): { config: PretrainConfig; file: string; warnings: string[] } {
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
  const warnings = opts.warnings ?? [];
  return { config: buildConfig(doc, file, { ...opts, warnings }), file, warnings };
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
  dropIgnoredKeys(raw, problems, opts.warnings ?? []);
  const cfg = interpolate(raw, raw, problems) as Record<string, unknown>;
  formatSaveFolder(cfg, problems);
  checkLocalSaveFolder(cfg, problems);
  problems.push(...validate(cfg, PRETRAIN_SCHEMA));
  if (problems.length === 0) problems.push(...crossChecks(cfg as unknown as PretrainConfig, opts.worldSize ?? 1));
  if (problems.length > 0) {
    // A referenced key is resolved where it is used and where it stands: report each problem once.
    // A key whose reference failed is not also reported as missing.
    const seen = new Set<string>();
    const explained = new Set(problems.filter((p) => !p.message.startsWith("missing:")).map((p) => p.key));
    const shown = problems.filter((p) => !(p.message.startsWith("missing:") && explained.has(p.key)));
    throw new ConfigError(source, shown.filter((p) => !seen.has(`${p.key}\0${p.message}`) && !!seen.add(`${p.key}\0${p.message}`)));
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
