/**
 * Cuts a plain-text corpus into documents of (at least) `pieces` bert-base-uncased word pieces each,
 * one per line, and holds out the last `valChunks` of them:
 *   OUT/train.txt, OUT/val.txt, OUT/corpus.json (counts and sizes)
 *
 * Why: the time-to-quality anchors (../shared/bench/quality_anchor.py) concatenate every line's word
 * pieces and cut the stream into full rows of [CLS] + 126 pieces + [SEP], holding out the last 2048
 * rows. The trainer reads MDS `text` documents and truncates each to max_seq_len − 2 pieces, so a
 * document of ≥ 126 pieces fills a row exactly as the anchor's do. Cuts fall between whitespace-separated
 * words (their word pieces do not depend on their neighbours), so a document is the text that yields
 * exactly those pieces; the pieces of the last word beyond 126 are the only text lost (< 1%).
 * Streams the input line by line: constant memory whatever the corpus size.
 *
 * Bundled by scripts/results/bundle.sh into .results-build/dist/prepare-corpus.mjs:
 *   node .results-build/dist/prepare-corpus.mjs --input corpora/anchor-corpus.txt --out .results-data/text
 *        [--pieces 126] [--val-chunks 2048] [--max-bytes N]
 */
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { bertBaseUncased } from "../../packages/data-streaming/src/index.js";

interface Args {
  input: string;
  out: string;
  pieces: number;
  valChunks: number;
  maxBytes: number;
}

function parseArgs(argv: string[]): Args {
  const a: Partial<Args> = { pieces: 126, valChunks: 2048, maxBytes: Infinity };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`prepare-corpus: ${k} needs a value`);
    const int = (): number => {
      if (!/^\d+$/.test(v)) throw new Error(`prepare-corpus: ${k}: expected a positive integer, got "${v}"`);
      return Number(v);
    };
    if (k === "--input") a.input = v;
    else if (k === "--out") a.out = v;
    else if (k === "--pieces") a.pieces = int();
    else if (k === "--val-chunks") a.valChunks = int();
    else if (k === "--max-bytes") a.maxBytes = int();
    else throw new Error(`prepare-corpus: unknown option ${k} (expected --input, --out, --pieces, --val-chunks, --max-bytes)`);
    i++;
  }
  if (!a.input || !a.out) throw new Error("prepare-corpus: usage: --input FILE.txt --out DIR [--pieces 126] [--val-chunks 2048] [--max-bytes N]");
  if (!fs.existsSync(a.input)) throw new Error(`prepare-corpus: --input ${a.input}: no such file`);
  if (a.pieces! < 1) throw new Error("prepare-corpus: --pieces must be ≥ 1");
  return a as Args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const tok = bertBaseUncased();
  fs.mkdirSync(args.out, { recursive: true });
  const trainPath = path.join(args.out, "train.txt");
  const train = fs.createWriteStream(trainPath);
  // Word → number of word pieces. Word frequencies are Zipfian, so most lookups hit.
  const count = new Map<string, number>();
  const piecesOf = (w: string): number => {
    let n = count.get(w);
    if (n === undefined) {
      n = tok.textToIds(w).length;
      if (count.size < 4_000_000) count.set(w, n);
    }
    return n;
  };
  // The newest `valChunks` documents wait here; older ones go to train.txt.
  const tail: string[] = [];
  let words: string[] = [];
  let have = 0;
  let chunks = 0;
  let bytes = 0;
  let pieceTotal = 0;
  let lostPieces = 0;
  const t0 = Date.now();
  const emit = async (doc: string): Promise<void> => {
    chunks++;
    tail.push(doc);
    if (tail.length > args.valChunks) {
      const old = tail.shift()!;
      if (!train.write(old + "\n")) await new Promise<void>((r) => train.once("drain", () => r()));
    }
  };
  const input = fs.createReadStream(args.input);
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    const b = Buffer.byteLength(line) + 1;
    if (bytes + b > args.maxBytes) break;
    bytes += b;
    for (const w of line.split(/\s+/)) {
      if (!w) continue;
      const n = piecesOf(w);
      if (n === 0) continue; // only characters the normalizer drops
      words.push(w);
      have += n;
      pieceTotal += n;
      if (have >= args.pieces) {
        lostPieces += have - args.pieces;
        await emit(words.join(" "));
        words = [];
        have = 0;
      }
    }
    if (chunks % 20000 === 0 && words.length === 0) {
      process.stderr.write(`\rprepare-corpus: ${(bytes / 2 ** 20).toFixed(1)} MiB, ${chunks} documents, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
  }
  // The last partial document is dropped, as the anchor drops its last partial row.
  await new Promise<void>((r) => train.end(() => r()));
  const val = tail;
  fs.writeFileSync(path.join(args.out, "val.txt"), val.map((d) => d + "\n").join(""));
  const stats = {
    source: path.basename(args.input),
    source_bytes: bytes,
    pieces_per_document: args.pieces,
    documents: chunks,
    train_documents: chunks - val.length,
    val_documents: val.length,
    word_pieces: pieceTotal,
    pieces_lost_at_cuts: lostPieces,
    seconds: (Date.now() - t0) / 1000,
  };
  fs.writeFileSync(path.join(args.out, "corpus.json"), JSON.stringify(stats, null, 2) + "\n");
  process.stderr.write(`\nprepare-corpus: ${JSON.stringify(stats)}\n`);
  if (chunks <= args.valChunks) throw new Error(`prepare-corpus: only ${chunks} documents, not more than --val-chunks ${args.valChunks}: nothing left to train on`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
