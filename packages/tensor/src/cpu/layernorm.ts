import type { AddLayerNormOptions, AddLayerNormResult, LayerNormResult, NormGrads } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { validateAddLayerNorm, validateLayerNorm, validateLayerNormBackward } from "../validate/layernorm.js";
import type { CpuBackend } from "./backend.js";
import { dropout } from "./elementwise.js";
import { loadF32, outF32, storeF32 } from "./storage.js";

/** Row statistics in double precision (two passes: mean, then the biased variance), then the affine map. */
function normalize(
  be: CpuBackend,
  xv: Float32Array,
  n: number,
  h: number,
  w: Float32Array,
  b: Float32Array,
  eps: number,
  y: Tensor,
): { mean: Tensor; rstd: Tensor } {
  const mean = be.empty([n], "f32");
  const rstd = be.empty([n], "f32");
  const mv = outF32(mean);
  const rv = outF32(rstd);
  const yv = outF32(y);
  for (let r = 0; r < n; r++) {
    const base = r * h;
    let s = 0;
    for (let j = 0; j < h; j++) s += xv[base + j]!;
    const mu = s / h;
    let ss = 0;
    for (let j = 0; j < h; j++) {
      const d = xv[base + j]! - mu;
      ss += d * d;
    }
    const rs = 1 / Math.sqrt(ss / h + eps);
    mv[r] = mu;
    rv[r] = rs;
    for (let j = 0; j < h; j++) yv[base + j] = (xv[base + j]! - mu) * rs * w[j]! + b[j]!;
  }
  storeF32(y, yv);
  return { mean, rstd };
}

export function layerNorm(be: CpuBackend, x: Tensor, weight: Tensor, bias: Tensor, eps: number): LayerNormResult {
  const { n, h } = validateLayerNorm(be, x, weight, bias, eps);
  const y = be.empty(x.shape, x.dtype);
  const { mean, rstd } = normalize(be, loadF32(x), n, h, loadF32(weight), loadF32(bias), eps, y);
  return { y, mean, rstd };
}

/** LN(x + residual), or with opts.dropout LN(dropout(x) + residual): the dropped x rounded as `dropout` stores it. */
export function addLayerNorm(
  be: CpuBackend, x: Tensor, residual: Tensor, weight: Tensor, bias: Tensor, eps: number, opts: AddLayerNormOptions = {},
): AddLayerNormResult {
  const { n, h, dropout: drop } = validateAddLayerNorm(be, x, residual, weight, bias, eps, opts);
  const sum = be.empty(x.shape, x.dtype);
  let xv: Float32Array;
  if (drop === null) {
    xv = loadF32(x);
  } else {
    const dropped = dropout(be, x, drop);
    xv = loadF32(dropped);
    dropped.dispose();
  }
  const rv = loadF32(residual);
  const sv = outF32(sum);
  for (let i = 0; i < sv.length; i++) sv[i] = xv[i]! + rv[i]!;
  storeF32(sum, sv);
  // Normalise the stored (dtype-rounded) sum, so the backward pass sees exactly the forward input.
  const y = be.empty(x.shape, x.dtype);
  const { mean, rstd } = normalize(be, loadF32(sum), n, h, loadF32(weight), loadF32(bias), eps, y);
  return { y, mean, rstd, sum };
}

/**
 * dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = dy·weight and x̂ = (x − mean)·rstd;
 * dweight += Σ dy·x̂, dbias += Σ dy over rows; with grads.dropoutGrad also dropoutBackward(dx) into its out.
 */
export function layerNormBackward(
  be: CpuBackend,
  dy: Tensor,
  x: Tensor,
  weight: Tensor,
  mean: Tensor,
  rstd: Tensor,
  grads: NormGrads,
): Tensor {
  const { n, h, dropoutGrad } = validateLayerNormBackward(be, dy, x, weight, mean, rstd, grads);
  const xv = loadF32(x);
  const dv = loadF32(dy);
  const w = loadF32(weight);
  const mv = loadF32(mean);
  const rv = loadF32(rstd);
  const dwAcc = new Float64Array(h);
  const dbAcc = new Float64Array(h);
  const dx = be.empty(dy.shape, dy.dtype);
  const dxv = outF32(dx);
  const xhat = new Float64Array(h);
  const g = new Float64Array(h);
  for (let r = 0; r < n; r++) {
    const base = r * h;
    const mu = mv[r]!;
    const rs = rv[r]!;
    let sg = 0;
    let sgx = 0;
    for (let j = 0; j < h; j++) {
      const xh = (xv[base + j]! - mu) * rs;
      const d = dv[base + j]!;
      const gj = d * w[j]!;
      xhat[j] = xh;
      g[j] = gj;
      sg += gj;
      sgx += gj * xh;
      dwAcc[j] += d * xh;
      dbAcc[j] += d;
    }
    const mg = sg / h;
    const mgx = sgx / h;
    for (let j = 0; j < h; j++) dxv[base + j] = rs * (g[j]! - mg - xhat[j]! * mgx);
  }
  storeF32(dx, dxv);
  const dw = loadF32(grads.dweight);
  const db = loadF32(grads.dbias);
  for (let j = 0; j < h; j++) {
    dw[j] = dw[j]! + dwAcc[j]!;
    db[j] = db[j]! + dbAcc[j]!;
  }
  if (dropoutGrad !== null) {
    // The stored (dtype-rounded) dx through the forward's mask.
    const g = dropout(be, dx, dropoutGrad.dropout, "dropoutBackward");
    be.copy(g, dropoutGrad.out);
    g.dispose();
  }
  return dx;
}
