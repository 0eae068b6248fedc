/**
 * A small seeded generator for MLM masking: a Weyl sequence (golden-ratio increment) passed through the
 * MurmurHash3 32-bit finaliser. Local so this package needs no other workspace package; 32 random bits per
 * draw are plenty for Bernoulli masks and ids below 2^16.
 */
export class MaskRng {
  private state: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`MaskRng: seed must be a finite number, got ${seed}`);
    // Mix the seed once so nearby seeds (0, 1, 2…) start far apart in the sequence.
    this.state = MaskRng.mix(Math.trunc(seed) >>> 0 ^ 0x5bd1e995);
  }

  static mix(x: number): number {
    x = (x ^ (x >>> 16)) >>> 0;
    x = Math.imul(x, 0x85ebca6b) >>> 0;
    x = (x ^ (x >>> 13)) >>> 0;
    x = Math.imul(x, 0xc2b2ae35) >>> 0;
    return (x ^ (x >>> 16)) >>> 0;
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    return MaskRng.mix(this.state);
  }

  /** Uniform in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}
