import { parseDuration, type DurationUnit } from "./duration.js";

/**
 * A small declarative schema for recipe files: enough to name every wrong key, every wrong type
 * and every unknown key before a run starts, and to type `--set key=value` overrides.
 */
export type Schema =
  | { type: "number"; integer?: boolean; min?: number; max?: number; exclusiveMin?: boolean; nullable?: boolean; words?: readonly string[]; doc?: string }
  | { type: "string"; enum?: readonly string[]; pattern?: { re: RegExp; forms: string }; nullable?: boolean; doc?: string }
  | { type: "boolean"; doc?: string }
  | { type: "duration"; units: readonly DurationUnit[]; nullable?: boolean; positive?: boolean; doc?: string }
  | { type: "array"; items: Schema; length?: number; doc?: string }
  | { type: "object"; fields: Record<string, Field>; nullable?: boolean; doc?: string };

export type Field = Schema & { optional?: boolean };

export interface Problem {
  /** Dotted key, e.g. "optimizer.betas[1]". */
  key: string;
  message: string;
}

/** Every problem of a config, one per line, each naming its key. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly Problem[],
  ) {
    super(`invalid config ${source}:\n${problems.map((p) => `  - ${p.key || "(root)"}: ${p.message}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `a list (${JSON.stringify(v).slice(0, 60)})`;
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** Levenshtein distance, for "did you mean" hints on unknown keys. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

export function suggest(key: string, known: readonly string[]): string {
  let best = "";
  let bestD = Infinity;
  for (const k of known) {
    const dd = distance(key, k);
    if (dd < bestD) {
      bestD = dd;
      best = k;
    }
  }
  return bestD <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean '${best}'?)` : "";
}

/** Checks `value` against `schema`; returns every problem found (empty = valid). */
export function validate(value: unknown, schema: Schema, path = ""): Problem[] {
  const out: Problem[] = [];
  const bad = (message: string) => out.push({ key: path, message });
  if (value === null || value === undefined) {
    if ("nullable" in schema && schema.nullable) return out;
    bad(`expected ${expected(schema)}, got ${value === null ? "null" : "nothing"}`);
    return out;
  }
  switch (schema.type) {
    case "number": {
      // A word the key also takes instead of a number ("auto").
      if (typeof value === "string" && schema.words?.includes(value)) break;
      if (typeof value !== "number" || Number.isNaN(value)) {
        bad(`expected ${expected(schema)}, got ${describe(value)}`);
        break;
      }
      if (!Number.isFinite(value)) bad(`expected ${range(schema)}, got ${value}`);
      else if (schema.integer && !Number.isInteger(value)) bad(`expected an integer, got ${value}`);
      // Past 2^53 a YAML integer has already been rounded to a neighbour: refuse it rather than run with another value.
      else if (schema.integer && !Number.isSafeInteger(value)) bad(`expected ${range(schema)}, got ${value} (integers beyond 2^53 − 1 cannot be read exactly)`);
      else if (
        (schema.min !== undefined && (schema.exclusiveMin ? value <= schema.min : value < schema.min)) ||
        (schema.max !== undefined && value > schema.max)
      ) {
        bad(`expected ${range(schema)}, got ${value}`);
      }
      break;
    }
    case "string":
      if (typeof value !== "string") bad(`expected ${expected(schema)}, got ${describe(value)}`);
      else if (schema.enum && !schema.enum.includes(value)) bad(`expected one of ${schema.enum.join(", ")}, got ${JSON.stringify(value)}`);
      else if (schema.pattern && !schema.pattern.re.test(value)) bad(`expected ${schema.pattern.forms}, got ${JSON.stringify(value)}`);
      break;
    case "boolean":
      if (typeof value !== "boolean") bad(`expected true or false, got ${describe(value)}`);
      break;
    case "duration": {
      if (typeof value !== "string") {
        bad(`expected a duration string such as "2000ba" (units ${schema.units.join(", ")}), got ${describe(value)}`);
        break;
      }
      try {
        const d = parseDuration(value, path);
        if (!schema.units.includes(d.unit)) bad(`unit "${d.unit}" not allowed here: expected one of ${schema.units.join(", ")}`);
        else if (schema.positive && d.value === 0) bad(`expected a duration above zero (e.g. "1ba"), got ${JSON.stringify(value)}: nothing would be trained`);
      } catch (e) {
        bad((e as Error).message.replace(`${path}: `, ""));
      }
      break;
    }
    case "array":
      if (!Array.isArray(value)) {
        bad(`expected ${expected(schema)}, got ${describe(value)}`);
        break;
      }
      if (schema.length !== undefined && value.length !== schema.length) bad(`expected a list of ${schema.length} items, got ${value.length}`);
      value.forEach((v, i) => out.push(...validate(v, schema.items, `${path}[${i}]`)));
      break;
    case "object": {
      if (typeof value !== "object" || Array.isArray(value)) {
        bad(`expected a mapping, got ${describe(value)}`);
        break;
      }
      const obj = value as Record<string, unknown>;
      const known = Object.keys(schema.fields);
      // Own keys only: "constructor", "toString" or "__proto__" are not fields because every object inherits them.
      for (const k of Object.keys(obj)) {
        if (!Object.hasOwn(schema.fields, k)) out.push({ key: join(path, k), message: `unknown key${suggest(k, known)}; known keys here: ${known.join(", ")}` });
      }
      for (const [k, f] of Object.entries(schema.fields)) {
        if (!Object.hasOwn(obj, k) || obj[k] === undefined) {
          if (!f.optional) out.push({ key: join(path, k), message: `missing: expected ${expected(f)}` });
          continue;
        }
        out.push(...validate(obj[k], f, join(path, k)));
      }
      break;
    }
  }
  return out;
}

/** A number schema's accepted values, e.g. "an integer in [1, 65536]" or "a number ≥ 0". */
export function range(s: Extract<Schema, { type: "number" }>): string {
  const what = s.integer ? "an integer" : "a finite number";
  const lo = s.min === undefined ? null : `${s.min}`;
  const hi = s.max === undefined ? (s.integer ? "2^53 − 1" : null) : `${s.max}`;
  if (lo !== null && hi !== null) return `${what} in ${s.exclusiveMin ? "(" : "["}${lo}, ${hi}]`;
  if (lo !== null) return `${what} ${s.exclusiveMin ? ">" : "≥"} ${lo}`;
  if (hi !== null) return `${what} ≤ ${hi}`;
  return what;
}

/** Human form of what a schema accepts. */
export function expected(s: Schema): string {
  const n = "nullable" in s && s.nullable ? " or null" : "";
  switch (s.type) {
    case "number":
      return `${s.integer ? "an integer" : "a number"}${s.words ? s.words.map((w) => ` or "${w}"`).join("") : ""}${n}`;
    case "string":
      return `${s.enum ? `one of ${s.enum.join(", ")}` : s.pattern ? s.pattern.forms : "a string"}${n}`;
    case "boolean":
      return "true or false";
    case "duration":
      return `a duration (units ${s.units.join(", ")})${n}`;
    case "array":
      return `a list${s.length !== undefined ? ` of ${s.length}` : ""} of ${expected(s.items)}`;
    case "object":
      return `a mapping${n}`;
  }
}

/** The schema at a dotted key, or a problem naming the first unknown part. */
export function schemaAt(root: Schema, key: string): Schema | Problem {
  const parts = key.split(".");
  let s: Schema = root;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const here = parts.slice(0, i + 1).join(".");
    if (s.type !== "object") return { key: here, message: `'${parts.slice(0, i).join(".")}' is ${expected(s)}, it has no key '${p}'` };
    const f: Field | undefined = Object.hasOwn(s.fields, p) ? s.fields[p] : undefined;
    if (!f) return { key: here, message: `unknown key${suggest(p, Object.keys(s.fields))}; known keys here: ${Object.keys(s.fields).join(", ")}` };
    s = f;
  }
  return s;
}
