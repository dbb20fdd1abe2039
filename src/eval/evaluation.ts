/**
 * The summary of one process-verified evaluation (verification.md §3, §5): per op and per band,
 * pass@k with the unbiased and the first-k estimators, answer-only against verified accuracy,
 * ProcessAcc and error-category rates, each with a seeded bootstrap CI over problems. It is what
 * summary.json holds and what the HTML report and the before/after comparison read.
 */

import type { ErrorCategory } from "../verify/compare.js";
import { kGrid } from "./passk.js";
import {
  type Band,
  type CIStat,
  type CIStatN,
  PAPER_BANDS,
  type ProblemOutcome,
  summarize,
} from "./summary.js";

/**
 * Error counts of one sample, per verifier category: a count, or the node names as `verifySample`
 * returns them in `errors` (their number is the count). `PenaltyBreakdown` fits too. Missing
 * categories count 0.
 */
export type EvalErrorCounts = Partial<Record<ErrorCategory, number | readonly string[]>>;

/**
 * One verified sample. `{ problemId, op, context, sample, ...verifySample(completion, problem) }`
 * is an EvalRecord (extra fields such as rewards are ignored).
 */
export interface EvalRecord {
  /** Problem id; every sample of a problem carries the same op and context. */
  problemId: string;
  /** Number of operations of the problem. */
  op: number;
  /** Surface context of the problem (optional; kept per problem in the summary). */
  context?: string;
  /** Index of the sample within its problem (integer >= 0, distinct per problem): the first-k order. */
  sample: number;
  /** Verified correct: ProcessAcc = 1 and the answer matches (verifySample's `verified`). */
  verified: boolean;
  /** The extracted answer equals the gold answer, whatever the trace. */
  answerCorrect: boolean;
  /** Mean over gold nodes of step correctness, in [0, 1]. */
  processAcc?: number;
  /** No usable structure could be read from the trace. */
  parseFailed?: boolean;
  /** The trace reached neither `</solution>` nor an answer. */
  truncated?: boolean;
  /** Per-category error counts (or node-name lists). */
  errors?: EvalErrorCounts;
}

/** Error categories of the evaluation taxonomy (verification.md §3), in the spec's order. */
export type EvalErrorKey = ErrorCategory | "wrongAnswer" | "parseFailure";

/** All evaluation error categories, in display order. */
export const EVAL_ERROR_KEYS: readonly EvalErrorKey[] = [
  "missing",
  "extra",
  "wrongValue",
  "wrongDependency",
  "wrongAnswer",
  "arithmeticSlips",
  "parseFailure",
];

/** Human-readable names of the error categories. */
export const EVAL_ERROR_LABELS: Readonly<Record<EvalErrorKey, string>> = {
  missing: "missing node",
  extra: "extra node",
  wrongValue: "wrong value",
  wrongDependency: "wrong dependency",
  wrongAnswer: "wrong answer",
  arithmeticSlips: "arithmetic slip",
  parseFailure: "parse failure",
};

/** A value of the free-form metadata kept in a summary (model, checkpoint, sampling settings…). */
export type MetaValue = string | number | boolean | null;

/** Options of {@link buildEvalSummary}. */
export interface EvalSummaryOptions {
  /** Bands of the per-band rows (default {@link PAPER_BANDS}); bands without problems get no row. */
  bands?: readonly Band[];
  /** ks to report (default 1, 2, 4, … up to each sample count n, and n); ks above a group's n are dropped. */
  ks?: number[];
  /** Bootstrap resamples (default 1000). */
  resamples?: number;
  /** Bootstrap seed (default 0): the same records and options always give the same summary. */
  seed?: number;
  /** Bootstrap confidence level (default 0.95). */
  level?: number;
  /** Metadata copied into the summary (and shown by the report). */
  meta?: Record<string, MetaValue>;
}

/** One error category in a row. */
export interface EvalErrorStat {
  /** Fraction of samples with at least one error of the category (mean of per-problem fractions). */
  rate: CIStat;
  /** Mean count per sample (nodes for node categories; 0/1 for wrong answer and parse failure). */
  perSample: CIStat;
  /** Samples with at least one error of the category. */
  samples: number;
}

/** Pooled sample counts of a row. */
export interface EvalCounts {
  samples: number;
  verified: number;
  answerCorrect: number;
  /** Answer right but trace not verified (false positives of answer-only grading). */
  answerOnly: number;
  truncated: number;
  parseFailed: number;
}

/** One row of an evaluation summary: a single op ("op 7") or a band (its name). */
export interface EvalRow {
  key: string;
  ops: [number, number];
  problems: number;
  /** Smallest sample count among the row's problems; reported ks never exceed it. */
  samples: number;
  /** Reported ks, ascending. */
  ks: number[];
  /** pass@k, unbiased estimator (Chen et al. 2021), by k. */
  passAtK: Record<number, CIStat>;
  /** pass@k, first-k estimator (any of a problem's first k samples verified), by k. */
  passAtKFirst: Record<number, CIStat>;
  /** Answer-only accuracy: fraction of samples whose final answer is right, whatever the trace. */
  answerAcc: CIStat;
  /** Fraction of samples whose answer is right but whose trace is not verified. */
  answerOnly: CIStat;
  /** Fraction of samples that were truncated. */
  truncated: CIStat;
  /** Mean per-problem ProcessAcc (over the problems whose records carry it). */
  processAcc?: CIStatN;
  errors: Record<EvalErrorKey, EvalErrorStat>;
  counts: EvalCounts;
}

/** Per-problem counts (enough to recompute any pass@k, paired with another evaluation by id). */
export interface EvalProblemStat {
  id: string;
  op: number;
  context?: string;
  /** Samples. */
  n: number;
  /** Verified samples. */
  verified: number;
  /** Position, in sample order, of the first verified sample (null when none is). */
  firstVerified: number | null;
  /** Samples with the right answer. */
  answerCorrect: number;
  /** Mean ProcessAcc over the problem's samples (absent when the records do not carry it). */
  processAcc?: number;
}

/** Value of `format` in summary.json. */
export const EVAL_SUMMARY_FORMAT = "interplay-eval-summary";
/** Current summary.json version. */
export const EVAL_SUMMARY_VERSION = 1;

/** What summary.json holds. */
export interface EvalSummary {
  format: typeof EVAL_SUMMARY_FORMAT;
  version: typeof EVAL_SUMMARY_VERSION;
  meta: Record<string, MetaValue>;
  options: {
    bands: Band[];
    /** ks requested by the caller (null: the default grid). */
    ks: number[] | null;
    resamples: number;
    level: number;
    seed: number;
  };
  totals: EvalCounts & { problems: number; ops: number[]; contexts: string[] };
  /** Rows per op, ascending. */
  perOp: EvalRow[];
  /** Rows per band, in band order, non-empty bands only. */
  perBand: EvalRow[];
  /** Per problem, in first-seen order. */
  problems: EvalProblemStat[];
}

/** Sample counts tallied per problem (kept out of the summary's problem list). */
interface Tally extends EvalCounts {
  errorSamples: Record<EvalErrorKey, number>;
}

function countOf(v: number | readonly string[] | undefined, where: string, cat: string): number {
  if (v === undefined) return 0;
  if (Array.isArray(v)) return v.length;
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  throw new Error(`${where}: errors.${cat} must be a count (integer >= 0) or a list of node names`);
}

function validateRecord(r: EvalRecord, i: number): void {
  const where = `record ${i}${typeof r?.problemId === "string" ? ` (problem ${JSON.stringify(r.problemId)})` : ""}`;
  if (r === null || typeof r !== "object") throw new Error(`record ${i}: not an object`);
  if (typeof r.problemId !== "string" || r.problemId === "")
    throw new Error(`${where}: problemId must be a string`);
  if (!Number.isInteger(r.op)) throw new Error(`${where}: op must be an integer, got ${r.op}`);
  if (r.context !== undefined && typeof r.context !== "string")
    throw new Error(`${where}: context must be a string`);
  if (!Number.isInteger(r.sample) || r.sample < 0) {
    throw new Error(`${where}: sample must be an integer >= 0, got ${r.sample}`);
  }
  if (typeof r.verified !== "boolean") throw new Error(`${where}: verified must be a boolean`);
  if (typeof r.answerCorrect !== "boolean") throw new Error(`${where}: answerCorrect must be a boolean`);
  if (r.verified && !r.answerCorrect) {
    throw new Error(`${where}: verified but answerCorrect is false (verified requires the right answer)`);
  }
  if (
    r.processAcc !== undefined &&
    !(Number.isFinite(r.processAcc) && r.processAcc >= 0 && r.processAcc <= 1)
  ) {
    throw new Error(`${where}: processAcc must be in [0, 1], got ${r.processAcc}`);
  }
  if (r.errors !== undefined && (r.errors === null || typeof r.errors !== "object")) {
    throw new Error(`${where}: errors must be an object`);
  }
}

/** Per-sample values of every error category for one record. */
function errorCounts(r: EvalRecord, where: string): Record<EvalErrorKey, number> {
  const e = r.errors ?? {};
  return {
    missing: countOf(e.missing, where, "missing"),
    extra: countOf(e.extra, where, "extra"),
    wrongValue: countOf(e.wrongValue, where, "wrongValue"),
    wrongDependency: countOf(e.wrongDependency, where, "wrongDependency"),
    wrongAnswer: r.answerCorrect ? 0 : 1,
    arithmeticSlips: countOf(e.arithmeticSlips, where, "arithmeticSlips"),
    parseFailure: r.parseFailed ? 1 : 0,
  };
}

function emptyCounts(): EvalCounts {
  return { samples: 0, verified: 0, answerCorrect: 0, answerOnly: 0, truncated: 0, parseFailed: 0 };
}

function emptyErrorSamples(): Record<EvalErrorKey, number> {
  const out = {} as Record<EvalErrorKey, number>;
  for (const k of EVAL_ERROR_KEYS) out[k] = 0;
  return out;
}

function ciOf(c: CIStatN | CIStat | undefined): CIStat {
  if (c === undefined) return { mean: Number.NaN, lo: Number.NaN, hi: Number.NaN };
  return { mean: c.mean, lo: c.lo, hi: c.hi };
}

/**
 * Summarises verified samples per op and per band. Throws a descriptive Error on malformed input
 * (no records, a problem seen with two ops or contexts, duplicate sample indices, verified without
 * the right answer, ProcessAcc on only some of a problem's samples).
 */
export function buildEvalSummary(records: readonly EvalRecord[], opts: EvalSummaryOptions = {}): EvalSummary {
  if (!Array.isArray(records) || records.length === 0) throw new Error("buildEvalSummary: no records given");
  const bands = [...(opts.bands ?? PAPER_BANDS)].map((b) => ({ name: b.name, lo: b.lo, hi: b.hi }));

  const byProblem = new Map<string, EvalRecord[]>();
  records.forEach((r, i) => {
    validateRecord(r, i);
    const group = byProblem.get(r.problemId);
    if (!group) {
      byProblem.set(r.problemId, [r]);
      return;
    }
    const first = group[0];
    const where = `record ${i} (problem ${JSON.stringify(r.problemId)})`;
    if (r.op !== first.op) throw new Error(`${where}: op ${r.op} differs from the problem's op ${first.op}`);
    if (r.context !== first.context) {
      throw new Error(
        `${where}: context ${JSON.stringify(r.context)} differs from ${JSON.stringify(first.context)}`,
      );
    }
    group.push(r);
  });

  const outcomes: ProblemOutcome[] = [];
  const problems: EvalProblemStat[] = [];
  const tallies: Tally[] = [];
  const sampleCounts = new Set<number>();
  for (const [id, unsorted] of byProblem) {
    const group = [...unsorted].sort((a, b) => a.sample - b.sample);
    for (let j = 1; j < group.length; j++) {
      if (group[j].sample === group[j - 1].sample) {
        throw new Error(`problem ${JSON.stringify(id)}: sample ${group[j].sample} appears more than once`);
      }
    }
    const withProcess = group.filter((r) => r.processAcc !== undefined).length;
    if (withProcess !== 0 && withProcess !== group.length) {
      throw new Error(
        `problem ${JSON.stringify(id)}: processAcc is given for ${withProcess} of ${group.length} samples (all or none)`,
      );
    }
    const n = group.length;
    sampleCounts.add(n);
    const tally: Tally = { ...emptyCounts(), errorSamples: emptyErrorSamples() };
    const metrics: Record<string, number[]> = { answerOnly: [], truncated: [] };
    for (const k of EVAL_ERROR_KEYS) {
      metrics[`rate.${k}`] = [];
      metrics[`count.${k}`] = [];
    }
    let firstVerified: number | null = null;
    group.forEach((r, pos) => {
      const counts = errorCounts(r, `problem ${JSON.stringify(id)}, sample ${r.sample}`);
      const answerOnly = r.answerCorrect && !r.verified;
      tally.samples++;
      if (r.verified) {
        tally.verified++;
        if (firstVerified === null) firstVerified = pos;
      }
      if (r.answerCorrect) tally.answerCorrect++;
      if (answerOnly) tally.answerOnly++;
      if (r.truncated) tally.truncated++;
      if (r.parseFailed) tally.parseFailed++;
      metrics.answerOnly.push(answerOnly ? 1 : 0);
      metrics.truncated.push(r.truncated ? 1 : 0);
      for (const k of EVAL_ERROR_KEYS) {
        if (counts[k] > 0) tally.errorSamples[k]++;
        metrics[`rate.${k}`].push(counts[k] > 0 ? 1 : 0);
        metrics[`count.${k}`].push(counts[k]);
      }
    });
    const first = group[0];
    const outcome: ProblemOutcome = {
      id,
      op: first.op,
      correct: group.map((r) => r.verified),
      answerCorrect: group.map((r) => r.answerCorrect),
      metrics,
    };
    const stat: EvalProblemStat = {
      id,
      op: first.op,
      ...(first.context !== undefined ? { context: first.context } : {}),
      n,
      verified: tally.verified,
      firstVerified,
      answerCorrect: tally.answerCorrect,
    };
    if (withProcess > 0) {
      outcome.processAcc = group.map((r) => r.processAcc as number);
      stat.processAcc = outcome.processAcc.reduce((a, b) => a + b, 0) / n;
    }
    outcomes.push(outcome);
    problems.push(stat);
    tallies.push(tally);
  }

  let ks: number[];
  if (opts.ks !== undefined) {
    ks = opts.ks;
  } else {
    const grid = new Set<number>();
    for (const n of sampleCounts) for (const k of kGrid(n)) grid.add(k);
    ks = [...grid].sort((a, b) => a - b);
  }
  const common = { ks, bands, resamples: opts.resamples, seed: opts.seed, level: opts.level };
  const unbiased = summarize(outcomes, { ...common, estimator: "unbiased" });
  const firstK = summarize(
    outcomes.map((o) => ({ id: o.id, op: o.op, correct: o.correct })),
    { ...common, estimator: "firstK" },
  );

  const pooled = (lo: number, hi: number): Tally => {
    const t: Tally = { ...emptyCounts(), errorSamples: emptyErrorSamples() };
    problems.forEach((p, i) => {
      if (p.op < lo || p.op > hi) return;
      const x = tallies[i];
      t.samples += x.samples;
      t.verified += x.verified;
      t.answerCorrect += x.answerCorrect;
      t.answerOnly += x.answerOnly;
      t.truncated += x.truncated;
      t.parseFailed += x.parseFailed;
      for (const k of EVAL_ERROR_KEYS) t.errorSamples[k] += x.errorSamples[k];
    });
    return t;
  };

  const rows = (main: typeof unbiased.perOp, first: typeof firstK.perOp): EvalRow[] =>
    main.map((r, i) => {
      const f = first[i];
      const t = pooled(r.ops[0], r.ops[1]);
      const m = r.metrics ?? {};
      const errors = {} as Record<EvalErrorKey, EvalErrorStat>;
      for (const k of EVAL_ERROR_KEYS) {
        errors[k] = {
          rate: ciOf(m[`rate.${k}`]),
          perSample: ciOf(m[`count.${k}`]),
          samples: t.errorSamples[k],
        };
      }
      const { errorSamples: _unused, ...counts } = t;
      const row: EvalRow = {
        key: r.key,
        ops: r.ops,
        problems: r.problems,
        samples: r.samples,
        ks: Object.keys(r.passAtK)
          .map(Number)
          .sort((a, b) => a - b),
        passAtK: r.passAtK,
        passAtKFirst: f.passAtK,
        answerAcc: ciOf(r.answerAcc),
        answerOnly: ciOf(m.answerOnly),
        truncated: ciOf(m.truncated),
        errors,
        counts,
      };
      if (r.processAcc !== undefined) row.processAcc = r.processAcc;
      return row;
    });

  const total = pooled(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
  const { errorSamples: _unused, ...totalCounts } = total;
  return {
    format: EVAL_SUMMARY_FORMAT,
    version: EVAL_SUMMARY_VERSION,
    meta: { ...(opts.meta ?? {}) },
    options: {
      bands,
      ks: opts.ks !== undefined ? [...opts.ks] : null,
      resamples: opts.resamples ?? 1000,
      level: opts.level ?? 0.95,
      seed: opts.seed ?? 0,
    },
    totals: {
      ...totalCounts,
      problems: problems.length,
      ops: [...new Set(problems.map((p) => p.op))].sort((a, b) => a - b),
      contexts: [...new Set(problems.flatMap((p) => (p.context === undefined ? [] : [p.context])))].sort(),
    },
    perOp: rows(unbiased.perOp, firstK.perOp),
    perBand: rows(unbiased.perBand, firstK.perBand),
    problems,
  };
}

/**
 * Checks that parsed JSON is an evaluation summary this version can read and returns it typed;
 * `source` names the file in errors.
 */
export function parseEvalSummary(json: unknown, source = "summary"): EvalSummary {
  const s = json as Partial<EvalSummary> | null;
  if (s === null || typeof s !== "object" || Array.isArray(s))
    throw new Error(`${source}: not a JSON object`);
  if (s.format !== EVAL_SUMMARY_FORMAT) {
    throw new Error(
      `${source}: not an evaluation summary (format ${JSON.stringify(s.format)}, expected "${EVAL_SUMMARY_FORMAT}")`,
    );
  }
  if (s.version !== EVAL_SUMMARY_VERSION) {
    throw new Error(
      `${source}: summary version ${s.version} is not supported (this build reads ${EVAL_SUMMARY_VERSION})`,
    );
  }
  for (const field of ["perOp", "perBand", "problems"] as const) {
    if (!Array.isArray(s[field])) throw new Error(`${source}: "${field}" must be an array`);
  }
  if (!s.options || typeof s.options !== "object" || !s.totals || typeof s.totals !== "object") {
    throw new Error(`${source}: "options" and "totals" must be objects`);
  }
  return s as EvalSummary;
}
