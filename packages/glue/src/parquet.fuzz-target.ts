// Fuzz target for the parquet reader (readTable and loadParquetSplit): the pyarrow-written files of data-streaming's
// src/parquet/fixtures/parquet (every codec, page v2, several row groups) damaged byte by byte — flipped bits,
// truncation, lying lengths and sizes in the thrift headers and the footer. Parquet files come from
// strangers (the Hub): each must give rows or an error naming the file, within the harness's time and
// memory limits.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { applyBytes, bytePlan, describePlan, type Plan } from "../../../scripts/fuzz/mutate.mjs";
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
