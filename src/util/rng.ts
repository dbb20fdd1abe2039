/** Seeded pseudo-random numbers: every random choice of the world flows from one of these. */

/** Mixes a 32-bit integer (murmur3 finaliser). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes a list of integers and strings into one 32-bit seed. */
export function hashSeed(...parts: (number | string)[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    if (typeof p === "number") {
      // Split doubles into two 32-bit words so large seeds do not collide.
      const lo = p >>> 0;
      const hi = Math.floor(p / 4294967296) >>> 0;
      h = fmix32(h ^ lo) + 0x6d2b79f5;
      h = fmix32(h ^ hi);
    } else {
      for (let i = 0; i < p.length; i++) h = fmix32(h ^ p.charCodeAt(i)) + i;
      h = fmix32(h ^ p.length);
    }
  }
  return h >>> 0;
}

/**
 * How a seed becomes the generator's state: "world" takes the seed's low 32 bits (the world's
 * problems are hashed, so this never changes); "splitmix" spreads both 32-bit words of an integer
 * seed up to 2^53 through splitmix32, so distinct integer seeds give distinct states (the
 * statistics' seeding; a fractional seed is truncated, a non-finite one is a RangeError).
 */
export type RngSeeding = "world" | "splitmix";

/** Options of the {@link Rng} constructor. */
export interface RngOptions {
  /** Seeding of the state (default "world"). */
  seeding?: RngSeeding;
}

/** sfc32 state words a, b, c, d. */
type State = [number, number, number, number];

/** The world's seeding: the seed's low 32 bits and a mix of them. */
function worldState(seed: number): State {
  return [0x9e3779b9, seed >>> 0, fmix32(seed ^ 0x243f6a88), 1];
}

/** The k-th output (k = 1, 2, …) of splitmix32 counting up from `start`. */
function splitmix32(start: number, k: number): number {
  return fmix32((start + k * 0x9e3779b9) | 0);
}

/** splitmix32 seeding: two words from the seed's low word, two from its high word. */
function splitmixState(seed: number): State {
  if (!Number.isFinite(seed)) throw new RangeError(`Rng: seed must be a finite number, got ${seed}`);
  const int = Math.trunc(seed);
  // Low and high 32-bit words seed separate state words, so distinct integer seeds (up to 2^53)
  // always give distinct initial states (splitmix32's finaliser is a bijection).
  const lo = int >>> 0;
  const hi = (Math.floor(int / 4294967296) >>> 0) ^ 0x5bd1e995;
  return [splitmix32(lo, 1), splitmix32(lo, 2), splitmix32(hi, 1), splitmix32(hi, 2)];
}

/** A small, fast generator (sfc32) with the helpers the world and the statistics need. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** The unused |z| of the last polar pair, or -1. */
  private spare = -1;

  constructor(seed: number, opts: RngOptions = {}) {
    const seeding = opts.seeding ?? "world";
    if (seeding !== "world" && seeding !== "splitmix")
      throw new RangeError(`Rng: seeding must be "world" or "splitmix", got ${JSON.stringify(seeding)}`);
    [this.a, this.b, this.c, this.d] = seeding === "splitmix" ? splitmixState(seed) : worldState(seed);
    // Discard a few outputs so weak seeds (0, 1, …) are well mixed.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A uniformly chosen element. */
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }

  /** Index drawn with the given non-negative weights. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i];
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** |z| for z standard normal (Marsaglia's polar method; the pair's second value is kept for the next call). */
  absGauss(): number {
    if (this.spare >= 0) {
      const z = this.spare;
      this.spare = -1;
      return z;
    }
    let u: number;
    let v: number;
    let q: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      q = u * u + v * v;
    } while (q >= 1 || q === 0);
    const f = Math.sqrt((-2 * Math.log(q)) / q);
    this.spare = Math.abs(v * f);
    return Math.abs(u * f);
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = xs[i];
      xs[i] = xs[j];
      xs[j] = t;
    }
    return xs;
  }
}
