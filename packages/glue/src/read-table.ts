import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { dataError } from "./errors.js";
import { readParquetRecords } from "./parquet.js";

export type TableFormat = "csv" | "tsv" | "jsonl" | "parquet";

/** One row of a table file with where it starts: 1-based line (csv, tsv, jsonl) or row (parquet). */
export interface TableRow {
  line: number;
  values: Record<string, unknown>;
}

export interface Table {
  file: string;
  format: TableFormat;
  /** Column names: the header (csv, tsv), the schema (parquet), the keys of the first object (jsonl). */
  columns: string[];
  /** csv, tsv: the line of the header. */
  headerLine?: number;
  rows: TableRow[];
}

const EXTENSIONS: Record<string, TableFormat> = {
  ".csv": "csv",
  ".tsv": "tsv",
  ".tab": "tsv",
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".parquet": "parquet",
};

/** The format of a table file, from `format` when given, else from its extension. */
export function tableFormat(file: string, format?: string): TableFormat {
  if (format !== undefined) {
    if (!Object.values(EXTENSIONS).includes(format as TableFormat)) throw new Error(`--format: expected csv, tsv, jsonl or parquet, got "${format}"`);
    return format as TableFormat;
  }
  const f = EXTENSIONS[extname(file).toLowerCase()];
  if (!f) {
    throw dataError(file, undefined, `cannot tell the format from the extension "${extname(file)}"; expected .csv, .tsv, .jsonl (one JSON object per line) or .parquet, or pass --format`);
  }
  return f;
}

/**
 * Reads a table of labelled texts: CSV (RFC 4180: quoted fields may hold commas, quotes as "" and
 * line breaks), TSV (one row per line, tab-separated, no quoting — the GLUE and IANA form), JSON
 * lines (one object per line) or parquet. CSV and TSV need a header line; every row must have as
 * many fields as the header. Errors name the file, the line (or parquet row) and what was expected.
 * `columns` limits what is read from parquet (other formats read whole rows anyway).
 */
export async function readTable(file: string, opts: { format?: string; columns?: readonly string[] } = {}): Promise<Table> {
  const format = tableFormat(file, opts.format);
  if (format === "parquet") return readParquet(file, opts.columns);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw dataError(file, undefined, `cannot read: ${(e as Error).message}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (format === "jsonl") return readJsonl(file, text);
  const records = format === "csv" ? parseCsv(file, text, ",") : parseTsv(text);
  const head = records[0];
  if (!head) throw dataError(file, undefined, `empty file; expected a header line naming the columns, then one row per example`);
  const columns = head.fields;
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c)) throw dataError(file, head.line, `header names column "${c}" twice; expected distinct column names`);
    seen.add(c);
  }
  const sep = format === "csv" ? "comma" : "tab";
  const rows: TableRow[] = [];
  for (const r of records.slice(1)) {
    if (r.fields.length !== columns.length) {
      throw dataError(file, r.line, `expected ${columns.length} ${sep}-separated fields (${columns.join(", ")}) as in the header, found ${r.fields.length}`);
    }
    const values: Record<string, unknown> = {};
    columns.forEach((c, i) => (values[c] = r.fields[i]));
    rows.push({ line: r.line, values });
  }
  return { file, format, columns, headerLine: head.line, rows };
}

interface RawRecord {
  line: number;
  fields: string[];
}

/** TSV without quoting: a line is a row, tabs split fields; "\r\n" accepted, blank lines skipped. */
function parseTsv(text: string): RawRecord[] {
  const out: RawRecord[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.endsWith("\r") ? lines[i]!.slice(0, -1) : lines[i]!;
    if (l.trim() === "") continue;
    out.push({ line: i + 1, fields: l.split("\t") });
  }
  return out;
}

/**
 * RFC 4180 CSV: a field that starts with a quote runs to the matching quote ("" is a literal quote)
 * and may span lines; a quote inside an unquoted field is an ordinary character. Blank lines are
 * skipped. A row's line is the line it starts on.
 */
export function parseCsv(file: string, text: string, sep: string): RawRecord[] {
  const out: RawRecord[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  while (i < n) {
    const start = line;
    // Blank line (or a lone "\r\n").
    if (text[i] === "\n" || (text[i] === "\r" && text[i + 1] === "\n")) {
      i += text[i] === "\r" ? 2 : 1;
      line++;
      continue;
    }
    const fields: string[] = [];
    for (;;) {
      let value = "";
      if (text[i] === '"') {
        const openLine = line;
        i++;
        for (;;) {
          if (i >= n) throw dataError(file, openLine, `a quoted field opened on this line is never closed; expected a closing " (write a quote inside a field as "")`);
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === "\n") line++;
          value += c;
          i++;
        }
        if (i < n && text[i] !== sep && text[i] !== "\n" && !(text[i] === "\r" && text[i + 1] === "\n")) {
          throw dataError(file, line, `unexpected ${JSON.stringify(text[i])} after the closing quote of field ${fields.length + 1}; expected "${sep}" or the end of the line`);
        }
      } else {
        let j = i;
        while (j < n && text[j] !== sep && text[j] !== "\n") j++;
        value = text.slice(i, j);
        if (j < n && text[j] === "\n" && value.endsWith("\r")) value = value.slice(0, -1);
        i = j;
      }
      fields.push(value);
      if (i >= n) break;
      if (text[i] === sep) {
        i++;
        continue;
      }
      // End of the record: "\n" or "\r\n".
      i += text[i] === "\r" ? 2 : 1;
      line++;
      break;
    }
    out.push({ line: start, fields });
  }
  return out;
}

function readJsonl(file: string, text: string): Table {
  const lines = text.split("\n");
  const rows: TableRow[] = [];
  let columns: string[] | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (l === "") continue;
    let rec: unknown;
    try {
      rec = JSON.parse(l);
    } catch (e) {
      throw dataError(file, i + 1, `not valid JSON (${(e as Error).message}); expected one JSON object per line`);
    }
    if (rec === null || typeof rec !== "object" || Array.isArray(rec)) {
      throw dataError(file, i + 1, `expected a JSON object ({"column": value, …}), got ${Array.isArray(rec) ? "an array" : JSON.stringify(rec)?.slice(0, 40)}`);
    }
    columns ??= Object.keys(rec);
    rows.push({ line: i + 1, values: rec as Record<string, unknown> });
  }
  if (!columns) throw dataError(file, undefined, "empty file; expected one JSON object per line");
  return { file, format: "jsonl", columns, rows };
}

async function readParquet(file: string, wanted?: readonly string[]): Promise<Table> {
  const { columns, records } = await readParquetRecords(file, wanted, "", "expected a parquet file");
  // No wanted column in the file: no rows read, and the caller names the missing column.
  const readSome = !wanted || wanted.some((c) => columns.includes(c));
  if (records.length === 0 && readSome) throw dataError(file, undefined, "the parquet file has no rows; expected one row per example");
  const rows = records.map((values, i) => ({ line: i + 1, values }));
  return { file, format: "parquet", columns, rows };
}
