// CPU matmul throughput on BERT-shaped products (single thread), from the built package (dist/):
//   pnpm --filter @mosaicbert/tensor build && pnpm bench matmul      (or: node packages/tensor/bench/matmul.bench.mjs)
// Prints one line per shape with GFLOP/s (2·M·N·K flops per product, best of --reps N runs, default 5; --quick: 2).
import { existsSync } from "node:fs";

const dist = new URL("../dist/index.js", import.meta.url);
if (!existsSync(dist)) {
  console.error(`matmul.bench: ${dist.pathname} is missing: run \`pnpm build\` first`);
  process.exit(1);
}
const { cpu, Rng } = await import(dist.href);

const cases = [
  { name: "tiny Wqkv fwd   [1024×128]·[384×128]ᵀ", M: 1024, K: 128, N: 384, transB: true },
  { name: "tiny MLM decoder fwd [256×128]·[30528×128]ᵀ", M: 256, K: 128, N: 30528, transB: true },
  { name: "tiny MLM decoder dX [256×30528]·[30528×128]", M: 256, K: 30528, N: 128 },
  { name: "tiny MLM decoder dW [256×30528]ᵀ·[256×128]", M: 30528, K: 256, N: 128, transA: true },
  { name: "base Wqkv fwd   [256×768]·[2304×768]ᵀ", M: 256, K: 768, N: 2304, transB: true },
  { name: "base GLU in fwd [256×768]·[6144×768]ᵀ", M: 256, K: 768, N: 6144, transB: true },
  { name: "base wo fwd     [256×3072]·[768×3072]ᵀ", M: 256, K: 3072, N: 768, transB: true },
  { name: "base dX bwd     [256×768]·[768×768]", M: 256, K: 768, N: 768 },
  { name: "base dW bwd     [256×768]ᵀ·[256×768]", M: 768, K: 256, N: 768, transA: true },
];

const rng = new Rng(1);
const quick = process.argv.includes("--quick");
// --reps N: best of N timed runs (default 5); more reps filter out noise from other processes.
const repsAt = process.argv.indexOf("--reps");
const repsArg = repsAt >= 0 ? Math.max(1, Number.parseInt(process.argv[repsAt + 1] ?? "5", 10) || 5) : 5;
// Warm up the JIT on every code path (transposes, edges) before timing.
for (const c of cases) {
  const a = cpu.fromArray(rng.normalArray(37 * 45), c.transA ? [45, 37] : [37, 45], "f32");
  const b = cpu.fromArray(rng.normalArray(45 * 29), c.transB ? [29, 45] : [45, 29], "f32");
  for (let r = 0; r < 20; r++) cpu.matmul(a, b, { transA: c.transA, transB: c.transB }).dispose();
}
// --threads N: split large products over N threads (default 1; see CpuBackend.setThreads).
const threadsAt = process.argv.indexOf("--threads");
if (threadsAt >= 0) cpu.setThreads(Number.parseInt(process.argv[threadsAt + 1] ?? "1", 10));
console.log(`CPU backend matmul (float32, ${cpu.threads} thread(s), Node ${process.version})`);
for (const c of cases) {
  const a = cpu.fromArray(rng.normalArray(c.M * c.K), c.transA ? [c.K, c.M] : [c.M, c.K], "f32");
  const b = cpu.fromArray(rng.normalArray(c.K * c.N), c.transB ? [c.N, c.K] : [c.K, c.N], "f32");
  const flops = 2 * c.M * c.N * c.K;
  let best = Infinity;
  let bestCpu = Infinity;
  const reps = quick ? 2 : repsArg;
  for (let r = 0; r < reps; r++) {
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    cpu.matmul(a, b, { transA: c.transA, transB: c.transB }).dispose();
    best = Math.min(best, performance.now() - t0);
    const u = process.cpuUsage(u0);
    bestCpu = Math.min(bestCpu, (u.user + u.system) / 1000);
  }
  // Wall clock, and per CPU-second (process CPU time: what a dedicated core would do on a shared host).
  const gf = (ms) => (flops / ms / 1e6).toFixed(2).padStart(6);
  console.log(`${c.name.padEnd(48)} ${gf(best)} GFLOP/s wall (${best.toFixed(1)} ms)  ${gf(bestCpu)} GFLOP/s per CPU-second`);
}
