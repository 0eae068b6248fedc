/**
 * Random numbers shared by every backend.
 *
 * `uniformAt(seed, counter)` is a stateless counter-based generator: the value for element i of a
 * dropout mask depends only on (seed, offset + i), so a GPU kernel computes exactly the same mask
 * in any order, and the backward pass regenerates it instead of storing it. CUDA kernels implement
 * the same integer arithmetic (packages/kernels-cuda/native/random.cuh).
 */

/** A 32-bit integer mix with low bias (the "lowbias32" finaliser). */
export function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x;
}

/** Key derived once per seed. */
export function seedKey(seed: number): number {
  return mix32((seed ^ 0x9e3779b9) >>> 0);
}

/** Uniform in [0, 1) with 24 random bits, for element `counter` (taken modulo 2³²) under `seed`. */
export function uniformAt(seed: number, counter: number): number {
  return uniformAtKey(seedKey(seed), counter);
}

/** uniformAt with the seed's key already derived: one lowbias32 round of (counter ^ key), its top 24 bits. */
export function uniformAtKey(key: number, counter: number): number {
  const c = counter >>> 0;
  const r = mix32((c ^ key) >>> 0);
  return (r >>> 8) / 16777216;
}

/** A small seeded sequential generator (SplitMix32 stream) for host-side initialisation and sampling. */
export class Rng {
  private state: number;
  private spare: number | null = null;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    return mix32(this.state);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return (this.nextU32() >>> 8) / 16777216 + (this.nextU32() >>> 8) / 16777216 / 16777216;
  }

  /** Integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Float32Array of n draws from N(mean, std²). */
  normalArray(n: number, std = 1, mean = 0): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** Float32Array of n draws from U[lo, hi). */
  uniformArray(n: number, lo = 0, hi = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * this.next();
    return out;
  }
}
