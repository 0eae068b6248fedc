import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Readable, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { bertBaseUncased } from "./bert-base-uncased.js";
import { tokenizeStream, type TokenizeInputMode } from "./stream.js";

const golden = (f: string) =>
  readFileSync(fileURLToPath(new URL(`../../../../../shared/data/tokenizer/${f}`, import.meta.url)), "utf8")
    .split("\n")
    .filter((l) => l.length > 0);

/** A writer that accepts one chunk at a time, asynchronously, so backpressure is exercised. */
function slowSink(): { sink: Writable; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    highWaterMark: 1,
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      setImmediate(done);
    },
  });
  return { sink, text: () => chunks.join("") };
}

async function run(input: string, mode: TokenizeInputMode, maxLength = 128) {
  const { sink, text } = slowSink();
  const n = await tokenizeStream(Readable.from([input]), sink, { tokenizer: bertBaseUncased(), mode, maxLength });
  return { n, out: text().split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l)) };
}

describe("tokenizeStream", () => {
  const wiki = golden("wikitext2-test-raw.jsonl").slice(0, 300);
  const mrpc = golden("mrpc-dev-pairs.jsonl").slice(0, 100);
  const expected = (rows: string[]) =>
    rows.map((l) => {
      const r = JSON.parse(l);
      return { input_ids: r.input_ids, token_type_ids: r.token_type_ids };
    });

  it("tokenizes JSON lines with text or a/b fields, in order, equal to the goldens", async () => {
    const { n, out } = await run([...wiki, "", ...mrpc].join("\n") + "\n", "jsonl");
    expect(n).toBe(400);
    expect(out).toEqual(expected([...wiki, ...mrpc]));
  });

  it("tokenizes plain lines and tab-separated pairs (CRLF accepted)", async () => {
    const texts = wiki.map((l) => JSON.parse(l).text as string);
    expect((await run(texts.join("\n"), "lines")).out).toEqual(expected(wiki));
    const pairs = mrpc.map((l) => {
      const r = JSON.parse(l);
      return `${r.a}\t${r.b}`;
    });
    expect((await run(pairs.join("\r\n") + "\r\n", "pairs")).out).toEqual(expected(mrpc));
  });

  it("gives one output per input line, empty lines included", async () => {
    const { out } = await run("hello\n\nworld\n", "lines");
    expect(out.map((o) => o.input_ids)).toEqual([[101, 7592, 102], [101, 102], [101, 2088, 102]]);
  });

  it("truncates to --max-length", async () => {
    const { out } = await run("the the the the the\n", "lines", 4);
    expect(out[0].input_ids).toEqual([101, 1996, 1996, 102]);
  });

  it("names the line and the expected form on bad input", async () => {
    await expect(run("a\tb\nno tab here\n", "pairs")).rejects.toThrow(/stdin line 2: expected two texts separated by a tab/);
    await expect(run('{"text": "ok"}\n{"text": 3}\n', "jsonl")).rejects.toThrow(/stdin line 2: expected a JSON object with a "text" string/);
    await expect(run("{oops\n", "jsonl")).rejects.toThrow(/stdin line 1: not valid JSON/);
    await expect(run("a\tb\n", "pairs", 2)).rejects.toThrow(/max length must be an integer ≥ 3/);
  });
});
