/**
 * The summary of one process-verified evaluation (verification.md §3, §5): per op and per band,
 * pass@k with the unbiased and the first-k estimators, answer-only against verified accuracy,
 * ProcessAcc and error-category rates, each with a seeded bootstrap CI over problems. It is what
 * summary.json holds and what the HTML report and the before/after comparison read.
 */

import type { ErrorCategory, VerifyPolicy } from "../verify/compare.js";
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
  /**
   * Verified with extra nodes allowed (the reference evaluator's figure). When absent: `verified`
   * if that is true or the trace has no extra node, else `verified` when the policy (the record's
   * or the summary's) allows extras; unknown otherwise (the summary then omits both figures).
   */
  verifiedAllowExtra?: boolean;
  /** Verified and no extra node. When absent: `verified` and no extra node. */
  verifiedNoExtra?: boolean;
  /** The verification policies of `verified` (verifySample's `policy`). */
  policy?: VerifyPolicy;
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

/**
 * The verification policies in words, for reports and CLI tables; `undefined` (a summary written
 * before they were recorded) is said to be not recorded.
 */
export function describePolicy(p: VerifyPolicy | undefined | null): string {
  if (p === undefined || p === null)
    return "not recorded (summaries from before it was recorded: interplay eval and studies allowed extra nodes and slips)";
  return `extra nodes ${p.allowExtra ? "allowed" : "not allowed"} (allowExtra ${p.allowExtra}), arithmetic slips ${p.allowSlips ? "allowed (the lenient opt-in)" : "not allowed"} (allowSlips ${p.allowSlips})`;
}

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
  /**
   * The verification policies the records' `verified` was computed under (default: the records'
   * own `policy`, when they carry one); recorded as the summary's `verify`.
   */
  verify?: VerifyPolicy;
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

/** pass@k of one extra-node policy in a row. */
export interface ExtraPolicyStats {
  /** pass@k, unbiased estimator, by k (the row's ks). */
  passAtK: Record<number, CIStat>;
  /** Verified samples (pooled). */
  verified: number;
}

/**
 * Verified counted both ways of the extra-node policy, under the summary's slip policy (extra nodes
 * are listed by every comparison, so both are known whichever policy the run used).
 */
export interface ByExtra<T> {
  /** Extra nodes allowed: the reference evaluator's "perfect_with_extra" is a pass (the paper's figures). */
  allowExtra: T;
  /** No extra node allowed: the strict view (the strict training reward zeroes a trace with extras). */
  noExtra: T;
}

/** Names of the two extra-node policies, in display order. */
export const EXTRA_POLICIES: readonly (keyof ByExtra<unknown>)[] = ["allowExtra", "noExtra"];

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
  /** pass@k with and without extra nodes (absent in old summaries, or when records cannot tell). */
  byExtra?: ByExtra<ExtraPolicyStats>;
}

/** Verified samples of one extra-node policy for one problem. */
export interface ExtraPolicyCount {
  verified: number;
  /** Position, in sample order, of the first sample verified under the policy (null when none is). */
  firstVerified: number | null;
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
  /** Verified counts with and without extra nodes (absent when not recorded). */
  byExtra?: ByExtra<ExtraPolicyCount>;
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
  /** The verification policies of `verified` (absent: not recorded, as in summaries before issue 12). */
  verify?: VerifyPolicy;
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
  for (const k of ["verifiedAllowExtra", "verifiedNoExtra"] as const) {
    if (r[k] !== undefined && typeof r[k] !== "boolean") throw new Error(`${where}: ${k} must be a boolean`);
  }
  if (r.verifiedNoExtra === true && !r.verified)
    throw new Error(`${where}: verifiedNoExtra but not verified (no extra node passes under any policy)`);
  if (r.verified && r.verifiedAllowExtra === false)
    throw new Error(`${where}: verified but not verifiedAllowExtra (allowing extras only adds passes)`);
  if (r.policy !== undefined && !isPolicy(r.policy))
    throw new Error(`${where}: policy must be {allowExtra: boolean, allowSlips: boolean}`);
}

function isPolicy(p: unknown): p is VerifyPolicy {
  const o = p as VerifyPolicy | null;
  return (
    !!o && typeof o === "object" && typeof o.allowExtra === "boolean" && typeof o.allowSlips === "boolean"
  );
}

/** The one policy of the records and the options (undefined when none says); mixed policies throw. */
function summaryPolicy(
  records: readonly EvalRecord[],
  given: VerifyPolicy | undefined,
): VerifyPolicy | undefined {
  if (given !== undefined && !isPolicy(given))
    throw new Error("buildEvalSummary: verify must be {allowExtra: boolean, allowSlips: boolean}");
  let found: VerifyPolicy | undefined = given;
  for (const [i, r] of records.entries()) {
    const p = r.policy;
    if (p === undefined) continue;
    if (found === undefined) found = { allowExtra: p.allowExtra, allowSlips: p.allowSlips };
    else if (p.allowExtra !== found.allowExtra || p.allowSlips !== found.allowSlips)
      throw new Error(
        `record ${i}: verified under ${JSON.stringify(p)}, but ${given !== undefined ? "the summary's verify option is" : "earlier records were verified under"} ${JSON.stringify(found)}`,
      );
  }
  return found === undefined ? undefined : { allowExtra: found.allowExtra, allowSlips: found.allowSlips };
}

/** A record's verdict under each extra-node policy (allowExtra undefined: the record cannot tell). */
function extraVerdicts(
  r: EvalRecord,
  extra: number,
  policy: VerifyPolicy | undefined,
): { allowExtra: boolean | undefined; noExtra: boolean } {
  const noExtra = r.verifiedNoExtra ?? (r.verified && extra === 0);
  const allowExtra =
    r.verifiedAllowExtra ??
    (r.verified || extra === 0 || (r.policy ?? policy)?.allowExtra === true ? r.verified : undefined);
  return { allowExtra, noExtra };
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

  const policy = summaryPolicy(records, opts.verify);
  const outcomes: ProblemOutcome[] = [];
  const problems: EvalProblemStat[] = [];
  const tallies: Tally[] = [];
  const sampleCounts = new Set<number>();
  // Per problem, the samples' verdicts with and without extra nodes (unless some record cannot tell).
  const extraCorrect: ByExtra<boolean[]>[] = [];
  let extraKnown = true;
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
    const byExtra: ByExtra<boolean[]> = { allowExtra: [], noExtra: [] };
    group.forEach((r, pos) => {
      const counts = errorCounts(r, `problem ${JSON.stringify(id)}, sample ${r.sample}`);
      const x = extraVerdicts(r, counts.extra, policy);
      if (x.allowExtra === undefined) extraKnown = false;
      else {
        byExtra.allowExtra.push(x.allowExtra);
        byExtra.noExtra.push(x.noExtra);
      }
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
    extraCorrect.push(byExtra);
  }
  if (extraKnown) {
    problems.forEach((stat, i) => {
      const x = extraCorrect[i];
      const count = (c: boolean[]): ExtraPolicyCount => {
        const first = c.indexOf(true);
        return { verified: c.filter(Boolean).length, firstVerified: first < 0 ? null : first };
      };
      stat.byExtra = { allowExtra: count(x.allowExtra), noExtra: count(x.noExtra) };
    });
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
  const extraSummary = (which: keyof ByExtra<unknown>) =>
    summarize(
      outcomes.map((o, i) => ({ id: o.id, op: o.op, correct: extraCorrect[i][which] })),
      { ...common, estimator: "unbiased" },
    );
  const extras = extraKnown
    ? { allowExtra: extraSummary("allowExtra"), noExtra: extraSummary("noExtra") }
    : null;

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

  const pooledVerified = (lo: number, hi: number, which: keyof ByExtra<unknown>): number => {
    let n = 0;
    for (const p of problems) if (p.op >= lo && p.op <= hi) n += p.byExtra?.[which].verified ?? 0;
    return n;
  };
  const rows = (
    main: typeof unbiased.perOp,
    first: typeof firstK.perOp,
    extra: ByExtra<typeof unbiased.perOp> | null,
  ): EvalRow[] =>
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
      if (extra !== null) {
        const stats = (which: keyof ByExtra<unknown>): ExtraPolicyStats => ({
          passAtK: extra[which][i].passAtK,
          verified: pooledVerified(r.ops[0], r.ops[1], which),
        });
        row.byExtra = { allowExtra: stats("allowExtra"), noExtra: stats("noExtra") };
      }
      return row;
    });

  const total = pooled(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
  const { errorSamples: _unused, ...totalCounts } = total;
  return {
    format: EVAL_SUMMARY_FORMAT,
    version: EVAL_SUMMARY_VERSION,
    meta: { ...(opts.meta ?? {}) },
    ...(policy !== undefined ? { verify: policy } : {}),
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
    perOp: rows(
      unbiased.perOp,
      firstK.perOp,
      extras && { allowExtra: extras.allowExtra.perOp, noExtra: extras.noExtra.perOp },
    ),
    perBand: rows(
      unbiased.perBand,
      firstK.perBand,
      extras && { allowExtra: extras.allowExtra.perBand, noExtra: extras.noExtra.perBand },
    ),
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
