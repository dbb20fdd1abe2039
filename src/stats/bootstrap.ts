/**
 * Seeded percentile bootstrap for means (spec: verification.md §5, "bootstrap over problems").
 */
import { Rng } from "../util/rng.js";

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

/** The bootstrap's uniform stream in [0, 1): the splitmix-seeded {@link Rng} of util/rng. */
export function makeRng(seed: number): () => number {
  const rng = new Rng(seed, { seeding: "splitmix" });
  return () => rng.next();
}

/** Linear-interpolation quantile (type 7) of an ascending-sorted array, p in [0, 1]. */
export function sortedQuantile(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const i = Math.floor(h);
  if (i >= sorted.length - 1) return sorted[sorted.length - 1];
  return sorted[i] + (h - i) * (sorted[i + 1] - sorted[i]);
}

/** Options with defaults filled in, validated (errors name the calling function). */
function bootOptions(opts: BootstrapOptions, fn: string): Required<BootstrapOptions> {
  const resamples = opts.resamples ?? BOOTSTRAP_DEFAULTS.resamples;
  const level = opts.level ?? BOOTSTRAP_DEFAULTS.level;
  const seed = opts.seed ?? BOOTSTRAP_DEFAULTS.seed;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw new RangeError(`${fn}: resamples must be an integer >= 1, got ${resamples}`);
  }
  if (!(level > 0 && level < 1)) {
    throw new RangeError(`${fn}: level must be in (0, 1), got ${level}`);
  }
  return { resamples, level, seed };
}

/** Mean of the values with a seeded percentile-bootstrap CI; empty input gives NaNs and n = 0. */
export function bootstrapMeanCI(values: readonly number[], opts: BootstrapOptions = {}): MeanCI {
  const { resamples, level, seed } = bootOptions(opts, "bootstrapMeanCI");
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

  const rng = new Rng(seed, { seeding: "splitmix" });
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += xs[rng.int(0, n - 1)];
    means[r] = s / n;
  }
  means.sort();
  const alpha = 1 - level;
  return { mean, lo: sortedQuantile(means, alpha / 2), hi: sortedQuantile(means, 1 - alpha / 2), n };
}

/** A difference of means (after − before) with its percentile-bootstrap CI. */
export interface DiffCI {
  /** mean(after) − mean(before). */
  mean: number;
  lo: number;
  hi: number;
  /** Paired: the CI resamples the pairs (after_i − before_i); unpaired: each side independently. */
  paired: boolean;
  nBefore: number;
  nAfter: number;
}

function checkFinite(values: readonly number[], what: string, fn: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new RangeError(`${fn}: ${what} value at index ${i} is not finite (${values[i]})`);
    }
  }
}

/**
 * Difference of means after − before with a seeded percentile-bootstrap CI. Paired (default false):
 * before[i] and after[i] belong to the same unit (problem), the arrays have equal length, and the
 * CI resamples units, which removes the between-unit variance from the difference. Unpaired: the two
 * samples are resampled independently. An empty side gives NaNs.
 */
export function bootstrapDiffCI(
  before: readonly number[],
  after: readonly number[],
  opts: BootstrapOptions & { paired?: boolean } = {},
): DiffCI {
  const fn = "bootstrapDiffCI";
  const { resamples, level, seed } = bootOptions(opts, fn);
  const paired = opts.paired ?? false;
  const nb = before.length;
  const na = after.length;
  checkFinite(before, "before", fn);
  checkFinite(after, "after", fn);
  if (paired && nb !== na) {
    throw new RangeError(`${fn}: paired samples need equal lengths, got ${nb} before and ${na} after`);
  }
  if (nb === 0 || na === 0) {
    return { mean: Number.NaN, lo: Number.NaN, hi: Number.NaN, paired, nBefore: nb, nAfter: na };
  }
  if (paired) {
    const ci = bootstrapMeanCI(
      after.map((a, i) => a - before[i]),
      { resamples, level, seed },
    );
    return { mean: ci.mean, lo: ci.lo, hi: ci.hi, paired, nBefore: nb, nAfter: na };
  }
  let sb = 0;
  for (const x of before) sb += x;
  let sa = 0;
  for (const x of after) sa += x;
  const rng = new Rng(seed, { seeding: "splitmix" });
  const diffs = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let b = 0;
    for (let j = 0; j < nb; j++) b += before[rng.int(0, nb - 1)];
    let a = 0;
    for (let j = 0; j < na; j++) a += after[rng.int(0, na - 1)];
    diffs[r] = a / na - b / nb;
  }
  diffs.sort();
  const alpha = 1 - level;
  return {
    mean: sa / na - sb / nb,
    lo: sortedQuantile(diffs, alpha / 2),
    hi: sortedQuantile(diffs, 1 - alpha / 2),
    paired,
    nBefore: nb,
    nAfter: na,
  };
}
