import type { Backend, PendingRead } from "./backend.js";
import type { DType } from "./dtype.js";
import { Rng } from "./random.js";
import type { Tensor } from "./tensor.js";
import { relativeL2 } from "./testing.js";

/**
 * Conformance cases: every op of the contract on fresh random inputs, run on a backend under test
 * and on the CPU reference, outputs compared by relative L2 (1e-5 for f32 paths, 1e-2 for bf16).
 * Backend-agnostic and written once: run by vitest for the fast CPU backend (fast/conformance.test.ts)
 * and the CUDA backend (kernels-cuda, skipped without a GPU), and on the GPU machine by the trainer's
 * GPU runner (trainer/src/checks/gpu-run.ts).
 */
export interface ConformanceCase {
  name: string;
  /** Relative L2 bound for float outputs (integer outputs must match exactly). */
  tol: number;
  /** Runs the op(s) on `be` from host data drawn by `rng` (the same seed on both backends). */
  run(be: Backend, rng: Rng): Tensor[];
  /** The CPU reference needs minutes for it (sequences of thousands of tokens): device runs only, not CI. */
  heavy?: boolean;
}

export interface CaseResult {
  name: string;
  ok: boolean;
  /** Worst relative L2 over the case's outputs (Infinity on a shape/NaN mismatch). */
  error: number;
  detail: string;
}

const F32_TOL = 1e-5;
const BF16_TOL = 1e-2;
const tolOf = (dt: DType): number => (dt === "f32" ? F32_TOL : BF16_TOL);

function randn(be: Backend, rng: Rng, shape: number[], dt: DType, std = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return be.fromArray(rng.normalArray(n, std), shape, dt);
}
function ints(be: Backend, rng: Rng, n: number, lo: number, hi: number): Tensor {
  return be.fromArray(Int32Array.from({ length: n }, () => lo + rng.int(hi - lo)), [n], "i32");
}

const cases: ConformanceCase[] = [];
const add = (name: string, tol: number, run: ConformanceCase["run"], heavy = false): void => {
  cases.push({ name, tol, run, ...(heavy ? { heavy } : {}) });
};

// ---- memory and casts ---------------------------------------------------------------------------
for (const dt of ["f32", "bf16"] as DType[]) {
  add(`cast/copy/fill ${dt}`, tolOf(dt), (be, rng) => {
    const x = randn(be, rng, [7, 13], "f32");
    const y = be.cast(x, dt);
    const z = be.cast(y, "f32");
    const w = be.empty([3, 5], dt);
    be.fill(w, 1.25);
    const i = be.cast(be.fromArray([1.5, -2.5, 3, 7.9], [4], "f32"), "i32");
    return [y, z, w, i];
  });
}

// ---- dense ----------------------------------------------------------------------------------------
const mm: [number, number, number][] = [[7, 13, 5], [64, 96, 48], [129, 64, 200], [1, 32, 16]];
for (const dt of ["f32", "bf16"] as DType[]) {
  for (const [M, K, N] of mm) {
    for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      add(`matmul ${dt} M${M} K${K} N${N} tA=${tA} tB=${tB}`, tolOf(dt), (be, rng) => {
        const a = randn(be, rng, tA ? [K, M] : [M, K], dt);
        const b = randn(be, rng, tB ? [N, K] : [K, N], dt);
        return [be.matmul(a, b, { transA: tA, transB: tB })];
      });
    }
    add(`matmul ${dt} M${M} K${K} N${N} bias+alpha`, tolOf(dt), (be, rng) => {
      const a = randn(be, rng, [M, K], dt);
      const b = randn(be, rng, [N, K], dt);
      const bias = randn(be, rng, [N], dt);
      return [be.matmul(a, b, { transB: true, bias, alpha: 0.5 })];
    });
    add(`matmul ${dt} M${M} K${K} N${N} gelu+preActivation`, tolOf(dt), (be, rng) => {
      const a = randn(be, rng, [M, K], dt);
      const b = randn(be, rng, [N, K], dt, 0.2);
      const bias = randn(be, rng, [N], "f32");
      const pre = be.empty([M, N], dt);
      return [be.matmul(a, b, { transB: true, bias, activation: "gelu", preActivation: pre }), pre];
    });
    // The same without the saved pre-activation (a forward that keeps nothing for backward: inference).
    add(`matmul ${dt} M${M} K${K} N${N} gelu`, tolOf(dt), (be, rng) => {
      const a = randn(be, rng, [M, K], dt);
      const b = randn(be, rng, [N, K], dt, 0.2);
      const bias = randn(be, rng, [N], "f32");
      return [be.matmul(a, b, { transB: true, bias, activation: "gelu" })];
    });
    add(`matmul ${dt} M${M} K${K} N${N} accumulate into f32 (weight grad)`, tolOf(dt), (be, rng) => {
      const dy = randn(be, rng, [M, N], dt);
      const x = randn(be, rng, [M, K], dt);
      const gw = randn(be, rng, [N, K], "f32");
      be.matmul(dy, x, { transA: true, out: gw, accumulate: true });
      return [gw];
    });
    add(`matmul ${dt} M${M} K${K} N${N} weight grad + bias grad, accumulated`, tolOf(dt), (be, rng) => {
      const dy = randn(be, rng, [M, N], dt);
      const x = randn(be, rng, [M, K], dt);
      const gw = randn(be, rng, [N, K], "f32");
      const gb = randn(be, rng, [N], "f32");
      be.matmul(dy, x, { transA: true, out: gw, accumulate: true, biasGrad: gb });
      return [gw, gb];
    });
  }
  // The bias gradient written (not accumulated), into views of one flat buffer at odd offsets (as a
  // model's gradients are), on a linear layer's shape: the sums run over 1000 rows.
  add(`matmul ${dt} weight grad + bias grad written into offset views`, tolOf(dt), (be, rng) => {
    const dy = randn(be, rng, [1000, 192], dt);
    const x = randn(be, rng, [1000, 72], dt);
    const flat = be.zeros([1 + 192 * 72 + 3 + 192], "f32");
    const gw = flat.view(1, [192, 72]);
    const gb = flat.view(1 + 192 * 72 + 3, [192]);
    be.matmul(dy, x, { transA: true, out: gw, biasGrad: gb });
    return [flat];
  });
  // Large enough (out 512 × 256) that the CUDA backend times its algorithm candidates with the bias-gradient
  // epilogue on; the second product (970 rows) is another shape of the same size class (K 1024), which reuses the
  // class's algorithm after checking it.
  add(`matmul ${dt} weight grad + bias grad, accumulated, GEMM-tuned sizes (1000 and 970 rows)`, tolOf(dt), (be, rng) => {
    const gw = randn(be, rng, [512, 256], "f32");
    const gb = randn(be, rng, [512], "f32");
    for (const rows of [1000, 970]) {
      const dy = randn(be, rng, [rows, 512], dt);
      const x = randn(be, rng, [rows, 256], dt);
      be.matmul(dy, x, { transA: true, out: gw, accumulate: true, biasGrad: gb });
      dy.dispose();
      x.dispose();
    }
    return [gw, gb];
  }, true);
  // An empty inner dimension (K = 0): the product is zeros [M, N], then alpha·0 + bias, the activation and
  // accumulate as for any K (a [M, 0] operand still has M rows; the CUDA GEMM fills zeros + bias itself).
  add(`matmul ${dt} K0 (empty inner dimension): bias, gelu, accumulate, 3-d a, transA + bias grad`, tolOf(dt), (be, rng) => {
    const [M, N] = [5, 7];
    const bias = randn(be, rng, [N], "f32");
    const plain = be.matmul(be.zeros([M, 0], dt), be.zeros([0, N], dt));
    const biased = be.matmul(be.zeros([M, 0], dt), be.zeros([N, 0], dt), { transB: true, bias, alpha: 0.5 });
    const pre = be.empty([M, N], dt);
    const gelu = be.matmul(be.zeros([M, 0], dt), be.zeros([0, N], dt), { bias, activation: "gelu", preActivation: pre });
    const acc = randn(be, rng, [M, N], "f32");
    be.matmul(be.zeros([M, 0], dt), be.zeros([0, N], dt), { bias, out: acc, accumulate: true });
    const lead = be.matmul(be.zeros([2, 3, 0], dt), be.zeros([0, N], dt), { bias });
    const gw = randn(be, rng, [M, N], "f32");
    const gb = randn(be, rng, [M], "f32");
    be.matmul(be.zeros([0, M], dt), be.zeros([0, N], dt), { transA: true, out: gw, accumulate: true, biasGrad: gb });
    const gb0 = randn(be, rng, [M], "f32");
    const gw0 = be.matmul(be.zeros([0, M], dt), be.zeros([0, N], dt), { transA: true, biasGrad: gb0 });
    return [plain, biased, gelu, pre, acc, lead, gw, gb, gw0, gb0];
  });
  add(`matmul ${dt} mixed operand dtypes`, BF16_TOL, (be, rng) => {
    const a = randn(be, rng, [9, 24], dt);
    const b = randn(be, rng, [24, 10], dt === "f32" ? "bf16" : "f32");
    return [be.matmul(a, b)];
  });
  for (const [n, m] of [[37, 19], [300, 768], [1, 5]]) {
    add(`sumRows ${dt} [${n}, ${m}]`, tolOf(dt), (be, rng) => {
      const x = randn(be, rng, [n, m], dt);
      const acc = randn(be, rng, [m], "f32");
      be.sumRows(x, { out: acc, accumulate: true });
      return [be.sumRows(x), acc];
    });
  }
}

// ---- elementwise ----------------------------------------------------------------------------------
for (const dt of ["f32", "bf16"] as DType[]) {
  for (const shape of [[13, 17], [1, 1], [64, 768]]) {
    add(`elementwise ${dt} [${shape}]`, tolOf(dt), (be, rng) => {
      const a = randn(be, rng, shape, dt);
      const b = randn(be, rng, shape, dt);
      const dy = randn(be, rng, shape, dt);
      const s = be.add(a, b);
      const c = be.cast(a, dt);
      be.addInPlace(c, b, -0.75);
      const d = be.cast(b, dt);
      be.scaleInPlace(d, 3.5);
      const g = be.gelu(a);
      const gb = be.geluBackward(dy, a);
      const t = be.tanh(a);
      const tb = be.tanhBackward(dy, t);
      const dr = be.dropout(a, { p: 0.3, seed: 1234, offset: 77 });
      const drb = be.dropoutBackward(dy, { p: 0.3, seed: 1234, offset: 77 });
      const d0 = be.dropout(a, { p: 0, seed: 1 });
      return [s, c, d, g, gb, t, tb, dr, drb, d0];
    });
  }
  for (const [n, inner] of [[5, 24], [3, 7], [130, 3072]]) {
    add(`geglu ${dt} [${n}, 2×${inner}]`, tolOf(dt), (be, rng) => {
      const g = randn(be, rng, [n, 2 * inner], dt);
      const dh = randn(be, rng, [n, inner], dt);
      return [be.geglu(g), be.gegluBackward(dh, g)];
    });
  }
  // MosaicBERT's FFN dropout, fused into GeGLU (the mask is indexed by h's element, as in `dropout`).
  // 66000 rows: more than a CUDA grid's 65535 in y (kernels indexed by row must loop over rows).
  for (const [n, inner] of [[3, 7], [130, 3072], [66000, 16]]) {
    add(`geglu+dropout ${dt} [${n}, 2×${inner}]`, tolOf(dt), (be, rng) => {
      const g = randn(be, rng, [n, 2 * inner], dt);
      const dh = randn(be, rng, [n, inner], dt);
      const d = { p: 0.1, seed: 4321, offset: 3 };
      return [be.geglu(g, { dropout: d }), be.gegluBackward(dh, g, { dropout: d })];
    });
  }
}

// ---- normalisation --------------------------------------------------------------------------------
for (const dt of ["f32", "bf16"] as DType[]) {
  // [2500, 768] and [600, 1024]: more rows than a persistent grid's warps at once (kernels that walk rows);
  // [300, 256] and [70, 512]: the other row widths of the bf16 kernels (256·V for V = 1 … 4; BERT-mini and -small).
  for (const [n, h] of [[9, 33], [50, 768], [1, 64], [2500, 768], [600, 1024], [300, 256], [70, 512]]) {
    add(`layerNorm/addLayerNorm/backward ${dt} [${n}, ${h}]`, tolOf(dt), (be, rng) => {
      const x = randn(be, rng, [n, h], dt, 2);
      const r = randn(be, rng, [n, h], dt);
      const w = randn(be, rng, [h], "f32");
      const b = randn(be, rng, [h], "f32");
      const dy = randn(be, rng, [n, h], dt);
      const l1 = be.layerNorm(x, w, b, 1e-12);
      const l2 = be.addLayerNorm(x, r, w, b, 1e-5);
      const dweight = randn(be, rng, [h], "f32");
      const dbias = randn(be, rng, [h], "f32");
      const dx = be.layerNormBackward(dy, l2.sum, w, l2.mean, l2.rstd, { dweight, dbias });
      return [l1.y, l1.mean, l1.rstd, l2.y, l2.sum, l2.mean, l2.rstd, dx, dweight, dbias];
    });
    // The post-LN block's dropout fused in: LN(dropout(x) + r), and the gradient of x beside dx.
    add(`addLayerNorm dropout/backward dropoutGrad ${dt} [${n}, ${h}]`, tolOf(dt), (be, rng) => {
      const x = randn(be, rng, [n, h], dt, 2);
      const r = randn(be, rng, [n, h], dt);
      const w = randn(be, rng, [h], "f32");
      const b = randn(be, rng, [h], "f32");
      const dy = randn(be, rng, [n, h], dt);
      const d = { p: 0.1, seed: 987, offset: 5 };
      const l = be.addLayerNorm(x, r, w, b, 1e-5, { dropout: d });
      const dweight = randn(be, rng, [h], "f32");
      const dbias = randn(be, rng, [h], "f32");
      const out = be.empty([n, h], dt);
      const dx = be.layerNormBackward(dy, l.sum, w, l.mean, l.rstd, { dweight, dbias, dropoutGrad: { out, dropout: d } });
      return [l.y, l.sum, l.mean, l.rstd, dx, out, dweight, dbias];
    });
  }
}

// ---- embeddings and rows --------------------------------------------------------------------------
for (const dt of ["f32", "bf16"] as DType[]) {
  add(`embedding/backward ${dt}`, tolOf(dt), (be, rng) => {
    const V = 50, H = 24, n = 37;
    const ids = ints(be, rng, n, 0, V);
    const table = randn(be, rng, [V, H], dt);
    const e = be.embedding(ids, table);
    const e32 = be.embedding(ids, table, { dtype: "f32" });
    const dy = randn(be, rng, [n, H], dt);
    const dt1 = randn(be, rng, [V, H], "f32");
    be.embeddingBackward(ids, dy, dt1, { paddingIdx: 0 });
    return [e, e32, dt1];
  });
  // BERT's shapes: a word table with one id in a quarter of the rows (a batch's [MASK]) and the padding id, and a
  // two-row token-type table every row adds to (kernels that sum a small table's rows per block).
  add(`embedding/backward ${dt} [3000 rows, H 768, V 600 and 2]`, tolOf(dt), (be, rng) => {
    const n = 3000, H = 768;
    const words = Int32Array.from({ length: n }, (_, i) => (i % 4 === 1 ? 103 : i % 97 === 0 ? 0 : rng.int(600)));
    const ids = be.fromArray(words, [n], "i32");
    const types = be.fromArray(Int32Array.from({ length: n }, (_, i) => (i < 2100 ? 0 : 1)), [n], "i32");
    const table = randn(be, rng, [600, H], dt);
    const e = be.embedding(ids, table);
    const dy = randn(be, rng, [n, H], dt);
    const dWords = randn(be, rng, [600, H], "f32");
    const dTypes = randn(be, rng, [2, H], "f32");
    be.embeddingBackward(ids, dy, dWords, { paddingIdx: 0 });
    be.embeddingBackward(types, dy, dTypes, { paddingIdx: null });
    return [e, dWords, dTypes];
  });
  add(`gather/scatter/scatterAdd rows ${dt}`, tolOf(dt), (be, rng) => {
    const N = 40, H = 33, T = 17;
    const x = randn(be, rng, [N, H], dt);
    const perm = Int32Array.from({ length: N }, (_, i) => i);
    for (let i = N - 1; i > 0; i--) { const j = rng.int(i + 1); [perm[i], perm[j]] = [perm[j]!, perm[i]!]; }
    const idx = be.fromArray(perm.slice(0, T), [T], "i32");
    const g = be.gatherRows(x, idx);
    const s = be.scatterRows(g, idx, N);
    const out = randn(be, rng, [N, H], dt);
    const dup = ints(be, rng, T, 0, N);
    be.scatterAddRows(g, dup, out);
    return [g, s, out];
  });
}
// bf16 rows summed into float32 rows as they are (the Embedder's mean pooling): many rows into each output row.
add("scatterAddRows bf16 rows into f32 sums", F32_TOL, (be, rng) => {
  const T = 300, H = 40, N = 7;
  const x = randn(be, rng, [T, H], "bf16");
  const seg = be.fromArray(Int32Array.from({ length: T }, (_, t) => Math.floor((t * N) / T)), [T], "i32");
  const sums = randn(be, rng, [N, H], "f32");
  be.scatterAddRows(x, seg, sums);
  return [sums];
});

// ---- attention ------------------------------------------------------------------------------------
const LONG_MIX = [1, 17, 64, 127, 128, 129, 511, 512, 1000, 2048, 4097];
interface AttnCfg { dt: DType; nh: number; dh: number; lens: number[]; maxSeqlen?: number; mask?: boolean; positions?: boolean; dropout?: number; alibi?: boolean }
const attnCfgs: AttnCfg[] = [
  { dt: "bf16", nh: 2, dh: 64, lens: [1, 17, 64, 128, 5], alibi: true },
  { dt: "bf16", nh: 3, dh: 32, lens: [3, 40, 1], maxSeqlen: 64, alibi: true },
  { dt: "bf16", nh: 1, dh: 128, lens: [1, 33, 100], alibi: true },
  { dt: "bf16", nh: 2, dh: 64, lens: [20, 20], mask: true, positions: true },
  { dt: "bf16", nh: 2, dh: 64, lens: [9, 70], dropout: 0.2, alibi: true },
  { dt: "bf16", nh: 2, dh: 64, lens: [300, 7], alibi: true },
  // Every length class of the tiled kernels in one packed batch: partial and full 64-row tiles,
  // one row, and sequences of several thousand keys (head dims 32, 64 and 128; dropout on and off).
  { dt: "bf16", nh: 2, dh: 32, lens: LONG_MIX, alibi: true },
  { dt: "bf16", nh: 1, dh: 64, lens: LONG_MIX, alibi: true },
  { dt: "bf16", nh: 2, dh: 64, lens: LONG_MIX, alibi: true, dropout: 0.1 },
  { dt: "bf16", nh: 1, dh: 128, lens: LONG_MIX, alibi: true, dropout: 0.1 },
  { dt: "bf16", nh: 2, dh: 128, lens: [129, 1, 64, 300], mask: true, positions: true, alibi: true },
  { dt: "f32", nh: 2, dh: 16, lens: [1, 9, 31], alibi: true },
  { dt: "f32", nh: 2, dh: 64, lens: [1, 200, 600], alibi: true },
  { dt: "f32", nh: 2, dh: 64, lens: [12, 12], mask: true, positions: true, dropout: 0.1 },
];
for (const c of attnCfgs) {
  const tag = `attention ${c.dt} nh${c.nh} dh${c.dh} lens[${c.lens}]${c.mask ? " mask" : ""}${c.positions ? " positions" : ""}${c.dropout ? ` dropout${c.dropout}` : ""}${c.alibi ? " alibi" : ""}`;
  add(tag, tolOf(c.dt), (be, rng) => {
    const T = c.lens.reduce((a, b) => a + b, 0);
    const H = c.nh * c.dh;
    const qkv = randn(be, rng, [T, 3 * H], c.dt);
    const dout = randn(be, rng, [T, H], c.dt);
    const cu = [0];
    for (const l of c.lens) cu.push(cu[cu.length - 1]! + l);
    const args = {
      numHeads: c.nh,
      cuSeqlens: be.fromArray(cu, [cu.length], "i32"),
      maxSeqlen: c.maxSeqlen ?? Math.max(...c.lens),
      slopes: c.alibi ? Array.from({ length: c.nh }, (_, h) => 2 ** (-(h + 1))) : null,
      // Keys masked at random (never the first of a sequence, so every row keeps a key).
      keyMask: c.mask ? be.fromArray(Int32Array.from({ length: T }, (_, t) => (cu.includes(t) || rng.next() > 0.3 ? 1 : 0)), [T], "i32") : null,
      positions: c.positions ? be.fromArray(Int32Array.from({ length: T }, (_, t) => 2 * t + 1), [T], "i32") : null,
      dropout: c.dropout ? { p: c.dropout, seed: 99, offset: 5 } : null,
    };
    const r = be.attention(qkv, args);
    const dq = be.attentionBackward(dout, qkv, r.out, r.lse, args);
    return [r.out, r.lse, dq];
  }, c.lens === LONG_MIX);
}

// ---- losses ---------------------------------------------------------------------------------------
for (const dt of ["f32", "bf16"] as DType[]) {
  for (const [n, c] of [[11, 37], [6, 30528], [37, 1000], [5, 6000], [3, 8200], [1, 3]]) {
    add(`crossEntropy ${dt} [${n}, ${c}]`, tolOf(dt), (be, rng) => {
      const logits = randn(be, rng, [n, c], dt, 2);
      const t = be.fromArray(Int32Array.from({ length: n }, (_, i) => (i % 4 === 3 ? -100 : rng.int(c))), [n], "i32");
      const a = be.crossEntropy(logits, t, { computeGrad: true, gradScale: 0.5 });
      const b = be.crossEntropy(logits, t, { reduction: "sum" });
      const l2 = be.cast(logits, dt);
      const cc = be.crossEntropy(l2, t, { computeGrad: true, inPlace: true });
      return [a.loss, a.grad!, b.loss, cc.loss, l2];
    });
  }
  add(`mse/argmax ${dt}`, tolOf(dt), (be, rng) => {
    const p = randn(be, rng, [23], dt);
    const t = randn(be, rng, [23], dt);
    const m = be.mse(p, t, { computeGrad: true, gradScale: 2 });
    const x = randn(be, rng, [9, 41], dt);
    return [m.loss, m.grad!, be.argmax(x)];
  });
}

// ---- optimizer ------------------------------------------------------------------------------------
add("globalNorm/clipCoefficient/adamw", F32_TOL, (be, rng) => {
  const shapes = [[7, 13], [1000], [1], [64, 64]];
  const ps = shapes.map((s) => ({
    param: randn(be, rng, s, "f32"),
    grad: randn(be, rng, s, "f32", 0.1),
    m: randn(be, rng, s, "f32", 0.01),
    v: be.fromArray(rng.uniformArray(s.reduce((a, b) => a * b, 1), 0, 1e-3), s, "f32"),
    lowp: be.empty(s, "bf16"),
  }));
  const norm = be.globalNorm(ps.map((p) => p.grad));
  const clip = be.clipCoefficient(norm, 1.0);
  be.adamw(ps, { lr: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-6, decay: 1e-5, step: 3, gradScale: 0.5, gradScaleTensor: clip });
  return [norm, clip, ...ps.flatMap((p) => [p.param, p.m, p.v, p.lowp])];
});

// The device-side guard of a training step: 0·(NaN or ±Inf) is NaN, a non-finite norm gives a NaN
// clipping coefficient, and adamw with a non-finite multiplier changes nothing.
add("guard: addInPlace alpha 0, clipCoefficient and adamw on non-finite values", F32_TOL, (be, rng) => {
  const acc = be.fromArray([1, 2, 3, 4, 5], [5], "f32");
  be.addInPlace(acc, be.fromArray([NaN, Infinity, -Infinity, 5, -0], [5], "f32"), 0);
  const coefs = [NaN, Infinity, -Infinity, 3].map((n) => be.clipCoefficient(be.fromArray([n], [1], "f32"), 1.0));
  const ps = [[7, 13], [1000]].map((s) => ({
    param: randn(be, rng, s, "f32"),
    grad: randn(be, rng, s, "f32", 0.1),
    m: randn(be, rng, s, "f32", 0.01),
    v: be.fromArray(rng.uniformArray(s.reduce((a, b) => a * b, 1), 0, 1e-3), s, "f32"),
    lowp: be.zeros(s, "bf16"),
  }));
  for (const bad of [NaN, Infinity]) {
    be.adamw(ps, { lr: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-6, decay: 1e-2, step: 3, gradScaleTensor: be.fromArray([bad], [1], "f32") });
  }
  return [acc, ...coefs, ...ps.flatMap((p) => [p.param, p.m, p.v, p.lowp])];
});

// readLater: the values at the call, whatever is queued after it; more pending reads than the CUDA
// backend's pinned slots (64), and values larger than a slot (4096 bytes).
add("readLater", 0, (be, rng) => {
  const x = be.zeros([1], "f32");
  const pending: PendingRead[] = [];
  for (let i = 0; i < 70; i++) {
    be.fill(x, i + 0.5);
    pending.push(be.readLater(x));
  }
  const big = randn(be, rng, [3001], "bf16");
  const bigRead = be.readLater(big);
  const small = randn(be, rng, [3, 5], "f32");
  const smallRead = be.readLater(small);
  be.addInPlace(big, big, 1);
  be.fill(small, -1);
  const firstWait = Array.from(pending[69]!.wait() as Float32Array);
  const values = pending.map((p) => p.wait()[0] as number);
  return [
    be.fromArray(values, [70], "f32"), be.fromArray(firstWait, [1], "f32"), be.fromArray(pending[69]!.wait(), [1], "f32"),
    be.fromArray(bigRead.wait(), [3001], "f32"), be.fromArray(smallRead.wait(), [3, 5], "f32"), big, small,
  ];
});

// Uploads of every size class of the CUDA backend's staging (256 KiB pinned slots, up to 8 a copy, a ring of
// 32; larger copies synchronous): at and around the boundaries, and enough of them to wrap the ring while the
// first are still queued; the host arrays are overwritten right after each call.
add("uploads across the staging slots", 0, (be, rng) => {
  const slot = 65536;  // int32 values per 256 KiB
  const sizes = [1, slot - 1, slot, slot + 1, 3 * slot + 7, 8 * slot, 8 * slot + 1];
  for (let i = 0; i < 40; i++) sizes.push(slot + 1 + rng.int(slot));
  return sizes.map((n) => {
    const host = Int32Array.from({ length: n }, () => rng.int(2 ** 31));
    const t = be.fromArray(host, [n], "i32");
    host.fill(-1);
    return t;
  });
});

export const conformanceCases: readonly ConformanceCase[] = cases;

/**
 * The cases whose name contains the filter, or any of its parts when it lists several separated by "|" (a form that
 * needs no spaces, for filters passed through shell words); every case for no filter or only separators.
 */
export function casesMatching(filter?: string): ConformanceCase[] {
  const parts = (filter ?? "").split("|").filter((f) => f.length > 0);
  return cases.filter((c) => parts.length === 0 || parts.some((f) => c.name.includes(f)));
}

/** Relative L2 where equal non-finite values count as equal. */
function compare(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const x = Float64Array.from(a as ArrayLike<number>);
  const y = Float64Array.from(b as ArrayLike<number>);
  // Equal infinities (lse of fully masked rows) and NaN against NaN (the guard cases) count as equal.
  for (let i = 0; i < x.length; i++) if ((x[i] === y[i] && !Number.isFinite(x[i]!)) || (Number.isNaN(x[i]!) && Number.isNaN(y[i]!))) { x[i] = 0; y[i] = 0; }
  return relativeL2(x, y);
}

/** Runs one case on `be` and on `ref` with the same seed; compares every output. */
export function runCase(c: ConformanceCase, be: Backend, ref: Backend, seed = 1): CaseResult {
  const got = c.run(be, new Rng(seed));
  const want = c.run(ref, new Rng(seed));
  let worst = 0;
  const notes: string[] = [];
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (g.shape.join() !== w.shape.join() || g.dtype !== w.dtype) {
      notes.push(`output ${i}: ${g.dtype}[${g.shape}] vs ${w.dtype}[${w.shape}]`);
      worst = Infinity;
      continue;
    }
    const ga = be.read(g), wa = ref.read(w);
    if (ga instanceof Int32Array || ga instanceof Uint8Array || ga instanceof BigInt64Array) {
      const same = ga.length === wa.length && ga.every((v, k) => v === wa[k]);
      if (!same) { notes.push(`output ${i}: integers differ`); worst = Infinity; }
      continue;
    }
    const e = compare(ga, wa as Float32Array);
    if (!(e <= c.tol)) notes.push(`output ${i}: rel L2 ${e.toExponential(2)}`);
    worst = Math.max(worst, Number.isNaN(e) ? Infinity : e);
  }
  for (const t of [...got, ...want]) t.dispose();
  return { name: c.name, ok: worst <= c.tol, error: worst, detail: notes.join("; ") };
}
