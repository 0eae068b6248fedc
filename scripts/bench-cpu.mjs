// `pnpm bench:cpu`: the CPU figures of BENCHMARKS.md from one command, on this machine, in one run:
//   1. GEMM GFLOP/s at BERT shapes: the fast CPU backend (WebAssembly SIMD, every core), the plain
//      TypeScript reference (one run each), and NumPy's BLAS on the same shapes (python3 + numpy, when present).
//   2. `mosaicbert pretrain` (the default tiny-cpu recipe): tokens/s, and with --full the whole default
//      run (its held-out MLM accuracy); default a 60 s slice.
//   3. Forward (infer / embedding) tokens/s of a MosaicBERT-base encoder (random weights, 8 × 128 tokens).
// Each GEMM is timed --reps times (default 7): best and median are printed, because the host may be shared.
// Options: --reps N, --threads N (default MOSAICBERT_CPU_THREADS or every core), --full, --skip gemm,pretrain,infer,
// --keep DIR (keep the pretrain run in DIR/run, e.g. for `mosaicbert infer`).
// Needs `pnpm build` first.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const reps = Math.max(1, Number.parseInt(arg("--reps", "7"), 10) || 7);
const skip = new Set((arg("--skip", "") ?? "").split(",").filter(Boolean));
const full = process.argv.includes("--full");
const threadsArg = arg("--threads", undefined);
if (threadsArg !== undefined) process.env.MOSAICBERT_CPU_THREADS = threadsArg;

for (const p of ["tensor", "layers", "trainer"]) {
  if (!existsSync(join(root, "packages", p, "dist", "index.js"))) {
    console.error(`bench:cpu: packages/${p}/dist is missing: run \`pnpm build\` first`);
    process.exit(1);
  }
}
const T = await import(join(root, "packages/tensor/dist/index.js"));
const L = await import(join(root, "packages/layers/dist/index.js"));
const fast = T.fastCpu();
const cpu = T.cpu;

console.log(`# CPU benchmarks: ${cpus()[0]?.model ?? "cpu"}, ${availableParallelism()} cores, Node ${process.version}`);
console.log(`# fast backend: ${fast.variant} kernels, f32 GEMM on ${fast.nativeGemm ? `the native ${fast.nativeGemm.isa()} path` : "WebAssembly (native GEMM not built or MOSAICBERT_CPU_NATIVE=0)"}, ${fast.threads} thread(s); load average ${(await import("node:os")).loadavg().map((x) => x.toFixed(1)).join(" ")}`);

const SHAPES = [
  { name: "base Wqkv fwd  [256×768]·[2304×768]ᵀ", M: 256, K: 768, N: 2304, transB: true },
  { name: "base GLU in fwd [256×768]·[6144×768]ᵀ", M: 256, K: 768, N: 6144, transB: true },
  { name: "base wo fwd    [256×3072]·[768×3072]ᵀ", M: 256, K: 3072, N: 768, transB: true },
  { name: "base dX bwd    [256×768]·[768×768]", M: 256, K: 768, N: 768 },
  { name: "base dW bwd    [256×768]ᵀ·[256×768]", M: 768, K: 256, N: 768, transA: true },
  { name: "base 1 seq  [128×768]·[3072×768]ᵀ", M: 128, K: 768, N: 3072, transB: true },
  { name: "tiny decoder [256×128]·[30528×128]ᵀ", M: 256, K: 128, N: 30528, transB: true },
];

const stats = (ms) => {
  const s = [...ms].sort((a, b) => a - b);
  return { best: s[0], median: s[Math.floor((s.length - 1) / 2)] };
};
const gf = (flops, ms) => (flops / ms / 1e6).toFixed(1);

function numpyRun() {
  const py = String.raw`
import json, sys, time
import numpy as np
cfg = json.loads(sys.argv[1]); out = []
try:
    info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    blas = f"{info.get('name')} {info.get('version')} ({info.get('openblas configuration', '').strip()})"
except Exception:
    blas = "unknown"
for c in cfg["shapes"]:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((c["K"], c["M"]) if c.get("transA") else (c["M"], c["K"]), dtype=np.float32)
    b = rng.standard_normal((c["N"], c["K"]) if c.get("transB") else (c["K"], c["N"]), dtype=np.float32)
    A = a.T if c.get("transA") else a
    B = b.T if c.get("transB") else b
    A @ B
    ms = []
    for _ in range(cfg["reps"]):
        t0 = time.perf_counter(); A @ B; ms.append((time.perf_counter() - t0) * 1e3)
    out.append(ms)
print(json.dumps({"numpy": np.__version__, "blas": blas, "ms": out}))
`;
  const r = spawnSync("python3", ["-c", py, JSON.stringify({ shapes: SHAPES, reps })], { encoding: "utf8" });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || "python3 failed").trim().split("\n").pop() };
  return JSON.parse(r.stdout);
}

if (!skip.has("gemm")) {
  const np = numpyRun();
  console.log(`\n## GEMM (float32), best / median of ${reps} runs, GFLOP/s wall clock`);
  console.log(np.error ? `NumPy: unavailable (${np.error})` : `NumPy ${np.numpy}, BLAS: ${np.blas}`);
  console.log(`| product | fast backend (best / median) | reference (1 run) | NumPy (best / median) | fast / NumPy (best) |`);
  console.log(`|---|---|---|---|---|`);
  const rng = new T.Rng(1);
  SHAPES.forEach((c, i) => {
    const flops = 2 * c.M * c.N * c.K;
    const ad = rng.normalArray(c.M * c.K);
    const bd = rng.normalArray(c.K * c.N);
    const sa = c.transA ? [c.K, c.M] : [c.M, c.K];
    const sb = c.transB ? [c.N, c.K] : [c.K, c.N];
    const opts = { transA: c.transA, transB: c.transB };
    const a = fast.fromArray(ad, sa, "f32");
    const b = fast.fromArray(bd, sb, "f32");
    fast.matmul(a, b, opts).dispose();
    const ms = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      fast.matmul(a, b, opts).dispose();
      ms.push(performance.now() - t0);
    }
    const f = stats(ms);
    const ra = cpu.fromArray(ad, sa, "f32");
    const rb = cpu.fromArray(bd, sb, "f32");
    const t0 = performance.now();
    cpu.matmul(ra, rb, opts).dispose();
    const refMs = performance.now() - t0;
    const n = np.error ? null : stats(np.ms[i]);
    const npCol = n ? `${gf(flops, n.best)} / ${gf(flops, n.median)}` : "–";
    const ratio = n ? `${((100 * n.best) / f.best).toFixed(0)}%` : "–";
    console.log(`| ${c.name} | ${gf(flops, f.best)} / ${gf(flops, f.median)} | ${gf(flops, refMs)} | ${npCol} | ${ratio} |`);
  });
}

if (!skip.has("pretrain")) {
  const keep = arg("--keep", undefined);
  const dir = keep ?? mkdtempSync(join(tmpdir(), "bench-cpu-"));
  const args = [join(root, "packages/trainer/dist/cli.js"), "pretrain", "--save-folder", join(dir, "run")];
  if (!full) args.push("--max-duration", "60s");
  console.log(`\n## mosaicbert pretrain (default tiny-cpu recipe${full ? "" : ", a 60 s slice: --full runs the whole default"})`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: "utf8", cwd: root, env: { ...process.env } });
  const wall = (performance.now() - t0) / 1000;
  const text = `${r.stdout}\n${r.stderr}`;
  const done = text.match(/done: (\d+) steps, ([\d.]+[kM]?) samples, ([\d.]+)([kM]?) tokens in (\d+):(\d+)/);
  const acc = [...text.matchAll(/mlm_accuracy ([\d.]+)%/g)].pop();
  if (r.status !== 0 || !done) console.log(`pretrain failed (exit ${r.status}): ${text.trim().split("\n").slice(-3).join(" | ")}`);
  else {
    // The summary rounds (e.g. "1.2M tokens"); metrics.jsonl's last train record has the exact count.
    const records = readFileSync(join(dir, "run", "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const last = records.filter((r) => r.type === "train").pop();
    const tokens = last?.tokens ?? Number(done[3]) * (done[4] === "k" ? 1e3 : done[4] === "M" ? 1e6 : 1);
    const secs = Number(done[5]) * 60 + Number(done[6]);
    console.log(`${done[1]} steps, ${tokens} tokens in ${secs} s of training (${wall.toFixed(0)} s with start-up and evaluation): ${(tokens / secs).toFixed(0)} tokens/s; held-out MLM accuracy ${acc ? acc[1] + "%" : "n/a"}`);
  }
  if (keep === undefined) rmSync(dir, { recursive: true, force: true });
  else console.log(`run kept in ${join(dir, "run")}`);
}

if (!skip.has("infer")) {
  console.log(`\n## MosaicBERT-base forward (infer / embedding), random weights, 128-token rows (fast: 8 rows, reference: 1)`);
  for (const [name, be] of [["fast", fast], ["reference", cpu]]) {
    const model = L.createModel(L.preset("mosaic-bert-base"), "encoder", be, { seed: 1 });
    const B = name === "fast" ? 8 : 1;
    const S = 128;
    const inputIds = Int32Array.from({ length: B * S }, (_, i) => 1000 + ((i * 7919) % 20000));
    const batch = { inputIds, batchSize: B, seqLen: S };
    const runs = name === "fast" ? 3 : 1;
    const ms = [];
    for (let r = 0; r < runs + (name === "fast" ? 1 : 0); r++) {
      const t0 = performance.now();
      model.forward(batch).lastHiddenState.dispose();
      ms.push(performance.now() - t0);
    }
    if (name === "fast") ms.shift();
    const s = stats(ms);
    console.log(`${name}: ${((B * S) / (s.best / 1000)).toFixed(0)} tokens/s best, ${((B * S) / (s.median / 1000)).toFixed(0)} median (${s.best.toFixed(0)} ms per batch)`);
    model.dispose();
  }
}
process.exit(0);
