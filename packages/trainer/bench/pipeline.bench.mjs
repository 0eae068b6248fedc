// Host-side cost of the trainer's data pipeline per training step (batch 256 × 128, bert-base-uncased,
// 30% MLM, real MDS text through TrainTextLoader), on the training thread:
//   before: read + tokenize + mask inline between steps (what pretrain did);
//   after:  BatchProducer (read-ahead depth 4; read, tokenize + mask in worker_threads) while a simulated
//           device step blocks the training thread the way a CUDA synchronize does (Atomics.wait),
//           so the workers run during the "step" and only what is left shows up on the thread.
// Also counts the host reads of device values per step in forwardBackward and where they fall (a read
// before the step's last backward launch stalls the launches behind it), on the CPU backend.
// Runs against the built packages: `pnpm build` first.
//
//   node packages/trainer/bench/pipeline.bench.mjs [--steps 40] [--step-ms 41] [--workers 2]
import { existsSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";

const dist = new URL("../dist/index.js", import.meta.url);
if (!existsSync(fileURLToPath(dist))) {
  console.error("pipeline.bench: packages/trainer/dist/index.js is missing; run `pnpm build` first");
  process.exit(1);
}
const { TrainTextLoader, BatchProducer, tokenizeAndMask, mlmCollator, sampleSeeds, SeedStream, sampleCorpusDir, forwardBackward, SingleProcessCommunicator } = await import(dist.href);
const { bertBaseUncased } = await import("@mosaicbert/data-streaming");
const { createModel, preset } = await import("@mosaicbert/layers");
const { cpu } = await import("@mosaicbert/tensor");

const args = process.argv.slice(2);
const arg = (name, def) => {
  const k = args.indexOf(name);
  return k >= 0 ? Number(args[k + 1]) : def;
};
const STEPS = arg("--steps", 40);
const STEP_MS = arg("--step-ms", 41); // H200 MosaicBERT-base step without the data work (53 − 12 ms)
const WORKERS = arg("--workers", 2);
const B = 256;
const S = 128;
const P = 0.3;
const SEED = 17;

const corpora = [
  { name: "c4-like (shared/data/mds, 1,800 short paragraphs)", local: fileURLToPath(new URL("../../../../shared/data/mds/c4-like", import.meta.url)) },
  { name: "sample corpus (Pride and Prejudice, 1,592 docs of 60–100 words)", local: sampleCorpusDir() },
];
const open = (local) => TrainTextLoader.create({ local, split: "train" }, { globalBatchSize: B, rank: 0, worldSize: 1, shuffle: true, shuffleSeed: 9176 });
const tokenizer = bertBaseUncased();
const collator = mlmCollator(tokenizer, P);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const deviceStep = () => Atomics.wait(sleeper, 0, 0, STEP_MS); // blocks this thread, as a stream synchronize does
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

for (const c of corpora) {
  // before: inline, as pretrain did
  const loader = await open(c.local);
  for (let i = 0; i < 3; i++) {
    const b = await loader.next();
    tokenizeAndMask(b.texts, tokenizer, S, collator, sampleSeeds(SEED, SeedStream.trainMask, b.epoch, b.ids));
  }
  const read = [];
  const prep = [];
  for (let i = 0; i < STEPS; i++) {
    const t0 = performance.now();
    const b = await loader.next();
    const t1 = performance.now();
    tokenizeAndMask(b.texts, tokenizer, S, collator, sampleSeeds(SEED, SeedStream.trainMask, b.epoch, b.ids));
    prep.push(performance.now() - t1);
    read.push(t1 - t0);
  }
  // after: producer + simulated device step blocking the training thread
  const prod = new BatchProducer(await open(c.local), {
    tokenizer, tokenizerName: "bert-base-uncased", seqLen: S, mlmProbability: P, seed: SEED, depth: 4, workers: WORKERS, source: { local: c.local, split: "train" },
  });
  for (let i = 0; i < 4; i++) {
    await prod.next(); // warm-up: worker start, JIT
    deviceStep();
  }
  const host = [];
  for (let i = 0; i < STEPS; i++) {
    const t0 = performance.now();
    await prod.next();
    // The reads queued by next() run in the microtask gaps of the step's launches; let them run here.
    await new Promise((r) => setImmediate(r));
    host.push(performance.now() - t0);
    deviceStep();
  }
  await prod.close();
  console.log(`\n${c.name}, batch ${B} × ${S}, ${STEPS} steps`);
  console.log(`  before (inline):   ${mean(read).toFixed(2)} ms read + ${mean(prep).toFixed(2)} ms tokenize+mask = ${(mean(read) + mean(prep)).toFixed(2)} ms/step on the training thread (median ${median(read.map((r, i) => r + prep[i])).toFixed(2)})`);
  console.log(`  after (${WORKERS} workers, depth 4, ${STEP_MS} ms device step): ${mean(host).toFixed(2)} ms/step on the training thread (median ${median(host).toFixed(2)}, max ${Math.max(...host).toFixed(2)})`);
}
// Synchronizing reads in one forwardBackward of 2 microbatches (the H200 recipe: 256 rows, microbatch 128).
{
  const model = createModel(preset("tiny"), "mlm", cpu, { seed: 1 });
  const events = [];
  const fwd = model.forward.bind(model);
  model.forward = (b, o) => {
    events.push("F");
    const out = fwd(b, o);
    const item = out.loss.item.bind(out.loss);
    out.loss.item = () => (events.push("R"), item());
    return out;
  };
  const bwd = model.backward.bind(model);
  model.backward = () => (events.push("B"), bwd());
  const loader = await open(sampleCorpusDir());
  const b = await loader.next();
  const rows = tokenizeAndMask(b.texts.slice(0, 8), tokenizer, 32, collator, sampleSeeds(SEED, SeedStream.trainMask, b.epoch, b.ids.slice(0, 8)));
  model.zeroGrad();
  await forwardBackward(model, rows, { microbatchSize: 4, seed: SEED, step: 0, rank: 0, comm: new SingleProcessCommunicator(), bucketElements: 1 << 20 });
  const lastB = events.lastIndexOf("B");
  const stalls = events.slice(0, lastB).filter((e) => e === "R").length;
  console.log(`\nforwardBackward, 2 microbatches: launch/read order ${events.join(" ")} (F forward, B backward, R loss read): ${stalls} reads before the last backward launch, ${events.filter((e) => e === "R").length - stalls} after; + 1 grad-norm read in pretrain before the optimizer step`);
  model.dispose();
}
console.log(`\nhost: ${availableParallelism()} cores, load average ${loadavg().map((x) => x.toFixed(1)).join(" ")}, node ${process.version}`);
