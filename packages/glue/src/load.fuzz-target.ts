// Fuzz targets for the GLUE loaders, starting from the real TSV files in shared/data/glue (first 40
// lines of each) and jsonl files made from them: dropped/duplicated/swapped lines, stray tabs, CRs,
// BOMs, NULs, invalid UTF-8, truncation, and JSON edits (wrong types, labels out of range). An
// accepted split must hold only well-formed examples with labels the task knows.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { applyJson, applyText, describePlan, jsonPlan, textPlan, type Plan } from "../../../scripts/fuzz/mutate.mjs";
import type { FuzzTarget } from "../../../scripts/fuzz/target.d.mts";
import { loadJsonlSplit } from "./load-jsonl.js";
import { loadTsvSplit } from "./load-tsv.js";
import type { LoadedSplit } from "./split.js";
import { TASKS, type TaskName } from "./tasks.js";

const GLUE = new URL("../../../../shared/data/glue/", import.meta.url).pathname;
const SEEDS: Array<{ task: TaskName; file: string }> = [
  { task: "cola", file: "CoLA/dev.tsv" }, { task: "sst2", file: "SST-2/dev.tsv" }, { task: "mrpc", file: "MRPC/dev.tsv" },
  { task: "stsb", file: "STS-B/dev.tsv" }, { task: "rte", file: "RTE/dev.tsv" }, { task: "qnli", file: "QNLI/dev.tsv" },
  { task: "mnli", file: "MNLI/train.partial.tsv" }, { task: "qqp", file: "QQP/train.partial.tsv" },
];
const TEXTS = SEEDS.map((s) => fs.readFileSync(GLUE + s.file, "utf8").split("\n").slice(0, 40).join("\n") + "\n");
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), "fuzz-glue-"));

/** Hugging Face jsonl rows made from the TSV seeds' examples. */
const JSONL = SEEDS.map((s, i) => {
  const f = path.join(DIR, `seed${i}.tsv`);
  fs.writeFileSync(f, TEXTS[i]!);
  const task = TASKS[s.task];
  return loadTsvSplit(task, f, { onMalformed: "skip" }).examples.slice(0, 12).map((e, idx) => ({
    [task.textColumns[0]]: e.a, ...(task.textColumns[1] ? { [task.textColumns[1]]: e.b } : {}), label: e.label, idx,
  }));
});

function check(r: LoadedSplit, task: TaskName): void {
  const spec = TASKS[task];
  for (const e of r.examples) {
    if (typeof e.a !== "string" || (spec.textColumns.length === 2) !== (typeof e.b === "string")) throw new Error("accepted an example with missing text");
    const ok = spec.kind === "regression" ? Number.isFinite(e.label) && e.label >= 0 && e.label <= 5 : Number.isInteger(e.label) && e.label >= 0 && e.label < spec.numLabels;
    if (!ok) throw new Error(`accepted label ${e.label} for ${task}`);
  }
}

const plan = fc.record({ plan: textPlan(SEEDS.length), skip: fc.boolean() });

export const glueTsv: FuzzTarget<{ plan: Plan; skip: boolean }> = {
  name: "GLUE TSV",
  arbitrary: plan,
  source: () => path.join(DIR, "dev.tsv"),
  run: ({ plan: p, skip }) => {
    const file = path.join(DIR, "dev.tsv");
    fs.writeFileSync(file, applyText(TEXTS[p.base]!, p.ops));
    const r = loadTsvSplit(TASKS[SEEDS[p.base]!.task], file, { onMalformed: skip ? "skip" : "error" });
    check(r, SEEDS[p.base]!.task);
    return r;
  },
  describe: describePlan,
};

export const glueJsonl: FuzzTarget<{ plan: Plan; rows: Plan; skip: boolean }> = {
  name: "GLUE jsonl",
  arbitrary: fc.record({ plan: textPlan(SEEDS.length), rows: jsonPlan(SEEDS.length), skip: fc.boolean() }),
  source: () => path.join(DIR, "validation.jsonl"),
  run: ({ plan: p, rows, skip }) => {
    const file = path.join(DIR, "validation.jsonl");
    const doc = applyJson(JSONL[p.base], rows.ops);
    const text = Array.isArray(doc) ? doc.map((r) => JSON.stringify(r) ?? "").join("\n") : JSON.stringify(doc) ?? "";
    fs.writeFileSync(file, applyText(text, p.ops.slice(0, 1)));
    const r = loadJsonlSplit(TASKS[SEEDS[p.base]!.task], file, { onMalformed: skip ? "skip" : "error" });
    check(r, SEEDS[p.base]!.task);
    return r;
  },
  describe: describePlan,
};
