import * as fs from "node:fs";
import * as path from "node:path";
import { readTable } from "@mosaicbert/glue";
import { writeSafetensors } from "@mosaicbert/hub";

/** Table formats of the labelled-data reader: the texts are one column of them. */
const TABLE = /\.(csv|tsv|tab|parquet)$/i;

/**
 * Reads the texts to embed: a .jsonl file (one object per line, the text in `textColumn`), a table
 * (.csv, .tsv or .parquet: the column `textColumn`, one text a row), or plain text, one text per line.
 */
export async function readTexts(file: string, textColumn = "text"): Promise<string[]> {
  if (TABLE.test(file)) return readTableTexts(file, textColumn);
  let raw: string;
  try {
    raw = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
  if (raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1);
  const lines = raw.split("\n");
  // The newline that ends the last line does not start another text.
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const jsonl = /\.(jsonl|ndjson)$/i.test(file);
  const texts: string[] = [];
  lines.forEach((l0, i) => {
    const l = l0.endsWith("\r") ? l0.slice(0, -1) : l0;
    if (!jsonl) {
      // Every line is a text (an empty one too): output row i is input line i + 1.
      texts.push(l);
      return;
    }
    if (l.trim() === "") return;
    let rec: unknown;
    try {
      rec = JSON.parse(l);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not valid JSON (${(e as Error).message}); expected one JSON object per line`);
    }
    const v = rec !== null && typeof rec === "object" && !Array.isArray(rec) ? (rec as Record<string, unknown>)[textColumn] : undefined;
    if (typeof v !== "string") {
      const what = rec === null || typeof rec !== "object" || Array.isArray(rec) ? "not a JSON object" : v === undefined ? `has no column "${textColumn}"` : `column "${textColumn}" is ${v === null ? "null" : typeof v}`;
      throw new Error(`${file}:${i + 1}: ${what}; expected {"${textColumn}": "…"} (name the column with --text-column)`);
    }
    texts.push(v);
  });
  if (texts.length === 0) throw new Error(`${file}: no texts; expected one text per line${jsonl ? ` (JSON objects with a "${textColumn}" string)` : ""}`);
  return texts;
}

async function readTableTexts(file: string, textColumn: string): Promise<string[]> {
  const t = await readTable(file, { columns: [textColumn] });
  if (!t.columns.includes(textColumn)) {
    throw new Error(`${file}: no column "${textColumn}" (columns: ${t.columns.join(", ")}); name the text column with --text-column`);
  }
  // As an empty text file: nothing to embed is an error, not a (0, hidden) matrix.
  if (t.rows.length === 0) throw new Error(`${file}: no texts; expected one row per text in column "${textColumn}" after the header`);
  return t.rows.map((r) => {
    const v = r.values[textColumn];
    if (typeof v !== "string") throw new Error(`${file}:${r.line}: column "${textColumn}" is ${v === null ? "null" : typeof v}; expected a text`);
    return v;
  });
}

/** The output format of `--output`, by extension; any other extension is an error naming the flag. */
export function embeddingsFormat(file: string): "npy" | "safetensors" {
  if (/\.npy$/i.test(file)) return "npy";
  if (/\.safetensors$/i.test(file)) return "safetensors";
  const ext = path.extname(file);
  throw new Error(`--output: ${file} ${ext ? `ends in "${ext}"` : "has no extension"}; expected a file ending in .safetensors (tensor "embeddings" [n, hidden]) or .npy (float32 [n, hidden])`);
}

/** A NumPy .npy file (format 1.0) of a float32 [rows, cols] C-order matrix. */
export function npyBytes(data: Float32Array, rows: number, cols: number): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  // Magic (6) + version (2) + length (2) + header + "\n", padded with spaces to a multiple of 64.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, " ") + "\n";
  const out = new Uint8Array(total + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, "latin1"), 10);
  // Little-endian hosts (every platform Node supports here) store float32 as .npy wants it.
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

/**
 * Writes embeddings [rows, cols]: `.npy`, or `.safetensors` with one tensor `embeddings` and
 * `metadata` (model, pooling, …) in the header (another extension is an error: embeddingsFormat).
 * Written to a temp file, then renamed.
 */
export function writeEmbeddings(file: string, data: Float32Array, rows: number, cols: number, metadata: Record<string, string>): void {
  const format = embeddingsFormat(file);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    if (format === "npy") fs.writeFileSync(tmp, npyBytes(data, rows, cols));
    else writeSafetensors(tmp, new Map([["embeddings", { dtype: "f32" as const, shape: [rows, cols], data }]]), { format: "pt", ...metadata });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`${file}: cannot write the embeddings: ${(e as Error).message}`);
  }
}
