import { describe, expect, it } from "vitest";
import { getPartition, rankPositionCount, rankPositions, type Partition } from "./partition.js";

/**
 * §8 of shared/spec/mds-format.md built the plain way — the whole C × L matrix, the whole traversal,
 * every node's and rank's list — to check the index-arithmetic partition against. Two details the
 * spec leaves to the reference (mosaicml-streaming `orig`, NumPy slicing) are spelled out:
 * padding column spc + q (C < P) repeats column spc − padding − ratio + 1 + q of its row (no such
 * column: the reference fails), and a node list of S entries that R does not divide is extended by
 * the `under` = R − S mod R entries ending R − 1 before its end, or, if it is too short for that, by
 * the list repeated from its start.
 */
function reference(N: number, C: number, P: number, R: number, W: number, B: number, dropFirst: number): Partition | "too short" | "too far" {
  // The reference's get_partitions refuses a dropFirst beyond N plus the padding to a multiple of P·R.
  if (dropFirst > N + P * R - (N % (P * R))) return "too far";
  const spc = Math.ceil(N / C);
  const ratio = C < P ? P / C : 1;
  const padding = spc % ratio ? ratio - (spc % ratio) : 0;
  const L = spc + padding;
  const rows: number[][] = [];
  for (let k = 0; k < C; k++) {
    const row: number[] = [];
    if (N <= C) {
      // Fewer samples than rows: fill the matrix row by row with 0, 1, …, N − 1, 0, 1, …
      for (let j = 0; j < L; j++) row.push((k * L + j) % N);
    } else {
      const start = Math.floor((k * N) / C);
      const stop = Math.floor(((k + 1) * N) / C);
      for (let j = 0; j < spc; j++) row.push(start + Math.min(j, stop - start - 1));
      for (let q = 0; q < padding; q++) {
        const from = spc - padding - ratio + 1 + q;
        if (spc - padding - ratio + 1 < 0) return "too short";
        row.push(row[from]!);
      }
    }
    rows.push(row);
  }
  const traversal: number[] = [];
  for (let j = 0; j < L; j++) for (let k = 0; k < C; k++) traversal.push(rows[k]![j]!);
  const D = dropFirst - (dropFirst % P);
  const rest = traversal.slice(D); // empty past the end, as NumPy's ids[drop_first:]
  const out: Partition = [];
  for (let p = 0; p < P; p++) {
    const list = rest.filter((_, i) => i % P === p);
    const S = list.length;
    if (S % R) {
      const under = R - (S % R);
      const extra: number[] = [];
      for (let u = 0; u < under; u++) extra.push(R + under - 1 <= S ? list[S - R - under + 1 + u]! : list[u % S]!);
      list.push(...extra);
    }
    const node: number[][][] = [];
    for (let r = 0; r < R; r++) {
      const mine = list.filter((_, i) => i % R === r);
      while (mine.length % (W * B)) mine.push(-1);
      const workers: number[][] = Array.from({ length: W }, () => []);
      for (let c = 0; c < mine.length / B; c++) workers[c % W]!.push(...mine.slice(c * B, (c + 1) * B));
      node.push(workers);
    }
    out.push(node);
  }
  return out;
}

/** A rank's DataLoader order: batch t of worker 0, of worker 1, …; −1 dropped. */
function loaderOrder(workers: number[][], B: number): number[] {
  const out: number[] = [];
  for (let t = 0; t < workers[0]!.length / B; t++) for (const w of workers) out.push(...w.slice(t * B, (t + 1) * B));
  return out.filter((x) => x !== -1);
}

describe("partition equals the plain §8 construction", () => {
  const Ns = [1, 2, 3, 5, 7, 10, 16, 31, 50, 97, 128];
  const Cs = [1, 2, 3, 4, 6, 8];
  const Ps = [1, 2, 3, 4, 6, 8, 12];
  for (const N of Ns) {
    it(`N = ${N}: every C, P (C < P and C > P), R, W, B, dropFirst`, () => {
      let checked = 0;
      for (const C of Cs) for (const P of Ps) {
        if ((C < P && P % C) || (P < C && C % P)) continue;
        for (const R of [1, 2, 3, 8]) for (const W of [1, 3]) for (const B of [1, 5]) for (const D of [0, 3, 41]) {
          const args = { numSamples: N, numCanonicalNodes: C, numPhysicalNodes: P, ranksPerNode: R, workersPerRank: W, batchSize: B, dropFirst: D };
          const want = reference(N, C, P, R, W, B, D);
          const what = JSON.stringify(args);
          if (want === "too short") {
            expect(() => getPartition("orig", args), what).toThrow(/too short to pad/);
            continue;
          }
          if (want === "too far") {
            expect(() => getPartition("orig", args), what).toThrow(/resuming further into the dataset/);
            continue;
          }
          expect(getPartition("orig", args), what).toEqual(want);
          for (let p = 0; p < P; p++) for (let r = 0; r < R; r++) {
            const order = loaderOrder(want[p]![r]!, B);
            expect(Array.from(rankPositions("orig", args, p, r)), `${what} node ${p} rank ${r}`).toEqual(order);
            expect(rankPositionCount("orig", args, p, r)).toBe(order.length);
          }
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(100);
    });
  }

  it("relaxed: a changed node count re-slices the initial partition, and rankPositions follows it", () => {
    // 6 canonical nodes first run on 2 nodes, now on 4 (4 does not divide 6): global batch 4 · 2 · 3 = 24.
    const args = { numSamples: 301, numCanonicalNodes: 6, numPhysicalNodes: 4, ranksPerNode: 2, workersPerRank: 2, batchSize: 3, initialPhysicalNodes: 2 };
    const part = getPartition("relaxed", args);
    const all: number[] = [];
    for (let p = 0; p < 4; p++) for (let r = 0; r < 2; r++) {
      const order = loaderOrder(part[p]![r]!, 3);
      expect(Array.from(rankPositions("relaxed", args, p, r))).toEqual(order);
      expect(rankPositionCount("relaxed", args, p, r)).toBe(order.length);
      all.push(...order);
    }
    expect(new Set(all).size).toBe(301);
  });
});
