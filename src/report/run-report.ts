/**
 * The page of a training run (issue 18 §2): the curves of its metrics.jsonl, drawn from its
 * config.json and metrics lines. Pre-training and mid-training: loss (train and validation)
 * against tokens and against wall time, LR, gradient norm, tokens/s. RL: reward (each variant),
 * verified rate (training and validation), KL, clip fraction and share of zero-variance groups,
 * response length, entropy, and the time split of a step (rollout, scoring, update).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { writeFileAtomic } from "../util/atomic.js";
import { readJsonlSync } from "../util/jsonl.js";
import {
  type ChartSpec,
  chartFigure,
  definitionList,
  esc,
  page,
  type SeriesSpec,
  table,
  type XYPoint,
} from "./html.js";

/** The kinds of run a page is drawn for. */
export type RunKind = "pretrain" | "midtrain" | "rl";

/** At most this many points per curve: longer runs are thinned evenly, the last step always kept. */
export const MAX_POINTS = 1000;

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"];

type Line = Record<string, unknown> & { step: number };

/** Every `stride`-th line and the last, so a page stays small whatever the run's length. */
export function thin<T>(lines: readonly T[], max = MAX_POINTS): T[] {
  if (lines.length <= max) return [...lines];
  const stride = Math.ceil(lines.length / max);
  const out = lines.filter((_, i) => i % stride === 0);
  if (out[out.length - 1] !== lines[lines.length - 1]) out.push(lines[lines.length - 1]);
  return out;
}

/** A number at a dotted path of a line (null when absent or not finite). */
function at(line: Line, path: string): number | null {
  let v: unknown = line;
  for (const k of path.split("."))
    v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** Points (x, y) of a path against `x`, skipping lines without the value. */
function points(lines: readonly Line[], x: (l: Line) => number, path: string): XYPoint[] {
  const out: XYPoint[] = [];
  for (const l of lines) {
    const y = at(l, path);
    if (y !== null) out.push({ x: x(l), y, label: `step ${l.step}` });
  }
  return out;
}

/** A line chart of paths against x; series without any point are left out. */
function curves(
  id: string,
  title: string,
  xTitle: string,
  yTitle: string,
  lines: readonly Line[],
  x: (l: Line) => number,
  paths: { path: string; label: string; pointsOnly?: boolean }[],
  y: ChartSpec["y"] = { percent: false },
): ChartSpec | null {
  const series: SeriesSpec[] = [];
  for (const p of paths) {
    const data = points(lines, x, p.path);
    if (data.length === 0) continue;
    series.push({
      label: p.label,
      color: COLORS[series.length % COLORS.length],
      data,
      ...(p.pointsOnly ? { pointsOnly: true } : { noPoints: data.length > 60 }),
    });
  }
  return series.length ? { id, title, type: "line", xTitle, yTitle, y, series } : null;
}

const step = (l: Line) => l.step;
const minutes = (l: Line) => (at(l, "elapsed") ?? 0) / 60;

/** The charts of a pre-training or mid-training run. */
export function trainCharts(all: readonly Line[]): ChartSpec[] {
  const lines = thin(all);
  const mTokens = (l: Line) => (at(l, "tokens") ?? 0) / 1e6;
  const loss = [
    { path: "loss", label: "train loss" },
    { path: "valLoss", label: "validation loss", pointsOnly: true },
  ];
  return [
    curves("run-loss-tokens", "Loss against tokens", "tokens (millions)", "loss", lines, mTokens, loss),
    curves("run-loss-time", "Loss against wall time", "minutes", "loss", lines, minutes, loss),
    curves("run-lr", "Learning rate", "step", "LR", lines, step, [{ path: "lr", label: "LR" }]),
    curves("run-gradnorm", "Gradient norm (before clipping)", "step", "‖g‖", lines, step, [
      { path: "gradNorm", label: "gradient norm" },
    ]),
    curves("run-throughput", "Throughput", "step", "tokens/s", lines, step, [
      { path: "tokensPerSec", label: "tokens/s" },
    ]),
  ].filter((c): c is ChartSpec => c !== null);
}

/** The charts of an RL run. */
export function rlCharts(all: readonly Line[]): ChartSpec[] {
  const lines = thin(all);
  const variants = new Set<string>();
  for (const l of lines)
    for (const k of Object.keys((l.components as Record<string, unknown>) ?? {})) variants.add(k);
  const charts = [
    curves("run-reward", "Reward of the rollouts (mean per step)", "step", "reward", lines, step, [
      { path: "reward", label: "reward (trained on)" },
      ...[...variants].map((v) => ({ path: `components.${v}`, label: v })),
      { path: "val.reward", label: "validation reward", pointsOnly: true },
    ]),
    curves(
      "run-verified",
      "Verified and answer-right rollouts",
      "step",
      "share",
      lines,
      step,
      [
        { path: "verified", label: "verified" },
        { path: "answerCorrect", label: "answer right" },
        { path: "val.verified", label: "validation verified", pointsOnly: true },
      ],
      { percent: true, min: 0, max: 1 },
    ),
    curves("run-kl", "KL to the reference (k3, token mean)", "step", "KL", lines, step, [
      { path: "kl", label: "KL" },
    ]),
    curves(
      "run-clip",
      "Clipped tokens and zero-variance groups",
      "step",
      "share",
      lines,
      step,
      [
        { path: "clipFraction", label: "clip fraction" },
        { path: "zeroVarGroups", label: "zero-variance groups" },
      ],
      { percent: true, min: 0, max: 1 },
    ),
    curves("run-length", "Response length", "step", "tokens", lines, step, [
      { path: "responseLength", label: "mean response tokens" },
    ]),
    curves("run-entropy", "Policy entropy", "step", "nats per token", lines, step, [
      { path: "entropy", label: "entropy" },
    ]),
    curves("run-gradnorm", "Gradient norm", "step", "‖g‖", lines, step, [
      { path: "gradNorm", label: "gradient norm" },
    ]),
  ].filter((c): c is ChartSpec => c !== null);
  const parts = ["rollout", "scoring", "train"] as const;
  if (lines.some((l) => at(l, "seconds.rollout") !== null)) {
    charts.push({
      id: "run-time-split",
      title: "Time of a step",
      type: "bar",
      stacked: true,
      xTitle: "step",
      yTitle: "seconds",
      y: { percent: false },
      labels: lines.map((l) => String(l.step)),
      series: parts.map((p, i) => ({
        label: p === "train" ? "update" : p,
        color: COLORS[i],
        data: lines.map((l) => at(l, `seconds.${p}`)),
        stack: "t",
      })),
      wide: true,
    });
  }
  return charts;
}

/** Scalar settings of a config as dotted keys (objects flattened, long lists counted, not printed). */
export function configEntries(
  config: Record<string, unknown>,
  prefix = "",
): [string, string | number | boolean | null][] {
  const out: [string, string | number | boolean | null][] = [];
  for (const [k, v] of Object.entries(config)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean")
      out.push([key, v]);
    else if (Array.isArray(v))
      out.push([
        key,
        v.length <= 8 && v.every((x) => typeof x !== "object") ? v.join(", ") : `(${v.length} items)`,
      ]);
    else if (typeof v === "object" && prefix.split(".").length < 3)
      out.push(...configEntries(v as Record<string, unknown>, key));
  }
  return out;
}

/** The kind of a run from its config (`stage`), else from its metrics. */
function runKind(config: Record<string, unknown>, lines: readonly Line[]): RunKind {
  const s = config.stage;
  if (s === "pretrain" || s === "midtrain" || s === "rl") return s;
  return lines.some((l) => "reward" in l) ? "rl" : "pretrain";
}

/** The page of a run from its config and metrics lines. */
export function renderRunReport(
  config: Record<string, unknown>,
  lines: readonly Line[],
  opts: { title?: string; status?: string; traces?: string } = {},
): string {
  const kind = runKind(config, lines);
  const charts = kind === "rl" ? rlCharts(lines) : trainCharts(lines);
  const last = lines[lines.length - 1];
  const title =
    opts.title ?? `${kind === "rl" ? "RL" : kind === "midtrain" ? "Mid-training" : "Pre-training"} run`;
  const total = typeof config.steps === "number" ? config.steps : undefined;
  const fmt = (v: number | null, d = 4) => (v === null ? "–" : Number(v.toPrecision(d)).toString());
  const rows: string[][] = last
    ? kind === "rl"
      ? [
          [
            `${last.step}${total ? ` / ${total}` : ""}`,
            fmt(at(last, "reward")),
            fmt(at(last, "verified")),
            fmt(at(last, "kl")),
            fmt(at(last, "val.verified")),
            fmt((at(last, "elapsed") ?? 0) / 60, 3),
          ],
        ]
      : [
          [
            `${last.step}${total ? ` / ${total}` : ""}`,
            fmt(at(last, "tokens"), 6),
            fmt(at(last, "loss")),
            fmt(
              [...lines]
                .reverse()
                .map((l) => at(l, "valLoss"))
                .find((v) => v !== null) ?? null,
            ),
            fmt((at(last, "elapsed") ?? 0) / 60, 3),
          ],
        ]
    : [];
  const header =
    kind === "rl"
      ? ["step", "reward", "verified", "KL", "validation verified", "minutes"]
      : ["step", "tokens", "train loss", "last validation loss", "minutes"];
  const thinned =
    lines.length > MAX_POINTS
      ? ` (${lines.length} steps, drawn every ${Math.ceil(lines.length / MAX_POINTS)}th and the last)`
      : "";
  const body = `
<h1>${esc(title)}</h1>
<p class="sub">${esc(opts.status ?? `${lines.length} steps recorded in metrics.jsonl`)}${esc(thinned)}. Rewritten at every checkpoint and at the end; <code>interplay report --run DIR</code> re-renders it.</p>
${opts.traces ? `<p><a href="${esc(opts.traces)}"><b>Validation traces</b></a>: the greedy validation traces of every validation step in the trace explorer (filter by step to see a problem's trace change over the run).</p>` : ""}
<h2>Latest</h2>
${lines.length ? table(header, rows) : '<p class="note">No step recorded yet.</p>'}
<h2>Curves</h2>
<div class="charts">
${charts.map(chartFigure).join("\n")}
</div>
<h2>Resolved config</h2>
${definitionList(configEntries(config))}
`;
  return page(title, body, charts);
}

/** Reads a run folder's config.json and metrics.jsonl and writes its report.html atomically; returns the page's path. */
export function writeRunReport(
  dir: string,
  opts: { title?: string; status?: string; out?: string } = {},
): string {
  const cfgPath = join(dir, "config.json");
  if (!existsSync(cfgPath)) throw new Error(`${dir} is not a run folder (no config.json)`);
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(readFileSync(cfgPath, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${cfgPath}: ${(e as Error).message}`);
  }
  const metrics = join(dir, "metrics.jsonl");
  const lines = existsSync(metrics)
    ? readJsonlSync(metrics, { bad: "skip" })
        .map((l) => l.value as Line)
        .filter((l) => l !== null && typeof l === "object" && typeof l.step === "number")
    : [];
  const out = opts.out ?? join(dir, "report.html");
  const traces = join(dir, "val", "explorer.html");
  const href = existsSync(traces) ? relative(dirname(out), traces).split(sep).join("/") : undefined;
  writeFileAtomic(out, renderRunReport(config, lines, { ...opts, ...(href ? { traces: href } : {}) }));
  return out;
}
