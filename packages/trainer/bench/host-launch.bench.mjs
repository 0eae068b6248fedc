// Host cost of launching one training step on the CUDA backend, without a GPU: the backend drives a
// stand-in addon whose every call returns at once (device memory is only addresses), so what is timed
// is the JavaScript side — argument validation, packs, the model's host work (unpadding, row lists),
// the N-API boundary not included. If this approaches the device's step time, the step is host-bound.
//   pnpm build && pnpm bench host-launch [-- preset steps]     (default mosaic-bert-base 20)
import { createRequire } from "node:module";
import { CudaBackend } from "@mosaicbert/kernels-cuda";
import { createModel, preset, DecoupledAdamW, clipGradNorm } from "@mosaicbert/layers";
import { benchBatch, BENCH_LENGTHS, BENCH_SEQ_LEN } from "@mosaicbert/trainer";

const name = process.argv[2] ?? "mosaic-bert-base";
const steps = Number(process.argv[3] ?? 20);
// The stand-in addon shared with the trainer's host measurement (stand-in-addon.cjs): every call returns at once.
const addon = createRequire(import.meta.url)("./stand-in-addon.cjs");
const counts = addon.__counts;
const be = new CudaBackend(addon);
const config = preset(name);
const batch = benchBatch(BENCH_LENGTHS, BENCH_SEQ_LEN, config.vocabSize, config.arch === "mosaic-bert" ? 0.3 : 0.15, 0);
const model = createModel(config, "mlm", be, { computeDtype: "bf16", seed: 0 });
const opt = new DecoupledAdamW(be, [{ param: model.flat.params, grad: model.flat.grads, lowp: model.flat.lowp }], { lr: 5e-4 });
const step = (i) => {
  model.zeroGrad();
  const out = model.forward(batch, { training: true, seed: i, returnLogits: false });
  model.backward();
  const clip = clipGradNorm(be, [model.flat.grads], 1.0);
  out.loss.item();
  clip.norm.item();
  opt.step(5e-4, { gradScaleTensor: clip.coefficient });
  clip.norm.dispose();
  clip.coefficient.dispose();
  out.loss.dispose();
};
for (let i = 0; i < 3; i++) step(i);
counts.clear();
const times = [];
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  step(100 + i);
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const calls = [...counts.values()].reduce((a, b) => a + b, 0) / steps;
const top = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => `${k} ${(v / steps).toFixed(0)}`).join(", ");
console.log(`${name}, batch ${batch.batchSize} × ${batch.seqLen}: host ${times[steps >> 1].toFixed(2)} ms per step (median of ${steps}; min ${times[0].toFixed(2)}), ${calls.toFixed(0)} addon calls per step`);
console.log(`calls per step: ${top}`);
