/**
 * Seeded percentile bootstrap for means (spec: verification.md §5, "bootstrap over problems").
 */

/** Options of {@link bootstrapMeanCI}. */
export interface BootstrapOptions {
  /** Number of bootstrap resamples (default 1000). */
  resamples?: number;
  /** Confidence level of the interval, in (0, 1) (default 0.95). */
  level?: number;
  /** PRNG seed; the same seed and input always give the same interval (default 0). */
  seed?: number;
}

/** A mean with its percentile-bootstrap confidence interval and the number of values it summarises. */
export interface MeanCI {
  mean: number;
  lo: number;
  hi: number;
  n: number;
}

/** Defaults used by {@link bootstrapMeanCI}. */
export const BOOTSTRAP_DEFAULTS: Readonly<Required<BootstrapOptions>> = {
  resamples: 1000,
  level: 0.95,
  seed: 0,
};

/** splitmix32 step: used only to spread an integer seed over the sfc32 state. */
function splitmix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) | 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [s, z >>> 0];
}

/** Seeded PRNG (sfc32, seeded through splitmix32) returning uniform numbers in [0, 1). */
export function makeRng(seed: number): () => number {
  if (!Number.isFinite(seed)) throw new RangeError(`makeRng: seed must be a finite number, got ${seed}`);
  const int = Math.trunc(seed);
  // Low and high 32-bit words seed separate state words, so distinct integer seeds (up to 2^53)
  // always give distinct initial states (splitmix32's finaliser is a bijection).
  const lo = int >>> 0;
  const hi = Math.floor(int / 4294967296) >>> 0;
  let s1 = lo;
  let s2 = hi ^ 0x5bd1e995;
  let a: number;
  let b: number;
  let c: number;
  let d: number;
  [s1, a] = splitmix32(s1);
  [s1, b] = splitmix32(s1);
  [s2, c] = splitmix32(s2);
  [s2, d] = splitmix32(s2);
  a |= 0;
  b |= 0;
  c |= 0;
  d |= 0;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  // Discard a few outputs so weak seeds (0, 1, …) are well mixed.
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** Linear-interpolation quantile (type 7) of an ascending-sorted array, p in [0, 1]. */
function sortedQuantile(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const i = Math.floor(h);
  if (i >= sorted.length - 1) return sorted[sorted.length - 1];
  return sorted[i] + (h - i) * (sorted[i + 1] - sorted[i]);
}

/** Mean of the values with a seeded percentile-bootstrap CI; empty input gives NaNs and n = 0. */
export function bootstrapMeanCI(values: readonly number[], opts: BootstrapOptions = {}): MeanCI {
  const resamples = opts.resamples ?? BOOTSTRAP_DEFAULTS.resamples;
  const level = opts.level ?? BOOTSTRAP_DEFAULTS.level;
  const seed = opts.seed ?? BOOTSTRAP_DEFAULTS.seed;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new RangeError(`bootstrapMeanCI: resamples must be an integer >= 1, got ${resamples}`);
  }
  if (!(level > 0 && level < 1)) {
    throw new RangeError(`bootstrapMeanCI: level must be in (0, 1), got ${level}`);
  }
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, lo: Number.NaN, hi: Number.NaN, n: 0 };

  const xs = Float64Array.from(values);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(xs[i])) {
      throw new RangeError(`bootstrapMeanCI: value at index ${i} is not finite (${values[i]})`);
    }
    sum += xs[i];
  }
  const mean = sum / n;

  const rng = makeRng(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += xs[Math.floor(rng() * n)];
    means[r] = s / n;
  }
  means.sort();
  const alpha = 1 - level;
  return { mean, lo: sortedQuantile(means, alpha / 2), hi: sortedQuantile(means, 1 - alpha / 2), n };
}
