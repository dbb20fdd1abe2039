/**
 * Two evaluations of the same kind of problems (typically before and after RL) compared per op and
 * per band: pass@k of each with its CI, and the difference after − before with a bootstrap CI over
 * problems, paired when both evaluations hold the same problem ids in the group.
 */

import type { VerifyPolicy } from "../verify/compare.js";
import { type BootstrapOptions, bootstrapDiffCI, bootstrapMeanCI } from "./bootstrap.js";
import { type ByExtra, type EvalProblemStat, type EvalSummary, EXTRA_POLICIES } from "./evaluation.js";
import { kGrid, type PassKEstimator, passAtK } from "./passk.js";
import type { Band, CIStat } from "./summary.js";

/** Options of {@link compareEvalSummaries}. */
export interface CompareOptions extends BootstrapOptions {
  /** pass@k estimator of the comparison (default "unbiased"). */
  estimator?: PassKEstimator;
  /** Bands of the per-band rows (default: the before summary's bands). */
  bands?: readonly Band[];
}

/** How a row's difference CI was computed. */
export type Pairing = "paired" | "unpaired";

/** One op or band present in both evaluations. */
export interface CompareRow {
  key: string;
  ops: [number, number];
  /** Paired when both evaluations hold exactly the same problem ids in the group. */
  pairing: Pairing;
  problemsBefore: number;
  problemsAfter: number;
  /** Problem ids present in both. */
  shared: number;
  /** Reported ks: 1, 2, 4, … up to the smallest sample count of either side, and that count. */
  ks: number[];
  before: Record<number, CIStat>;
  after: Record<number, CIStat>;
  /** after − before. */
  diff: Record<number, CIStat>;
  /**
   * The same with extra nodes allowed and without, whatever policy each run's `verified` used
   * (absent unless both summaries record them).
   */
  byExtra?: ByExtra<ComparePass>;
}

/** pass@k of both evaluations and their difference, by k. */
export interface ComparePass {
  before: Record<number, CIStat>;
  after: Record<number, CIStat>;
  diff: Record<number, CIStat>;
}

/** Result of {@link compareEvalSummaries}. */
export interface EvalComparison {
  estimator: PassKEstimator;
  resamples: number;
  level: number;
  seed: number;
  /** "paired" or "unpaired" when every row is; "mixed" otherwise. */
  pairing: Pairing | "mixed";
  problemsBefore: number;
  problemsAfter: number;
  sharedProblems: number;
  perOp: CompareRow[];
  perBand: CompareRow[];
  /** Ops evaluated only before, or only after (they get no row). */
  onlyBefore: number[];
  onlyAfter: number[];
  /** The verification policies of each side's `verified` (null: not recorded in its summary). */
  verify: { before: VerifyPolicy | null; after: VerifyPolicy | null };
}

/** Verified count and first verified position of a problem under one policy. */
type Counts = Pick<EvalProblemStat, "verified" | "firstVerified">;

function problemPass(n: number, c: Counts, k: number, estimator: PassKEstimator): number {
  if (estimator === "unbiased") return passAtK(n, c.verified, k);
  return c.firstVerified !== null && c.firstVerified < k ? 1 : 0;
}

function compareGroup(
  key: string,
  ops: [number, number],
  before: readonly EvalProblemStat[],
  after: readonly EvalProblemStat[],
  estimator: PassKEstimator,
  boot: BootstrapOptions,
): CompareRow {
  const afterById = new Map(after.map((p) => [p.id, p]));
  let shared = 0;
  for (const p of before) if (afterById.has(p.id)) shared++;
  const pairing: Pairing = shared === before.length && shared === after.length ? "paired" : "unpaired";
  // Paired: after aligned to before's order by id.
  const afterAligned = pairing === "paired" ? before.map((p) => afterById.get(p.id)!) : after;
  let minN = Number.POSITIVE_INFINITY;
  for (const p of [...before, ...after]) minN = Math.min(minN, p.n);
  const ks = kGrid(minN);
  const row: CompareRow = {
    key,
    ops,
    pairing,
    problemsBefore: before.length,
    problemsAfter: after.length,
    shared,
    ks,
    before: {},
    after: {},
    diff: {},
  };
  const fill = (out: ComparePass, counts: (p: EvalProblemStat) => Counts) => {
    for (const k of ks) {
      const b = before.map((p) => problemPass(p.n, counts(p), k, estimator));
      const a = afterAligned.map((p) => problemPass(p.n, counts(p), k, estimator));
      const cb = bootstrapMeanCI(b, boot);
      const ca = bootstrapMeanCI(a, boot);
      const d = bootstrapDiffCI(b, a, { ...boot, paired: pairing === "paired" });
      out.before[k] = { mean: cb.mean, lo: cb.lo, hi: cb.hi };
      out.after[k] = { mean: ca.mean, lo: ca.lo, hi: ca.hi };
      out.diff[k] = { mean: d.mean, lo: d.lo, hi: d.hi };
    }
  };
  fill(row, (p) => p);
  if ([...before, ...after].every((p) => p.byExtra !== undefined)) {
    const byExtra = {} as ByExtra<ComparePass>;
    for (const which of EXTRA_POLICIES) {
      byExtra[which] = { before: {}, after: {}, diff: {} };
      fill(byExtra[which], (p) => p.byExtra![which]);
    }
    row.byExtra = byExtra;
  }
  return row;
}

/**
 * Compares two evaluation summaries from their per-problem counts. Rows exist for the ops and bands
 * evaluated in both; the ks of a row stop at the smallest sample count on either side.
 */
export function compareEvalSummaries(
  before: EvalSummary,
  after: EvalSummary,
  opts: CompareOptions = {},
): EvalComparison {
  const estimator = opts.estimator ?? "unbiased";
  if (estimator !== "unbiased" && estimator !== "firstK") {
    throw new RangeError(`compareEvalSummaries: unknown estimator ${JSON.stringify(estimator)}`);
  }
  if (before.problems.length === 0 || after.problems.length === 0) {
    throw new Error("compareEvalSummaries: both evaluations need at least one problem");
  }
  const boot: BootstrapOptions = {
    resamples: opts.resamples ?? 1000,
    level: opts.level ?? 0.95,
    seed: opts.seed ?? 0,
  };
  const bands = opts.bands ?? before.options.bands;
  const byOp = (ps: readonly EvalProblemStat[]) => {
    const m = new Map<number, EvalProblemStat[]>();
    for (const p of ps) {
      const g = m.get(p.op);
      if (g) g.push(p);
      else m.set(p.op, [p]);
    }
    return m;
  };
  const b = byOp(before.problems);
  const a = byOp(after.problems);
  const ops = [...b.keys()].filter((op) => a.has(op)).sort((x, y) => x - y);
  const perOp = ops.map((op) => compareGroup(`op ${op}`, [op, op], b.get(op)!, a.get(op)!, estimator, boot));
  const perBand: CompareRow[] = [];
  for (const band of bands) {
    const inBand = (p: EvalProblemStat) => p.op >= band.lo && p.op <= band.hi;
    const gb = before.problems.filter(inBand);
    const ga = after.problems.filter(inBand);
    if (gb.length > 0 && ga.length > 0) {
      perBand.push(compareGroup(band.name, [band.lo, band.hi], gb, ga, estimator, boot));
    }
  }
  const afterIds = new Set(after.problems.map((p) => p.id));
  const sharedProblems = before.problems.filter((p) => afterIds.has(p.id)).length;
  const pairings = new Set([...perOp, ...perBand].map((r) => r.pairing));
  return {
    estimator,
    resamples: boot.resamples!,
    level: boot.level!,
    seed: boot.seed!,
    pairing: pairings.size === 1 ? [...pairings][0] : pairings.size === 0 ? "unpaired" : "mixed",
    problemsBefore: before.problems.length,
    problemsAfter: after.problems.length,
    sharedProblems,
    perOp,
    perBand,
    onlyBefore: [...b.keys()].filter((op) => !a.has(op)).sort((x, y) => x - y),
    onlyAfter: [...a.keys()].filter((op) => !b.has(op)).sort((x, y) => x - y),
    verify: { before: before.verify ?? null, after: after.verify ?? null },
  };
}
