/**
 * The GLUE evaluation metrics, computed as the reference's torchmetrics / Composer classes do, on plain
 * arrays. Every function returns a value in its natural range (accuracy and F1 in [0, 1], correlations
 * in [−1, 1]); the ×100 of the GLUE report happens in score.ts. Degenerate inputs never produce NaN:
 * where a correlation's denominator is zero the result is defined as 0 (documented per function).
 */

function check(name: string, preds: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (preds.length !== labels.length) {
    throw new Error(`${name}: predictions (${preds.length}) and labels (${labels.length}) differ in length; expected one prediction per label`);
  }
  if (preds.length === 0) throw new Error(`${name}: no examples; expected at least one prediction`);
}

/** Fraction of exact matches (torchmetrics MulticlassAccuracy with average="micro"). */
export function accuracy(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  check("accuracy", preds, labels);
  let ok = 0;
  for (let i = 0; i < preds.length; i++) if (preds[i] === labels[i]) ok++;
  return ok / preds.length;
}

/**
 * F1 of class 1 (Composer/torchmetrics BinaryF1Score on argmax predictions): 2·tp / (2·tp + fp + fn).
 * No positive among labels and predictions (tp + fp + fn = 0) gives 0, torchmetrics' zero_division.
 */
export function binaryF1(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  check("binaryF1", preds, labels);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < preds.length; i++) {
    const p = preds[i] === 1;
    const l = labels[i] === 1;
    if (p && l) tp++;
    else if (p) fp++;
    else if (l) fn++;
  }
  const denom = 2 * tp + fp + fn;
  return denom === 0 ? 0 : (2 * tp) / denom;
}

/**
 * Macro-averaged F1 over `numClasses` classes (torchmetrics MulticlassF1Score(average="macro")): the
 * unweighted mean of each class's F1 = 2·tp / (2·tp + fp + fn). A class that appears neither among
 * the labels nor the predictions has F1 0 and still counts in the mean, as torchmetrics does.
 */
export function macroF1(preds: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): number {
  check("macroF1", preds, labels);
  const tp = new Float64Array(numClasses);
  const fp = new Float64Array(numClasses);
  const fn = new Float64Array(numClasses);
  for (let i = 0; i < preds.length; i++) {
    const p = preds[i]!;
    const l = labels[i]!;
    if (!(Number.isInteger(p) && p >= 0 && p < numClasses && Number.isInteger(l) && l >= 0 && l < numClasses)) {
      throw new Error(`macroF1: class ids must be integers in [0, ${numClasses}); got prediction ${p}, label ${l} at index ${i}`);
    }
    if (p === l) tp[p]!++;
    else {
      fp[p]!++;
      fn[l]!++;
    }
  }
  let sum = 0;
  for (let k = 0; k < numClasses; k++) {
    const d = 2 * tp[k]! + fp[k]! + fn[k]!;
    sum += d === 0 ? 0 : (2 * tp[k]!) / d;
  }
  return sum / numClasses;
}

/**
 * Matthews correlation, multiclass form (torchmetrics MatthewsCorrCoef(task="multiclass"), as pinned by
 * the reference): from the confusion matrix with c = correct, s = total, t_k / p_k = true / predicted
 * counts of class k,
 *   MCC = (c·s − Σ t_k·p_k) / √((s² − Σ p_k²)·(s² − Σ t_k²)).
 * When either factor under the root is 0 — all predictions one class, or all labels one class — the
 * result is 0 (torchmetrics 0.11 returns 0 there; no NaN).
 */
export function matthewsCorrcoef(preds: ArrayLike<number>, labels: ArrayLike<number>, numClasses = 2): number {
  check("matthewsCorrcoef", preds, labels);
  const t = new Float64Array(numClasses);
  const p = new Float64Array(numClasses);
  let c = 0;
  for (let i = 0; i < preds.length; i++) {
    const pi = preds[i]!;
    const li = labels[i]!;
    if (!(pi >= 0 && pi < numClasses && li >= 0 && li < numClasses) || !Number.isInteger(pi) || !Number.isInteger(li)) {
      throw new Error(`matthewsCorrcoef: class ids must be integers in [0, ${numClasses}); got prediction ${pi}, label ${li} at index ${i}`);
    }
    t[li]!++;
    p[pi]!++;
    if (pi === li) c++;
  }
  const s = preds.length;
  let tp = 0;
  let pp = 0;
  let tt = 0;
  for (let k = 0; k < numClasses; k++) {
    tp += t[k]! * p[k]!;
    pp += p[k]! * p[k]!;
    tt += t[k]! * t[k]!;
  }
  const covYtYp = c * s - tp;
  const covYpYp = s * s - pp;
  const covYtYt = s * s - tt;
  const denom = covYpYp * covYtYt;
  return denom === 0 ? 0 : covYtYp / Math.sqrt(denom);
}

/**
 * Pearson correlation, accumulated in float64 around the means (two passes, no catastrophic
 * cancellation). If either side is constant the correlation is undefined; it is defined here as 0
 * (torchmetrics would give NaN), so a collapsed regressor scores 0 rather than poisoning the average.
 */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  check("pearson", x, y);
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (!Number.isFinite(sxy) || !Number.isFinite(sxx) || !Number.isFinite(syy)) {
    throw new Error("pearson: inputs contain NaN or Infinity; expected finite numbers");
  }
  if (sxx === 0 || syy === 0) return 0;
  const r = sxy / Math.sqrt(sxx * syy);
  return Math.max(-1, Math.min(1, r));
}

/** 1-based ranks, ties given the average of the ranks they span (scipy "average", torchmetrics). */
export function averageRanks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a]! - x[b]!);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && x[order[j]!] === x[order[i]!]) j++;
    const avg = (i + 1 + j) / 2; // mean of ranks i+1 … j
    for (let k = i; k < j; k++) ranks[order[k]!] = avg;
    i = j;
  }
  return ranks;
}

/**
 * Spearman rank correlation: Pearson of the average ranks (torchmetrics SpearmanCorrCoef, which the
 * reference applies to the raw STS-B regression output). Constant predictions or labels give 0, as in
 * `pearson`.
 */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  check("spearman", x, y);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!) || !Number.isFinite(y[i]!)) throw new Error("spearman: inputs contain NaN or Infinity; expected finite numbers");
  }
  return pearson(averageRanks(x), averageRanks(y));
}
