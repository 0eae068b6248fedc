/**
 * Map one rank's epoch positions through the epoch's shuffle (position p -> shuffled id), without
 * the whole-epoch permutation where the algorithm allows it.
 *
 * py1s gives canonical node k exactly the positions [⌊kN/C⌋, ⌊(k+1)N/C⌋) and fills them span by span
 * from one generator, so a rank that reads only some canonical rows (with 128 canonical nodes and 8
 * ranks, 16 rows each) needs only those nodes' ids: the other nodes' spans still draw their
 * numbers (the generator must reach the next node in the same state) but nothing is stored.
 */
import { getShuffle, py1Spans } from "./algos.js";

/** First position of canonical node k, k = 0..C (the reference's ⌊kN/C⌋ boundaries). */
function nodeStarts(total: number, nodes: number): Float64Array {
  const starts = new Float64Array(nodes + 1);
  for (let k = 0; k <= nodes; k++) starts[k] = Math.floor((k * total) / nodes);
  return starts;
}

/** The canonical node whose range holds position p. */
function nodeOf(p: number, starts: Float64Array, nodes: number, total: number): number {
  let k = Math.min(nodes - 1, Math.floor((p * nodes) / total));
  while (k + 1 < nodes && starts[k + 1]! <= p) k++;
  while (k > 0 && starts[k]! > p) k--;
  return k;
}

function py1sAt(positions: Uint32Array, sizes: number[], nodes: number, seed: number, epoch: number): void {
  const { spans, superSpans, total, epochRng } = py1Spans(sizes, nodes, seed, epoch);
  for (let q = 0; q < positions.length; q++) {
    if (positions[q]! >= total) throw new Error(`shuffle: position ${positions[q]} is outside the epoch's ${total} samples`);
  }
  const starts = nodeStarts(total, nodes);
  const wanted = new Uint8Array(nodes);
  for (let q = 0; q < positions.length; q++) wanted[nodeOf(positions[q]!, starts, nodes, total)] = 1;
  // base[k]: where node k's ids start in `store` (wanted nodes only, in node order).
  const base = new Float64Array(nodes);
  let stored = 0;
  for (let k = 0; k < nodes; k++) {
    base[k] = stored;
    if (wanted[k]) stored += starts[k + 1]! - starts[k]!;
  }
  const store = new Uint32Array(stored);
  superSpans.forEach(([b, e], k) => {
    let at = base[k]!;
    for (let s = b; s < e; s++) {
      const [sb, se] = spans[s]!;
      if (wanted[k]) {
        for (let id = sb; id < se; id++) store[at + id - sb] = id;
        epochRng.shuffleU32(store, at, at + se - sb);
        at += se - sb;
      } else epochRng.skipShuffle(se - sb);
    }
  });
  for (let q = 0; q < positions.length; q++) {
    const p = positions[q]!;
    const k = nodeOf(p, starts, nodes, total);
    positions[q] = store[base[k]! + p - starts[k]!]!;
  }
}

/**
 * In place: positions[q] = shuffle[positions[q]] for the epoch's shuffle (`getShuffle` with the same
 * arguments). py1s stores only the canonical nodes the positions touch; the other algorithms build
 * the whole permutation.
 */
export function shufflePositions(
  positions: Uint32Array, algo: string, sizes: number[], nodes: number, seed: number, epoch: number, blockSize = 1 << 18,
): void {
  if (algo === "py1s") return py1sAt(positions, sizes, nodes, seed, epoch);
  const ids = getShuffle(algo, sizes, nodes, seed, epoch, blockSize);
  for (let q = 0; q < positions.length; q++) {
    const v = ids[positions[q]!];
    if (v === undefined) throw new Error(`shuffle: position ${positions[q]} is outside the epoch's ${ids.length} samples`);
    positions[q] = v;
  }
}
