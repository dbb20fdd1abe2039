/**
 * An RL arm run with several seeds against one base: the difference after − before in pass@k on a
 * band, as the mean over seeds, with a CI that holds both sources of noise — which problems were
 * drawn and which seed the arm ran with. The bootstrap is crossed: each resample draws the band's
 * problems with replacement (the same draw for every seed, since all arms are scored on the same
 * problems) and, independently, the seeds with replacement; the statistic is the mean over the
 * drawn seeds of the mean over the drawn problems of after_s − before.
 */
import { BOOTSTRAP_DEFAULTS, type BootstrapOptions, makeRng, sortedQuantile } from "./bootstrap.js";
import type { EvalProblemStat, EvalSummary } from "./evaluation.js";
import { passAtK } from "./passk.js";
import type { Band } from "./summary.js";

/** The seed-pooled difference of one band at one k. */
export interface SeedDiff {
  band: string;
  k: number;
  /** Mean over seeds of each seed's mean difference over the shared problems. */
  mean: number;
  lo: number;
  hi: number;
  /** Each seed's mean difference, in the order of the `afters`. */
  perSeed: number[];
  /** Problems scored by the base and by every seed (the others are left out). */
  problems: number;
}

const inBand = (p: EvalProblemStat, b: Band) => p.op >= b.lo && p.op <= b.hi;

/**
 * after − before on `band` at `k` over the seeds of an arm (`afters`, one summary per seed), with a
 * crossed bootstrap CI over problems and seeds (see the module comment). `befores` is one evaluation
 * (the shared base) or one per seed, paired with the afters by position (arm against arm). NaNs when
 * no problem of the band was scored by all; k above a problem's sample count is refused.
 */
export function seedDiff(
  befores: EvalSummary | readonly EvalSummary[],
  afters: readonly EvalSummary[],
  band: Band,
  k: number,
  opts: BootstrapOptions = {},
): SeedDiff {
  if (afters.length === 0) throw new RangeError("seedDiff: no seed's evaluation was given");
  const bs = Array.isArray(befores) ? (befores as readonly EvalSummary[]) : [befores as EvalSummary];
  if (bs.length !== 1 && bs.length !== afters.length)
    throw new RangeError(
      `seedDiff: ${bs.length} before evaluations for ${afters.length} seeds (give 1 or one per seed)`,
    );
  const before = bs[0];
  const beforeById = bs.map((b) => new Map(b.problems.map((p) => [p.id, p])));
  const resamples = opts.resamples ?? BOOTSTRAP_DEFAULTS.resamples;
  const level = opts.level ?? BOOTSTRAP_DEFAULTS.level;
  const byId = afters.map((a) => new Map(a.problems.map((p) => [p.id, p])));
  const rows: number[][] = []; // rows[problem][seed] = after_s − before
  for (const p of before.problems) {
    if (!inBand(p, band)) continue;
    const mates = byId.map((m) => m.get(p.id));
    const bases = afters.map((_, s) => beforeById[bs.length === 1 ? 0 : s].get(p.id));
    if (mates.some((q) => q === undefined) || bases.some((q) => q === undefined)) continue;
    const pass = (q: EvalProblemStat | undefined) => {
      const x = q as EvalProblemStat;
      if (k > x.n) throw new RangeError(`seedDiff: k = ${k} exceeds the ${x.n} samples of problem ${x.id}`);
      return passAtK(x.n, x.verified, k);
    };
    rows.push(mates.map((q, s) => pass(q) - pass(bases[s])));
  }
  const S = afters.length;
  const P = rows.length;
  const perSeed = Array.from({ length: S }, (_, s) => rows.reduce((a, r) => a + r[s], 0) / P);
  const mean = perSeed.reduce((a, x) => a + x, 0) / S;
  if (P === 0) return { band: band.name, k, mean: NaN, lo: NaN, hi: NaN, perSeed, problems: 0 };
  const rng = makeRng(opts.seed ?? BOOTSTRAP_DEFAULTS.seed);
  const stats = new Float64Array(resamples);
  const seeds = new Int32Array(S);
  for (let r = 0; r < resamples; r++) {
    for (let s = 0; s < S; s++) seeds[s] = Math.floor(rng() * S);
    let sum = 0;
    for (let i = 0; i < P; i++) {
      const row = rows[Math.floor(rng() * P)];
      for (let s = 0; s < S; s++) sum += row[seeds[s]];
    }
    stats[r] = sum / (P * S);
  }
  stats.sort();
  const a = (1 - level) / 2;
  return {
    band: band.name,
    k,
    mean,
    lo: sortedQuantile(stats, a),
    hi: sortedQuantile(stats, 1 - a),
    perSeed,
    problems: P,
  };
}
