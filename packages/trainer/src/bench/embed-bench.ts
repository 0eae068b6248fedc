/**
 * Embedding throughput: our encoders (Embedder.encodeIds) on token ids of real texts, against the
 * PyTorch peer (embed_peer.py, Hugging Face BertModel) fed the very same ids file.
 *
 *   node --import ./packages/trainer/src/from-source/register-ts.mjs packages/trainer/src/bench/embed-bench.ts prepare <shared/data> <out-dir>
 *                                                     ids-128.json (GLUE sentences), ids-512.json (documents)
 *   node embed.mjs run <ids.json> <preset> [--device cuda|cpu] [--passes 5] [--budget 32768] [--json file] [--profile]
 *
 * --profile: after the timed passes (unchanged), one pass with host timings and, on CUDA, one with CUDA events
 * around every op (embed-profile.ts): printed, and under "profile" in the JSON.
 *
 * An ids file: {"name", "max_seq_len", "ids": [[101, …, 102], …]} — each row [CLS] … [SEP], mixed lengths.
 * tokens/s counts real tokens (no padding) per second of wall clock over the timed passes, the
 * batching (sort by length, token budget), host-device transfers and mean pooling included; the output
 * matrix is allocated once, before timing, and written by every pass (as the peer's).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { bertBaseUncased } from "@mosaicbert/data-streaming";
import { Embedder, planBatches } from "@mosaicbert/inference";
import { PhaseProfiler } from "@mosaicbert/kernels-cuda";
import { type EncoderModel, createModel, preset } from "@mosaicbert/layers";
import { resolveDevice } from "../device.js";
import { formatEmbedProfile, parseBenchFlags, profileEmbed } from "./embed-profile.js";

interface IdsFile {
  name: string;
  max_seq_len: number;
  ids: number[][];
}

/** Sentences of the GLUE TSV files (every text column), in file order, deduplicated. */
function glueSentences(glue: string): string[] {
  const files: Array<[string, number[] | string[]]> = [
    ["SST-2/dev.tsv", ["sentence"]],
    ["CoLA/train.tsv", [3]],
    ["MRPC/train.tsv", ["#1 String", "#2 String"]],
    ["STS-B/train.tsv", ["sentence1", "sentence2"]],
    ["RTE/train.tsv", ["sentence1", "sentence2"]],
    ["QNLI/dev.tsv", ["question", "sentence"]],
    ["MNLI/train.partial.tsv", ["sentence1", "sentence2"]],
    ["QQP/train.partial.tsv", ["question1", "question2"]],
  ];
  const seen = new Set<string>();
  const out: string[] = [];
  for (const [f, cols] of files) {
    const lines = fs.readFileSync(path.join(glue, f), "utf8").replace(/^\ufeff/, "").split("\n").filter((l) => l.trim() !== "");
    const head = lines[0]!.split("\t");
    const idx = cols.map((c) => (typeof c === "number" ? c : head.indexOf(c)));
    for (const l of typeof cols[0] === "number" ? lines : lines.slice(1)) {
      const fields = l.split("\t");
      for (const i of idx) {
        const s = fields[i]?.trim();
        if (s && !seen.has(s)) {
          seen.add(s);
          out.push(s);
        }
      }
    }
  }
  return out;
}

/** Seeded lengths for documents: uniform in [64, 512] tokens (mixed lengths, as a document collection). */
function* docLengths(seed: number): Generator<number> {
  let x = seed >>> 0;
  for (;;) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    yield 64 + Math.floor((x / 2 ** 32) * 449);
  }
}

function prepare(data: string, outDir: string): void {
  const tok = bertBaseUncased();
  fs.mkdirSync(outDir, { recursive: true });
  const write = (f: IdsFile): void => {
    const file = path.join(outDir, `ids-${f.max_seq_len}.json`);
    fs.writeFileSync(file, JSON.stringify(f));
    const tokens = f.ids.reduce((a, r) => a + r.length, 0);
    console.log(`${file}: ${f.ids.length} texts, ${tokens} tokens (mean ${(tokens / f.ids.length).toFixed(1)}), ${f.name}`);
  };
  const sentences = glueSentences(path.join(data, "glue")).slice(0, 50_000);
  write({ name: "GLUE sentences (SST-2 dev, CoLA, MRPC, STS-B, RTE train, QNLI dev, MNLI and QQP train samples), truncated at 128", max_seq_len: 128, ids: sentences.map((s) => tok.encode(s, undefined, { maxLength: 128 }).inputIds) });
  // Documents: consecutive paragraphs of real text glued up to a drawn length, cut at 512.
  const texts = ["wikitext-2-raw/wiki.test.raw", "wikitext-2/wiki.valid.tokens", "jane-austen/prideprejudice.txt"].map((f) => fs.readFileSync(path.join(data, "text", f), "utf8"));
  const paragraphs = texts.flatMap((t) => t.split(/\n\s*\n|\n(?= = )/)).map((p) => p.replace(/\s+/g, " ").trim()).filter((p) => p.length > 40);
  const lengths = docLengths(512);
  const docs: number[][] = [];
  let cur: number[] = [];
  let want = lengths.next().value as number;
  for (const p of paragraphs) {
    cur.push(...tok.textToIds(p));
    if (cur.length + 2 >= want) {
      docs.push([tok.clsId, ...cur.slice(0, want - 2), tok.sepId]);
      cur = [];
      want = lengths.next().value as number;
    }
  }
  write({ name: "documents: consecutive paragraphs of WikiText-2 (test raw, valid) and Pride and Prejudice, 64–512 tokens", max_seq_len: 512, ids: docs });
}

async function run(file: string, presetName: string, args: Map<string, string>): Promise<void> {
  const spec = JSON.parse(fs.readFileSync(file, "utf8")) as IdsFile;
  const rows = spec.ids.map((r) => Int32Array.from(r));
  const device = await resolveDevice(args.get("device") ?? "cuda");
  const passes = Number(args.get("passes") ?? 5);
  const budget = Number(args.get("budget") ?? 32768);
  const computeDtype = device.kind === "cuda" ? "bf16" : "f32";
  const profile = args.has("profile");
  // Profiling: the model runs on the profiler's view of the backend (a pass-through until a profiled region), as trainBench's.
  const prof = profile && device.cuda ? new PhaseProfiler(device.cuda) : null;
  const mallocs = (): number | null => device.cuda?.memoryStats().deviceAllocations ?? null;
  const model = createModel(preset(presetName), "encoder", prof?.backend ?? device.backend, { computeDtype, seed: 0 }) as EncoderModel;
  // Only the [PAD] id is used when embedding ids (no vocabulary file needed on the GPU machine).
  const e = new Embedder(model, { padId: 0, clsId: 101, sepId: 102, maskId: 103, textToIds: () => [], idToToken: () => undefined });
  const tokens = rows.reduce((a, r) => a + r.length, 0);
  const padded = planBatches(rows.map((r) => r.length), budget).reduce((a, b) => a + b.length * rows[b[0]!]!.length, 0);
  // One output matrix for every pass, as the peer's `out` (allocated before its timing): a pass times the
  // batching, the forwards, the pooling and the copy back, not a fresh 150 MB host allocation.
  const into = new Float32Array(rows.length * model.config.hiddenSize);
  const opts = { format: "matrix" as const, maxSeqLen: spec.max_seq_len, tokenBudget: budget, into };
  const w0 = performance.now();
  e.encodeIds(rows, opts);
  const warm = (performance.now() - w0) / 1000;
  const m0 = mallocs();
  const t0 = performance.now();
  for (let p = 0; p < passes; p++) e.encodeIds(rows, opts);
  const dt = (performance.now() - t0) / 1000 / passes;
  const m1 = mallocs();
  const prof1 = profile ? profileEmbed(e, rows, opts, prof, mallocs) : null;
  e.dispose();
  const r = {
    impl: `ours ${presetName}`,
    device: device.name,
    dtype: computeDtype,
    ids: spec.name,
    max_seq_len: spec.max_seq_len,
    texts: rows.length,
    tokens,
    padded_positions: padded,
    budget,
    warmup_s: Number(warm.toFixed(3)),
    pass_s: Number(dt.toFixed(4)),
    tokens_per_s: Math.round(tokens / dt),
    ...(prof1 ? { profile: { ...prof1, timed_passes_mallocs: m0 === null || m1 === null ? null : m1 - m0 } } : {}),
  };
  const { profile: _p, ...line } = r as typeof r & { profile?: unknown };
  console.log(JSON.stringify(line));
  if (prof1) {
    for (const l of formatEmbedProfile(prof1)) console.log(l);
    if (m0 !== null && m1 !== null) console.log(`  cudaMalloc calls during the ${passes} timed passes: ${m1 - m0}`);
  }
  if (args.get("json")) fs.writeFileSync(args.get("json")!, JSON.stringify(r, null, 2) + "\n");
}

const [cmd, a, b, ...rest] = process.argv.slice(2);
const flags = parseBenchFlags(rest);
if (cmd === "prepare" && a && b) prepare(a, b);
else if (cmd === "run" && a && b) await run(a, b, flags);
else {
  console.error("usage: embed.mjs prepare <shared/data> <out-dir> | run <ids.json> <preset> [--device cuda|cpu] [--passes n] [--budget tokens] [--json file] [--profile]");
  process.exit(2);
}
