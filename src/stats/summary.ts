/**
 * Per-op and per-band summaries of pass@k with bootstrap CIs over problems (spec: verification.md §5).
 */

import { type BootstrapOptions, bootstrapMeanCI } from "./bootstrap.js";
import { type PassKEstimator, problemPassAtK } from "./passk.js";

/** Outcome of one problem: one array element per sample (`correct` = verified correct). */
export interface ProblemOutcome {
  id: string;
  op: number;
  correct: boolean[];
  answerCorrect?: boolean[];
  processAcc?: number[];
  /**
   * Further per-sample values by name (e.g. error counts or 0/1 flags), one per sample; each named
   * metric is summarised like processAcc: the mean of per-problem means, with a bootstrap CI.
   */
  metrics?: Record<string, number[]>;
}

/** A named inclusive op range. */
export interface Band {
  name: string;
  lo: number;
  hi: number;
}

/** The paper's op bands: in-distribution 2–10, OOD-edge 11–14, OOD-hard 15–20. */
export const PAPER_BANDS: readonly Band[] = [
  { name: "ID", lo: 2, hi: 10 },
  { name: "OOD-edge", lo: 11, hi: 14 },
  { name: "OOD-hard", lo: 15, hi: 20 },
];

/** A mean with its bootstrap CI. */
export interface CIStat {
  mean: number;
  lo: number;
  hi: number;
}

/** A mean with its bootstrap CI and the number of problems it is computed over. */
export interface CIStatN extends CIStat {
  n: number;
}

/** One row of a summary: a single op ("op 7") or a band (its name). */
export interface SummaryRow {
  key: string;
  ops: [number, number];
  problems: number;
  /** Smallest sample count among the group's problems; reported ks never exceed it. */
  samples: number;
  passAtK: Record<number, CIStat>;
  /** Mean per-problem answer accuracy, over the problems that provide `answerCorrect`. */
  answerAcc?: CIStatN;
  /** Mean per-problem process accuracy, over the problems that provide `processAcc`. */
  processAcc?: CIStatN;
  /** Per named metric: mean of per-problem means, over the problems that provide it (absent if none do). */
  metrics?: Record<string, CIStatN>;
}

/** Result of {@link summarize}: rows per op (ascending) and per band (in band order, non-empty only). */
export interface Summary {
  perOp: SummaryRow[];
  perBand: SummaryRow[];
}

/** Options of {@link summarize}. */
export interface SummaryOptions {
  /** ks to report (default: every k from 1 to each group's minimum sample count); ks above it are dropped. */
  ks?: number[];
  /** Per-problem estimator (default "unbiased"). */
  estimator?: PassKEstimator;
  /** Bands for the per-band rows (default {@link PAPER_BANDS}); bands without problems get no row. */
  bands?: readonly Band[];
  /** Bootstrap resamples (default 1000). */
  resamples?: number;
  /** Bootstrap seed (default 0). */
  seed?: number;
  /** Bootstrap confidence level (default 0.95). */
  level?: number;
}

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Throws a descriptive Error when a problem outcome is malformed (names the problem id). */
export function validateOutcome(o: ProblemOutcome): void {
  const id = JSON.stringify(o.id);
  if (!Number.isInteger(o.op)) throw new Error(`problem ${id}: op must be an integer, got ${o.op}`);
  if (!Array.isArray(o.correct)) throw new Error(`problem ${id}: correct must be an array of booleans`);
  const n = o.correct.length;
  if (n === 0) throw new Error(`problem ${id}: has zero samples (empty correct array)`);
  if (o.answerCorrect !== undefined && o.answerCorrect.length !== n) {
    throw new Error(`problem ${id}: answerCorrect has ${o.answerCorrect.length} entries, correct has ${n}`);
  }
  if (o.processAcc !== undefined) {
    if (o.processAcc.length !== n) {
      throw new Error(`problem ${id}: processAcc has ${o.processAcc.length} entries, correct has ${n}`);
    }
    for (const v of o.processAcc) {
      if (!Number.isFinite(v)) {
        throw new Error(`problem ${id}: processAcc contains a non-finite value (${v})`);
      }
    }
  }
  if (o.metrics !== undefined) {
    for (const [name, values] of Object.entries(o.metrics)) {
      if (!Array.isArray(values) || values.length !== n) {
        const got = Array.isArray(values) ? `${values.length} entries` : "no array";
        throw new Error(`problem ${id}: metric ${JSON.stringify(name)} has ${got}, correct has ${n}`);
      }
      for (const v of values) {
        if (!Number.isFinite(v)) {
          throw new Error(`problem ${id}: metric ${JSON.stringify(name)} contains a non-finite value (${v})`);
        }
      }
    }
  }
}

/** Validates every outcome (see {@link validateOutcome}) and rejects empty input and duplicate ids. */
export function validateOutcomes(outcomes: readonly ProblemOutcome[], fn = "validateOutcomes"): void {
  if (outcomes.length === 0) throw new Error(`${fn}: no problem outcomes given`);
  const seen = new Set<string>();
  for (const o of outcomes) {
    validateOutcome(o);
    if (seen.has(o.id)) throw new Error(`${fn}: duplicate problem id ${JSON.stringify(o.id)}`);
    seen.add(o.id);
  }
}

function summarizeGroup(
  key: string,
  ops: [number, number],
  group: readonly ProblemOutcome[],
  ks: readonly number[] | undefined,
  estimator: PassKEstimator,
  boot: BootstrapOptions,
): SummaryRow {
  let minN = Number.POSITIVE_INFINITY;
  for (const o of group) minN = Math.min(minN, o.correct.length);
  const reportKs: number[] = [];
  if (ks === undefined) {
    for (let k = 1; k <= minN; k++) reportKs.push(k);
  } else {
    for (const k of ks) if (k <= minN) reportKs.push(k);
  }
  const passAtK: Record<number, CIStat> = {};
  for (const k of reportKs) {
    const perProblem = group.map((o) => problemPassAtK(o.correct, k, estimator));
    const { mean: m, lo, hi } = bootstrapMeanCI(perProblem, boot);
    passAtK[k] = { mean: m, lo, hi };
  }
  const row: SummaryRow = { key, ops, problems: group.length, samples: minN, passAtK };

  const answer = group
    .filter((o) => o.answerCorrect !== undefined)
    .map((o) => mean((o.answerCorrect as boolean[]).map((b) => (b ? 1 : 0))));
  if (answer.length > 0) row.answerAcc = bootstrapMeanCI(answer, boot);

  const process = group.filter((o) => o.processAcc !== undefined).map((o) => mean(o.processAcc as number[]));
  if (process.length > 0) row.processAcc = bootstrapMeanCI(process, boot);

  // Metric names in order of first appearance, so rows list them as the caller defined them.
  const names: string[] = [];
  const seen = new Set<string>();
  for (const o of group) {
    for (const name of Object.keys(o.metrics ?? {})) {
      if (!seen.has(name)) {
        seen.add(name);
        names.push(name);
      }
    }
  }
  if (names.length > 0) {
    const metrics: Record<string, CIStatN> = {};
    for (const name of names) {
      const perProblem: number[] = [];
      for (const o of group) {
        const values = o.metrics?.[name];
        if (values !== undefined) perProblem.push(mean(values));
      }
      metrics[name] = bootstrapMeanCI(perProblem, boot);
    }
    row.metrics = metrics;
  }
  return row;
}

/** Per-op and per-band pass@k (and answer/process accuracy) means with bootstrap CIs over problems. */
export function summarize(outcomes: readonly ProblemOutcome[], opts: SummaryOptions = {}): Summary {
  validateOutcomes(outcomes, "summarize");
  const estimator = opts.estimator ?? "unbiased";
  if (estimator !== "unbiased" && estimator !== "firstK") {
    throw new RangeError(`summarize: unknown estimator ${JSON.stringify(estimator)}`);
  }
  const bands = opts.bands ?? PAPER_BANDS;
  for (const b of bands) {
    if (!(b.lo <= b.hi)) throw new RangeError(`summarize: band ${JSON.stringify(b.name)} has lo > hi`);
  }
  let ks: number[] | undefined;
  if (opts.ks !== undefined) {
    for (const k of opts.ks) {
      if (!Number.isInteger(k) || k < 1) {
        throw new RangeError(`summarize: ks must be integers >= 1, got ${k}`);
      }
    }
    ks = [...new Set(opts.ks)].sort((a, b) => a - b);
  }
  const boot: BootstrapOptions = { resamples: opts.resamples, seed: opts.seed, level: opts.level };

  const byOp = new Map<number, ProblemOutcome[]>();
  for (const o of outcomes) {
    const g = byOp.get(o.op);
    if (g) g.push(o);
    else byOp.set(o.op, [o]);
  }
  const perOp = [...byOp.keys()]
    .sort((a, b) => a - b)
    .map((op) => summarizeGroup(`op ${op}`, [op, op], byOp.get(op)!, ks, estimator, boot));

  const perBand: SummaryRow[] = [];
  for (const b of bands) {
    const group = outcomes.filter((o) => o.op >= b.lo && o.op <= b.hi);
    if (group.length > 0) perBand.push(summarizeGroup(b.name, [b.lo, b.hi], group, ks, estimator, boot));
  }
  return { perOp, perBand };
}
