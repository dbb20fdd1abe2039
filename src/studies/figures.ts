/**
 * The paper's figures drawn from a study's own evaluations (every eval stage a series): pass@k vs k
 * per band, pass@1 and pass@k vs op, error categories per band; and the verdict of each claim a
 * comparison carries, judged from its CI.
 */
import { type ChartSpec, PALETTE, type SeriesSpec } from "../report/html.js";
import type { CompareRow, EvalComparison } from "../stats/comparison.js";
import { EVAL_ERROR_KEYS, EVAL_ERROR_LABELS, type EvalRow, type EvalSummary } from "../stats/evaluation.js";
import type { CIStat } from "../stats/summary.js";
import type { Claim } from "./types.js";

/** One evaluation of a study: its stage id and summary. */
export interface StudyEval {
  id: string;
  summary: EvalSummary;
}

const finite = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) ? x : null);
const color = (i: number) => PALETTE[i % PALETTE.length];
const maxKOf = (row: EvalRow) => row.ks[row.ks.length - 1];
/** Band names in first-seen order over the evaluations. */
const bandNames = (evals: readonly StudyEval[]) => [
  ...new Set(evals.flatMap((e) => e.summary.perBand.map((r) => r.key))),
];
const bandRow = (e: StudyEval, band: string) => e.summary.perBand.find((r) => r.key === band);
const opsText = (r: EvalRow | undefined) =>
  r ? (r.ops[0] === r.ops[1] ? `op ${r.ops[0]}` : `op ${r.ops[0]}–${r.ops[1]}`) : "";

/** pass@k vs k (log2 axis), one chart per band, one line per evaluation. */
export function bandPassKCharts(evals: readonly StudyEval[]): ChartSpec[] {
  return bandNames(evals).map((band, b) => {
    let maxK = 1;
    const series: SeriesSpec[] = evals.map((e, i) => {
      const row = bandRow(e, band);
      if (row) maxK = Math.max(maxK, ...row.ks);
      return {
        label: e.id,
        color: color(i),
        data: (row?.ks ?? []).map((k) => ({ x: Math.log2(k), y: finite(row?.passAtK[k]?.mean), k })),
      };
    });
    const row = evals.map((e) => bandRow(e, band)).find((r) => r !== undefined);
    return {
      id: `study-passk-${b}`,
      title: `pass@k vs k, ${band} (${opsText(row)})`,
      type: "line",
      xTitle: "k (log2 scale)",
      yTitle: "pass@k",
      log2x: { maxK },
      y: { percent: true, min: 0, max: 1 },
      series,
      caption: "Unbiased estimator, mean over the band's problems; one line per evaluation of the study.",
    };
  });
}

/** pass@1 vs op and pass@(largest k) vs op, one line per evaluation. */
export function opPassCharts(evals: readonly StudyEval[]): ChartSpec[] {
  const ops = [...new Set(evals.flatMap((e) => e.summary.perOp.map((r) => r.ops[0])))].sort((a, b) => a - b);
  const at = (e: StudyEval, op: number) => e.summary.perOp.find((r) => r.ops[0] === op);
  const ks = new Set(evals.flatMap((e) => e.summary.perOp.map(maxKOf)));
  const kLabel = ks.size === 1 ? `pass@${[...ks][0]}` : "pass@n (n = samples of the op)";
  const chart = (id: string, label: string, value: (r: EvalRow) => CIStat | undefined): ChartSpec => ({
    id,
    title: `${label} vs op`,
    type: "line",
    xTitle: "op (number of operations)",
    yTitle: label,
    labels: ops.map(String),
    y: { percent: true, min: 0, max: 1 },
    series: evals.map((e, i) => ({
      label: e.id,
      color: color(i),
      data: ops.map((op) => {
        const r = at(e, op);
        return r ? finite(value(r)?.mean) : null;
      }),
    })),
    caption: "Unbiased estimator, mean over the op's problems; one line per evaluation of the study.",
  });
  return [
    chart("study-op-pass1", "pass@1", (r) => r.passAtK[1]),
    chart("study-op-passk", kLabel, (r) => r.passAtK[maxKOf(r)]),
  ];
}

/** Share of samples with each error category, one chart per band, one bar group per evaluation. */
export function errorCharts(evals: readonly StudyEval[]): ChartSpec[] {
  return bandNames(evals).map((band, b) => {
    const row = evals.map((e) => bandRow(e, band)).find((r) => r !== undefined);
    return {
      id: `study-errors-${b}`,
      title: `Errors, ${band} (${opsText(row)})`,
      type: "bar",
      xTitle: "error category",
      yTitle: "samples with the error",
      labels: EVAL_ERROR_KEYS.map((k) => EVAL_ERROR_LABELS[k]),
      y: { percent: true, min: 0 },
      series: evals.map((e, i) => ({
        label: e.id,
        color: color(i),
        data: EVAL_ERROR_KEYS.map((k) => finite(bandRow(e, band)?.errors[k]?.rate.mean)),
      })),
      caption: "Fraction of samples with at least one error of the category (mean of per-problem fractions).",
    };
  });
}

/** What the data say about a claim. */
export type Verdict = "reproduced" | "not reproduced" | "not testable here";

/** A claim's verdict and the figure behind it. */
export interface ClaimVerdict {
  verdict: Verdict;
  /** "Δ pass@1 +3.1 [−1.0, +6.6] points", or why it cannot be judged. */
  evidence: string;
}

/** How each expected direction is judged from the CI of after − before. */
export const VERDICT_RULES =
  "up: reproduced when the CI of the difference lies above 0; down: below 0; flat: when the CI includes 0 (no change detected: a wide CI is weak evidence).";

/** A difference of proportions in points, always signed ("+3.1", "−1.0"). */
export const signedPoints = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(100 * x).toFixed(1)}`;

/** A difference and its CI in points: "+3.1 [−1.0, +6.6]". */
export const pointsCI = (d: CIStat) =>
  `${signedPoints(d.mean)} [${signedPoints(d.lo)}, ${signedPoints(d.hi)}]`;

/** The k a claim is judged at on a comparison row: 1, or the row's largest. */
export const claimK = (row: CompareRow, claim: Claim) =>
  claim.metric === "pass1" ? 1 : row.ks[row.ks.length - 1];

/** The comparison row of a claim's band, or undefined. */
export const claimRow = (cmp: EvalComparison, claim: Claim) => cmp.perBand.find((r) => r.key === claim.band);

/** The verdict of `claim` from a difference and its CI at `k` (rules: {@link VERDICT_RULES}); `what` tails the evidence. */
export function judgeDiff(d: CIStat | undefined, k: number, claim: Claim, what = ""): ClaimVerdict {
  if (!d || !Number.isFinite(d.mean))
    return { verdict: "not testable here", evidence: `no pass@${k} difference` };
  const evidence = `Δ pass@${k} ${pointsCI(d)} points${what}`;
  const holds =
    claim.expect === "up" ? d.lo > 0 : claim.expect === "down" ? d.hi < 0 : d.lo <= 0 && d.hi >= 0;
  return { verdict: holds ? "reproduced" : "not reproduced", evidence };
}

/** The verdict of `claim` on one comparison, from the CI of its band's difference (rules: {@link VERDICT_RULES}). */
export function judgeClaim(cmp: EvalComparison, claim: Claim): ClaimVerdict {
  const row = claimRow(cmp, claim);
  if (!row) return { verdict: "not testable here", evidence: `no ${claim.band} band in both evaluations` };
  const k = claimK(row, claim);
  return judgeDiff(row.diff[k], k, claim);
}
