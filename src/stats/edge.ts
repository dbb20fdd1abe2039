/**
 * Edge of competence (spec: verification.md §6): problems a model fails at pass@1 but solves within
 * k samples, as a per-problem data-selection step and as a per-op summary naming the edge band.
 */

import { countCorrect } from "./passk.js";
import { type ProblemOutcome, validateOutcomes } from "./summary.js";

/** Class of a problem: solved at pass@1, solved only within k samples, or never solved within k. */
export type EdgeClass = "solved@1" | "solvedWithinK" | "neverSolved";

/** All edge classes, in a stable order. */
export const EDGE_CLASSES: readonly EdgeClass[] = ["solved@1", "solvedWithinK", "neverSolved"];

/** Options of {@link classifyProblem}. */
export interface ClassifyOptions {
  /**
   * A problem counts as "solved@1" when its unbiased pass@1 (fraction of correct samples) is at
   * least this value (default 0.5). Below it, the problem fails at pass@1.
   */
  pass1Threshold?: number;
}

/** Options of {@link edgeByOp} and {@link selectEdgeProblems}. */
export interface EdgeOptions extends ClassifyOptions {
  /** Samples looked at for "within k": the first k of each problem (default: all of its samples). */
  k?: number;
}

/** Options of {@link edgeBand}. */
export interface EdgeBandOptions {
  /** An op can be at the edge only if its mean pass@1 is strictly below this (default 0.5). */
  maxPass1?: number;
  /** …and if at least this fraction of its problems is "solvedWithinK" (default 0.1). */
  minEdgeFraction?: number;
}

/** Defaults of the edge-of-competence options. */
export const EDGE_DEFAULTS = {
  pass1Threshold: 0.5,
  maxPass1: 0.5,
  minEdgeFraction: 0.1,
} as const;

/** Per-op edge summary: class counts and fractions, mean pass@1 and the smallest sample count. */
export interface EdgeOpRow {
  op: number;
  problems: number;
  counts: Record<EdgeClass, number>;
  fractions: Record<EdgeClass, number>;
  /** Mean over problems of the unbiased pass@1. */
  pass1: number;
  /** Smallest sample count among the op's problems. */
  minSamples: number;
}

function checkThreshold(t: number, fn: string): void {
  if (!(t >= 0 && t <= 1)) throw new RangeError(`${fn}: pass1Threshold must be in [0, 1], got ${t}`);
}

/** Classifies one problem from its per-sample correctness; k defaults to all samples. */
export function classifyProblem(
  correct: readonly boolean[],
  k: number = correct.length,
  opts: ClassifyOptions = {},
): EdgeClass {
  const fn = "classifyProblem";
  const threshold = opts.pass1Threshold ?? EDGE_DEFAULTS.pass1Threshold;
  checkThreshold(threshold, fn);
  const n = correct.length;
  if (n === 0) throw new RangeError(`${fn}: no samples`);
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new RangeError(`${fn}: k must be an integer in [1, n=${n}], got ${k}`);
  }
  if (countCorrect(correct) / n >= threshold) return "solved@1";
  for (let i = 0; i < k; i++) if (correct[i]) return "solvedWithinK";
  return "neverSolved";
}

/** classifyProblem on an outcome, rewording errors so they name the problem id. */
function classifyOutcome(o: ProblemOutcome, opts: EdgeOptions): EdgeClass {
  const k = opts.k ?? o.correct.length;
  if (k > o.correct.length) {
    throw new RangeError(
      `problem ${JSON.stringify(o.id)}: has ${o.correct.length} samples, fewer than k=${k}`,
    );
  }
  return classifyProblem(o.correct, k, opts);
}

function checkEdgeOptions(opts: EdgeOptions, fn: string): void {
  checkThreshold(opts.pass1Threshold ?? EDGE_DEFAULTS.pass1Threshold, fn);
  if (opts.k !== undefined && (!Number.isInteger(opts.k) || opts.k < 1)) {
    throw new RangeError(`${fn}: k must be an integer >= 1, got ${opts.k}`);
  }
}

/** Per op (ascending): counts and fractions of the three edge classes, and mean pass@1 ([] for no input). */
export function edgeByOp(outcomes: readonly ProblemOutcome[], opts: EdgeOptions = {}): EdgeOpRow[] {
  if (outcomes.length === 0) return [];
  validateOutcomes(outcomes, "edgeByOp");
  checkEdgeOptions(opts, "edgeByOp");
  const rows = new Map<number, EdgeOpRow & { pass1Sum: number }>();
  for (const o of outcomes) {
    let row = rows.get(o.op);
    if (!row) {
      row = {
        op: o.op,
        problems: 0,
        counts: { "solved@1": 0, solvedWithinK: 0, neverSolved: 0 },
        fractions: { "solved@1": 0, solvedWithinK: 0, neverSolved: 0 },
        pass1: 0,
        minSamples: Number.POSITIVE_INFINITY,
        pass1Sum: 0,
      };
      rows.set(o.op, row);
    }
    row.problems++;
    row.counts[classifyOutcome(o, opts)]++;
    row.pass1Sum += countCorrect(o.correct) / o.correct.length;
    row.minSamples = Math.min(row.minSamples, o.correct.length);
  }
  return [...rows.values()]
    .sort((a, b) => a.op - b.op)
    .map(({ pass1Sum, ...row }) => {
      for (const c of EDGE_CLASSES) row.fractions[c] = row.counts[c] / row.problems;
      row.pass1 = pass1Sum / row.problems;
      return row;
    });
}

/**
 * The contiguous op range where the edge lies: ops whose mean pass@1 < maxPass1 and whose
 * "solvedWithinK" fraction ≥ minEdgeFraction. Contiguity is over the rows sorted by op (ops that
 * were not evaluated do not break a run). If several runs qualify, the longest wins, then the one
 * with the larger summed "solvedWithinK" fraction, then the lower ops. Null when no op qualifies.
 */
export function edgeBand(
  perOp: readonly EdgeOpRow[],
  opts: EdgeBandOptions = {},
): { lo: number; hi: number } | null {
  const maxPass1 = opts.maxPass1 ?? EDGE_DEFAULTS.maxPass1;
  const minEdge = opts.minEdgeFraction ?? EDGE_DEFAULTS.minEdgeFraction;
  if (!(maxPass1 >= 0 && maxPass1 <= 1)) throw new RangeError(`edgeBand: maxPass1 must be in [0, 1]`);
  if (!(minEdge >= 0 && minEdge <= 1)) throw new RangeError(`edgeBand: minEdgeFraction must be in [0, 1]`);
  const rows = [...perOp].sort((a, b) => a.op - b.op);
  type Run = { lo: number; hi: number; len: number; mass: number };
  const runs: Run[] = [];
  let run: Run | null = null;
  for (const r of rows) {
    const edge = r.fractions.solvedWithinK;
    if (r.pass1 < maxPass1 && edge >= minEdge) {
      if (run) {
        run.hi = r.op;
        run.len++;
        run.mass += edge;
      } else {
        run = { lo: r.op, hi: r.op, len: 1, mass: edge };
        runs.push(run);
      }
    } else {
      run = null;
    }
  }
  let best: Run | null = null;
  for (const r of runs) {
    if (!best || r.len > best.len || (r.len === best.len && r.mass > best.mass)) best = r;
  }
  return best ? { lo: best.lo, hi: best.hi } : null;
}

/** Ids (input order) of problems failing the pass@1 threshold but solved within k samples ([] for no input). */
export function selectEdgeProblems(outcomes: readonly ProblemOutcome[], opts: EdgeOptions = {}): string[] {
  if (outcomes.length === 0) return [];
  validateOutcomes(outcomes, "selectEdgeProblems");
  checkEdgeOptions(opts, "selectEdgeProblems");
  return outcomes.filter((o) => classifyOutcome(o, opts) === "solvedWithinK").map((o) => o.id);
}
