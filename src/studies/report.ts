/**
 * The report of a study: the paper's finding, the stages (folders relative to the report, links to
 * their own pages, results in words), then per comparison charts and the before/after table with CIs.
 */
import { existsSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { type CompareLabels, compareDiffChart, comparePass1Chart } from "../report/compare-report.js";
import { type ChartSpec, chartFigure, ciCell, esc, page, table } from "../report/html.js";
import { loadEvalSummary } from "../report/io.js";
import type { RlMetrics } from "../rl/config.js";
import { type CompareRow, compareEvalSummaries } from "../stats/comparison.js";
import { seedDiff } from "../stats/seeds.js";
import { PAPER_BANDS } from "../stats/summary.js";
import { readJsonlValues } from "../util/jsonl.js";
import {
  bandPassKCharts,
  claimK,
  claimRow,
  errorCharts,
  judgeClaim,
  judgeDiff,
  opPassCharts,
  pointsCI,
  type StudyEval,
  signedPoints,
  VERDICT_RULES,
} from "./figures.js";
import type { StageRecord, Study, TrainStageResult } from "./types.js";

/** Rows of one comparison: per band then per op, pass@1 and pass@max before, after and after − before. */
export function comparisonRows(rows: readonly CompareRow[]): string[][] {
  return rows.map((r) => {
    const k = r.ks[r.ks.length - 1];
    return [
      esc(r.key),
      ciCell(r.before[1]),
      ciCell(r.after[1]),
      ciCell(r.diff[1], true),
      `${ciCell(r.before[k])} @${k}`,
      ciCell(r.after[k]),
      ciCell(r.diff[k], true),
    ];
  });
}

/** ", 4.5M tokens" (and the budget that sized them) where the record has them. */
function trainedOn(r: TrainStageResult): string {
  if (r.tokens === undefined) return "";
  const t = `, ${(r.tokens / 1e6).toFixed(2)}M tokens`;
  return r.budget ? `${t} (sized to ${r.budget.minutes} min at ${r.budget.tokensPerSec} tokens/s)` : t;
}

/** A stage's result in words (numbers in percent for evaluations). */
export function resultText(r: StageRecord): string {
  const pct = (x: number) => (100 * x).toFixed(1);
  switch (r.kind) {
    case "pretrain":
    case "midtrain":
      return `${r.result.steps} steps${trainedOn(r.result)}; loss ${r.result.finalLoss.toFixed(4)}, validation ${Number.isFinite(r.result.finalValLoss) ? r.result.finalValLoss.toFixed(4) : "—"}`;
    case "rl":
      return `${r.result.steps} steps on ${r.result.prompts}${r.result.last ? `; last reward ${r.result.last.reward.toFixed(3)}, verified ${pct(r.result.last.verified)}%` : ""}`;
    case "eval":
      return Object.entries(r.result.bands)
        .map(([band, v]) => `${band}: pass@1 ${pct(v.pass1)}, pass@k ${pct(v.passK)}`)
        .join("; ");
    case "edge":
      return r.result.band ? `edge band op ${r.result.band.lo}–${r.result.band.hi}` : "no edge band found";
  }
}

/** One RL arm's row: its prompts, and its KL, zero-variance share and compute from its metrics.jsonl. */
function rlArmRow(r: StageRecord): string[] {
  if (r.kind !== "rl") return [];
  const path = join(r.dir, "metrics.jsonl");
  const steps = existsSync(path)
    ? readJsonlValues<Partial<RlMetrics>>(path).filter((m) => typeof m.kl === "number")
    : [];
  const last = steps[steps.length - 1];
  const num = (x: number | undefined, f: (v: number) => string) =>
    typeof x === "number" && Number.isFinite(x) ? f(x) : "—";
  const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
  const kls = steps.map((m) => m.kl as number);
  const zero = steps.map((m) => m.zeroVarGroups).filter((x): x is number => typeof x === "number");
  return [
    esc(r.id),
    esc(r.result.prompts),
    String(r.result.steps),
    num(last?.reward, (v) => v.toFixed(3)),
    num(last?.verified, (v) => (100 * v).toFixed(1)),
    kls.length > 0 ? `${kls[kls.length - 1].toExponential(1)} / ${Math.max(...kls).toExponential(1)}` : "—",
    zero.length > 0 ? (100 * mean(zero)).toFixed(1) : "—",
    num(last?.supervisedTokens?.measured, (v) => v.toExponential(2)),
  ];
}

/** A stage folder as the report (in `out`) links it: relative, with forward slashes. */
function folderCell(r: StageRecord, out: string | undefined): string {
  const rel = out ? relative(out, r.dir).split(sep).join("/") : r.dir;
  const pages = [
    ["report.html", "report"],
    ["explorer.html", "traces"],
  ].filter(([f]) => existsSync(join(r.dir, f)));
  const links = pages.map(([f, label]) => `<a href="${esc(`${rel}/${f}`)}">${label}</a>`).join(", ");
  return `<code>${esc(rel)}</code>${links ? ` (${links})` : ""}`;
}

/** The changed-verdicts page of the study's i-th comparison, in the study folder. */
export function compareTracesFile(i: number): string {
  return `compare-${i + 1}-traces.html`;
}

/** Self-contained HTML report of a finished study; `out` is the folder it is written to. */
export function studyReport(s: Study, stages: readonly StageRecord[], out?: string): string {
  const byId = new Map(stages.map((r) => [r.id, r]));
  const charts: ChartSpec[] = [];
  const parts: string[] = [
    `<p>${esc(s.description)}</p>`,
    `<h2>What the paper found</h2><p>${esc(s.finding)}</p>`,
    `<h2>Stages</h2>`,
    table(
      ["stage", "kind", "folder", "seconds", "result"],
      stages.map((r) => [
        esc(r.id),
        esc(r.kind),
        folderCell(r, out),
        r.seconds.toFixed(0),
        esc(resultText(r)),
      ]),
      "text",
    ),
  ];
  const arms = stages.filter((r) => r.kind === "rl");
  if (arms.length > 0)
    parts.push(
      `<h2>RL arms</h2>`,
      table(
        [
          "arm",
          "prompts",
          "steps",
          "reward (last)",
          "verified % (last)",
          "KL (last / max)",
          "zero-variance groups % (mean)",
          "supervised-token equivalents (measured)",
        ],
        arms.map(rlArmRow),
        "text",
      ),
      `<p>KL: the policy's estimated KL to its reference model per token; zero-variance groups: the share of a step's prompt groups whose rollouts all scored alike (they carry no GRPO signal), averaged over the arm's steps; supervised-token equivalents from the engine's measured FLOPs of the arm's rollouts and updates.</p>`,
    );
  const summaries = new Map<string, StudyEval["summary"]>();
  const summary = (id: string) => {
    if (!summaries.has(id)) summaries.set(id, loadEvalSummary(join((byId.get(id) as StageRecord).dir)));
    return summaries.get(id) as StudyEval["summary"];
  };
  const evals: StudyEval[] = stages
    .filter((r) => r.kind === "eval")
    .map((r) => ({ id: r.id, summary: summary(r.id) }));
  const comparisons = s.compare.map((c) => {
    const before = summary(c.before);
    return compareEvalSummaries(before, summary(c.after), { bands: before.options.bands });
  });
  const bands = s.bands ?? PAPER_BANDS;
  // A comparison with seeds is judged on the seed-pooled difference (CI over problems and seeds).
  const pooled = (i: number, bandName: string, k: number) => {
    const c = s.compare[i];
    const seeds = c.seeds as NonNullable<typeof c.seeds>;
    const band = bands.find((b) => b.name === bandName) as (typeof bands)[number];
    const befores = [c.before, ...seeds.before].map(summary);
    return seedDiff(
      befores.length === 1 ? befores[0] : befores,
      [c.after, ...seeds.after].map(summary),
      band,
      k,
    );
  };
  const verdicts = s.compare.flatMap((c, i) =>
    (c.claims ?? []).map((claim) => {
      const row = claimRow(comparisons[i], claim);
      if (!c.seeds || !row) return { c, claim, v: judgeClaim(comparisons[i], claim) };
      const k = claimK(row, claim);
      const d = pooled(i, claim.band, k);
      const per = d.perSeed.map(signedPoints).join(", ");
      return { c, claim, v: judgeDiff(d, k, claim, `; mean of ${d.perSeed.length} seeds (${per})`) };
    }),
  );
  const seeded = s.compare.some((c) => c.seeds);
  if (verdicts.length > 0)
    parts.push(
      `<h2>The paper's claims, judged here</h2>`,
      table(
        ["comparison", "claim", "band", "expected", "observed (95% CI)", "verdict"],
        verdicts.map(({ c, claim, v }) => [
          esc(c.label),
          esc(claim.text),
          esc(claim.band),
          esc(`${claim.metric === "pass1" ? "pass@1" : "pass@k"} ${claim.expect}`),
          esc(v.evidence),
          `<strong>${esc(v.verdict)}</strong>`,
        ]),
        "text",
      ),
      `<p>Claims and bands were fixed before the runs. ${esc(VERDICT_RULES)} ${
        seeded
          ? "Where an arm ran with several RL seeds, the difference is the mean over seeds and its 95% CI comes from a crossed bootstrap: problems and seeds are both drawn with replacement, so the interval holds seed-to-seed variation; the per-seed differences are listed."
          : "One seed per arm: a verdict is a first reading, not a replication."
      }</p>`,
    );
  if (evals.length > 0) {
    const overview = [...bandPassKCharts(evals), ...opPassCharts(evals), ...errorCharts(evals)];
    charts.push(...overview);
    parts.push(
      `<h2>Every evaluation of the study</h2>`,
      `<div class="charts">${overview.map(chartFigure).join("\n")}</div>`,
    );
  }
  s.compare.forEach((c, i) => {
    const cmp = comparisons[i];
    const l: CompareLabels = { before: c.before, after: c.after, level: `${Math.round(cmp.level * 100)}%` };
    const mine = [comparePass1Chart(cmp, l), compareDiffChart(cmp, l)].map((ch) => ({
      ...ch,
      id: `${ch.id}-${i}`,
    }));
    charts.push(...mine);
    parts.push(
      `<h2>${esc(c.label)}: ${esc(c.before)} → ${esc(c.after)}</h2>`,
      `<div class="charts">${mine.map(chartFigure).join("\n")}</div>`,
      `<p>pass@k in percent with 95% bootstrap CIs over problems (${esc(cmp.pairing)} resampling); differences in points.${
        out && existsSync(join(out, compareTracesFile(i)))
          ? ` <a href="${esc(compareTracesFile(i))}">Changed verdicts</a>: the problems whose verified samples went from none, some or all to another, traces side by side.`
          : ""
      }</p>`,
      table(
        ["group", "pass@1 before", "pass@1 after", "Δ pass@1", "pass@k before", "pass@k after", "Δ pass@k"],
        comparisonRows([...cmp.perBand, ...cmp.perOp]),
      ),
    );
    if (c.seeds) {
      const cell = (d: ReturnType<typeof pooled>) => (Number.isFinite(d.mean) ? pointsCI(d) : "—");
      const rows = cmp.perBand.map((r) => {
        const [d1, dk] = [1, r.ks[r.ks.length - 1]].map((k) => pooled(i, r.key, k));
        return [
          esc(r.key),
          esc(cell(d1)),
          esc(d1.perSeed.map(signedPoints).join(", ")),
          esc(`${cell(dk)} @${dk.k}`),
          esc(dk.perSeed.map(signedPoints).join(", ")),
        ];
      });
      parts.push(
        `<p>Over ${c.seeds.after.length + 1} RL seeds (${esc([c.after, ...c.seeds.after].join(", "))}): mean difference in points with a 95% CI over problems and seeds (crossed bootstrap), and each seed's difference.</p>`,
        table(["band", "Δ pass@1 over seeds", "per seed", "Δ pass@k over seeds", "per seed"], rows, "text"),
      );
    }
  });
  return page(`Study ${s.name} (${s.scale})`, parts.join("\n"), charts);
}
