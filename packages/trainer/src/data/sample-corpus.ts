import * as fs from "node:fs";
import * as path from "node:path";
import { MDSWriter } from "@mosaicbert/data-streaming";

export interface ChunkOptions {
  /** A document is closed once it holds at least this many words. Default 60. */
  minWords?: number;
  /** Paragraphs longer than this are split at sentence ends. Default 100 (≈ 126 word-pieces). */
  maxWords?: number;
}

const words = (s: string): number => (s.match(/\S+/g) ?? []).length;

/** Splits a long paragraph at sentence ends into pieces of at most `max` words (a sentence longer than that stays whole). */
function splitSentences(p: string, max: number): string[] {
  const sentences = p.match(/[^.!?]+[.!?]+["'”’)]*\s*|[^.!?]+$/g) ?? [p];
  const out: string[] = [];
  let cur = "";
  for (const s of sentences) {
    if (cur && words(cur) + words(s) > max) {
      out.push(cur.trim());
      cur = "";
    }
    cur += s;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/**
 * Cuts a plain-text book into pretraining documents of roughly one 128-token sequence each
 * (the reference truncates every document to 126 word-pieces, so longer documents would be wasted):
 * paragraphs are packed in order until a document reaches `minWords`; long paragraphs are split at
 * sentence ends. Headings ("Chapter 12") and the title block are dropped.
 */
export function chunkText(text: string, opts: ChunkOptions = {}): string[] {
  const minWords = opts.minWords ?? 60;
  const maxWords = opts.maxWords ?? 100;
  const paragraphs = text
    .replace(/\r\n?/g, "\n")
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s+/g, " ").trim())
    .filter((p) => p && !/^(chapter|volume|book)\s+[0-9ivxlc]+\.?$/i.test(p) && words(p) > 3);
  const docs: string[] = [];
  let cur: string[] = [];
  let n = 0;
  for (const p of paragraphs) {
    for (const piece of words(p) > maxWords ? splitSentences(p, maxWords) : [p]) {
      const w = words(piece);
      if (n > 0 && n + w > maxWords) {
        docs.push(cur.join("\n"));
        cur = [];
        n = 0;
      }
      cur.push(piece);
      n += w;
      if (n >= minWords) {
        docs.push(cur.join("\n"));
        cur = [];
        n = 0;
      }
    }
  }
  if (n > 0) docs.push(cur.join("\n"));
  return docs;
}

export interface BuildCorpusOptions extends ChunkOptions {
  /** Plain-text files, in order. */
  inputs: string[];
  /** Output folder: gets train/ and val/ MDS splits (column `text`, as convert_dataset.py writes). */
  out: string;
  /** Every `valEvery`-th document goes to val. Default 20 (5%). */
  valEvery?: number;
}

/** Builds the shipped sample corpus (see scripts/build-sample-corpus.ts). Returns the document counts. */
export async function buildSampleCorpus(o: BuildCorpusOptions): Promise<{ train: number; val: number }> {
  const valEvery = o.valEvery ?? 20;
  const docs = o.inputs.flatMap((f) => chunkText(fs.readFileSync(f, "utf8"), o));
  const writers = {
    train: new MDSWriter({ out: path.join(o.out, "train"), columns: { text: "str" }, overwrite: true }),
    val: new MDSWriter({ out: path.join(o.out, "val"), columns: { text: "str" }, overwrite: true }),
  };
  const counts = { train: 0, val: 0 };
  for (let i = 0; i < docs.length; i++) {
    const split = i % valEvery === valEvery - 1 ? "val" : "train";
    await writers[split].write({ text: docs[i]! });
    counts[split]++;
  }
  await writers.train.finish();
  await writers.val.finish();
  return counts;
}
