import { once } from "node:events";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import type { BertTokenizer } from "./bert-tokenizer.js";

/** How `tokenizeStream` reads its input lines. */
export type TokenizeInputMode = "lines" | "pairs" | "jsonl";

export interface TokenizeStreamOptions {
  tokenizer: BertTokenizer;
  /** Truncate to this many tokens, special tokens included (longest-first for pairs). Default 128. */
  maxLength?: number;
  /**
   * `lines`: one text per line (every line, empty ones too, gives one output line);
   * `pairs`: two texts separated by the first tab of each line;
   * `jsonl`: JSON objects with `text`, or `a` and `b` (blank lines are skipped).
   */
  mode?: TokenizeInputMode;
  /** Name of the input in error messages. Default "stdin". */
  inputName?: string;
}

/**
 * Tokenizes a stream of lines and writes one JSON line `{"input_ids":[…],"token_type_ids":[…]}` per input, in
 * input order. Streaming: one line is held at a time and the writer's backpressure is respected.
 * Returns the number of records written.
 */
export async function tokenizeStream(input: Readable, output: Writable, options: TokenizeStreamOptions): Promise<number> {
  const { tokenizer, maxLength = 128, mode = "lines", inputName = "stdin" } = options;
  const minLength = mode === "lines" ? 2 : 3;
  if (!Number.isInteger(maxLength) || maxLength < minLength) {
    throw new RangeError(`tokenize: max length must be an integer ≥ ${minLength} (room for [CLS]/[SEP]), got ${maxLength}`);
  }
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  let written = 0;
  for await (const line of lines) {
    lineNo++;
    let a: string;
    let b: string | undefined;
    if (mode === "lines") {
      a = line;
    } else if (mode === "pairs") {
      const tab = line.indexOf("\t");
      if (tab < 0) throw new Error(`${inputName} line ${lineNo}: expected two texts separated by a tab (--pairs), found no tab`);
      a = line.slice(0, tab);
      b = line.slice(tab + 1);
    } else {
      if (line.trim().length === 0) continue;
      [a, b] = parseJsonRecord(line, inputName, lineNo);
    }
    const e = tokenizer.encode(a, b, { maxLength });
    const record = `{"input_ids":[${e.inputIds.join(",")}],"token_type_ids":[${e.tokenTypeIds.join(",")}]}\n`;
    written++;
    if (!output.write(record)) await once(output, "drain");
  }
  return written;
}

function parseJsonRecord(line: string, inputName: string, lineNo: number): [string, string | undefined] {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new Error(`${inputName} line ${lineNo}: not valid JSON (${(e as Error).message})`);
  }
  const o = (typeof v === "object" && v !== null && !Array.isArray(v) ? v : {}) as Record<string, unknown>;
  if (typeof o.text === "string") return [o.text, undefined];
  if (typeof o.a === "string" && typeof o.b === "string") return [o.a, o.b];
  throw new Error(`${inputName} line ${lineNo}: expected a JSON object with a "text" string, or "a" and "b" strings`);
}
