// Fuzz target for the parquet reader (readTable and loadParquetSplit): the pyarrow-written files of data-streaming's
// src/parquet/fixtures/parquet (every codec, page v2, several row groups) damaged byte by byte — flipped bits,
// truncation, lying lengths and sizes in the thrift headers and the footer. Parquet files come from
// strangers (the Hub): each must give rows or an error naming the file, within the harness's time and
// memory limits.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { parquetMetadata, type FileMetaData } from "hyparquet";
import { replaceFooter } from "../../data-streaming/src/parquet/footer-edit.js";
import { applyBytes, applyJson, bytePlan, describePlan, jsonPlan, type Plan } from "../../../scripts/fuzz/mutate.mjs";
import type { FuzzTarget } from "../../../scripts/fuzz/target.d.mts";
import { loadParquetSplit } from "./load-parquet.js";
import { readTable, type Table } from "./read-table.js";
import { TASKS } from "./tasks.js";

const FIXTURES = new URL("../../data-streaming/src/parquet/fixtures/parquet/", import.meta.url).pathname;
const NAMES = fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".parquet")).sort();
const SEEDS = NAMES.map((f) => new Uint8Array(fs.readFileSync(path.join(FIXTURES, f))));
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), "fuzz-parquet-"));
const FILE = path.join(DIR, "train.parquet");

function check(t: Table): void {
  if (!Array.isArray(t.columns) || t.columns.some((c) => typeof c !== "string")) throw new Error("accepted a table with non-string column names");
  t.rows.forEach((r, i) => {
    if (r.line !== i + 1) throw new Error(`row ${i} numbered ${r.line}`);
    if (typeof r.values !== "object" || r.values === null) throw new Error(`row ${i + 1} is not an object`);
  });
}

export const parquetTable: FuzzTarget<Plan> = {
  name: "parquet (readTable, then the SST-2 loader)",
  arbitrary: bytePlan(SEEDS.length),
  source: () => FILE,
  run: async (p) => {
    fs.writeFileSync(FILE, applyBytes(SEEDS[p.base]!, p.ops));
    const t = await readTable(FILE);
    check(t);
    const split = await loadParquetSplit(TASKS.sst2, FILE, { onMalformed: "skip" });
    for (const e of split.examples) {
      if (typeof e.a !== "string" || !(e.label === 0 || e.label === 1)) throw new Error(`accepted an SST-2 example ${JSON.stringify(e).slice(0, 80)}`);
    }
    return t;
  },
  describe: (p) => `${NAMES[p.base]} ${describePlan(p)}`,
};

// The footer itself, edited as a structure (row and value counts, offsets, sizes, codecs, types, schema) and
// written back as thrift by hyparquet-writer: the lies a byte flip rarely produces whole, such as a row group
// claiming far more rows than its columns hold.
const BIG_KEYS = /^(num_rows|num_values|total_byte_size|total_compressed_size|total_uncompressed_size|data_page_offset|index_page_offset|dictionary_page_offset|file_offset|bloom_filter_offset|offset_index_offset|column_index_offset)$/;
const footers = SEEDS.map((b) => {
  const meta = parquetMetadata(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  return JSON.parse(JSON.stringify(meta, (_k, v) => (typeof v === "bigint" ? Number(v) : v))) as unknown;
});

function toBigInts(x: unknown, key = ""): unknown {
  if (Array.isArray(x)) return x.map((v) => toBigInts(v));
  if (x && typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, toBigInts(v, k)]));
  return typeof x === "number" && BIG_KEYS.test(key) && Number.isFinite(x) ? BigInt(Math.trunc(x)) : x;
}

/** The seed file with `footer` in place of its own footer, or null when the writer cannot encode the edit. */
function withFooter(seed: Uint8Array, footer: unknown): Uint8Array | null {
  try {
    return replaceFooter(seed, toBigInts(footer) as FileMetaData);
  } catch {
    return null;
  }
}

/** The counts, offsets and sizes of a footer (BIG_KEYS), as [parent, key]: what the number edits aim at. */
function numberSlots(doc: unknown): Array<[Record<string | number, unknown>, string | number]> {
  const out: Array<[Record<string | number, unknown>, string | number]> = [];
  const walk = (v: unknown) => {
    if (!v || typeof v !== "object") return;
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === "number" && BIG_KEYS.test(k)) out.push([v as Record<string | number, unknown>, k]);
      else walk(x);
    }
  };
  walk(doc);
  return out;
}

const numberEdit = fc.record({
  at: fc.integer({ min: 0, max: 2 ** 30 - 1 }).map((i) => i / 2 ** 30),
  to: fc.oneof(fc.constantFrom(-1, 0, 1, 2, 7, 255, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 1e9, 3e8, 2 ** 53 - 1), fc.record({ times: fc.constantFrom(0, 0.5, 2, 10, 1e3, 1e6, -1) })),
});
interface FooterPlan {
  plan: Plan;
  numbers: Array<{ at: number; to: number | { times: number } }>;
}

/** The seed's footer with the JSON edits of `plan`, then the number edits. */
function editedFooter(p: FooterPlan): unknown {
  const doc = applyJson(footers[p.plan.base], p.plan.ops) as unknown;
  for (const e of p.numbers) {
    const slots = numberSlots(doc);
    if (!slots.length) break;
    const [parent, key] = slots[Math.floor(e.at * slots.length)]!;
    parent[key] = typeof e.to === "number" ? e.to : (parent[key] as number) * e.to.times;
  }
  return doc;
}

export const parquetFooter: FuzzTarget<FooterPlan> = {
  name: "parquet footer (structure and number edits, readTable)",
  arbitrary: fc.record({ plan: jsonPlan(SEEDS.length).map((p) => ({ ...p, ops: p.ops.slice(0, 1) })), numbers: fc.array(numberEdit, { minLength: 1, maxLength: 3 }) }),
  source: () => FILE,
  run: async (p) => {
    const bytes = withFooter(SEEDS[p.plan.base]!, editedFooter(p));
    if (!bytes) return null;
    fs.writeFileSync(FILE, bytes);
    const t = await readTable(FILE);
    check(t);
    return t;
  },
  describe: (p) => `${NAMES[p.plan.base]} ${describePlan(p.plan)} numbers ${JSON.stringify(p.numbers)}`,
};

// The hand-built hostile files (data-streaming's fixtures: each made hyparquet spin or fill the heap before the
// pre-decode checks), all read in one input under the harness's deadline and heap limit: every one must be
// refused with an error naming it; one accepted, or a hang or a blown heap, fails the target.
const HOSTILE = new URL("../../data-streaming/src/parquet/fixtures/hostile/", import.meta.url).pathname;
const REFUSED = fs.readdirSync(HOSTILE).filter((f) => f.endsWith(".parquet") && !f.startsWith("h7_")).sort();

export const parquetHostileFiles: FuzzTarget<null> = {
  name: "parquet, the hand-built hostile files (all refused, in bounded time and memory)",
  arbitrary: fc.constant(null),
  source: () => HOSTILE,
  run: async () => {
    for (const f of REFUSED) {
      const file = path.join(HOSTILE, f);
      let accepted = true;
      try {
        await readTable(file);
      } catch (e) {
        if (!(e instanceof Error) || !e.message.includes(file)) throw e;
        accepted = false;
      }
      if (accepted) throw new Error(`accepted the hostile file ${f}`);
    }
    return REFUSED.length;
  },
  check: (n: number) => {
    if (n !== 9) throw new Error(`expected the 9 hostile files, read ${n}`);
  },
};
