/**
 * mosaicml-streaming's shuffle algorithms (naive, py1s, py2s, py1b, py1br, py1e), reimplemented on the
 * NumPy-exact Generator so the same (shard sizes, canonical nodes, seed, epoch, block size) give
 * the same permutation. Each returns ids[position] = sample id for the N positions of an epoch.
 */
import { defaultRng, type Generator } from "./numpy-rng.js";

export const SHUFFLE_ALGOS = ["naive", "py1s", "py2s", "py1b", "py1br", "py1e"] as const;
export type ShuffleAlgo = (typeof SHUFFLE_ALGOS)[number];

type Span = [number, number];

function shardSpans(sizes: number[]): { spans: Span[]; total: number } {
  const spans: Span[] = [];
  let total = 0;
  for (const s of sizes) {
    spans.push([total, total + s]);
    total += s;
  }
  return { spans, total };
}

/** Cut spans (in order) into `parts` contiguous groups of floor(N(k+1)/C) - floor(Nk/C) samples. */
export function divideSpans(spans: Span[], total: number, parts: number): { spans: Span[]; superSpans: Span[] } {
  const out: Span[] = [];
  const supers: Span[] = [];
  let begin = 0;
  let idx = 0;
  let sofar = 0;
  spans = spans.map((s) => [s[0], s[1]]);
  for (let part = 0; part < parts; part++) {
    const partEnd = Math.floor((total * (part + 1)) / parts);
    while (idx < spans.length) {
      const span = spans[idx]!;
      const n = span[1] - span[0];
      if (partEnd < sofar + n) {
        if (sofar < partEnd) {
          const split = partEnd - sofar;
          out.push([span[0], span[0] + split]);
          spans[idx] = [span[0] + split, span[1]];
          sofar += split;
        }
        break;
      }
      out.push(span);
      idx++;
      sofar += n;
    }
    supers.push([begin, out.length]);
    begin = out.length;
  }
  return { spans: out, superSpans: supers };
}

/** Shared first step of the py1* family: run-fixed span order, node split, per-epoch node shuffle. */
export function py1Spans(sizes: number[], nodes: number, seed: number, epoch: number) {
  const { spans: s0, total } = shardSpans(sizes);
  defaultRng(seed).shuffle(s0);
  const { spans, superSpans } = divideSpans(s0, total, nodes);
  const epochRng = defaultRng(seed + epoch);
  for (const [b, e] of superSpans) epochRng.shuffle(spans, b, e);
  return { spans, superSpans, total, epochRng };
}

function fillRange(ids: Float64Array, at: number, b: number, e: number): void {
  for (let k = b; k < e; k++) ids[at + k - b] = k;
}

/**
 * Writes the sample ids of each span one after another from out[0], each span's run shuffled on its
 * own, span by span (so the generator is drawn in the reference's order). py1s does this over all
 * spans, py1e within each canonical node.
 */
function fillShuffledSpans(out: Float64Array, spans: readonly Span[], rng: Generator): void {
  let at = 0;
  for (const [b, e] of spans) {
    fillRange(out, at, b, e);
    rng.shuffle(out, at, at + e - b);
    at += e - b;
  }
}

export function shuffleNaive(sizes: number[], _nodes: number, seed: number, epoch: number): Float64Array {
  return defaultRng(seed + epoch).permutation(sizes.reduce((a, b) => a + b, 0));
}

export function shufflePy1s(sizes: number[], nodes: number, seed: number, epoch: number): Float64Array {
  const { spans, total, epochRng } = py1Spans(sizes, nodes, seed, epoch);
  const ids = new Float64Array(total);
  fillShuffledSpans(ids, spans, epochRng);
  return ids;
}

export function shufflePy2s(sizes: number[], nodes: number, seed: number, epoch: number): Float64Array {
  const { spans } = shardSpans(sizes);
  let shards: number[][] = spans.map(([b, e]) => Array.from({ length: e - b }, (_, k) => b + k));
  const fixed = defaultRng(seed);
  fixed.shuffle(shards);
  for (const s of shards) fixed.shuffle(s);
  const total = sizes.reduce((a, b) => a + b, 0);
  const parts: number[][][] = [];
  let idx = 0;
  let sofar = 0;
  shards = shards.map((s) => s.slice());
  for (let part = 0; part < nodes; part++) {
    const partEnd = Math.floor((total * (part + 1)) / nodes);
    const list: number[][] = [];
    while (idx < shards.length) {
      const s = shards[idx]!;
      if (partEnd < sofar + s.length) {
        if (sofar < partEnd) {
          const split = partEnd - sofar;
          list.push(s.slice(0, split));
          shards[idx] = s.slice(split);
          sofar += split;
        }
        break;
      }
      list.push(s);
      idx++;
      sofar += s.length;
    }
    parts.push(list);
  }
  const epochRng = defaultRng(seed + epoch);
  const ids = new Float64Array(total);
  let off = 0;
  for (const list of parts) {
    epochRng.shuffle(list);
    for (const s of list) epochRng.shuffle(s);
    for (const s of list) for (const v of s) ids[off++] = v;
  }
  return ids;
}

/**
 * py1b (v0.4.1's default, removed upstream in v0.10): the py1s spans of each canonical node laid out
 * in order, then the node cut into fixed blocks of `blockSize` (the last one shorter), each shuffled.
 */
export function shufflePy1b(sizes: number[], nodes: number, seed: number, epoch: number, blockSize: number): Float64Array {
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new Error(`shuffle py1b: blockSize must be a positive integer, got ${blockSize}`);
  const { spans, superSpans, total, epochRng } = py1Spans(sizes, nodes, seed, epoch);
  const ids = new Float64Array(total);
  let offset = 0;
  for (const [b, e] of superSpans) {
    const nodeStart = offset;
    for (const [sb, se] of spans.slice(b, e)) {
      fillRange(ids, offset, sb, se);
      offset += se - sb;
    }
    for (let start = nodeStart; start < offset; start += blockSize) epochRng.shuffle(ids, start, Math.min(start + blockSize, offset));
  }
  return ids;
}

export function shufflePy1br(sizes: number[], nodes: number, seed: number, epoch: number, blockSize: number): Float64Array {
  const { spans, superSpans, total, epochRng } = py1Spans(sizes, nodes, seed, epoch);
  const ids = new Float64Array(total);
  let stop = 0;
  const stagger = epochRng.integers(0, Math.trunc(0.75 * blockSize), nodes);
  superSpans.forEach(([b, e], node) => {
    const start = stop;
    for (const [sb, se] of spans.slice(b, e)) {
      fillRange(ids, stop, sb, se);
      stop += se - sb;
    }
    const blocks: Span[] = [];
    let end = start;
    const st = stagger[node]!;
    while (end < stop) {
      const size = epochRng.integer(Math.trunc(0.75 * blockSize), Math.trunc(1.25 * blockSize));
      const bs = Math.max(end - st, start);
      const be = Math.min(end + size - st, stop);
      blocks.push([bs, be]);
      end += be - bs;
    }
    for (const [bs, be] of blocks) epochRng.shuffle(ids, bs, be);
  });
  return ids;
}

export function shufflePy1e(sizes: number[], nodes: number, seed: number, epoch: number, blockSize: number): Float64Array {
  const { spans, superSpans, total, epochRng } = py1Spans(sizes, nodes, seed, epoch);
  const ids = new Float64Array(total);
  let offset = 0;
  for (const [cb, ce] of superSpans) {
    const cnSpans = spans.slice(cb, ce);
    const n = cnSpans.reduce((a, [b, e]) => a + e - b, 0);
    if (n === 0) {
      throw new Error(`a canonical node got 0 samples: the stream has fewer samples (${total}) than canonical nodes (${nodes}); reduce num_canonical_nodes`);
    }
    const samples = new Float64Array(n);
    fillShuffledSpans(samples, cnSpans, epochRng);
    const positions = new Float64Array(n);
    for (let k = 0; k < n; k++) positions[k] = k;
    let spanOff = 0;
    for (const [b, e] of cnSpans) {
      const spanSize = e - b;
      const rbs = epochRng.integer(Math.trunc(0.75 * blockSize), Math.trunc(1.25 * blockSize));
      let cutoff = (rbs - spanSize) / 2;
      if (cutoff < 0) cutoff = 0;
      const lo = Math.max(-cutoff, -spanOff);
      const hi = Math.min(cutoff, n - spanOff - spanSize);
      const shifts = epochRng.uniform(lo, hi, spanSize);
      for (let k = 0; k < spanSize; k++) positions[spanOff + k]! += shifts[k]!;
      spanOff += spanSize;
    }
    // argsort; exact ties between random float positions do not occur in practice.
    const order = Array.from({ length: n }, (_, k) => k).sort((x, y) => positions[x]! - positions[y]! || x - y);
    for (let k = 0; k < n; k++) ids[offset + k] = samples[order[k]!]!;
    offset += n;
  }
  return ids;
}

/** Dispatch by name (the reference's `get_shuffle`). */
export function getShuffle(algo: string, sizes: number[], nodes: number, seed: number, epoch: number, blockSize = 1 << 18): Float64Array {
  switch (algo) {
    case "naive": return shuffleNaive(sizes, nodes, seed, epoch);
    case "py1s": return shufflePy1s(sizes, nodes, seed, epoch);
    case "py2s": return shufflePy2s(sizes, nodes, seed, epoch);
    case "py1b": return shufflePy1b(sizes, nodes, seed, epoch, blockSize);
    case "py1br": return shufflePy1br(sizes, nodes, seed, epoch, blockSize);
    case "py1e": return shufflePy1e(sizes, nodes, seed, epoch, blockSize);
    default:
      throw new Error(`unknown shuffle algorithm "${algo}"; expected one of ${SHUFFLE_ALGOS.join(", ")}`);
  }
}

export type { Generator };
