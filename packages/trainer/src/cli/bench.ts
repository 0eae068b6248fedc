import { writeFileSync } from "node:fs";
import { Option, type Command } from "commander";
import { BENCH_LENGTHS, BENCH_SEQ_LEN, benchLengths } from "../bench/lengths.js";
import { trainBench } from "../bench/train-bench.js";
import { resolveDevice } from "../device.js";
import { formatGemms, formatPhases } from "../log/profile-format.js";
import { deviceOption } from "./device-option.js";

interface BenchOpts {
  preset: string; device: string; steps: string; warmup: string; profile?: boolean; json?: string; mlm?: string;
  seqLen?: string; batch?: string; lengthsOut?: string; fullRows?: boolean;
}

/**
 * The batch of a run: the peers' 256 × 128 batch, or seeded lengths at --seq-len (see benchLengths);
 * with --full-rows, as many rows with every one at the full length (pretraining rows, as the anchor
 * setting trains on).
 */
export function benchShape(o: { seqLen?: string; batch?: string; fullRows?: boolean }): { lengths: readonly number[]; seqLen: number } {
  let shape: { lengths: readonly number[]; seqLen: number };
  if (o.seqLen === undefined) {
    if (o.batch !== undefined) throw new Error("--batch needs --seq-len (without it the batch is the peers' 256 × 128)");
    shape = { lengths: BENCH_LENGTHS, seqLen: BENCH_SEQ_LEN };
  } else {
    const L = Number(o.seqLen);
    shape = { lengths: benchLengths(L, o.batch === undefined ? undefined : Number(o.batch)), seqLen: L };
  }
  return o.fullRows ? { lengths: shape.lengths.map(() => shape.seqLen), seqLen: shape.seqLen } : shape;
}

/**
 * `mosaicbert bench`: full training steps (forward, backward, AdamW, bf16) on the PyTorch peers'
 * fixed batch (256 × 128, shared/bench lengths), or on B rows of seeded lengths at --seq-len L; prints median tokens/s (all B·S positions), MFU,
 * step time, peak GPU memory and, with --profile, device time per phase.
 */
export function register(program: Command): void {
  program
    .command("bench")
    .description("Training throughput on the peers' 256×128 batch (or --seq-len L): tokens/s, MFU, step time, memory, phases")
    .addOption(new Option("--preset <name>", "model preset").default("mosaic-bert-base"))
    .addOption(deviceOption("where to run: a GPU", "cuda"))
    .option("--steps <n>", "timed steps", "15")
    .option("--warmup <n>", "warm-up steps", "4")
    .option("--mlm <p>", "masking rate (default 0.3 MosaicBERT, 0.15 BERT)")
    .option("--profile", "add one profiled step with CUDA events around every op")
    .option("--json <file>", "also write the result as JSON")
    .option("--seq-len <L>", "bench at length L: B rows, 60% full and 40% uniform in [L/8, L-1] (seeded)")
    .option("--batch <B>", "rows at --seq-len (default 32768 / L)")
    .option("--full-rows", "every row at the full length (the anchor setting's pretraining rows)")
    .option("--lengths-out <file>", "write {max_seq_len, lengths} for the PyTorch peers (LENGTHS=file torch_peers.py)")
    .action(async (o: BenchOpts) => {
      const steps = Number(o.steps), warmup = Number(o.warmup);
      if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps: expected a positive integer, got ${o.steps}`);
      if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`--warmup: expected a non-negative integer, got ${o.warmup}`);
      const mlm = o.mlm === undefined ? undefined : Number(o.mlm);
      if (mlm !== undefined && !(mlm > 0 && mlm < 1)) throw new Error(`--mlm: expected a rate in (0, 1), got ${o.mlm}`);
      const shape = benchShape(o);
      if (o.lengthsOut) writeFileSync(o.lengthsOut, `${JSON.stringify({ max_seq_len: shape.seqLen, lengths: shape.lengths })}\n`);
      const { cuda } = await resolveDevice(o.device);
      if (!cuda) throw new Error(`--device ${o.device}: the benchmark times CUDA events; expected cuda or cuda:N`);
      const r = trainBench(cuda, {
        preset: o.preset, lengths: shape.lengths, seqLen: shape.seqLen, steps, warmup, profile: o.profile === true, mlmProb: mlm,
        log: (l) => process.stderr.write(`bench: ${l}\n`),
      });
      const line = `${r.preset}: ${(r.tokensPerSec / 1e3).toFixed(1)}k tokens/s, MFU ${(100 * r.mfu).toFixed(1)}% (${(100 * r.mfuWithAttention).toFixed(1)}% with attention), step ${r.stepMs.toFixed(2)} ms (mean ${r.meanStepMs.toFixed(2)}), ` +
        `peak ${r.peakMemGiB.toFixed(2)} GiB, params ${(r.params / 1e6).toFixed(1)}M, loss ${r.losses[0]?.toFixed(3)} → ${r.losses[r.losses.length - 1]?.toFixed(3)}`;
      process.stdout.write(`${line}\n`);
      if (r.phases) process.stdout.write(`  phases (one profiled step): ${formatPhases(r.phases)}\n`);
      if (r.gemms?.length) process.stdout.write(`  slowest GEMM shapes (M×N×K, op(a)·op(b)): ${formatGemms(r.gemms)}\n`);
      if (o.json) writeFileSync(o.json, JSON.stringify(r, null, 1));
    });
}
