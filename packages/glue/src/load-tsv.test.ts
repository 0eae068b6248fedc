import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GlueDataError } from "./errors.js";
import { loadTsvSplit } from "./load-tsv.js";
import { TASKS } from "./tasks.js";
import { GLUE_DATA } from "./test-paths.js";

const tmp = mkdtempSync(join(tmpdir(), "glue-tsv-"));
function write(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

describe("loadTsvSplit on the real GLUE files", () => {
  it("reads CoLA (no header, no trailing newline in dev)", () => {
    const dev = loadTsvSplit(TASKS.cola, join(GLUE_DATA, "CoLA/dev.tsv"));
    expect(dev.examples.length).toBe(1043);
    expect(dev.examples[0]).toEqual({ a: "The sailors rode the breeze clear of the rocks.", label: 1 });
    expect(dev.examples.filter((e) => e.label === 0).length).toBe(322);
    expect(loadTsvSplit(TASKS.cola, join(GLUE_DATA, "CoLA/train.tsv")).examples.length).toBe(8551);
  });

  it("reads SST-2, keeping the sentence verbatim (trailing space included)", () => {
    const dev = loadTsvSplit(TASKS.sst2, join(GLUE_DATA, "SST-2/dev.tsv"));
    expect(dev.examples.length).toBe(872);
    expect(dev.examples[0]).toEqual({ a: "it 's a charming and often affecting journey . ", label: 1 });
    expect(dev.examples.filter((e) => e.label === 1).length).toBe(444);
  });

  it("reads MRPC despite its UTF-8 BOM, with Quality as the label and quotes as plain characters", () => {
    const dev = loadTsvSplit(TASKS.mrpc, join(GLUE_DATA, "MRPC/dev.tsv"));
    expect(dev.examples.length).toBe(408);
    expect(dev.examples[0]!.label).toBe(1);
    expect(dev.examples[0]!.b).toBe('" The foodservice pie business does not fit our long-term growth strategy .');
    expect(dev.examples.filter((e) => e.label === 1).length).toBe(279);
    expect(loadTsvSplit(TASKS.mrpc, join(GLUE_DATA, "MRPC/train.tsv")).examples.length).toBe(3668);
  });

  it("reads RTE and QNLI string labels as Hugging Face class ids", () => {
    const rte = loadTsvSplit(TASKS.rte, join(GLUE_DATA, "RTE/dev.tsv"));
    expect(rte.examples.length).toBe(277);
    expect(rte.examples[0]).toMatchObject({ b: "Christopher Reeve had an accident.", label: 1 });
    expect(rte.examples.filter((e) => e.label === 0).length).toBe(146);
    const qnli = loadTsvSplit(TASKS.qnli, join(GLUE_DATA, "QNLI/dev.tsv"));
    expect(qnli.examples.length).toBe(5463);
    expect(qnli.examples[0]!.label).toBe(0);
    expect(qnli.examples[1]!.label).toBe(1);
  });

  it("reads STS-B scores as floats from the 10-column layout", () => {
    const dev = loadTsvSplit(TASKS.stsb, join(GLUE_DATA, "STS-B/dev.tsv"));
    expect(dev.examples.length).toBe(1500);
    expect(dev.examples[0]).toEqual({ a: "A man with a hard hat is dancing.", b: "A man wearing a hard hat is dancing.", label: 5 });
    expect(dev.examples[1]!.label).toBeCloseTo(4.75, 6);
  });

  it("reads MNLI's 12-column train layout by header names, gold_label as the label", () => {
    const train = loadTsvSplit(TASKS.mnli, join(GLUE_DATA, "MNLI/train.partial.tsv"));
    expect(train.examples.length).toBe(480);
    expect(train.examples[0]!.a).toBe("Well, he showed them.");
    for (const id of [0, 1, 2]) expect(train.examples.filter((e) => e.label === id).length).toBe(160);
    // The class ids of Hugging Face's glue/mnli (ClassLabel entailment, neutral, contradiction), row by row
    // against the raw file's gold_label column: balanced counts alone would pass any permutation.
    expect(train.examples.slice(0, 4).map((e) => e.label)).toEqual([1, 2, 2, 0]);
    const hf: Record<string, number> = { entailment: 0, neutral: 1, contradiction: 2 };
    const gold = readFileSync(join(GLUE_DATA, "MNLI/train.partial.tsv"), "utf8").split("\n").slice(1).filter(Boolean).map((l) => hf[l.split("\t").at(-1)!]);
    expect(train.examples.map((e) => e.label)).toEqual(gold);
  });

  it("rejects QQP's known malformed upstream row with file and line, or skips it when asked", () => {
    const file = join(GLUE_DATA, "QQP/train.partial.tsv");
    expect(() => loadTsvSplit(TASKS.qqp, file)).toThrow(/QQP\/train\.partial\.tsv:2: QQP: expected 6 tab-separated fields .* found 5/);
    const res = loadTsvSplit(TASKS.qqp, file, { onMalformed: "skip" });
    expect(res.examples.length).toBe(23496);
    expect(res.skipped.map((s) => s.line)).toEqual([2]);
  });
});

describe("loadTsvSplit on malformed files", () => {
  it("names the file and line of a row with too many fields", () => {
    const f = write("rte-extra.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\ta\tb\tc\tentailment\n");
    const err = (() => {
      try {
        loadTsvSplit(TASKS.rte, f);
      } catch (e) {
        return e as GlueDataError;
      }
      throw new Error("no error");
    })();
    expect(err).toBeInstanceOf(GlueDataError);
    expect(err.file).toBe(f);
    expect(err.line).toBe(3);
    expect(err.message).toContain("expected 4 tab-separated fields (index, sentence1, sentence2, label), found 5");
  });

  it("names the line of an unknown label and lists the expected ones", () => {
    const f = write("sst2-label.tsv", "sentence\tlabel\ngood\t1\nbad\t0\nmeh\t2\n");
    expect(() => loadTsvSplit(TASKS.sst2, f)).toThrow(/sst2-label\.tsv:4: SST-2: unknown label "2" in column "label"; expected one of "negative", "positive" or an id 0, 1/);
    const g = write("rte-label.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentails\n");
    expect(() => loadTsvSplit(TASKS.rte, g)).toThrow(/rte-label\.tsv:2: RTE: unknown label "entails"/);
    const h = write("stsb-label.tsv", "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n0\tg\tf\ty\to\ts\ts\ta\tb\t7.5\n");
    expect(() => loadTsvSplit(TASKS.stsb, h)).toThrow(/stsb-label\.tsv:2: STS-B: column "score" is "7\.5"; expected a similarity score between 0 and 5/);
  });

  it("rejects a header missing a needed column", () => {
    const f = write("mrpc-head.tsv", "Quality\t#1 ID\t#2 ID\tString1\tString2\n1\t1\t2\ta\tb\n");
    expect(() => loadTsvSplit(TASKS.mrpc, f)).toThrow(/mrpc-head\.tsv:1: MRPC: header has no column "#1 String"/);
  });

  it("rejects a CoLA row with the wrong field count (headerless layout)", () => {
    const f = write("cola.tsv", "gj04\t1\t\tFine sentence.\r\ngj04\t0\t*\r\n");
    expect(() => loadTsvSplit(TASKS.cola, f)).toThrow(/cola\.tsv:2: CoLA: expected 4 tab-separated fields \(source, label, label_notes, sentence\), found 3/);
  });

  it("skips blank lines and accepts CRLF endings", () => {
    const f = write("sst2-crlf.tsv", "sentence\tlabel\r\ngood\t1\r\n\r\nbad\t0\r\n");
    expect(loadTsvSplit(TASKS.sst2, f).examples).toEqual([
      { a: "good", label: 1 },
      { a: "bad", label: 0 },
    ]);
  });
});
