import { InvalidArgumentError, Option, type Command } from "commander";
import { bertBaseUncased, tokenizeStream, tokenizerFromFile, type TokenizeInputMode } from "@mosaicbert/data-streaming";
import type { Readable, Writable } from "node:stream";

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

/** `mosaicbert tokenize`, reading from `io.stdin` and writing to `io.stdout` (injectable for tests). */
export function registerTokenize(program: Command, io: { stdin: Readable; stdout: Writable }): void {
  program
    .command("tokenize")
    .description(
      "Tokenize text from stdin with a BERT WordPiece vocab: one JSON line {input_ids, token_type_ids} per input line, in order",
    )
    .option("--vocab <file>", "vocab.txt or tokenizer.json (default: the shipped bert-base-uncased vocab)")
    .option("--max-length <n>", "truncate to n tokens, [CLS]/[SEP] included (longest-first for pairs)", positiveInt, 128)
    .addOption(new Option("--pairs", "each line holds two texts separated by a tab").conflicts("jsonl"))
    .addOption(new Option("--jsonl", 'each line is a JSON object with "text", or "a" and "b"').conflicts("pairs"))
    .action(async (opts: { vocab?: string; maxLength: number; pairs?: boolean; jsonl?: boolean }) => {
      const tokenizer = opts.vocab !== undefined ? tokenizerFromFile(opts.vocab) : bertBaseUncased();
      const mode: TokenizeInputMode = opts.pairs ? "pairs" : opts.jsonl ? "jsonl" : "lines";
      await tokenizeStream(io.stdin, io.stdout, { tokenizer, maxLength: opts.maxLength, mode });
    });
}

export function register(program: Command): void {
  registerTokenize(program, { stdin: process.stdin, stdout: process.stdout });
}
