import type { AdamWOptions, AdamWParam } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { validateAdamW, validateGlobalNorm } from "../validate/optim.js";
import { adamw as refAdamW, globalNorm as refGlobalNorm } from "../cpu/optim.js";
import { loadF32, storeF32 } from "../cpu/storage.js";
import type { FastCpuBackend } from "./backend.js";
import { splitRange } from "./runtime.js";
import { type Region, Scratch } from "./scratch.js";

/** Elements below which the optimizer kernels run on one thread. */
const MIN_PARALLEL = 1 << 16;
/** Int32 words per entry of the kernels' tensor table (kernels.c OptEntry: p, g, m, v, n). */
const ENTRY = 5;

/** The addresses of f32 tensors kept in the WebAssembly memory, or null if one is not. */
function addresses(be: FastCpuBackend, ts: readonly Tensor[]): number[] | null {
  const out: number[] = [];
  for (const t of ts) {
    const raw = t.storage as Float32Array;
    if (t.dtype !== "f32" || !be.runtime.owns(raw)) return null;
    out.push(raw.byteOffset + t.offset * 4);
  }
  return out;
}

/** Runs an optimizer kernel over a table of entries, elements split across threads. */
function overTable(be: FastCpuBackend, fn: string, rows: number[][], extra: (s: Scratch, shares: Array<[number, number]>) => (share: [number, number], t: number) => number[]): Scratch {
  const rt = be.runtime;
  const s = new Scratch(rt);
  const table = new Int32Array(rows.length * ENTRY);
  let total = 0;
  rows.forEach((r, k) => {
    table.set(r, k * ENTRY);
    total += r[ENTRY - 1]!;
  });
  const tR = s.ints(table);
  const shares = splitRange(total, total < MIN_PARALLEL ? 1 : rt.threads, 16);
  const args = extra(s, shares);
  s.commit();
  rt.parallel(fn, shares.map((sh, t) => [tR.at, rows.length, sh[0], sh[1], ...args(sh, t)]));
  return s;
}

/**
 * Decoupled AdamW as a WebAssembly kernel over every parameter at once (elements split across
 * threads), bit for bit the reference's arithmetic. Parameters whose tensors are not all in the
 * WebAssembly memory take the reference path.
 */
export function adamw(be: FastCpuBackend, params: readonly AdamWParam[], opts: AdamWOptions): void {
  const { lr, beta1: b1, beta2: b2, eps, decay, step, gradScale, gradScaleTensor } = validateAdamW(be, params, opts);
  // A non-finite device-side multiplier skips the step (the contract's guard).
  if (gradScaleTensor !== null && !Number.isFinite(loadF32(gradScaleTensor)[0]!)) return;
  const rows: number[][] = [];
  const rest: AdamWParam[] = [];
  const done: AdamWParam[] = [];
  for (const e of params) {
    const at = addresses(be, [e.param, e.grad, e.m, e.v]);
    if (at === null || e.param.size === 0) rest.push(e);
    else {
      rows.push([...at, e.param.size]);
      done.push(e);
    }
  }
  if (rows.length > 0) {
    const scale = gradScaleTensor === null ? gradScale : gradScale * loadF32(gradScaleTensor)[0]!;
    const stepSize = lr / (1 - b1 ** step);
    const sqrtBc2 = Math.sqrt(1 - b2 ** step);
    overTable(be, "adamw", rows, () => () => [scale, b1, b2, stepSize, sqrtBc2, eps, 1 - decay]);
    for (const e of done) if (e.lowp !== null && e.lowp !== undefined) storeF32(e.lowp, loadF32(e.param));
  }
  if (rest.length > 0) refAdamW(be, rest, opts);
}

/** float32 [1]: √(Σ over tensors of Σ x²), summed in doubles (per thread, then added). */
export function globalNorm(be: FastCpuBackend, tensors: readonly Tensor[]): Tensor {
  validateGlobalNorm(be, tensors);
  const at = addresses(be, tensors);
  if (at === null) return refGlobalNorm(be, tensors);
  const rows = tensors.map((t, k) => [at[k]!, 0, 0, 0, t.size]);
  let sums: Region[] = [];
  const s = overTable(be, "sum_squares", rows, (sc, shares) => {
    sums = shares.map(() => sc.take(8));
    return (_sh, t) => [sums[t]!.at];
  });
  let ss = 0;
  for (const r of sums) ss += s.f64(r, 1)[0]!;
  return be.fromArray([Math.sqrt(ss)], [1], "f32");
}
