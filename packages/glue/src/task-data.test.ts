import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { describe, expect, it } from "vitest";
import { loadJsonlSplit } from "./load-jsonl.js";
import { loadParquetSplit } from "./load-parquet.js";
import { loadTaskData } from "./task-data.js";
import { TASKS } from "./tasks.js";
import { GLUE_DATA } from "./test-paths.js";

const tmp = mkdtempSync(join(tmpdir(), "glue-hf-"));

describe("loadTaskData on the shared GLUE folder", () => {
  it("finds complete tasks by their GLUE folder name", async () => {
    const rte = await loadTaskData(GLUE_DATA, TASKS.rte);
    expect(rte.status).toBe("complete");
    expect(rte.runnable).toBe(true);
    expect(rte.train.data!.examples.length).toBe(2490);
    expect(rte.evals.map((e) => [e.split, e.status, e.data?.examples.length])).toEqual([["validation", "complete", 277]]);
  });

  it("reports QNLI as partial (train subset) but runnable", async () => {
    const qnli = await loadTaskData(GLUE_DATA, TASKS.qnli);
    expect(qnli.status).toBe("partial");
    expect(qnli.runnable).toBe(true);
    expect(qnli.train.note).toBe("320 of 104743 rows (train.partial.tsv)");
  });

  it("reports MNLI as missing its dev files, naming the unrecognised TextFooler samples", async () => {
    const mnli = await loadTaskData(GLUE_DATA, TASKS.mnli);
    expect(mnli.runnable).toBe(false);
    expect(mnli.status).toBe("missing");
    expect(mnli.train.status).toBe("partial");
    expect(mnli.evals.map((e) => e.status)).toEqual(["missing", "missing"]);
    expect(mnli.evals[0]!.note).toMatch(/no dev_matched\.tsv, validation_matched\.jsonl or validation_matched\*\.parquet/);
    expect(mnli.unused).toContain("dev_matched.textfooler-sample1000.tokenized.tsv");
  });

  it("marks QQP train invalid (its known malformed row, with file:line) unless skipping is asked for", async () => {
    const strict = await loadTaskData(GLUE_DATA, TASKS.qqp);
    expect(strict.runnable).toBe(false);
    expect(strict.status).toBe("invalid");
    expect(strict.train.status).toBe("invalid");
    expect(strict.train.note).toMatch(/QQP\/train\.partial\.tsv:2: QQP: expected 6 tab-separated fields/);
    expect(strict.evals[0]!.status).toBe("missing");
    const qqp = await loadTaskData(GLUE_DATA, TASKS.qqp, { onMalformed: "skip" });
    expect(qqp.runnable).toBe(false);
    expect(qqp.train.data!.skipped.length).toBe(1);
    expect(qqp.train.status).toBe("partial");
    expect(qqp.train.note).toBe("23497 of 363846 rows (train.partial.tsv)");
    expect(qqp.evals[0]!.status).toBe("missing");
  });

  it("rejects a data directory that does not exist", async () => {
    await expect(loadTaskData(join(tmp, "nope"), TASKS.sst2)).rejects.toThrow(/--data: .*nope is not a directory/);
  });
});

describe("Hugging Face glue exports", () => {
  it("loads jsonl (Dataset.to_json) found under the HF task name", async () => {
    const dir = join(tmp, "hf1", "mrpc");
    mkdirSync(dir, { recursive: true });
    const row = (s1: string, s2: string, label: number, idx: number): string => JSON.stringify({ sentence1: s1, sentence2: s2, label, idx });
    writeFileSync(join(dir, "train.jsonl"), [row("a", "b", 1, 0), row("c", "d", 0, 1)].join("\n") + "\n");
    writeFileSync(join(dir, "validation.jsonl"), row("e", "f", 1, 0) + "\n");
    const d = await loadTaskData(join(tmp, "hf1"), TASKS.mrpc);
    expect(d.runnable).toBe(true);
    expect(d.status).toBe("partial");
    expect(d.train.data!.format).toBe("jsonl");
    expect(d.train.data!.examples).toEqual([
      { a: "a", b: "b", label: 1 },
      { a: "c", b: "d", label: 0 },
    ]);
  });

  it("rejects jsonl rows with a test label (−1), a missing column or bad JSON, naming the line", () => {
    const f = join(tmp, "bad.jsonl");
    writeFileSync(f, `{"sentence":"x","label":1}\n{"sentence":"y","label":-1}\n`);
    expect(() => loadJsonlSplit(TASKS.sst2, f)).toThrow(/bad\.jsonl:2: SST-2: unknown label -1 in column "label" \(−1 marks an unlabelled test row/);
    writeFileSync(f, `{"sentence":"x","label":1}\n{"text":"y","label":0}\n`);
    expect(() => loadJsonlSplit(TASKS.sst2, f)).toThrow(/bad\.jsonl:2: SST-2: column "sentence" is missing; expected a string/);
    writeFileSync(f, `{"sentence":"x","label":1}\n{"sentence":"y",\n`);
    expect(() => loadJsonlSplit(TASKS.sst2, f)).toThrow(/bad\.jsonl:2: SST-2: not valid JSON/);
    writeFileSync(f, `{"sentence":"x","label":1}\n{"sentence":"y","label":5}\n{"sentence":"z","label":0}\n`);
    const res = loadJsonlSplit(TASKS.sst2, f, { onMalformed: "skip" });
    expect(res.examples.map((e) => e.a)).toEqual(["x", "z"]);
    expect(res.skipped.map((s) => s.line)).toEqual([2]);
  });

  it("loads parquet shards (HF hub layout) with INT64 labels, in shard order", async () => {
    const dir = join(tmp, "hf2", "stsb");
    mkdirSync(dir, { recursive: true });
    const shard = (s1: string[], s2: string[], label: number[]): ArrayBuffer =>
      parquetWriteBuffer({
        columnData: [
          { name: "sentence1", data: s1, type: "STRING" },
          { name: "sentence2", data: s2, type: "STRING" },
          { name: "label", data: label, type: "FLOAT" },
          { name: "idx", data: s1.map((_, i) => BigInt(i)), type: "INT64" },
        ],
      });
    writeFileSync(join(dir, "train-00001-of-00002.parquet"), Buffer.from(shard(["c"], ["d"], [0.5])));
    writeFileSync(join(dir, "train-00000-of-00002.parquet"), Buffer.from(shard(["a", "b"], ["x", "y"], [5, 2.25])));
    writeFileSync(join(dir, "validation-00000-of-00001.parquet"), Buffer.from(shard(["e"], ["f"], [3])));
    const d = await loadTaskData(join(tmp, "hf2"), TASKS.stsb);
    expect(d.train.data!.format).toBe("parquet");
    expect(d.train.data!.examples).toEqual([
      { a: "a", b: "x", label: 5 },
      { a: "b", b: "y", label: 2.25 },
      { a: "c", b: "d", label: 0.5 },
    ]);
    const cls = join(tmp, "cls.parquet");
    writeFileSync(
      cls,
      Buffer.from(
        parquetWriteBuffer({
          columnData: [
            { name: "premise", data: ["p", "q"], type: "STRING" },
            { name: "hypothesis", data: ["h", "i"], type: "STRING" },
            { name: "label", data: [2n, 3n], type: "INT64" },
          ],
        }),
      ),
    );
    await expect(loadParquetSplit(TASKS.mnli, cls)).rejects.toThrow(/cls\.parquet:2: MNLI: unknown label 3/);
  });

  it("rejects a file that is not parquet with a clear error", async () => {
    const f = join(tmp, "fake.parquet");
    writeFileSync(f, "sentence,label\nhello,1\n");
    await expect(loadParquetSplit(TASKS.sst2, f)).rejects.toThrow(/fake\.parquet: SST-2: cannot read parquet \(.*\); expected a parquet file with columns sentence, label/);
  });
});
