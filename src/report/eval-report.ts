/** The HTML report of one evaluation (summary.json → report.html). */
import {
  describePolicy,
  EVAL_ERROR_KEYS,
  EVAL_ERROR_LABELS,
  type EvalRow,
  type EvalSummary,
  type MetaValue,
} from "../stats/evaluation.js";
import type { CIStat } from "../stats/summary.js";
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

/** What the report says about where the evaluation comes from. */
export interface ReportMeta {
  /** Page title (default: the summary's meta.title, else "Evaluation report"). */
  title?: string;
  /** Shown as key/value pairs under the title, after the summary's own meta. */
  details?: Record<string, MetaValue>;
  /** Relative link of the evaluation's trace explorer: table cells then link to filtered views. */
  explorer?: string;
}

/** Links into the trace explorer: a cell's HTML wrapped in a link to a filtered view. */
type Linker = (row: EvalRow, filters: Record<string, string>, html: string) => string;

/** A linker for the explorer at `href` (undefined: cells stay as they are). */
function explorerLinker(href: string | undefined): Linker {
  if (href === undefined) return (_r, _f, html) => html;
  return (row, filters, html) => {
    const op = row.ops[0] === row.ops[1] ? String(row.ops[0]) : `${row.ops[0]}-${row.ops[1]}`;
    const hash = Object.entries({ op, ...filters })
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
      .join("&");
    return `<a class="xlink" href="${esc(href)}#${esc(hash)}">${html}</a>`;
  };
}

const noLinks = explorerLinker(undefined);

/** The largest reported k of a row and its pass@k. */
export function passAtMax(row: EvalRow): { k: number; stat: CIStat } {
  const k = row.ks[row.ks.length - 1];
  return { k, stat: row.passAtK[k] };
}

function levelText(summary: EvalSummary): string {
  return `${Math.round((summary.options?.level ?? 0.95) * 100)}%`;
}

function opLabel(row: EvalRow): string {
  return String(row.ops[0]);
}

function bandRange(row: EvalRow): string {
  return row.ops[0] === row.ops[1] ? String(row.ops[0]) : `${row.ops[0]}–${row.ops[1]}`;
}

/** Lower edge, upper edge (filled) and mean line of a CI-banded series. */
export function bandedSeries(
  label: string,
  color: string,
  points: { x: number; k?: number; stat: CIStat | undefined }[],
): SeriesSpec[] {
  const pick = (f: (c: CIStat) => number): XYPoint[] =>
    points.map((p) => ({
      x: p.x,
      y: p.stat && Number.isFinite(f(p.stat)) ? f(p.stat) : null,
      ...(p.k !== undefined ? { k: p.k } : {}),
    }));
  return [
    { label: `${label} CI low`, color, data: pick((c) => c.lo), band: "lower" },
    { label: `${label} CI high`, color, data: pick((c) => c.hi), band: "upper" },
    { label, color, data: pick((c) => c.mean) },
  ];
}

/** pass@k vs k (log2 axis) per band, unbiased with CI bands and first-k dashed; per op when no band has problems. */
export function passAtKChart(summary: EvalSummary): ChartSpec {
  const byBand = summary.perBand.length > 0;
  const rows = byBand ? summary.perBand : summary.perOp;
  const series: SeriesSpec[] = [];
  let maxK = 1;
  rows.forEach((row, i) => {
    const color = PALETTE[i % PALETTE.length];
    maxK = Math.max(maxK, ...row.ks);
    const label = byBand ? `${row.key} (ops ${bandRange(row)})` : row.key;
    series.push(
      ...bandedSeries(
        label,
        color,
        row.ks.map((k) => ({ x: Math.log2(k), k, stat: row.passAtK[k] })),
      ),
    );
    series.push({
      label: `${label}, first k`,
      color,
      dashed: true,
      data: row.ks.map((k) => ({ x: Math.log2(k), y: row.passAtKFirst[k]?.mean ?? null, k })),
    });
  });
  return {
    id: "chart-passk",
    title: `pass@k vs k per ${byBand ? "band" : "op"}`,
    type: "line",
    xTitle: "k (log2 scale)",
    yTitle: "pass@k",
    log2x: { maxK },
    y: { percent: true, min: 0, max: 1 },
    series,
    caption: `Solid: unbiased estimator, shaded ${levelText(summary)} bootstrap CI over problems. Dashed: the first-k-samples estimator.`,
  };
}

/** pass@1 and pass@(largest k) against op, with CI bands. */
export function opChart(summary: EvalSummary): ChartSpec {
  const rows = summary.perOp;
  const maxKs = new Set(rows.map((r) => passAtMax(r).k));
  const maxLabel = maxKs.size === 1 ? `pass@${[...maxKs][0]}` : "pass@n (n = samples of the op)";
  const at = (f: (r: EvalRow) => CIStat | undefined) => rows.map((r, i) => ({ x: i, stat: f(r) }));
  const toCategory = (s: SeriesSpec): SeriesSpec => ({
    ...s,
    data: (s.data as XYPoint[]).map((p) => p.y),
  });
  return {
    id: "chart-ops",
    title: `pass@1 and ${maxLabel} vs op`,
    type: "line",
    xTitle: "op (number of operations)",
    yTitle: "pass@k",
    labels: rows.map(opLabel),
    y: { percent: true, min: 0, max: 1 },
    series: [
      ...bandedSeries(
        "pass@1",
        PALETTE[0],
        at((r) => r.passAtK[1]),
      ),
      ...bandedSeries(
        maxLabel,
        PALETTE[1],
        at((r) => passAtMax(r).stat),
      ),
    ].map(toCategory),
    caption: `Unbiased estimator; shaded: ${levelText(summary)} bootstrap CI over problems.`,
  };
}

/** True when every row counts verified with and without extra nodes. */
export function hasByExtra(rows: readonly { byExtra?: unknown }[]): boolean {
  return rows.length > 0 && rows.every((r) => r.byExtra !== undefined);
}

/** The sentence saying which of the two extra-node figures reproduces the paper's. */
export const EXTRA_NOTE =
  "Extra nodes allowed is the reference evaluator's figure (\"perfect_with_extra\" counts as a pass), the one the paper's published numbers report; no extra node is what the strict training reward requires (it zeroes a trace with extra steps).";

/** pass@1 per op with extra nodes allowed and without, with CI bands (null when not recorded). */
export function extraChart(summary: EvalSummary): ChartSpec | null {
  const rows = summary.perOp;
  if (!hasByExtra(rows)) return null;
  const at = (f: (r: EvalRow) => CIStat | undefined) => rows.map((r, i) => ({ x: i, stat: f(r) }));
  const toCategory = (s: SeriesSpec): SeriesSpec => ({ ...s, data: (s.data as XYPoint[]).map((p) => p.y) });
  return {
    id: "chart-extra",
    title: "pass@1 vs op, extra nodes allowed and not",
    type: "line",
    xTitle: "op (number of operations)",
    yTitle: "pass@1",
    labels: rows.map(opLabel),
    y: { percent: true, min: 0, max: 1 },
    series: [
      ...bandedSeries(
        "extra nodes allowed",
        PALETTE[0],
        at((r) => r.byExtra?.allowExtra.passAtK[1]),
      ),
      ...bandedSeries(
        "no extra node",
        PALETTE[4],
        at((r) => r.byExtra?.noExtra.passAtK[1]),
      ),
    ].map(toCategory),
    caption: `Unbiased estimator; shaded: ${levelText(summary)} bootstrap CI over problems. ${EXTRA_NOTE}`,
  };
}

/** Mean errors per sample by category, stacked per op. */
export function errorChart(summary: EvalSummary): ChartSpec {
  const rows = summary.perOp;
  return {
    id: "chart-errors",
    title: "Error taxonomy per op",
    type: "bar",
    stacked: true,
    xTitle: "op (number of operations)",
    yTitle: "errors per sample",
    labels: rows.map(opLabel),
    y: { percent: false, min: 0 },
    series: EVAL_ERROR_KEYS.map((key, i) => ({
      label: EVAL_ERROR_LABELS[key],
      color: PALETTE[i % PALETTE.length],
      stack: "errors",
      data: rows.map((r) => {
        const v = r.errors[key]?.perSample.mean;
        return v !== undefined && Number.isFinite(v) ? v : null;
      }),
    })),
    caption:
      "Mean count per sample: node categories count nodes; wrong answer and parse failure count samples (0 or 1).",
  };
}

/** Answer-only accuracy against verified accuracy per op. */
export function accuracyChart(summary: EvalSummary): ChartSpec {
  const rows = summary.perOp;
  const val = (c: CIStat | undefined) => (c !== undefined && Number.isFinite(c.mean) ? c.mean : null);
  return {
    id: "chart-accuracy",
    title: "Answer-only vs verified accuracy per op",
    type: "bar",
    xTitle: "op (number of operations)",
    yTitle: "fraction of samples",
    labels: rows.map(opLabel),
    y: { percent: true, min: 0, max: 1 },
    series: [
      {
        label: "answer correct (answer-only grading)",
        color: PALETTE[3],
        data: rows.map((r) => val(r.answerAcc)),
      },
      { label: "verified (process-checked)", color: PALETTE[2], data: rows.map((r) => val(r.passAtK[1])) },
    ],
    caption:
      "The gap between the bars is the share of samples with the right answer but a trace that does not verify (false positives of answer-only grading).",
  };
}

function allKs(rows: readonly EvalRow[]): number[] {
  return [...new Set(rows.flatMap((r) => r.ks))].sort((a, b) => a - b);
}

function passKTable(rows: readonly EvalRow[], field: "passAtK" | "passAtKFirst"): string {
  const ks = allKs(rows);
  return table(
    ["group", "ops", "problems", "samples", ...ks.map((k) => `pass@${k}`)],
    rows.map((r) => [
      esc(r.key),
      bandRange(r),
      String(r.problems),
      String(r.samples),
      ...ks.map((k) => ciCell(r[field][k])),
    ]),
  );
}

function accuracyTable(rows: readonly EvalRow[], link: Linker): string {
  return table(
    [
      "group",
      "samples",
      "answer correct",
      "verified (pass@1)",
      "answer right, not verified",
      "count",
      "of right answers",
      "ProcessAcc",
      "truncated",
    ],
    rows.map((r) => [
      link(r, {}, esc(r.key)),
      String(r.counts.samples),
      ciCell(r.answerAcc),
      link(r, { verdict: "verified" }, ciCell(r.passAtK[1])),
      link(r, { verdict: "answerOnly" }, ciCell(r.answerOnly)),
      link(r, { verdict: "answerOnly" }, String(r.counts.answerOnly)),
      r.counts.answerCorrect > 0 ? pct(r.counts.answerOnly / r.counts.answerCorrect) : "–",
      r.processAcc ? ciCell(r.processAcc) : "–",
      ciCell(r.truncated),
    ]),
  );
}

function errorTable(rows: readonly EvalRow[], link: Linker): string {
  return table(
    ["group", "samples", ...EVAL_ERROR_KEYS.map((k) => esc(EVAL_ERROR_LABELS[k]))],
    rows.map((r) => [
      link(r, {}, esc(r.key)),
      String(r.counts.samples),
      ...EVAL_ERROR_KEYS.map((k) => {
        const e = r.errors[k];
        if (!e) return "–";
        const per = Number.isFinite(e.perSample.mean) ? e.perSample.mean.toFixed(2) : "–";
        return `${link(r, { error: k }, ciCell(e.rate))}<br><span class="ci">${per} per sample</span>`;
      }),
    ]),
  );
}

function extraTable(rows: readonly EvalRow[]): string {
  if (!hasByExtra(rows))
    return '<p class="note">Not recorded in this summary (it was written before both figures were kept); the same <code>interplay eval</code> command, run again on its folder, rebuilds it from the samples without sampling.</p>';
  return table(
    [
      "group",
      "ops",
      "problems",
      "pass@1 extras allowed",
      "pass@1 no extras",
      "pass@max extras allowed",
      "pass@max no extras",
      "samples verified only with extras",
    ],
    rows.map((r) => {
      const x = r.byExtra!;
      const k = r.ks[r.ks.length - 1];
      return [
        esc(r.key),
        bandRange(r),
        String(r.problems),
        ciCell(x.allowExtra.passAtK[1]),
        ciCell(x.noExtra.passAtK[1]),
        `<span class="ci">k=${k}</span> ${ciCell(x.allowExtra.passAtK[k])}`,
        `<span class="ci">k=${k}</span> ${ciCell(x.noExtra.passAtK[k])}`,
        String(x.allowExtra.verified - x.noExtra.verified),
      ];
    }),
  );
}

function headlineTable(rows: readonly EvalRow[], link: Linker = noLinks): string {
  return table(
    [
      "group",
      "ops",
      "problems",
      "samples",
      "pass@1",
      "pass@max",
      "answer correct",
      "answer right, not verified",
      "ProcessAcc",
    ],
    rows.map((r) => {
      const m = passAtMax(r);
      return [
        link(r, {}, esc(r.key)),
        bandRange(r),
        String(r.problems),
        String(r.samples),
        link(r, { verdict: "verified" }, ciCell(r.passAtK[1])),
        `<span class="ci">k=${m.k}</span> ${ciCell(m.stat)}`,
        ciCell(r.answerAcc),
        link(r, { verdict: "answerOnly" }, ciCell(r.answerOnly)),
        r.processAcc ? ciCell(r.processAcc) : "–",
      ];
    }),
  );
}

/** Metadata entries of a summary followed by the caller's, later keys winning. */
export function metaEntries(
  summaryMeta: Record<string, MetaValue> | undefined,
  details: Record<string, MetaValue> | undefined,
): [string, MetaValue][] {
  const merged: Record<string, MetaValue> = { ...(summaryMeta ?? {}), ...(details ?? {}) };
  delete merged.title;
  return Object.entries(merged);
}

/** The charts of an evaluation report, in page order. */
export function evalCharts(summary: EvalSummary): ChartSpec[] {
  const extra = extraChart(summary);
  return [
    passAtKChart(summary),
    opChart(summary),
    ...(extra ? [extra] : []),
    errorChart(summary),
    accuracyChart(summary),
  ];
}

/** Renders the self-contained report.html of one evaluation summary. */
export function renderEvalReport(summary: EvalSummary, meta: ReportMeta = {}): string {
  const title =
    meta.title ?? (typeof summary.meta?.title === "string" ? summary.meta.title : "Evaluation report");
  const t = summary.totals;
  const o = summary.options;
  const charts = evalCharts(summary);
  const entries: [string, MetaValue][] = [
    ...metaEntries(summary.meta, meta.details),
    ["problems", t.problems],
    ["samples", t.samples],
    ["ops", t.ops.join(", ")],
    ["verified under", describePolicy(summary.verify)],
    ...(t.contexts.length > 0 ? ([["contexts", t.contexts.join(", ")]] as [string, MetaValue][]) : []),
    ["bands", o.bands.map((b) => `${b.name} ${b.lo === b.hi ? b.lo : `${b.lo}–${b.hi}`}`).join(", ")],
    [
      "bootstrap",
      `${o.resamples} resamples over problems, ${Math.round(o.level * 100)}% percentile CI, seed ${o.seed}`,
    ],
  ];
  const level = levelText(summary);
  const link = explorerLinker(meta.explorer);
  const explorerNote =
    meta.explorer === undefined
      ? ""
      : `<p><a href="${esc(meta.explorer)}"><b>Trace explorer</b></a>: every sample's trace marked step by step, with its predicted and gold graphs. Group names and figures in the tables below link to the matching samples.</p>`;
  const groupsNote =
    summary.perBand.length === 0 ? '<p class="note">No problem falls in a band; bands are omitted.</p>' : "";
  const body = `
<h1>${esc(title)}</h1>
<p class="sub">Process-verified evaluation: a sample counts as correct only when its trace verifies against the gold graph (ProcessAcc = 1) and its answer is right.</p>
${definitionList(entries)}
${explorerNote}
<h2>Summary</h2>
${groupsNote}
${headlineTable([...summary.perBand, ...summary.perOp], link)}
<p class="note">Percent; ${level} bootstrap CIs over problems in brackets. pass@k uses the unbiased estimator; pass@max is at the largest k reported for the group. A sample counts as verified under the policy listed above as "verified under".</p>
<h2>Verified with and without extra nodes</h2>
<p class="note">Both figures from the same samples, whichever policy the run's <code>verified</code> used, under its slip policy. ${esc(EXTRA_NOTE)}</p>
${extraTable([...summary.perBand, ...summary.perOp])}
<h2>Charts</h2>
<div class="charts">
${charts.map(chartFigure).join("\n")}
</div>
<h2>pass@k, unbiased estimator</h2>
<p class="note">pass@k = 1 − C(n−c, k)/C(n, k) per problem (n samples, c verified), averaged over problems.</p>
${passKTable([...summary.perBand, ...summary.perOp], "passAtK")}
<h2>pass@k, first k samples</h2>
<p class="note">A problem passes at k when any of its first k samples (in sample order) is verified, as in the reference implementation.</p>
${passKTable([...summary.perBand, ...summary.perOp], "passAtKFirst")}
<h2>Answer-only vs verified accuracy</h2>
<p class="note">"Answer right, not verified" are the false positives of answer-only grading: the final answer matches but the trace does not verify. "Of right answers" is their share among samples with the right answer (pooled).</p>
${accuracyTable([...summary.perBand, ...summary.perOp], link)}
<h2>Error taxonomy</h2>
<p class="note">Fraction of samples with at least one error of the category (${level} CI), and the mean count per sample.</p>
${errorTable([...summary.perBand, ...summary.perOp], link)}
`;
  return page(title, body, charts);
}
