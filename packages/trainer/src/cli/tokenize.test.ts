import { Command } from "commander";
import { fileURLToPath } from "node:url";
import { Readable, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { buildProgram } from "./program.js";
import { registerTokenize } from "./tokenize.js";

const vocabJson = fileURLToPath(new URL("../../../../../shared/data/vocab/bert-base-uncased-tokenizer.json", import.meta.url));

async function cli(args: string[], input: string): Promise<unknown[]> {
  let out = "";
  const stdout = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk);
      done();
    },
  });
  const program = new Command("mosaicbert").exitOverride().configureOutput({ writeErr: () => {} });
  registerTokenize(program, { stdin: Readable.from([input]), stdout });
  await program.parseAsync(["tokenize", ...args], { from: "user" });
  return out
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));
}

describe("mosaicbert tokenize", () => {
  it("is registered on the program", () => {
    expect(buildProgram().commands.map((c) => c.name())).toContain("tokenize");
  });

  it("tokenizes lines with the shipped vocab by default", async () => {
    expect(await cli([], "Hello, World!\nthe\n")).toEqual([
      { input_ids: [101, 7592, 1010, 2088, 999, 102], token_type_ids: [0, 0, 0, 0, 0, 0] },
      { input_ids: [101, 1996, 102], token_type_ids: [0, 0, 0] },
    ]);
  });

  it("reads pairs and JSON lines, with --vocab and --max-length", async () => {
    expect(await cli(["--pairs", "--vocab", vocabJson, "--max-length", "5"], "hello world\tthe world\n")).toEqual([
      { input_ids: [101, 7592, 102, 1996, 102], token_type_ids: [0, 0, 0, 1, 1] },
    ]);
    expect(await cli(["--jsonl"], '{"a": "hello", "b": "world"}\n{"text": "the"}\n')).toEqual([
      { input_ids: [101, 7592, 102, 2088, 102], token_type_ids: [0, 0, 0, 1, 1] },
      { input_ids: [101, 1996, 102], token_type_ids: [0, 0, 0] },
    ]);
  });

  it("rejects bad arguments", async () => {
    await expect(cli(["--max-length", "ten"], "x\n")).rejects.toThrow(/expected a positive integer, got "ten"/);
    await expect(cli(["--pairs", "--jsonl"], "x\n")).rejects.toThrow(/cannot be used with/);
    await expect(cli(["--vocab", "/nonexistent/vocab.txt"], "x\n")).rejects.toThrow(/\/nonexistent\/vocab.txt: cannot read/);
  });
});
