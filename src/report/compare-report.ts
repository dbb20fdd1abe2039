/** The HTML report comparing two evaluations (before and after RL, or any two models). */
import {
  type CompareOptions,
  type CompareRow,
  compareEvalSummaries,
  type EvalComparison,
} from "../stats/comparison.js";
import { describePolicy, type EvalSummary, type MetaValue } from "../stats/evaluation.js";
import type { CIStat } from "../stats/summary.js";
import { bandedSeries, EXTRA_NOTE, hasByExtra, metaEntries } from "./eval-report.js";
import {
  type ChartSpec,
  chartFigure,
  ciCell,
  definitionList,
  esc,
  PALETTE,
  page,
  pct,
  type SeriesSpec,
  table,
  type XYPoint,
} from "./html.js";

/** What the comparison report says about its two evaluations. */
export interface CompareMeta {
  /** Page title (default "Before vs after"). */
  title?: string;
  /** Name of the first evaluation (default "before"). */
  beforeLabel?: string;
  /** Name of the second evaluation (default "after"). */
  afterLabel?: string;
  /** Shown as key/value pairs under the title. */
  details?: Record<string, MetaValue>;
  /** Relative link of the changed-verdicts explorer of the two evaluations. */
  traces?: string;
}

export interface CompareLabels {
  before: string;
  after: string;
  /** Confidence level as text ("95%"). */
  level: string;
}

function range(r: CompareRow): string {
  return r.ops[0] === r.ops[1] ? String(r.ops[0]) : `${r.ops[0]}–${r.ops[1]}`;
}

/** The largest k of a comparison row. */
export function maxK(r: CompareRow): number {
  return r.ks[r.ks.length - 1];
}

/** A difference cell, coloured when its CI excludes zero. */
function diffCell(c: CIStat | undefined): string {
  const body = ciCell(c, true);
  if (c === undefined || !Number.isFinite(c.lo)) return body;
  if (c.lo > 0) return `<span class="pos">${body}</span>`;
  if (c.hi < 0) return `<span class="neg">${body}</span>`;
  return body;
}

function pairingText(r: CompareRow): string {
  return r.pairing === "paired" ? `paired (${r.shared})` : `unpaired (${r.shared} shared)`;
}

function headlineTable(rows: readonly CompareRow[], l: CompareLabels): string {
  return table(
    [
      "group",
      "ops",
      "problems",
      "bootstrap",
      `pass@1 ${esc(l.before)}`,
      `pass@1 ${esc(l.after)}`,
      "Δ pass@1",
      "k",
      `pass@k ${esc(l.before)}`,
      `pass@k ${esc(l.after)}`,
      "Δ pass@k",
    ],
    rows.map((r) => {
      const k = maxK(r);
      return [
        esc(r.key),
        range(r),
        r.problemsBefore === r.problemsAfter
          ? String(r.problemsBefore)
          : `${r.problemsBefore} / ${r.problemsAfter}`,
        pairingText(r),
        ciCell(r.before[1]),
        ciCell(r.after[1]),
        diffCell(r.diff[1]),
        String(k),
        ciCell(r.before[k]),
        ciCell(r.after[k]),
        diffCell(r.diff[k]),
      ];
    }),
  );
}

function extraTable(rows: readonly CompareRow[], l: CompareLabels): string {
  if (!hasByExtra(rows))
    return '<p class="note">Not recorded in one or both summaries (written before both figures were kept).</p>';
  const cells = (r: CompareRow, which: "allowExtra" | "noExtra") => {
    const x = r.byExtra![which];
    return [ciCell(x.before[1]), ciCell(x.after[1]), diffCell(x.diff[1])];
  };
  return table(
    [
      "group",
      "ops",
      `pass@1 ${esc(l.before)}, extras allowed`,
      `pass@1 ${esc(l.after)}, extras allowed`,
      "Δ pass@1, extras allowed",
      `pass@1 ${esc(l.before)}, no extras`,
      `pass@1 ${esc(l.after)}, no extras`,
      "Δ pass@1, no extras",
      "k",
      "Δ pass@k, extras allowed",
      "Δ pass@k, no extras",
    ],
    rows.map((r) => {
      const k = maxK(r);
      return [
        esc(r.key),
        range(r),
        ...cells(r, "allowExtra"),
        ...cells(r, "noExtra"),
        String(k),
        diffCell(r.byExtra!.allowExtra.diff[k]),
        diffCell(r.byExtra!.noExtra.diff[k]),
      ];
    }),
  );
}

/** What the page says about the two runs' verification policies. */
export function policySentence(cmp: EvalComparison, l: CompareLabels): string {
  const { before, after } = cmp.verify;
  const same =
    before !== null &&
    after !== null &&
    before.allowExtra === after.allowExtra &&
    before.allowSlips === after.allowSlips;
  if (same) return `Both verified with ${describePolicy(before)}.`;
  const warn =
    before !== null && after !== null
      ? " The policies differ: the headline differences compare different definitions of verified."
      : "";
  return `Verified under, ${l.before}: ${describePolicy(before)}; ${l.after}: ${describePolicy(after)}.${warn}`;
}

function diffByKTable(rows: readonly CompareRow[]): string {
  const ks = [...new Set(rows.flatMap((r) => r.ks))].sort((a, b) => a - b);
  return table(
    ["group", "ops", ...ks.map((k) => `Δ pass@${k}`)],
    rows.map((r) => [esc(r.key), range(r), ...ks.map((k) => diffCell(r.diff[k]))]),
  );
}

/** pass@k vs k per band (per op when no band is shared): before dashed, after solid with its CI. */
export function comparePassAtKChart(cmp: EvalComparison, l: CompareLabels): ChartSpec {
  const byBand = cmp.perBand.length > 0;
  const rows = byBand ? cmp.perBand : cmp.perOp;
  const series: SeriesSpec[] = [];
  let top = 1;
  rows.forEach((r, i) => {
    const color = PALETTE[i % PALETTE.length];
    top = Math.max(top, maxK(r));
    series.push(
      ...bandedSeries(
        `${r.key} ${l.after}`,
        color,
        r.ks.map((k) => ({ x: Math.log2(k), k, stat: r.after[k] })),
      ),
    );
    series.push({
      label: `${r.key} ${l.before}`,
      color,
      dashed: true,
      data: r.ks.map((k): XYPoint => ({ x: Math.log2(k), y: r.before[k]?.mean ?? null, k })),
    });
  });
  return {
    id: "chart-compare-passk",
    title: `pass@k vs k per ${byBand ? "band" : "op"}`,
    type: "line",
    xTitle: "k (log2 scale)",
    yTitle: "pass@k",
    log2x: { maxK: top },
    y: { percent: true, min: 0, max: 1 },
    series,
    caption: `Solid: ${l.after} (shaded: ${l.level} CI); dashed: ${l.before}.`,
  };
}

/** pass@1 per op, before and after, with CI bands. */
export function comparePass1Chart(cmp: EvalComparison, l: CompareLabels): ChartSpec {
  const rows = cmp.perOp;
  const cat = (s: SeriesSpec): SeriesSpec => ({ ...s, data: (s.data as XYPoint[]).map((p) => p.y) });
  return {
    id: "chart-compare-pass1",
    title: "pass@1 vs op",
    type: "line",
    xTitle: "op (number of operations)",
    yTitle: "pass@1",
    labels: rows.map((r) => String(r.ops[0])),
    y: { percent: true, min: 0, max: 1 },
    series: [
      ...bandedSeries(
        l.before,
        PALETTE[7],
        rows.map((r, i) => ({ x: i, stat: r.before[1] })),
      ),
      ...bandedSeries(
        l.after,
        PALETTE[0],
        rows.map((r, i) => ({ x: i, stat: r.after[1] })),
      ),
    ].map(cat),
    caption: `Shaded: ${l.level} bootstrap CI over problems.`,
  };
}

/** Vertical CI whiskers at x (a gap between intervals) and markers at the estimates. */
function whiskers(
  label: string,
  color: string,
  items: { x: number; label: string; stat: CIStat | undefined }[],
): SeriesSpec[] {
  const ok = (c: CIStat | undefined): c is CIStat =>
    c !== undefined && Number.isFinite(c.mean) && Number.isFinite(c.lo) && Number.isFinite(c.hi);
  const ci: XYPoint[] = [];
  for (const it of items) {
    if (!ok(it.stat)) continue;
    if (ci.length > 0) ci.push({ x: it.x, y: null });
    ci.push({ x: it.x, y: it.stat.lo, label: it.label }, { x: it.x, y: it.stat.hi, label: it.label });
  }
  return [
    { label: `${label} CI`, color, data: ci, noPoints: true },
    {
      label,
      color,
      pointsOnly: true,
      data: items.filter((it) => ok(it.stat)).map((it) => ({ x: it.x, y: it.stat!.mean, label: it.label })),
    },
  ];
}

/** Differences after − before per op: the estimate as a marker with its CI as a whisker. */
export function compareDiffChart(cmp: EvalComparison, l: CompareLabels): ChartSpec {
  const rows = cmp.perOp;
  const kLabel = new Set(rows.map(maxK)).size === 1 && rows.length > 0 ? `pass@${maxK(rows[0])}` : "pass@max";
  const at = (dx: number, f: (r: CompareRow) => CIStat | undefined) =>
    rows.map((r, i) => ({ x: i + dx, label: `op ${r.ops[0]}`, stat: f(r) }));
  return {
    id: "chart-compare-diff",
    title: `Δ pass@1 and Δ ${kLabel} per op (${l.after} − ${l.before})`,
    type: "line",
    xTitle: "op (number of operations)",
    yTitle: "difference",
    xTickLabels: rows.map((r) => String(r.ops[0])),
    y: { percent: true, signed: true },
    series: [
      ...whiskers(
        "Δ pass@1",
        PALETTE[0],
        at(-0.15, (r) => r.diff[1]),
      ),
      ...whiskers(
        `Δ ${kLabel}`,
        PALETTE[1],
        at(0.15, (r) => r.diff[maxK(r)]),
      ),
    ],
    caption: `Markers: the estimates; whiskers: their ${l.level} bootstrap CI.`,
    wide: true,
  };
}

/** The sentence saying how the difference CIs were computed. */
export function pairingSentence(cmp: EvalComparison): string {
  const base = `${cmp.resamples} bootstrap resamples over problems, ${Math.round(cmp.level * 100)}% percentile CIs, seed ${cmp.seed}`;
  if (cmp.pairing === "paired") {
    return `Differences use a paired bootstrap over problems: both evaluations hold the same ${cmp.sharedProblems} problem ids, so each resample draws problems and takes after − before on the same problems (${base}).`;
  }
  if (cmp.pairing === "unpaired") {
    return `Differences use an unpaired bootstrap: the evaluations do not hold the same problem ids in any group (${cmp.sharedProblems} shared of ${cmp.problemsBefore} / ${cmp.problemsAfter}), so each side is resampled independently (${base}).`;
  }
  return `Differences use a paired bootstrap in the groups where both evaluations hold the same problem ids and an unpaired one elsewhere, as the "bootstrap" column says (${cmp.sharedProblems} problem ids shared of ${cmp.problemsBefore} / ${cmp.problemsAfter}; ${base}).`;
}

/** The charts of a comparison report, in page order. */
export function compareCharts(cmp: EvalComparison, l: CompareLabels): ChartSpec[] {
  return [comparePassAtKChart(cmp, l), comparePass1Chart(cmp, l), compareDiffChart(cmp, l)];
}

/** Renders a self-contained HTML report comparing two evaluation summaries. */
export function renderCompareReport(
  before: EvalSummary,
  after: EvalSummary,
  meta: CompareMeta = {},
  opts: CompareOptions = {},
): string {
  const cmp = compareEvalSummaries(before, after, opts);
  return renderComparison(cmp, before, after, meta);
}

/** Renders a comparison already computed by {@link compareEvalSummaries}. */
export function renderComparison(
  cmp: EvalComparison,
  before: EvalSummary,
  after: EvalSummary,
  meta: CompareMeta = {},
): string {
  const l: CompareLabels = {
    before: meta.beforeLabel ?? "before",
    after: meta.afterLabel ?? "after",
    level: `${Math.round(cmp.level * 100)}%`,
  };
  const title = meta.title ?? `${l.before} vs ${l.after}`;
  const charts = compareCharts(cmp, l);
  const side = (s: EvalSummary): string => {
    const m = metaEntries(s.meta, undefined)
      .map(([k, v]) => `${k}: ${v}`)
      .join("; ");
    return `${s.totals.problems} problems, ${s.totals.samples} samples, verified ${pct(s.totals.verified / s.totals.samples)}%${m ? `; ${m}` : ""}`;
  };
  const entries: [string, MetaValue][] = [
    ...metaEntries(undefined, meta.details),
    [l.before, side(before)],
    [l.after, side(after)],
    ["estimator", cmp.estimator === "unbiased" ? "unbiased (Chen et al. 2021)" : "first k samples"],
    ["difference CIs", cmp.pairing],
  ];
  const missing: string[] = [];
  if (cmp.onlyBefore.length > 0) missing.push(`ops only in ${l.before}: ${cmp.onlyBefore.join(", ")}`);
  if (cmp.onlyAfter.length > 0) missing.push(`ops only in ${l.after}: ${cmp.onlyAfter.join(", ")}`);
  const body = `
<h1>${esc(title)}</h1>
<p class="sub">Comparison of two process-verified evaluations: differences are ${esc(l.after)} − ${esc(l.before)}, in percentage points.</p>
${definitionList(entries)}
<p class="note" id="pairing">${esc(pairingSentence(cmp))}</p>
<p class="note" id="policy">${esc(policySentence(cmp, l))}</p>
${meta.traces === undefined ? "" : `<p><a href="${esc(meta.traces)}"><b>Changed verdicts</b></a>: the problems whose verified samples went from none, some or all to another, traces of both evaluations side by side.</p>`}
${missing.length > 0 ? `<p class="note">${esc(missing.join("; "))} (no row).</p>` : ""}
<h2>Bands</h2>
${cmp.perBand.length > 0 ? headlineTable(cmp.perBand, l) : '<p class="note">No band holds problems of both evaluations.</p>'}
<h2>Charts</h2>
<div class="charts">
${charts.map(chartFigure).join("\n")}
</div>
<h2>Per op</h2>
${headlineTable(cmp.perOp, l)}
<p class="note">Percent; ${l.level} CIs in brackets; k is the largest k both evaluations support for the group. Green / red: the CI of the difference excludes zero.</p>
<h2>Verified with and without extra nodes</h2>
<p class="note">Both figures from the same samples on each side, whichever policy each run's <code>verified</code> used. ${esc(EXTRA_NOTE)}</p>
${extraTable([...cmp.perBand, ...cmp.perOp], l)}
<h2>Δ pass@k at every k</h2>
${diffByKTable([...cmp.perBand, ...cmp.perOp])}
`;
  return page(title, body, charts);
}
