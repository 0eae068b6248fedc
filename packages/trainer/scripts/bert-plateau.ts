// Diagnostic: does a small post-LN BERT leave the unigram plateau on CPU, against MosaicBERT with
// the same data and optimiser? Real text (Jane Austen), bert-base-uncased word pieces remapped to
// the K most frequent ones (+ [UNK]) so the MLM head is cheap on a CPU.
// node --import ./packages/trainer/src/from-source/register-ts.mjs packages/trainer/scripts/bert-plateau.ts \
//   arch=bert steps=300 lr=2e-3 warmup=0.06 attn=0.1 seed=17 dtype=f32
import * as fs from "node:fs";
import { bertBaseUncased, MlmCollator } from "@mosaicbert/data-streaming";
import { createModel, DecoupledAdamW, makeSchedule, preset } from "@mosaicbert/layers";
import { cpu } from "@mosaicbert/tensor";

const arg = Object.fromEntries(process.argv.slice(2).map((a) => a.split("=") as [string, string]));
const arch = (arg.arch ?? "bert") as "bert" | "mosaic-bert";
const steps = Number(arg.steps ?? 300);
const lr = Number(arg.lr ?? 2e-3);
const warmFrac = Number(arg.warmup ?? 0.06);
const attn = Number(arg.attn ?? (arch === "bert" ? 0.1 : 0));
const layers = Number(arg.layers ?? 2);
const hidden = Number(arg.hidden ?? 128);
const B = Number(arg.batch ?? 32);
const S = Number(arg.seq ?? 64);
const K = Number(arg.vocab ?? 2048);
const mlmP = Number(arg.mlm ?? (arch === "bert" ? 0.15 : 0.3));
const dtype = (arg.dtype ?? "f32") as "f32" | "bf16";
const seed = Number(arg.seed ?? 17);
const textPath = arg.text ?? new URL("../../../../shared/data/text/jane-austen/prideprejudice.txt", import.meta.url).pathname;

const tok = bertBaseUncased();
const ids = tok.textToIds(fs.readFileSync(textPath, "utf8"));
// Remap: 0 [PAD], 1 [UNK], 2 [CLS], 3 [SEP], 4 [MASK], then the most frequent pieces.
const counts = new Map<number, number>();
for (const i of ids) counts.set(i, (counts.get(i) ?? 0) + 1);
const top = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, K - 5).map(([i]) => i);
const map = new Map(top.map((i, k) => [i, k + 5]));
const mapped = ids.map((i) => map.get(i) ?? 1);
const body = S - 2;
const rows: Int32Array[] = [];
for (let o = 0; o + body <= mapped.length; o += body) rows.push(Int32Array.from([2, ...mapped.slice(o, o + body), 3]));
const evalRows = rows.splice(rows.length - 64);
const collator = (s: number, p: number) => new MlmCollator({ mlmProbability: p, seed: s, vocabSize: K, maskId: 4, specialIds: [0, 1, 2, 3, 4] });
const mk = (rs: Int32Array[], s: number, p: number) => {
  const n = rs.length;
  const inputIds = new Int32Array(n * S);
  rs.forEach((r, i) => inputIds.set(r, i * S));
  const mb = collator(s, p).collate({ inputIds, tokenTypeIds: new Int32Array(n * S), attentionMask: new Int32Array(n * S).fill(1), batchSize: n, seqLen: S });
  return { inputIds: mb.inputIds, tokenTypeIds: mb.tokenTypeIds, attentionMask: mb.attentionMask, labels: mb.labels, batchSize: n, seqLen: S };
};
const evalBatch = mk(evalRows, 12345, 0.15);

const cfg = preset("tiny", {
  arch, vocabSize: K, hiddenSize: hidden, numHiddenLayers: layers, numAttentionHeads: Math.max(2, hidden / 64), intermediateSize: 2 * hidden,
  attentionProbsDropoutProb: attn, alibiStartingSize: arch === "bert" ? null : 512,
});
const model = createModel(cfg, "mlm", cpu, { seed, computeDtype: dtype });
const f = model.flat;
const opt = new DecoupledAdamW(cpu, [{ param: f.params, grad: f.grads, lowp: f.lowp }], { lr, betas: [0.9, 0.98], eps: 1e-6, weightDecay: 1e-5 });
const sched = makeSchedule({ kind: "linear_decay_with_warmup", warmupSteps: Math.round(warmFrac * steps), alphaF: 0.02 }, steps);

// Unigram baseline: always predict the most frequent label of the eval batch.
const freq = new Map<number, number>();
let nl = 0;
for (const l of evalBatch.labels) if (l !== -100) { freq.set(l, (freq.get(l) ?? 0) + 1); nl++; }
const unigram = Math.max(...freq.values()) / nl;

function evaluate(): { loss: number; acc: number } {
  const out = model.forward(evalBatch, { training: false, grad: false });
  const pred = cpu.argmax(out.logits!).toArray() as Int32Array;
  let c = 0;
  out.predictedPositions!.forEach((pos, i) => { if (pred[i] === evalBatch.labels[pos]) c++; });
  return { loss: out.loss!.item(), acc: c / out.numPredicted };
}

const tag = `${arch} L${layers} H${hidden} lr ${lr} warmup ${warmFrac} attn ${attn} mlm ${mlmP} ${dtype} seed ${seed}`;
console.log(`# ${tag}: ${rows.length} train rows of ${S}, vocab ${K}, unigram acc ${unigram.toFixed(4)}`);
let order = rows.map((_, i) => i);
let ema = NaN;
for (let t = 0; t < steps; t++) {
  if (t % Math.floor(rows.length / B) === 0) order = order.map((v) => [Math.sin(v * 12.9898 + t) * 43758.5453 % 1, v] as const).sort((a, b) => a[0] - b[0]).map((x) => x[1]);
  const k0 = (t * B) % (Math.floor(rows.length / B) * B);
  const b = mk(order.slice(k0, k0 + B).map((i) => rows[i]!), seed * 1000003 + t, mlmP);
  model.zeroGrad();
  const out = model.forward(b, { training: true, seed: t, returnLogits: false });
  const loss = out.loss!.item();
  model.backward();
  const norm = cpu.globalNorm([f.grads]);
  const gn = norm.item();
  const coef = cpu.clipCoefficient(norm, 1.0);
  opt.step(lr * sched.multiplier(t), { gradScaleTensor: coef });
  norm.dispose(); coef.dispose();
  ema = Number.isNaN(ema) ? loss : 0.9 * ema + 0.1 * loss;
  if ((t + 1) % 25 === 0 || t === 0) {
    const e = (t + 1) % 50 === 0 ? evaluate() : null;
    console.log(`step ${t + 1} loss ${loss.toFixed(3)} ema ${ema.toFixed(3)} gnorm ${gn.toFixed(3)} lr ${(lr * sched.multiplier(t)).toExponential(2)}` + (e ? ` | eval loss ${e.loss.toFixed(3)} acc ${e.acc.toFixed(4)}` : ""));
  }
}
