/**
 * The trace explorer page (explorer.html of an evaluation folder) and its comparison variant: one
 * self-contained file with the data as JSON, dagre inlined for the graph layout and the browser
 * script of explorer-client.ts. Link into it with a hash: `explorer.html#op=5&verdict=answerOnly`.
 */
import { EVAL_ERROR_KEYS, EVAL_ERROR_LABELS } from "../stats/evaluation.js";
import type { GoldProblem } from "../world/load.js";
import { EXPLORER_CLIENT } from "./explorer-client.js";
import {
  type ExplorerLimits,
  explorerLimits,
  explorerProblem,
  explorerSample,
  type JoinedSample,
  joinSamples,
  OUTCOME_LABELS,
  OUTCOMES,
  outcomeOf,
  type SampleInput,
  type SampleLine,
  type StepMark,
  type SubsetInfo,
  sampleTags,
  stratifiedSubset,
  type VerdictInput,
  type VerdictLine,
  type XProblem,
  type XSample,
} from "./explorer-data.js";
import { definitionList, esc, pageHead, scriptJson } from "./html.js";
import { dagreJs } from "./vendor.js";

/** Marks in words (the page's legend and badges). */
export const MARK_LABELS: Readonly<Record<StepMark | "gold", string>> = {
  correct: "correct",
  wrongValue: "wrong value",
  wrongDependency: "wrong dependency",
  slip: "arithmetic slip",
  extra: "extra",
  duplicate: "repeated (ignored)",
  unreadable: "unreadable header",
  missing: "missing gold step",
  gold: "gold",
};

/** One evaluation's inputs to the explorer. */
export interface ExplorerEval {
  problems: ReadonlyMap<string, GoldProblem>;
  samples: readonly SampleInput[];
  verdicts: readonly VerdictInput[];
}

/** Page options. */
export interface ExplorerOptions extends ExplorerLimits {
  title?: string;
  /** Link back to the evaluation's report (relative). */
  reportHref?: string;
  /** Shown as key/value pairs under the title. */
  details?: [string, string | number][];
}

/** A filter of the page: its hash key, label, and options [value, label, count]. */
interface FilterSpec {
  key: string;
  label: string;
  options: [string, string, number][];
}

interface Item {
  p: number;
  tags: Record<string, string[]>;
}

/** Filter specs from the items' tags; option labels and order from `order` (others sorted after). */
function filterSpecs(
  items: readonly Item[],
  defs: { key: string; label: string; order?: readonly string[]; labels?: Record<string, string> }[],
): FilterSpec[] {
  return defs.map((d) => {
    const counts = new Map<string, number>();
    for (const it of items) for (const v of it.tags[d.key] ?? []) counts.set(v, (counts.get(v) ?? 0) + 1);
    const rank = (v: string) => {
      const i = d.order?.indexOf(v) ?? -1;
      return i < 0 ? Number.MAX_SAFE_INTEGER : i;
    };
    const values = [...counts.keys()]
      .filter((v) => v !== "")
      .sort((a, b) => rank(a) - rank(b) || Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0));
    return {
      key: d.key,
      label: d.label,
      options: values.map((v): [string, string, number] => [v, d.labels?.[v] ?? v, counts.get(v) ?? 0]),
    };
  });
}

const ERROR_FILTER_LABELS: Record<string, string> = { ...EVAL_ERROR_LABELS, none: "no error" };
const VERDICT_LABELS: Record<string, string> = { ...OUTCOME_LABELS, truncated: "truncated" };

function subsetSentence(s: SubsetInfo, unit: string, strata: string): string {
  if (s.perStratum === null) return `All ${s.total} ${unit} of the evaluation are on this page.`;
  return (
    `This page carries ${s.kept} of ${s.total} ${unit}: a stratified subset (seed ${s.seed}) in which each of the ` +
    `${s.strata} ${strata} strata keeps up to ${s.perStratum}, drawn at random within the stratum (smaller strata keep all). ` +
    "Counts here are of the subset, not rates of the evaluation: read those in the report."
  );
}

const EXPLORER_STYLE = `
.filters { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: center; padding: 8px 10px; background: var(--head); border: 1px solid var(--line); border-radius: 6px; margin: 8px 0 12px; }
.filters label { font-size: 13px; color: var(--muted); }
.filters select { font: inherit; font-size: 13px; }
.count { color: var(--muted); font-size: 13px; margin: 0 8px; }
.nav { display: flex; gap: 8px; align-items: center; margin: 8px 0; }
button { font: inherit; font-size: 13px; padding: 2px 10px; border: 1px solid var(--line); border-radius: 4px; background: #fff; cursor: pointer; }
button[disabled] { opacity: .45; cursor: default; }
table.list tr.row { cursor: pointer; }
table.list tr.row:hover { background: #f6f8fa; }
table.list td { text-align: left; white-space: normal; }
.problem { border: 1px solid var(--line); border-radius: 6px; padding: 4px 14px; margin: 8px 0; background: #fcfcfd; }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; align-items: start; }
.col h3 { margin-top: 8px; }
ol.steps { padding-left: 22px; margin: 4px 0; }
ol.steps li { margin: 3px 0; padding: 3px 6px; border-left: 4px solid transparent; border-radius: 3px; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; white-space: pre-wrap; word-break: break-word; }
ol.steps li.plain { color: var(--muted); list-style: none; }
ol.steps li.mark-correct { border-color: #2da44e; background: #eefbf1; }
ol.steps li.mark-wrongValue { border-color: #e36209; background: #fff4ea; }
ol.steps li.mark-wrongDependency { border-color: #8250df; background: #f5f0ff; }
ol.steps li.mark-slip { border-color: #bf8700; background: #fff8c5; }
ol.steps li.mark-extra, ol.steps li.mark-duplicate, ol.steps li.mark-unreadable { border-color: #8c959f; background: #f3f4f6; }
ol.steps li.mark-missing { border: 1px dashed #cf222e; border-left-width: 4px; background: #fff; color: #6e7781; list-style: none; }
ol.steps.gold li.step { border-color: #d0d7de; background: #f6f8fa; }
.badge { display: inline-block; font-family: system-ui, sans-serif; font-size: 11px; padding: 0 6px; border-radius: 8px; margin-right: 3px; background: #d0d7de; color: #1f2328; white-space: nowrap; }
.badge.mark-correct, .badge.outcome-verified { background: #2da44e; color: #fff; }
.badge.mark-wrongValue { background: #e36209; color: #fff; }
.badge.mark-wrongDependency { background: #8250df; color: #fff; }
.badge.mark-slip { background: #bf8700; color: #fff; }
.badge.mark-missing { background: #fff; color: #cf222e; border: 1px dashed #cf222e; }
.badge.outcome-answerOnly { background: #bf8700; color: #fff; }
.badge.outcome-wrong, .badge.outcome-parseFailed { background: #cf222e; color: #fff; }
.why { display: block; color: #57606a; font-size: 11.5px; }
.verdict { font-size: 13px; }
.picker { margin: 4px 0; font-size: 12px; color: var(--muted); }
.picker .pick { padding: 0 6px; margin: 1px; font-size: 12px; }
.picker .pick.outcome-verified { color: #1a7f37; }
.picker .pick.current { outline: 2px solid #0969da; }
figure.graph { margin: 0; padding: 8px; border: 1px solid var(--line); border-radius: 6px; overflow: auto; background: #fff; }
figure.graph figcaption { font-weight: 600; margin-bottom: 4px; }
figure.graph svg { display: block; max-width: none; }
figure.graph .edge { fill: none; stroke: #59636e; stroke-width: 1.3; }
figure.graph .edge.bad { stroke: #cf222e; stroke-dasharray: 4 3; }
figure.graph .node rect { fill: #f6f8fa; stroke: #8c959f; stroke-width: 1.2; }
figure.graph .node text { font: 11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; fill: #1f2328; }
figure.graph .node text.head { font-weight: 600; }
figure.graph .node.mark-correct rect { fill: #dafbe1; stroke: #2da44e; }
figure.graph .node.mark-wrongValue rect { fill: #fff1e5; stroke: #e36209; }
figure.graph .node.mark-wrongDependency rect { fill: #fbefff; stroke: #8250df; }
figure.graph .node.mark-slip rect { fill: #fff8c5; stroke: #bf8700; }
figure.graph .node.mark-extra rect { fill: #f3f4f6; stroke: #8c959f; stroke-dasharray: 4 3; }
figure.graph .node.mark-missing rect { fill: #fff; stroke: #cf222e; stroke-dasharray: 4 3; }
.legend { margin-top: 14px; }
`;

/** The page around the explorer's data. */
function explorerPage(
  title: string,
  intro: string,
  data: { mode: "eval" | "compare"; unit: string; labels?: { before: string; after: string } },
  content: { subset: SubsetInfo; problems: XProblem[]; filters: FilterSpec[]; items: unknown[] },
): string {
  const { source, version } = dagreJs();
  const all = { ...data, ...PAGE_DEFS, ...content };
  return `${pageHead(title, `interplay trace explorer; dagre ${version} inlined`, EXPLORER_STYLE)}
<body>
<h1>${esc(title)}</h1>
${intro}
<div id="explorer"><p class="note">Loading…</p></div>
<script type="application/json" id="explorer-data">${scriptJson(all)}</script>
<script>
${source}
</script>
<script>${EXPLORER_CLIENT}</script>
</body>
</html>
`;
}

/** Problem table of the page: the problems of the kept items, in first-use order. */
class ProblemTable {
  readonly list: XProblem[] = [];
  private readonly index = new Map<string, number>();
  add(p: GoldProblem): number {
    const hit = this.index.get(p.id);
    if (hit !== undefined) return hit;
    this.index.set(p.id, this.list.length);
    this.list.push(explorerProblem(p));
    return this.list.length - 1;
  }
}

const PAGE_DEFS = { markLabels: MARK_LABELS, errorLabels: EVAL_ERROR_LABELS, outcomeLabels: OUTCOME_LABELS };

/** Renders the trace explorer of one evaluation. */
export function renderExplorer(ev: ExplorerEval, opts: ExplorerOptions = {}): string {
  const limits = explorerLimits(opts);
  const { joined, unverified } = joinSamples(ev.problems, ev.samples, ev.verdicts);
  const sub = stratifiedSubset(
    joined.map((j) => `op ${j.problem.op} × ${outcomeOf(j.verdict)}`),
    limits.maxSamples,
    limits.seed,
  );
  const table = new ProblemTable();
  const items = sub.kept.map((i) => {
    const j = joined[i];
    const p = table.add(j.problem);
    const x = explorerSample(p, table.list[p], j.line, j.verdict, limits);
    return { p, x, tags: sampleTags(x, table.list[p]) };
  });
  const info: SubsetInfo = {
    total: joined.length,
    kept: items.length,
    seed: limits.seed,
    perStratum: sub.perStratum,
    strata: sub.strata,
  };
  const filters = filterSpecs(items, [
    { key: "op", label: "op" },
    { key: "context", label: "context" },
    { key: "mode", label: "mode", order: ["forward", "reverse"] },
    { key: "verdict", label: "verdict", order: [...OUTCOMES, "truncated"], labels: VERDICT_LABELS },
    { key: "error", label: "error", order: [...EVAL_ERROR_KEYS, "none"], labels: ERROR_FILTER_LABELS },
    ...(items.some((it) => it.x.step !== undefined) ? [{ key: "step", label: "step" }] : []),
  ]);
  const title = opts.title ?? "Trace explorer";
  const back = opts.reportHref ? ` <a href="${esc(opts.reportHref)}">Back to the report</a>.` : "";
  const intro = `<p class="sub">Each sampled trace step by step, marked by the verifier's verdict, beside the gold trace; the predicted and gold dependency graphs laid out by dagre. Filters and the current view live in the address (#…), so any view can be linked.${back}</p>
${definitionList(opts.details ?? [])}
<p class="note" id="subset">${esc(subsetSentence(info, "samples", "op × outcome"))}${unverified > 0 ? esc(` ${unverified} sample lines without a verdict (unreadable lines, or error records of interplay verify) are left out.`) : ""}</p>`;
  return explorerPage(
    title,
    intro,
    { mode: "eval", unit: "samples" },
    { subset: info, problems: table.list, filters, items },
  );
}

/** Options of the comparison explorer. */
export interface CompareExplorerOptions extends ExplorerOptions {
  beforeLabel?: string;
  afterLabel?: string;
  /** Most changed problems on the page (default 500; more are reduced per op × change). */
  maxProblems?: number;
  /** Most samples of one problem per side (default 16). */
  maxPerSide?: number;
}

/** How many of a problem's samples verify: none, some or all. */
export type VerifiedClass = "none" | "some" | "all";

function verifiedClass(c: number, n: number): VerifiedClass {
  return c === 0 ? "none" : c === n ? "all" : "some";
}

/** Per problem id: its samples with verdicts, in sample order. */
function byProblem(ev: ExplorerEval): Map<string, JoinedSample[]> {
  const out = new Map<string, JoinedSample[]>();
  for (const j of joinSamples(ev.problems, ev.samples, ev.verdicts).joined) {
    const l = out.get(j.problem.id);
    if (l) l.push(j);
    else out.set(j.problem.id, [j]);
  }
  for (const l of out.values()) l.sort((a, b) => a.line.sample - b.line.sample);
  return out;
}

/** The problems of two evaluations whose verified class (none / some / all of the samples) changed. */
export function changedProblems(
  before: ExplorerEval,
  after: ExplorerEval,
): { id: string; cb: number; nb: number; ca: number; na: number; from: VerifiedClass; to: VerifiedClass }[] {
  const a = byProblem(before);
  const b = byProblem(after);
  const out = [];
  for (const [id, xs] of a) {
    const ys = b.get(id);
    if (!ys) continue;
    const cb = xs.filter((x) => x.verdict.verified).length;
    const ca = ys.filter((y) => y.verdict.verified).length;
    const from = verifiedClass(cb, xs.length);
    const to = verifiedClass(ca, ys.length);
    if (from !== to) out.push({ id, cb, nb: xs.length, ca, na: ys.length, from, to });
  }
  return out;
}

/** Renders the comparison explorer: problems whose verdict changed, before and after side by side. */
export function renderCompareExplorer(
  before: ExplorerEval,
  after: ExplorerEval,
  opts: CompareExplorerOptions = {},
): string {
  const limits = explorerLimits(opts);
  const maxProblems = opts.maxProblems ?? 500;
  const maxPerSide = opts.maxPerSide ?? 16;
  for (const [k, v] of [
    ["maxProblems", maxProblems],
    ["maxPerSide", maxPerSide],
  ] as const)
    if (!(Number.isInteger(v) && v >= 1)) throw new RangeError(`${k} must be a positive integer, got ${v}`);
  const labels = { before: opts.beforeLabel ?? "before", after: opts.afterLabel ?? "after" };
  const a = byProblem(before);
  const b = byProblem(after);
  const changed = changedProblems(before, after);
  const shared = [...a.keys()].filter((id) => b.has(id)).length;
  const direction = (c: (typeof changed)[number]) => (c.ca / c.na > c.cb / c.nb ? "gained" : "lost");
  const sub = stratifiedSubset(
    changed.map((c) => `op ${a.get(c.id)![0].problem.op} × ${direction(c)}`),
    maxProblems,
    limits.seed,
  );
  const table = new ProblemTable();
  const side = (p: number, js: { line: SampleLine; verdict: VerdictLine }[]): XSample[] =>
    js.slice(0, maxPerSide).map((j) => explorerSample(p, table.list[p], j.line, j.verdict, limits));
  const items = sub.kept.map((i) => {
    const c = changed[i];
    const xs = a.get(c.id)!;
    const p = table.add(xs[0].problem);
    const pr = table.list[p];
    return {
      p,
      before: side(p, xs),
      after: side(p, b.get(c.id)!),
      cb: c.cb,
      nb: c.nb,
      ca: c.ca,
      na: c.na,
      change: `${c.from} → ${c.to}`,
      tags: {
        op: [String(pr.op)],
        context: [pr.context],
        mode: [pr.mode],
        change: [direction(c)],
        transition: [`${c.from} → ${c.to}`],
      },
    };
  });
  const info: SubsetInfo = {
    total: changed.length,
    kept: items.length,
    seed: limits.seed,
    perStratum: sub.perStratum,
    strata: sub.strata,
  };
  const transitions = ["none → some", "none → all", "some → all", "all → some", "all → none", "some → none"];
  const filters = filterSpecs(items, [
    { key: "op", label: "op" },
    { key: "context", label: "context" },
    { key: "mode", label: "mode", order: ["forward", "reverse"] },
    { key: "change", label: "change", order: ["gained", "lost"] },
    { key: "transition", label: "transition", order: transitions },
  ]);
  const title = opts.title ?? `Changed verdicts: ${labels.before} vs ${labels.after}`;
  const back = opts.reportHref ? ` <a href="${esc(opts.reportHref)}">Back to the comparison report</a>.` : "";
  const intro = `<p class="sub">The problems of both evaluations whose verified samples went from none, some or all to another of the three: ${changed.length} of ${shared} shared problems. Each side shows its samples (pick one), the first trace of each side marked by the verifier, and its predicted graph; the gold graph below.${back}</p>
${definitionList(opts.details ?? [])}
<p class="note" id="subset">${esc(subsetSentence(info, "changed problems", "op × change"))}${items.some((it) => it.before.length < it.nb || it.after.length < it.na) ? esc(` Each side carries at most ${maxPerSide} samples of a problem.`) : ""}</p>`;
  return explorerPage(
    title,
    intro,
    { mode: "compare", unit: "problems", labels },
    { subset: info, problems: table.list, filters, items },
  );
}
