import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetWriteFile } from "hyparquet-writer";
import { describe, expect, it } from "vitest";
import { loadLabelledFiles } from "./labelled.js";
import { parseCsv, readTable } from "./read-table.js";
import { GLUE_DATA } from "./test-paths.js";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

const tmp = mkdtempSync(join(tmpdir(), "glue-labelled-"));
function write(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

describe("readTable", () => {
  it("parses RFC 4180 CSV: quoted commas, doubled quotes, line breaks inside quotes, CRLF, BOM; rows keep their first line", async () => {
    const f = write("a.csv", '\ufefftext,label\r\n"a, b",1\r\n"say ""hi""",0\n"two\nlines",1\n\nplain "quote" inside,0\n');
    const t = await readTable(f);
    expect(t.columns).toEqual(["text", "label"]);
    expect(t.rows.map((r) => [r.line, r.values.text, r.values.label])).toEqual([
      [2, "a, b", "1"],
      [3, 'say "hi"', "0"],
      [4, "two\nlines", "1"],
      [7, 'plain "quote" inside', "0"],
    ]);
  });

  it("names file and line of ragged rows, unclosed quotes, junk after a quote, and empty files", async () => {
    await expect(readTable(write("r.csv", "text,label\nok,1\nno label\n"))).rejects.toThrow(/r\.csv:3: expected 2 comma-separated fields \(text, label\) as in the header, found 1/);
    await expect(readTable(write("r.tsv", "text\tlabel\nok\t1\ta\n"))).rejects.toThrow(/r\.tsv:2: expected 2 tab-separated fields/);
    await expect(readTable(write("q.csv", 'text,label\nok,1\n"never closed,1\nx,0\n'))).rejects.toThrow(/q\.csv:3: a quoted field opened on this line is never closed/);
    expect(() => parseCsv("j.csv", 'a,b\n"x"y,1\n', ",")).toThrow(/j\.csv:2: unexpected "y" after the closing quote of field 1/);
    await expect(readTable(write("e.csv", ""))).rejects.toThrow(/e\.csv: empty file; expected a header line/);
    await expect(readTable(write("e.jsonl", "\n\n"))).rejects.toThrow(/e\.jsonl: empty file/);
    await expect(readTable(write("b.jsonl", '{"text": "a", "label": 1}\n[1, 2]\n'))).rejects.toThrow(/b\.jsonl:2: expected a JSON object/);
    await expect(readTable(write("c.jsonl", '{"text": "a", "label": 1}\n{"text": \n'))).rejects.toThrow(/c\.jsonl:2: not valid JSON/);
    await expect(readTable(write("d.txt", "x"))).rejects.toThrow(/d\.txt: cannot tell the format from the extension "\.txt"/);
    await expect(readTable(write("dup.csv", "text,text\na,b\n"))).rejects.toThrow(/dup\.csv:1: header names column "text" twice/);
  });

  it("reads parquet columns by name with 1-based rows", async () => {
    const f = join(tmp, "p.parquet");
    await parquetWriteFile({
      filename: f,
      columnData: [
        { name: "sentence", data: ["good", "bad", "fine"], type: "STRING" },
        { name: "label", data: [1, 0, 1], type: "INT32" },
      ],
    });
    const t = await readTable(f);
    expect(t.columns).toEqual(["sentence", "label"]);
    expect(t.rows.map((r) => [r.line, r.values.sentence, r.values.label])).toEqual([[1, "good", 1], [2, "bad", 0], [3, "fine", 1]]);
  });
});

describe("loadLabelledFiles", () => {
  it("reads real SST-2 TSV files with the default columns: integer labels in numeric order", async () => {
    const d = await loadLabelledFiles(join(GLUE_DATA, "SST-2/dev.tsv"), join(GLUE_DATA, "SST-2/dev.tsv"));
    expect(d.columns).toEqual({ text: "sentence", pair: null, label: "label" });
    expect(d.space).toMatchObject({ kind: "classification", numLabels: 2, labelNames: ["0", "1"] });
    expect(d.train.examples).toHaveLength(872);
    expect(d.train.examples[0]).toEqual({ a: "it 's a charming and often affecting journey . ", label: 1 });
  });

  it("detects regression from fractional scores (STS-B pairs, label column by flag)", async () => {
    const f = join(GLUE_DATA, "STS-B/dev.tsv");
    const d = await loadLabelledFiles(f, f, { labelColumn: "score" });
    expect(d.columns).toEqual({ text: "sentence1", pair: "sentence2", label: "score" });
    expect(d.space).toMatchObject({ kind: "regression", numLabels: 1, scoreMetrics: ["spearman"], extraMetrics: ["pearson"] });
    expect(d.train.examples[1]).toMatchObject({ b: "A child is riding a horse.", label: 4.75 });
    // The same file read as classes when asked.
    const c = await loadLabelledFiles(f, f, { labelColumn: "score", task: "classification" });
    expect(c.space.numLabels).toBeGreaterThan(10);
  });

  it("keeps string labels, pairs by flag, and fixes class order with labels", async () => {
    const train = write("nli.jsonl", ['{"p": "a", "h": "b", "y": "neutral"}', '{"p": "c", "h": "d", "y": "entailment"}', '{"p": "e", "h": "f", "y": "neutral"}'].join("\n"));
    const d = await loadLabelledFiles(train, train, { textColumn: "p", textPairColumn: "h", labelColumn: "y" });
    expect(d.space.labelNames).toEqual(["entailment", "neutral"]);
    expect(d.train.examples[0]).toEqual({ a: "a", b: "b", label: 1 });
    const e = await loadLabelledFiles(train, train, { textColumn: "p", textPairColumn: "h", labelColumn: "y", labels: ["neutral", "entailment", "contradiction"] });
    expect(e.space.numLabels).toBe(3);
    expect(e.train.examples.map((x) => x.label)).toEqual([0, 1, 0]);
  });

  it("names the file, line and column of bad rows", async () => {
    const train = write("t.csv", "text,label\ngood,pos\nbad,neg\n");
    await expect(loadLabelledFiles(train, write("u.csv", "text,label\nfine,pos\nmeh,neutral\n"))).rejects.toThrow(
      /u\.csv:3: column "label": unknown label "neutral"; the training file's labels are "neg", "pos"/,
    );
    await expect(loadLabelledFiles(train, write("m.csv", "sentence,label\nx,pos\n"))).rejects.toThrow(/m\.csv:1: no column "text" \(columns: sentence, label\)/);
    await expect(loadLabelledFiles(write("n.csv", "review,stars\nx,1\n"), train)).rejects.toThrow(/n\.csv:1: no text column: none of text, sentence, sentence1/);
    await expect(loadLabelledFiles(train, train, { labelColumn: "y" })).rejects.toThrow(/t\.csv:1: no column "y" .* --label-column/);
    await expect(loadLabelledFiles(write("h.csv", "text,label\n"), train)).rejects.toThrow(/h\.csv: no rows after the header/);
    await expect(loadLabelledFiles(write("s.csv", "text,label\na,x\nb,x\n"), train)).rejects.toThrow(/s\.csv: column "label" holds a single label \("x"\)/);
    await expect(loadLabelledFiles(write("v.csv", "text,label\na,1\nb,\n"), train)).rejects.toThrow(/v\.csv:3: column "label" is empty/);
    await expect(loadLabelledFiles(write("k.jsonl", '{"text": "a", "label": 1}\n{"text": null, "label": 0}\n'), train)).rejects.toThrow(/k\.jsonl:2: column "text" is null; expected a text/);
    const r = write("r.csv", "text,label\na,0.5\nb,1.25\n");
    await expect(loadLabelledFiles(r, write("rb.csv", "text,label\na,high\n"))).rejects.toThrow(/rb\.csv:2: column "label" is "high"; expected a number/);
  });

  const fixture = (name: string) => join(FIXTURES, name);
  // SST-2 dev sentences (real GLUE data) for the tables written here.
  const sst2Dev = readFileSync(join(GLUE_DATA, "SST-2/dev.tsv"), "utf8").trim().split("\n").slice(1, 9).map((l) => l.split("\t") as [string, string]);

  it("NaN (a missing float, as pandas / pyarrow write it) is a missing label naming file and row, never a class; ±Infinity is an error", async () => {
    const csv = write("ok.csv", `text,label\n${sst2Dev.map(([s, l]) => `"${s.replaceAll('"', '""')}",${l}`).join("\n")}\n`);
    // Classification: not a third class "NaN", reported like a null.
    await expect(loadLabelledFiles(fixture("labelled-nan.parquet"), csv)).rejects.toThrow(/labelled-nan\.parquet:2: column "label" is NaN \(a missing value\)/);
    // Regression: a NaN does not turn the scores into classes (task auto), nor pass as a target.
    await expect(loadLabelledFiles(fixture("labelled-reg-nan.parquet"), fixture("labelled-reg-nan.parquet"))).rejects.toThrow(/labelled-reg-nan\.parquet:2: column "label" is NaN \(a missing value\)/);
    await expect(loadLabelledFiles(fixture("labelled-reg-nan.parquet"), csv, { task: "regression" })).rejects.toThrow(/labelled-reg-nan\.parquet:2: column "label" is NaN/);
    // NaN in the eval file, after a clean training file.
    const scores = join(tmp, "scores.parquet");
    const inf = join(tmp, "inf.parquet");
    const sentences = sst2Dev.map(([s]) => s);
    await parquetWriteFile({ filename: scores, columnData: [{ name: "text", data: sentences, type: "STRING" }, { name: "label", data: [0.5, 1.25, 3, 4.5, 2, 1, 0, 5], type: "DOUBLE" }] });
    await parquetWriteFile({ filename: inf, columnData: [{ name: "text", data: sentences, type: "STRING" }, { name: "label", data: [0.5, 1.25, 3, Infinity, 2, 1, 0, -Infinity], type: "DOUBLE" }] });
    expect((await loadLabelledFiles(scores, scores)).space.kind).toBe("regression");
    await expect(loadLabelledFiles(scores, fixture("labelled-reg-nan.parquet"))).rejects.toThrow(/labelled-reg-nan\.parquet:2: column "label" is NaN/);
    await expect(loadLabelledFiles(inf, scores)).rejects.toThrow(/inf\.parquet:4: column "label" is Infinity; expected a label \(a class name, an integer or a finite number\)/);
    await expect(loadLabelledFiles(scores, inf)).rejects.toThrow(/inf\.parquet:4: column "label" is Infinity/);
  });

  it("reads only the columns it uses from a training parquet file: nested list / struct columns beside them are no error", async () => {
    for (const f of ["labelled-nested.parquet", "labelled-struct.parquet"]) {
      const d = await loadLabelledFiles(fixture(f), fixture(f));
      expect(d.space).toMatchObject({ kind: "classification", labelNames: ["0", "1"] });
      expect(d.train.examples.map((x) => x.label)).toEqual([1, 0, 1, 0, 1, 0]);
      expect(d.train.examples[3]).toEqual({ a: 'awful "thing"', label: 0 });
    }
    // A used column still has to be flat, and a missing one is still named.
    await expect(loadLabelledFiles(fixture("labelled-nested.parquet"), fixture("labelled-nested.parquet"), { textColumn: "input_ids" })).rejects.toThrow(/labelled-nested\.parquet: cannot read parquet/);
    await expect(loadLabelledFiles(fixture("labelled-nested.parquet"), fixture("labelled-nested.parquet"), { labelColumn: "y" })).rejects.toThrow(/labelled-nested\.parquet: no column "y" \(columns: text, label, input_ids\)/);
  });

  it("booleans are one pair of classes whoever wrote them: parquet / JSON booleans and CSV True / False / true / FALSE", async () => {
    const pandasCsv = write("pandas.csv", `text,label\n${sst2Dev.map(([s, l], i) => `"${s.replaceAll('"', '""')}",${l === "1" ? (i % 2 ? "True" : "true") : i % 2 ? "False" : "FALSE"}`).join("\n")}\n`);
    const jsonl = write("bool.jsonl", sst2Dev.map(([s, l]) => JSON.stringify({ text: s, label: l === "1" })).join("\n"));
    const want = sst2Dev.map(([, l]) => Number(l));
    for (const [train, evalF] of [[jsonl, pandasCsv], [pandasCsv, jsonl], [fixture("labelled-bool.parquet"), pandasCsv]] as const) {
      const d = await loadLabelledFiles(train, evalF);
      expect(d.space.labelNames, train).toEqual(["false", "true"]);
      expect(d.eval.examples.map((x) => x.label), evalF).toEqual(want);
    }
    // --labels in any spelling.
    const e = await loadLabelledFiles(jsonl, pandasCsv, { labels: ["True", "False"] });
    expect(e.space.labelNames).toEqual(["true", "false"]);
    expect(e.eval.examples.map((x) => x.label)).toEqual(want.map((y) => 1 - y));
  });
});
