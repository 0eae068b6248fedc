// Throughput of the pretraining input pipeline: WordPiece tokenization (bert-base-uncased, truncate/pad to 128)
// plus MLM collation (30%, 80/10/10, unpadded layout), on real English text, on one core and on every core
// (worker_threads). Runs against the built package: `pnpm --filter @mosaicbert/data-streaming build` first.
//
//   node packages/data-streaming/bench/tokenize.bench.mjs [--seconds 3] [--workers N]
import { readFileSync, existsSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

const dist = new URL("../dist/index.js", import.meta.url);
if (!existsSync(fileURLToPath(dist))) {
  console.error("tokenize.bench: packages/data-streaming/dist/index.js is missing; run `pnpm build` first");
  process.exit(1);
}
const { BertTokenizer, bertBaseUncasedVocabPath, encodeBatch, MlmCollator } = await import(dist.href);

const dataRoot = new URL("../../../../shared/data/text/", import.meta.url);
/** Non-empty lines of the real text files (WikiText paragraphs, novel paragraphs). */
function loadLines() {
  const files = ["wikitext-2-raw/wiki.test.raw", "jane-austen/prideprejudice.txt"];
  const lines = [];
  for (const f of files) {
    for (const l of readFileSync(new URL(f, dataRoot), "utf8").split("\n")) if (l.trim().length > 0) lines.push(l);
  }
  return lines;
}

/** C4-like documents: consecutive lines joined until ≥ 2000 characters (C4 en averages ~2.2k characters). */
function loadDocs() {
  const docs = [];
  let cur = "";
  for (const l of loadLines()) {
    cur = cur.length > 0 ? `${cur}\n${l}` : l;
    if (cur.length >= 2000) {
      docs.push(cur);
      cur = "";
    }
  }
  return docs;
}

const BATCH = 256;
const SEQ = 128;

/** Runs one measurement for `seconds`; returns counts. */
function measure(texts, seconds, mode, tok = BertTokenizer.fromFile(bertBaseUncasedVocabPath())) {
  const collator = new MlmCollator({ mlmProbability: 0.3, seed: 1 });
  let realTokens = 0;
  let slots = 0;
  let docs = 0;
  let i = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    if (mode === "full") {
      // Tokenizer alone, whole texts, no truncation: word pieces per second.
      for (let k = 0; k < BATCH; k++) {
        realTokens += tok.textToIds(texts[i]).length;
        i = (i + 1) % texts.length;
      }
      docs += BATCH;
    } else {
      const slice = [];
      for (let k = 0; k < BATCH; k++) {
        slice.push(texts[i]);
        i = (i + 1) % texts.length;
      }
      const batch = collator.collate(encodeBatch(slice, undefined, SEQ, tok));
      realTokens += batch.indices.length;
      slots += batch.batchSize * batch.seqLen;
      docs += BATCH;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  // CPU seconds of the process (this thread plus V8's GC helpers): on a shared, loaded host the wall clock
  // undercounts what one dedicated core does, the CPU time does not.
  return { realTokens, slots, docs, seconds: (performance.now() - start) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

if (!isMainThread) {
  const { offset, seconds, mode } = workerData;
  const texts = loadDocs();
  // Each worker starts at a different place so they do not all hit the same cached words in lockstep.
  const rotated = texts.slice(offset).concat(texts.slice(0, offset));
  measure(rotated, 0.5, mode); // warm-up (JIT, word cache)
  parentPort.postMessage(measure(rotated, seconds, mode));
} else {
  const args = process.argv.slice(2);
  const arg = (name, def) => {
    const k = args.indexOf(name);
    return k >= 0 ? Number(args[k + 1]) : def;
  };
  const seconds = arg("--seconds", 3);
  const workers = arg("--workers", availableParallelism());
  const lines = loadLines();
  const docs = loadDocs();
  const fmt = (x) => `${(x / 1e6).toFixed(2)}M`;

  const runParallel = async (mode) => {
    const results = await Promise.all(
      Array.from({ length: workers }, (_, w) =>
        new Promise((resolve, reject) => {
          const wk = new Worker(new URL(import.meta.url), {
            workerData: { offset: Math.floor((w * docs.length) / workers), seconds, mode },
          });
          wk.once("message", resolve);
          wk.once("error", reject);
        }),
      ),
    );
    const sum = (f) => results.reduce((a, r) => a + r[f] / r.seconds, 0);
    return { real: sum("realTokens"), slots: sum("slots"), docs: sum("docs") };
  };

  console.log(
    `data pipeline bench: ${lines.length} real text lines (WikiText-2 raw test + Pride and Prejudice), ${docs.length} C4-sized documents of them, ${seconds}s per run`,
  );
  // Cold: a fresh tokenizer (empty word cache, unoptimised code) over every line once.
  const cold = BertTokenizer.fromFile(bertBaseUncasedVocabPath());
  let coldTokens = 0;
  const t0 = performance.now();
  for (const l of lines) coldTokens += cold.textToIds(l).length;
  const coldS = (performance.now() - t0) / 1000;
  console.log(`tokenize only, cold single pass, 1 core:    ${fmt(coldTokens / coldS)} word pieces/s (${coldTokens} pieces)`);
  measure(lines, 0.5, "full");
  const full1 = measure(lines, seconds, "full");
  console.log(
    `tokenize only, whole lines, warm, 1 core:   ${fmt(full1.realTokens / full1.seconds)} word pieces/s wall, ${fmt(full1.realTokens / full1.cpuSeconds)} per CPU-second`,
  );
  measure(docs, 0.5, "pipeline");
  const p1 = measure(docs, seconds, "pipeline");
  console.log(
    `tokenize(128)+MLM collate, 1 core:          ${fmt(p1.slots / p1.seconds)} tokens/s wall (B×128; ${fmt(p1.realTokens / p1.seconds)} real), ${Math.round(p1.docs / p1.seconds)} docs/s; ${fmt(p1.slots / p1.cpuSeconds)} per CPU-second`,
  );
  const pN = await runParallel("pipeline");
  console.log(
    `tokenize(128)+MLM collate, ${workers} workers:       ${fmt(pN.slots)} tokens/s (${fmt(pN.real)} real) on this ${availableParallelism()}-core host`,
  );
  console.log(
    `16 cores at the 1-core rate:                 ${fmt((p1.slots / p1.seconds) * 16)} tokens/s (wall), ${fmt((p1.slots / p1.cpuSeconds) * 16)} (CPU time); target ≥ 3M, the trainer needs 0.6M`,
  );
  console.log(`host: ${availableParallelism()} cores, load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}, node ${process.version}`);
}
