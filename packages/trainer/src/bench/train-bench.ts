import { mlmBatch, type MlmBatch } from "@mosaicbert/data-streaming";
import { DecoupledAdamW, createModel, preset } from "@mosaicbert/layers";
import { Rng, type Backend, type Tensor } from "@mosaicbert/tensor";
import { PhaseProfiler, type CudaBackend, type GemmShapeTime } from "@mosaicbert/kernels-cuda";

/** H100/H200 dense bf16 peak, the MFU denominator used by the paper and the PyTorch peers. */
export const PEAK_FLOPS = 989e12;

/** The first id of ordinary words for synthetic batches: above bert-base-uncased's specials and unused slots when the vocabulary is that large. */
export function firstWordId(vocab: number): number {
  return vocab > 2000 ? 1000 : 5;
}

/**
 * The benchmark batch of the PyTorch peers (shared/bench/torch_peers.py): B sequences padded to S with
 * the given lengths, random ids in [1000, vocab − 2), a fraction `mlmProb` of real tokens masked
 * (replaced by [MASK] = 103, label = the original id, −100 elsewhere). It has the shape of a training
 * batch (the unpadded layout and masked positions attached), so a bench step is a training step.
 */
export function benchBatch(lengths: readonly number[], S: number, vocab: number, mlmProb: number, seed = 0): MlmBatch {
  const B = lengths.length;
  const rng = new Rng(seed);
  const inputIds = new Int32Array(B * S);
  const attentionMask = new Int32Array(B * S);
  const labels = new Int32Array(B * S).fill(-100);
  const lo = firstWordId(vocab);
  for (let b = 0; b < B; b++) {
    const n = lengths[b]!;
    if (!Number.isInteger(n) || n < 1 || n > S) throw new RangeError(`benchBatch: lengths[${b}] = ${n}, expected an integer in [1, ${S}]`);
    for (let s = 0; s < n; s++) {
      const i = b * S + s;
      const id = lo + rng.int(vocab - lo - 2);
      attentionMask[i] = 1;
      if (rng.next() < mlmProb) {
        labels[i] = id;
        inputIds[i] = 103;
      } else inputIds[i] = id;
    }
  }
  return mlmBatch({ inputIds, tokenTypeIds: new Int32Array(B * S), attentionMask, batchSize: B, seqLen: S }, labels);
}

export interface TrainBenchOptions {
  /** Model preset name (layers presets: mosaic-bert-base, bert-base, tiny, ...). */
  preset: string;
  lengths: readonly number[];
  seqLen: number;
  /** Default 0.3 for MosaicBERT, 0.15 for BERT. */
  mlmProb?: number;
  warmup?: number;
  steps?: number;
  lr?: number;
  /** Also run one profiled step and report device time per phase. */
  profile?: boolean;
  /** Record the loss of every step (read back at the end). */
  seed?: number;
  log?: (line: string) => void;
}

export interface TrainBenchResult {
  preset: string;
  params: number;
  tokensPerStep: number;
  /** Median over timed steps of device time between consecutive step starts. */
  stepMs: number;
  meanStepMs: number;
  tokensPerSec: number;
  mfu: number;
  /** MFU counting the attention products too: 6·N per position plus 12·layers·H·Σ len² per step (fwd + bwd). */
  mfuWithAttention: number;
  peakMemGiB: number;
  reservedGiB: number;
  losses: number[];
  phases?: Record<string, number>;
  ops?: Record<string, number>;
  /** With profile: the profiled step's GEMMs by shape, slowest first. */
  gemms?: GemmShapeTime[];
  memory: Array<{ step: number; allocated: number; reserved: number }>;
}

/**
 * Full MosaicBERT/BERT training steps (forward, backward, DecoupledAdamW; bf16 compute with f32
 * master weights) on a fixed batch on the CUDA backend, timed with CUDA events at every step start.
 * tokens/s counts all B·S positions, as the paper and the peers do.
 */
export function trainBench(cuda: CudaBackend, o: TrainBenchOptions): TrainBenchResult {
  const log = o.log ?? (() => {});
  const prof = new PhaseProfiler(cuda);
  const be: Backend = prof.backend;
  const config = preset(o.preset);
  const mlmProb = o.mlmProb ?? (config.arch === "mosaic-bert" ? 0.3 : 0.15);
  const batch = benchBatch(o.lengths, o.seqLen, config.vocabSize, mlmProb, o.seed ?? 0);
  const model = createModel(config, "mlm", be, { computeDtype: "bf16", seed: o.seed ?? 0 });
  const flat = model.flat;
  const opt = new DecoupledAdamW(be, [{ param: flat.params, grad: flat.grads, lowp: flat.lowp }], { lr: o.lr ?? 5e-4 });
  const lr = o.lr ?? 5e-4;
  const warmup = o.warmup ?? 4;
  const steps = o.steps ?? 15;
  const lossTensors: Tensor[] = [];
  const memory: TrainBenchResult["memory"] = [];
  let stepNo = 0;
  const step = (): void => {
    model.zeroGrad();
    const out = model.forward(batch, { training: true, seed: stepNo, returnLogits: false });
    model.backward();
    opt.step(lr);
    if (out.loss) lossTensors.push(out.loss);
    stepNo++;
  };
  for (let i = 0; i < warmup; i++) step();
  cuda.synchronize();
  log(`warm-up done (${warmup} steps), ${(cuda.memoryStats().peakBytes / 2 ** 30).toFixed(2)} GiB peak`);
  cuda.resetPeak();
  // CUDA events 0..steps at the step starts (the profiler reuses the indices after they are read).
  const EV = 0;
  for (let i = 0; i < steps; i++) {
    cuda.recordEvent(EV + i);
    step();
    if ((i + 1) % 100 === 0 || i === steps - 1) {
      const m = cuda.memoryStats();
      memory.push({ step: stepNo, allocated: m.allocatedBytes, reserved: m.reservedBytes });
    }
  }
  cuda.recordEvent(EV + steps);
  cuda.synchronize();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) times.push(cuda.elapsedMs(EV + i, EV + i + 1));
  const sorted = [...times].sort((a, b) => a - b);
  const stepMs = sorted[Math.floor(sorted.length / 2)]!;
  const meanStepMs = times.reduce((a, b) => a + b, 0) / times.length;
  const peak = cuda.memoryStats().peakBytes;
  const tokensPerStep = batch.batchSize * batch.seqLen;
  const params = model.numParameters();
  const tokensPerSec = tokensPerStep / (stepMs / 1e3);
  const res: TrainBenchResult = {
    preset: o.preset, params, tokensPerStep, stepMs, meanStepMs, tokensPerSec, mfu: (6 * params * tokensPerSec) / PEAK_FLOPS,
    mfuWithAttention: (6 * params * tokensPerSec + (12 * config.numHiddenLayers * config.hiddenSize * o.lengths.reduce((a, l) => a + l * l, 0)) / (stepMs / 1e3)) / PEAK_FLOPS,
    peakMemGiB: peak / 2 ** 30, reservedGiB: cuda.memoryStats().reservedBytes / 2 ** 30, losses: [], memory,
  };
  if (o.profile) {
    prof.begin();
    step();
    const p = prof.end();
    res.phases = p.phases;
    res.ops = p.ops;
    res.gemms = p.gemms;
  }
  res.losses = lossTensors.map((t) => t.item());
  for (const t of lossTensors) t.dispose();
  opt.dispose();
  model.dispose();
  return res;
}
