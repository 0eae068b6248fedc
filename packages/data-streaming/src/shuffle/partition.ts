/**
 * Partition an epoch's N positions over physical nodes, ranks and DataLoader workers, exactly as
 * mosaicml-streaming's `orig` and `relaxed` algorithms do (spec mds-format.md §8).
 *
 * The reference builds the whole C × L canonical matrix and every node's, rank's and worker's list.
 * At pretraining scale (C4: 365 M samples) that is several arrays of hundreds of millions of numbers,
 * so here one rank's list is computed directly by index arithmetic: traversal entry g is canonical
 * row g mod C, column ⌊g / C⌋, and a cell of that matrix is a closed form of (row, column). Only the
 * rank's own positions are materialised, in a Uint32Array.
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
  /**
   * Also accept a dropFirst up to the padded epoch's end (C × L positions), beyond the reference's
   * N + (world − N mod world): StreamingDataset counts resume positions in the padded epoch.
   */
  resumeInPadding?: boolean;
}

/** ids[node][rank][worker] = positions (batches of batchSize, in that worker's order). */
export type Partition = number[][][][];

/** Positions are stored as uint32; an epoch needs fewer padded positions than this. */
const MAX_POSITIONS = 2 ** 32 - 1;

/** The validated §8 layout: canonical matrix C × L and the traversal after dropping D entries. */
interface Layout {
  N: number; C: number; P: number; R: number; W: number; B: number; D: number;
  spc: number; L: number;
  /** Padding columns j ≥ spc copy column j − padShift of the same row (C < P only). */
  padShift: number;
  /** N ≤ C: rows tile 0..N−1 cyclically instead. */
  tiled: boolean;
}

/** C × L: the positions of the padded epoch (§8) of N samples over C canonical and P physical nodes. */
function paddedPositions(N: number, C: number, P: number): number {
  const spc = Math.ceil(N / C);
  const ratio = C < P ? P / C : 1;
  return C * (spc + (spc % ratio ? ratio - (spc % ratio) : 0));
}

/**
 * The reference `get_partitions` check before either algorithm: with world − N mod world (1..world)
 * samples repeated to fill the ranks, a dropFirst beyond N plus those is an error. Any dropFirst up to
 * it is accepted, even past the padded epoch (then every list is empty), as the reference slices.
 * With `resumeInPadding`, a dropFirst up to the padded epoch's C × L positions is accepted too.
 * `layoutNodes`: the physical nodes the matrix is laid out for (relaxed: the initial ones).
 */
function checkResume(a: PartitionArgs, layoutNodes = a.numPhysicalNodes): void {
  const N = a.numSamples, D = a.dropFirst ?? 0, world = a.numPhysicalNodes * a.ranksPerNode;
  if (![N, D, world, a.numCanonicalNodes, layoutNodes].every((v) => Number.isInteger(v) && v >= 0) || world < 1 || a.numCanonicalNodes < 1) return; // layoutOf reports it
  const filled = N + world - (N % world);
  const padded = a.resumeInPadding ? paddedPositions(N, a.numCanonicalNodes, layoutNodes) : 0;
  if (D > Math.max(filled, padded)) {
    const limit = padded > filled ? `${padded} (the padded epoch's positions)` : `${filled} (${N} + ${filled - N} repeated to fill ${world} ranks)`;
    throw new Error(`partition: resuming further into the dataset (dropFirst ${D}) than it has samples (${N}); dropFirst (sample_in_epoch) must be at most ${limit}`);
  }
}

/** `resumeChecked`: the caller already ran `checkResume` (relaxed checks the current world, not the initial one). */
function layoutOf(a: PartitionArgs, resumeChecked = false): Layout {
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
  if (!resumeChecked) checkResume(a);
  D -= D % P;
  if (N === 0) throw new Error("partition: an epoch of 0 samples has nothing to partition");
  const spc = Math.ceil(N / C);
  let nodeRatio = 0;
  let padding = 0;
  if (C < P) {
    nodeRatio = P / C;
    const over = spc % nodeRatio;
    if (over) padding = nodeRatio - over;
  }
  const L = spc + padding;
  const tiled = N <= C;
  // The reference fills the last `padding` columns from the columns [L − 2·padding − ratio + 1,
  // L − padding − ratio + 1) (NumPy negative slices), i.e. column j copies column j − padding − ratio + 1.
  const padShift = padding + nodeRatio - 1;
  if (padding && !tiled && spc - padShift < 0) {
    throw new Error(`partition: ${N} samples over ${C} canonical nodes give rows of ${spc}, too short to pad to a multiple of ${nodeRatio} (physical/canonical nodes); use more samples or more canonical nodes`);
  }
  if (C * L > MAX_POSITIONS) throw new Error(`partition: ${C} × ${L} padded positions exceed ${MAX_POSITIONS}`);
  // `dropFirst` is a position in the padded epoch of C × L positions; past its end (allowed by
  // checkResume when N + repeated > C × L) nothing is left, as the reference's `ids[drop_first:]`.
  return { N, C, P, R, W, B, D, spc, L, padShift, tiled };
}

/** Length of physical node p's list after the drop (traversal entries D + m·P + p). */
function nodeCount(l: Layout, p: number): number {
  const M = l.C * l.L - l.D;
  return M > p ? Math.floor((M - 1 - p) / l.P) + 1 : 0;
}

/** Entries appended to a node list of S so that R divides it, as indices into that list. */
function rankPadSource(S: number, R: number): { under: number; from: number; tile: boolean } {
  const over = S % R;
  if (!over) return { under: 0, from: 0, tile: false };
  const under = R - over;
  // Repeat the `under` entries ending R − 1 before the end; a list too short for that is tiled.
  if (R + under - 1 <= S) return { under, from: S - R - under + 1, tile: false };
  return { under, from: 0, tile: true };
}

/** Number of positions rank `rank` of physical node `node` gets (no −1 batch padding). */
function rankCount(l: Layout, node: number): number {
  const S = nodeCount(l, node);
  return (S + rankPadSource(S, l.R).under) / l.R;
}

/**
 * Fill `out` with rank (node, rank)'s positions in DataLoader order. Walks the traversal with a
 * running (row k, column j) instead of dividing per entry: each step of a rank advances R·P entries.
 */
function fillRank(l: Layout, node: number, rank: number, out: Uint32Array): void {
  const { N, C, P, R, D, spc, L, padShift, tiled } = l;
  const S = nodeCount(l, node);
  const pad = rankPadSource(S, R);
  const rowStart = new Float64Array(C);
  const rowShort = new Uint8Array(C);
  for (let k = 0; k < C; k++) {
    rowStart[k] = Math.floor((k * N) / C);
    // A row one short of spc repeats its last position (column spc − 1 points one back).
    rowShort[k] = Math.floor(((k + 1) * N) / C) - rowStart[k]! < spc ? 1 : 0;
  }
  const cell = (g: number): number => {
    const k = g % C;
    const j = (g - k) / C;
    if (tiled) return (k * L + j) % N;
    const col = j >= spc ? j - padShift : j;
    return rowStart[k]! + col - (col === spc - 1 ? rowShort[k]! : 0);
  };
  // Entry i of the node list is traversal entry D + i·P + node.
  const nodeEntry = (i: number): number => cell(D + i * P + node);
  const Q = out.length;
  // Part 1: indices q·R + rank < S come straight from the node list, stepping R·P traversal entries.
  const direct = S > rank ? Math.min(Q, Math.floor((S - 1 - rank) / R) + 1) : 0;
  if (direct > 0) {
    const step = R * P;
    const dk = step % C;
    const dj = (step - dk) / C;
    const g = D + rank * P + node;
    let k = g % C;
    let j = (g - k) / C;
    for (let q = 0; q < direct; q++) {
      if (tiled) out[q] = (k * L + j) % N;
      else {
        const col = j >= spc ? j - padShift : j;
        out[q] = rowStart[k]! + col - (col === spc - 1 ? rowShort[k]! : 0);
      }
      k += dk;
      j += dj;
      if (k >= C) {
        k -= C;
        j += 1;
      }
    }
  }
  // Part 2: the few rank-padding entries (index ≥ S) repeat earlier node-list entries.
  for (let q = direct; q < Q; q++) {
    const u = q * R + rank - S;
    out[q] = nodeEntry(pad.tile ? u % S : pad.from + u);
  }
}

function checkNodeRank(l: Layout, node: number, rank: number): void {
  if (!Number.isInteger(node) || node < 0 || node >= l.P) throw new Error(`partition: node must be in 0..${l.P - 1}, got ${node}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= l.R) throw new Error(`partition: rank must be in 0..${l.R - 1}, got ${rank}`);
}

/** `orig`: rank (node, rank)'s positions in DataLoader order (workers' batches round-robin), −1 left out. */
export function rankPositionsOrig(a: PartitionArgs, node: number, rank: number): Uint32Array {
  const l = layoutOf(a);
  checkNodeRank(l, node, rank);
  const out = new Uint32Array(rankCount(l, node));
  fillRank(l, node, rank, out);
  return out;
}

/** Cut a rank's list into its workers' lists: −1 pads to W·B, chunk c of B goes to worker c mod W. */
function workerLists(ids: ArrayLike<number>, W: number, B: number): number[][] {
  const rounded = Math.ceil(ids.length / (W * B)) * W * B;
  const workers: number[][] = Array.from({ length: W }, () => []);
  for (let i = 0; i < rounded; i++) workers[Math.floor(i / B) % W]!.push(i < ids.length ? ids[i]! : -1);
  return workers;
}

export function partitionOrig(a: PartitionArgs): Partition {
  return buildOrig(layoutOf(a));
}

function buildOrig(l: Layout): Partition {
  const out: Partition = [];
  for (let p = 0; p < l.P; p++) {
    const nodeOut: number[][][] = [];
    for (let r = 0; r < l.R; r++) {
      const ids = new Uint32Array(rankCount(l, p));
      fillRank(l, p, r, ids);
      nodeOut.push(workerLists(ids, l.W, l.B));
    }
    out.push(nodeOut);
  }
  return out;
}

/** True when `relaxed` is `orig` for these arguments (no initial node count, or a compatible one). */
function relaxedIsOrig(a: PartitionArgs): boolean {
  const { numCanonicalNodes: C, numPhysicalNodes: P } = a;
  const P0 = a.initialPhysicalNodes;
  return P0 === null || P0 === undefined || (P <= C && C % P === 0) || (P > C && P % C === 0);
}

export function partitionRelaxed(a: PartitionArgs): Partition {
  if (relaxedIsOrig(a)) return partitionOrig(a);
  const { numPhysicalNodes: P, ranksPerNode: R, workersPerRank: W, batchSize: B } = a;
  const P0 = a.initialPhysicalNodes!;
  checkResume(a, P0);
  const G = P * R * B;
  if (G % (P0 * R)) throw new Error(`partition: global batch size ${G} is not divisible by the initial number of devices ${P0 * R}`);
  const init = buildOrig(layoutOf({ ...a, numPhysicalNodes: P0, batchSize: G / (P0 * R) }, true));
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

/** A rank's workers' lists in DataLoader order (batch t of worker 0, of worker 1, …), −1 dropped. */
function dataLoaderOrder(workers: number[][], B: number): Uint32Array {
  const out: number[] = [];
  const T = workers[0]!.length / B;
  for (let t = 0; t < T; t++) for (const w of workers) {
    for (let b = t * B; b < (t + 1) * B; b++) if (w[b] !== -1) out.push(w[b]!);
  }
  return Uint32Array.from(out);
}

/**
 * One rank's positions for the epoch in DataLoader order, −1 padding left out (global rank =
 * node · ranksPerNode + rank). `orig` (and `relaxed` when it equals `orig`) never builds other ranks'
 * lists; a `relaxed` re-slice for a changed node count builds the initial partition in full.
 */
export function rankPositions(algo: string, a: PartitionArgs, node: number, rank: number): Uint32Array {
  if (algo === "orig" || (algo === "relaxed" && relaxedIsOrig(a))) return rankPositionsOrig(a, node, rank);
  return dataLoaderOrder(getPartition(algo, a)[node]![rank]!, a.batchSize || 1);
}

/** How many positions `rankPositions` returns, without building them (for `orig`). */
export function rankPositionCount(algo: string, a: PartitionArgs, node: number, rank: number): number {
  if (algo === "orig" || (algo === "relaxed" && relaxedIsOrig(a))) {
    const l = layoutOf(a);
    checkNodeRank(l, node, rank);
    return rankCount(l, node);
  }
  return rankPositions(algo, a, node, rank).length;
}
