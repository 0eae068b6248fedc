// Attention alone on the GPU: forward and backward milliseconds and tensor-core TFLOP/s of the varlen
// ALiBi kernels on packed batches of 32768 positions at lengths 128 … 8192 (60% full rows, 40%
// uniform in [L/8, L−1], seeded), 12 heads of 64 (MosaicBERT-base), plus head dims 32 and 128.
// Bundled and run on the GPU machine by scripts/device.sh (stage `attention`):
//   node attention.mjs [--json FILE] [--sweep: also the generic path and the warps-per-CTA variants]
// FLOPs counted: forward 4·Σ len²·H (Q·Kᵀ and P·V); backward 2.5× that (five products).
import { writeFileSync } from "node:fs";
import { Rng, type Tensor } from "@mosaicbert/tensor";
import { loadCudaBackend } from "../src/index.js";

const be = loadCudaBackend();
const rng = new Rng(1);

function benchLengths(L: number, rows: number, seed: number): number[] {
  const r = new Rng(seed);
  return Array.from({ length: rows }, () => (r.next() < 0.6 ? L : Math.floor(L / 8) + r.int(L - Math.floor(L / 8))));
}

interface Row { L: number; rows: number; dh: number; path: string; dropout: number; fwdMs: number; bwdMs: number; fwdTflops: number; bwdTflops: number }

function time(fn: () => void, reps: number): number {
  fn();
  be.synchronize();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    be.native.eventRecord(0);
    fn();
    be.native.eventRecord(1);
    be.synchronize();
    ms.push(be.native.eventElapsed(0, 1));
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)]!;
}

/** path: "generic", or "flash" with MOSAICBERT_FA_WARPS (forward,backward warps per CTA: "8,8" by default). */
function run(L: number, dh: number, path: string, dropout = 0): Row {
  const nh = (12 * 64) / dh;
  const rows = Math.max(1, Math.floor(32768 / L));
  const lens = benchLengths(L, rows, 7 + L);
  const T = lens.reduce((a, b) => a + b, 0);
  const H = nh * dh;
  const cu = [0];
  for (const l of lens) cu.push(cu[cu.length - 1]! + l);
  const qkv = be.fromArray(rng.normalArray(T * 3 * H, 1), [T, 3 * H], "bf16");
  const dout = be.fromArray(rng.normalArray(T * H, 1), [T, H], "bf16");
  const args = {
    numHeads: nh, cuSeqlens: be.fromArray(cu, [cu.length], "i32"), maxSeqlen: L,
    slopes: Array.from({ length: nh }, (_, h) => 2 ** (-8 * (h + 1) / nh)), keyMask: null, positions: null,
    dropout: dropout > 0 ? { p: dropout, seed: 3, offset: 0 } : null,
  };
  process.env.MOSAICBERT_CUDA_GENERIC = path === "generic" ? "1" : "0";
  process.env.MOSAICBERT_FA_WARPS = path.startsWith("flash ") ? path.slice(6) : "8,8";
  let r = be.attention(qkv, args);
  const reps = path === "generic" ? 3 : 20;
  const fwdMs = time(() => { r.out.dispose(); r.lse.dispose(); r = be.attention(qkv, args); }, reps);
  let g: Tensor = be.attentionBackward(dout, qkv, r.out, r.lse, args);
  const bwdMs = time(() => { g.dispose(); g = be.attentionBackward(dout, qkv, r.out, r.lse, args); }, reps);
  process.env.MOSAICBERT_CUDA_GENERIC = "0";
  const flops = 4 * lens.reduce((a, l) => a + l * l, 0) * H;
  for (const t of [qkv, dout, r.out, r.lse, g, args.cuSeqlens]) t.dispose();
  return { L, rows, dh, path, dropout, fwdMs, bwdMs, fwdTflops: flops / fwdMs / 1e9, bwdTflops: (2.5 * flops) / bwdMs / 1e9 };
}

const results: Row[] = [];
const say = (r: Row): void => {
  results.push(r);
  console.log(`attention L=${String(r.L).padStart(4)} rows=${String(r.rows).padStart(3)} dh=${String(r.dh).padStart(3)} ${r.path.padEnd(9)} p=${r.dropout} fwd ${r.fwdMs.toFixed(3)} ms (${r.fwdTflops.toFixed(0)} TFLOP/s)  bwd ${r.bwdMs.toFixed(3)} ms (${r.bwdTflops.toFixed(0)} TFLOP/s)`);
};
if (process.argv.includes("--sweep")) {
  say(run(128, 64, "generic"));
  for (const L of [128, 512, 2048]) for (const w of ["4,4", "8,8", "8,4", "4,8"]) say(run(L, 64, `flash ${w}`));
}
for (const L of [128, 256, 512, 1024, 2048, 4096, 8192]) say(run(L, 64, "flash"));
say(run(512, 64, "flash", 0.1));
for (const dh of [32, 128]) for (const L of [128, 1024]) say(run(L, dh, "flash"));
const json = process.argv.indexOf("--json");
if (json > 0) writeFileSync(process.argv[json + 1]!, JSON.stringify(results, null, 1));
