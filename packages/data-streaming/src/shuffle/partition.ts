/**
 * Partition an epoch's N positions over physical nodes, ranks and DataLoader workers, exactly as
 * mosaicml-streaming's `orig` and `relaxed` algorithms do. Result: for each node, rank and worker,
 * its flat list of positions in batch order (−1 = padding, skipped when iterating).
 */

export interface PartitionArgs {
  numSamples: number;
  numCanonicalNodes: number;
  numPhysicalNodes: number;
  ranksPerNode: number;
  workersPerRank: number;
  batchSize: number;
  dropFirst?: number;
  initialPhysicalNodes?: number | null;
}

/** ids[node][rank][worker] = positions (batches of batchSize, in that worker's order). */
export type Partition = number[][][][];

function pySliceStart(i: number, len: number): number {
  return i < 0 ? Math.max(0, i + len) : Math.min(i, len);
}

export function partitionOrig(a: PartitionArgs): Partition {
  const N = a.numSamples, C = a.numCanonicalNodes, P = a.numPhysicalNodes, R = a.ranksPerNode, W = a.workersPerRank;
  const B = a.batchSize || 1;
  let D = a.dropFirst ?? 0;
  for (const [k, v] of Object.entries({ numSamples: N, numCanonicalNodes: C, numPhysicalNodes: P, ranksPerNode: R, workersPerRank: W, batchSize: B })) {
    if (!Number.isInteger(v) || v < (k === "numSamples" ? 0 : 1)) throw new Error(`partition: ${k} must be a positive integer, got ${v}`);
  }
  if ((C < P && P % C) || (P < C && C % P)) {
    throw new Error(`partition: canonical nodes (${C}) and physical nodes (${P}) must divide one another`);
  }
  if (!Number.isInteger(D) || D < 0) throw new Error(`partition: dropFirst must be a non-negative integer, got ${D}`);
  D -= D % P;
  const spc = Math.ceil(N / C);
  let nodeRatio = 0;
  let padding = 0;
  if (C < P) {
    nodeRatio = P / C;
    const over = spc % nodeRatio;
    if (over) padding = nodeRatio - over;
  }
  const L = spc + padding;
  // `dropFirst` is a position in the padded epoch (C × L positions, what a Composer-style sample
  // count reaches after a full epoch of whole batches), not an index into the N raw samples, so a
  // resume inside the padding is valid; resuming exactly at its end leaves nothing this epoch.
  if (N === 0) throw new Error("partition: an epoch of 0 samples has nothing to partition");
  if (D > C * L) {
    throw new Error(`partition: resuming further into the epoch (${D}) than its ${C * L} padded positions (${N} samples over ${C} canonical nodes)`);
  }
  // rows[k][j]: canonical row k, column j.
  const rows: number[][] = [];
  if (N > C) {
    for (let k = 0; k < C; k++) {
      const start = Math.floor((k * N) / C);
      const stop = Math.floor(((k + 1) * N) / C);
      const row = Array.from({ length: L }, (_, j) => start + j);
      if (stop - start < spc) row[spc - 1]! -= 1;
      if (padding) {
        const from = pySliceStart(L - padding - nodeRatio + 1 - padding, L);
        const src = row.slice(from, from + padding);
        for (let j = 0; j < padding; j++) row[L - padding + j] = src[j]!;
      }
      rows.push(row);
    }
  } else {
    const total = C * L;
    for (let k = 0; k < C; k++) rows.push(Array.from({ length: L }, (_, j) => (k * L + j) % N));
    void total;
  }
  // Column-major traversal, drop the first D, deal round-robin to nodes.
  const flat: number[] = [];
  for (let j = 0; j < L; j++) for (let k = 0; k < C; k++) flat.push(rows[k]![j]!);
  const rest = flat.slice(D);
  const perNode: number[][] = Array.from({ length: P }, () => []);
  rest.forEach((v, i) => perNode[i % P]!.push(v));
  const out: Partition = [];
  for (let p = 0; p < P; p++) {
    let ids = perNode[p]!;
    const S = ids.length;
    const over = S % R;
    if (over) {
      const under = R - over;
      let last: number[];
      if (R + under - 1 <= S) last = ids.slice(S - R - under + 1, S - R + 1);
      else {
        last = [];
        for (let k = 0; k < Math.floor(under / S); k++) last.push(...ids);
        last.push(...ids.slice(0, under % S));
      }
      ids = ids.concat(last);
    }
    const ranks: number[][] = Array.from({ length: R }, () => []);
    ids.forEach((v, i) => ranks[i % R]!.push(v));
    const nodeOut: number[][][] = [];
    for (const r of ranks) {
      const rounded = Math.ceil(r.length / (W * B)) * W * B;
      while (r.length < rounded) r.push(-1);
      const workers: number[][] = Array.from({ length: W }, () => []);
      for (let t = 0; t < rounded / (W * B); t++) {
        for (let w = 0; w < W; w++) for (let b = 0; b < B; b++) workers[w]!.push(r[t * W * B + w * B + b]!);
      }
      nodeOut.push(workers);
    }
    out.push(nodeOut);
  }
  return out;
}

export function partitionRelaxed(a: PartitionArgs): Partition {
  const { numCanonicalNodes: C, numPhysicalNodes: P, ranksPerNode: R, workersPerRank: W, batchSize: B } = a;
  const P0 = a.initialPhysicalNodes;
  if (P0 === null || P0 === undefined || (P <= C && C % P === 0) || (P > C && P % C === 0)) return partitionOrig(a);
  const G = P * R * B;
  if (G % (P0 * R)) throw new Error(`partition: global batch size ${G} is not divisible by the initial number of devices ${P0 * R}`);
  const init = partitionOrig({ ...a, numPhysicalNodes: P0, batchSize: G / (P0 * R) });
  const B0 = G / (P0 * R);
  const T0 = init[0]![0]![0]!.length / B0;
  // Traversal order: batch, worker, node, rank, sample.
  const order: number[] = [];
  for (let t = 0; t < T0; t++) for (let w = 0; w < W; w++) for (let n = 0; n < P0; n++) for (let r = 0; r < R; r++) {
    for (let b = 0; b < B0; b++) order.push(init[n]![r]![w]![t * B0 + b]!);
  }
  const out: Partition = Array.from({ length: P }, () => Array.from({ length: R }, () => Array.from({ length: W }, () => [] as number[])));
  const T = order.length / (W * P * R * B);
  for (let t = 0; t < T; t++) for (let w = 0; w < W; w++) for (let n = 0; n < P; n++) for (let r = 0; r < R; r++) {
    const at = (((t * W + w) * P + n) * R + r) * B;
    out[n]![r]![w]!.push(...order.slice(at, at + B));
  }
  return out;
}

export function getPartition(algo: string, a: PartitionArgs): Partition {
  if (algo === "orig") return partitionOrig(a);
  if (algo === "relaxed") return partitionRelaxed(a);
  throw new Error(`unknown partition algorithm "${algo}"; expected "orig" or "relaxed"`);
}
