/**
 * NumPy's `np.random.default_rng(seed)`: SeedSequence -> PCG64 (XSL-RR 128/64) -> Generator, and
 * the Generator methods mosaicml-streaming calls (shuffle, permutation, integers, uniform,
 * choice without replacement). Ported from NumPy's documented algorithms so the same seed gives
 * the same numbers; the 128-bit LCG uses BigInt.
 */

const M32 = 0xffffffff;
const MASK64 = (1n << 64n) - 1n;
const MASK128 = (1n << 128n) - 1n;
const PCG_MULT = 0x2360ed051fc65da44385df649fccf645n;

/** A 128-bit value as six 22-bit limbs, least significant first. */
function limbs22(v: bigint): Float64Array {
  const out = new Float64Array(6);
  for (let i = 0; i < 6; i++) out[i] = Number((v >> BigInt(22 * i)) & 0x3fffffn);
  return out;
}
const TWO22 = 2 ** 22;
const TWO18 = 2 ** 18;
/** 2^-22 and 2^-18: multiplying by them is exact, and cheaper than dividing. */
const INV22 = 2 ** -22;
const INV18 = 2 ** -18;
const [M0, M1, M2, M3, M4, M5] = limbs22(PCG_MULT) as unknown as number[];

// SeedSequence hashing constants (NumPy bit_generator.pyx).
const INIT_A = 0x43b0d7e5;
const MULT_A = 0x931e8875;
const INIT_B = 0x8b51f9dd;
const MULT_B = 0x58f38ded;
const MIX_MULT_L = 0xca01f9dd;
const MIX_MULT_R = 0x4973f715;
const POOL_SIZE = 4;

function mul32(a: number, b: number): number {
  return Math.imul(a, b) >>> 0;
}

/** NumPy SeedSequence(entropy).generate_state(nWords, uint32) for a non-negative int entropy. */
export function seedSequenceState(entropy: bigint | number, nWords: number): Uint32Array {
  let e = BigInt(entropy);
  if (e < 0n) throw new Error(`seed must be a non-negative integer, got ${entropy}`);
  const words: number[] = [];
  do {
    words.push(Number(e & 0xffffffffn));
    e >>= 32n;
  } while (e > 0n);
  let hashConst = INIT_A;
  const hashmix = (value: number): number => {
    value = (value ^ hashConst) >>> 0;
    hashConst = mul32(hashConst, MULT_A);
    value = mul32(value, hashConst);
    return (value ^ (value >>> 16)) >>> 0;
  };
  const mix = (x: number, y: number): number => {
    const r = (mul32(MIX_MULT_L, x) - mul32(MIX_MULT_R, y)) >>> 0;
    return (r ^ (r >>> 16)) >>> 0;
  };
  const pool = new Array<number>(POOL_SIZE);
  for (let i = 0; i < POOL_SIZE; i++) pool[i] = hashmix(i < words.length ? words[i]! : 0);
  for (let src = 0; src < POOL_SIZE; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) if (src !== dst) pool[dst] = mix(pool[dst]!, hashmix(pool[src]!));
  }
  for (let src = POOL_SIZE; src < words.length; src++) {
    for (let dst = 0; dst < POOL_SIZE; dst++) pool[dst] = mix(pool[dst]!, hashmix(words[src]!));
  }
  const out = new Uint32Array(nWords);
  let hc = INIT_B;
  for (let i = 0; i < nWords; i++) {
    let v = (pool[i % POOL_SIZE]! ^ hc) >>> 0;
    hc = mul32(hc, MULT_B);
    v = mul32(v, hc);
    out[i] = (v ^ (v >>> 16)) >>> 0;
  }
  return out;
}

/**
 * PCG64 bit generator state (NumPy's, including its buffered 32-bit half). Seeding uses BigInt; the
 * per-draw 128-bit LCG step works on six 22-bit limbs in plain numbers (every partial sum stays
 * below 2^48, so double arithmetic is exact), about 20× faster than BigInt — the py1s shuffle of a
 * 365 M-sample epoch draws hundreds of millions of numbers.
 */
/** The smallest all-ones mask covering v (v ≤ 2³²−1): NumPy's masked-rejection mask. */
function smear32(v: number): number {
  let m = v;
  m |= m >>> 1;
  m |= m >>> 2;
  m |= m >>> 4;
  m |= m >>> 8;
  m |= m >>> 16;
  return m >>> 0;
}

export class PCG64 {
  /** State limbs, least significant first (the top one holds 18 bits). */
  private readonly s = new Float64Array(6);
  private readonly inc: Float64Array;
  /**
   * [0], [1]: low and high half of the last output; [2]: the high half nextUint32 buffered, valid
   * while [3] = 1 (64-bit draws in between leave it alone, as in NumPy).
   */
  private readonly out = new Uint32Array(4);

  constructor(seed: bigint | number) {
    const w = seedSequenceState(seed, 8);
    const u64 = (k: number) => (BigInt(w[2 * k + 1]!) << 32n) | BigInt(w[2 * k]!);
    const initState = (u64(0) << 64n) | u64(1);
    const initSeq = (u64(2) << 64n) | u64(3);
    const inc = ((initSeq << 1n) | 1n) & MASK128;
    // NumPy's seeding: from state 0, step (giving inc), add initState, step again.
    const state = (((inc + initState) & MASK128) * PCG_MULT + inc) & MASK128;
    this.inc = limbs22(inc);
    this.s.set(limbs22(state));
  }

  /** state = state · mult + inc (mod 2^128), then the XSL-RR output into out[0] (low) and out[1] (high). */
  private step(): void {
    const s = this.s;
    const c = this.inc;
    const a0 = s[0]!, a1 = s[1]!, a2 = s[2]!, a3 = s[3]!, a4 = s[4]!, a5 = s[5]!;
    // Schoolbook product mod 2^128, column by column with the carry.
    let t = a0 * M0 + c[0]!;
    let cy = Math.floor(t * INV22);
    const r0 = t - cy * TWO22;
    t = a0 * M1 + a1 * M0 + c[1]! + cy;
    cy = Math.floor(t * INV22);
    const r1 = t - cy * TWO22;
    t = a0 * M2 + a1 * M1 + a2 * M0 + c[2]! + cy;
    cy = Math.floor(t * INV22);
    const r2 = t - cy * TWO22;
    t = a0 * M3 + a1 * M2 + a2 * M1 + a3 * M0 + c[3]! + cy;
    cy = Math.floor(t * INV22);
    const r3 = t - cy * TWO22;
    t = a0 * M4 + a1 * M3 + a2 * M2 + a3 * M1 + a4 * M0 + c[4]! + cy;
    cy = Math.floor(t * INV22);
    const r4 = t - cy * TWO22;
    t = a0 * M5 + a1 * M4 + a2 * M3 + a3 * M2 + a4 * M1 + a5 * M0 + c[5]! + cy;
    const r5 = t - Math.floor(t * INV18) * TWO18;
    s[0] = r0; s[1] = r1; s[2] = r2; s[3] = r3; s[4] = r4; s[5] = r5;
    // 32-bit words of the state (bits 0–31, 32–63, 64–95, 96–127) from the 22-bit limbs.
    const w0 = r0 | ((r1 & 0x3ff) << 22);
    const w1 = (r1 >>> 10) | ((r2 & 0xfffff) << 12);
    const w2 = (r2 >>> 20) | (r3 << 2) | ((r4 & 0xff) << 24);
    const w3 = (r4 >>> 8) | (r5 << 14);
    // XSL-RR: (high 64 ^ low 64) rotated right by the top 6 bits of the state.
    let xl = w0 ^ w2;
    let xh = w1 ^ w3;
    let rot = r5 >>> 12;
    if (rot >= 32) {
      const tmp = xl;
      xl = xh;
      xh = tmp;
      rot -= 32;
    }
    if (rot) {
      const lo = (xl >>> rot) | (xh << (32 - rot));
      xh = (xh >>> rot) | (xl << (32 - rot));
      xl = lo;
    }
    this.out[0] = xl;
    this.out[1] = xh;
  }

  nextUint64(): bigint {
    this.step();
    return (BigInt(this.out[1]!) << 32n) | BigInt(this.out[0]!);
  }

  nextUint32(): number {
    const out = this.out;
    if (out[3]) {
      out[3] = 0;
      return out[2]!;
    }
    this.step();
    out[2] = out[1]!;
    out[3] = 1;
    return out[0]!;
  }

  nextDouble(): number {
    this.step();
    // (u64 >> 11) · 2^-53
    return (this.out[1]! * 2097152 + (this.out[0]! >>> 11)) * 2 ** -53;
  }
}

/** The subset of `numpy.random.Generator` that the streaming shuffles use. */
export class Generator {
  readonly bitgen: PCG64;

  constructor(seed: bigint | number) {
    this.bitgen = new PCG64(seed);
  }

  /** Uniform in [0, max] by masked rejection (NumPy `random_interval`, used by shuffle). */
  randomInterval(max: number): number {
    if (max === 0) return 0;
    if (max <= M32) {
      const mask = smear32(max);
      for (;;) {
        const v = (this.bitgen.nextUint32() & mask) >>> 0;
        if (v <= max) return v;
      }
    }
    const bmax = BigInt(max);
    let mask = bmax;
    for (const s of [1n, 2n, 4n, 8n, 16n, 32n]) mask |= mask >> s;
    for (;;) {
      const v = this.bitgen.nextUint64() & mask;
      if (v <= bmax) return Number(v);
    }
  }

  /** Uniform in [0, rng] by Lemire's method (NumPy `random_bounded_uint64`, unmasked). */
  boundedUint64(rng: bigint): bigint {
    if (rng === 0n) return 0n;
    if (rng <= 0xffffffffn) {
      if (rng === 0xffffffffn) return BigInt(this.bitgen.nextUint32());
      const r = Number(rng);
      const rngExcl = r + 1;
      let m = BigInt(this.bitgen.nextUint32()) * BigInt(rngExcl);
      let leftover = Number(m & 0xffffffffn);
      if (leftover < rngExcl) {
        const threshold = (M32 - r) % rngExcl;
        while (leftover < threshold) {
          m = BigInt(this.bitgen.nextUint32()) * BigInt(rngExcl);
          leftover = Number(m & 0xffffffffn);
        }
      }
      return m >> 32n;
    }
    if (rng === MASK64) return this.bitgen.nextUint64();
    const rngExcl = rng + 1n;
    let m = this.bitgen.nextUint64() * rngExcl;
    let leftover = m & MASK64;
    if (leftover < rngExcl) {
      const threshold = (MASK64 - rng) % rngExcl;
      while (leftover < threshold) {
        m = this.bitgen.nextUint64() * rngExcl;
        leftover = m & MASK64;
      }
    }
    return m >> 64n;
  }

  /** `integers(low, high)` (int64, high exclusive) as a number. */
  integer(low: number, high: number): number {
    if (!(high > low)) throw new Error(`integers: low ${low} must be below high ${high}`);
    return low + Number(this.boundedUint64(BigInt(high - 1 - low)));
  }

  /** `integers(low, high, size)`. */
  integers(low: number, high: number, size: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < size; i++) out.push(this.integer(low, high));
    return out;
  }

  /** `uniform(low, high, size)`: low + (high - low) * next_double. */
  uniform(low: number, high: number, size: number): Float64Array {
    const range = high - low;
    if (!Number.isFinite(range)) throw new Error("uniform: range overflows");
    const out = new Float64Array(size);
    for (let i = 0; i < size; i++) out[i] = low + range * this.bitgen.nextDouble();
    return out;
  }

  /** In-place `shuffle` of a list or 1-D array (Fisher-Yates from the end, random_interval). */
  shuffle<T>(x: { length: number; [i: number]: T }, begin = 0, end = x.length): void {
    for (let i = end - begin - 1; i >= 1; i--) {
      const j = this.randomInterval(i);
      const t = x[begin + i]!;
      x[begin + i] = x[begin + j]!;
      x[begin + j] = t;
    }
  }

  /**
   * `shuffle` of x[begin, end) for a Uint32Array, the same draws as shuffle(); the bit mask of
   * random_interval is kept across iterations (it only shrinks when i falls below a power of two).
   */
  shuffleU32(x: Uint32Array, begin: number, end: number): void {
    this.fisherYates(end - begin, x, begin);
  }

  /** Consume exactly the draws a shuffle of n elements makes, moving nothing. */
  skipShuffle(n: number): void {
    this.fisherYates(n, null, 0);
  }

  private fisherYates(n: number, x: Uint32Array | null, begin: number): void {
    if (n - 1 > M32) throw new Error(`shuffle: ${n} elements exceed the 32-bit fast path`);
    const bits = this.bitgen;
    let mask = 0;
    for (let i = n - 1; i >= 1; i--) {
      if (mask === 0 || i <= mask >>> 1) mask = smear32(i);
      let j: number;
      do j = (bits.nextUint32() & mask) >>> 0;
      while (j > i);
      if (x) {
        const t = x[begin + i]!;
        x[begin + i] = x[begin + j]!;
        x[begin + j] = t;
      }
    }
  }

  /** `permutation(n)`: shuffled arange(n). */
  permutation(n: number): Float64Array {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = i;
    this.shuffle(a);
    return a;
  }

  /** NumPy's `_shuffle_int` (used by choice): Lemire-bounded swaps for i in [n-1 .. first]. */
  private shuffleInt(a: number[], n: number, first: number): void {
    for (let i = n - 1; i >= first; i--) {
      const j = Number(this.boundedUint64(BigInt(i)));
      const t = a[j]!;
      a[j] = a[i]!;
      a[i] = t;
    }
  }

  /** `choice(popSize, size, replace=False)` (uniform, shuffled result). */
  choiceNoReplace(popSize: number, size: number): number[] {
    if (size > popSize) throw new Error(`choice: cannot take ${size} without replacement from ${popSize}`);
    if (popSize > 10000 && size > Math.floor(popSize / 50)) {
      const idx = Array.from({ length: popSize }, (_, i) => i);
      this.shuffleInt(idx, popSize, Math.max(popSize - size, 1));
      return idx.slice(popSize - size);
    }
    // Floyd's algorithm with NumPy's open-addressing set (its probing order decides ties).
    const out = new Array<number>(size);
    let mask = Math.floor(1.2 * size);
    for (const s of [1, 2, 4, 8, 16]) mask |= mask >>> s;
    const set = new Float64Array(mask + 1).fill(-1);
    for (let j = popSize - size; j < popSize; j++) {
      const val = Number(this.boundedUint64(BigInt(j)));
      let loc = val & mask;
      while (set[loc] !== -1 && set[loc] !== val) loc = (loc + 1) & mask;
      if (set[loc] === -1) {
        set[loc] = val;
        out[j - popSize + size] = val;
      } else {
        loc = j & mask;
        while (set[loc] !== -1) loc = (loc + 1) & mask;
        set[loc] = j;
        out[j - popSize + size] = j;
      }
    }
    this.shuffleInt(out, size, 1);
    return out;
  }
}

export function defaultRng(seed: bigint | number): Generator {
  return new Generator(seed);
}
