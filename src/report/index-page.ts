/**
 * One page for a folder of experiments (issue 18 §3): every training run, evaluation and study
 * under a folder, with its kind, model, key figure, date and a link to its own page.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { writeFileAtomic } from "../util/atomic.js";
import { readJsonlSync } from "../util/jsonl.js";
import { esc, page, table } from "./html.js";

/** What the index lists. */
export type EntryKind = "pretrain" | "midtrain" | "rl" | "evaluation" | "study";

/** One listed folder. */
export interface IndexEntry {
  kind: EntryKind;
  /** Folder, relative to the index's folder, with forward slashes. */
  path: string;
  model: string;
  /** The figure a researcher looks for first, in words. */
  figure: string;
  /** Last write of the folder's key file (ISO). */
  date: string;
  /** The folder's page (relative), or null when it has none yet. */
  link: string | null;
  /** An evaluation's trace explorer (relative), when it has one. */
  traces?: string;
}

/** Folders never descended into: a run's checkpoints, installed packages, version control. */
const SKIP = new Set(["checkpoints", "node_modules", ".git"]);

/** How deep below the root the walk looks. */
export const MAX_DEPTH = 6;

const readJson = (p: string): Record<string, unknown> | null => {
  try {
    const v = JSON.parse(readFileSync(p, "utf8")) as unknown;
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
};
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const pct = (v: number | null) => (v === null ? "–" : `${(100 * v).toFixed(1)}%`);
const fix = (v: number | null, d = 4) => (v === null ? "–" : Number(v.toPrecision(d)).toString());

/** The entry of a training run folder, or null. */
function runEntry(dir: string, config: Record<string, unknown>): Omit<IndexEntry, "path" | "link"> | null {
  const kind = config.stage;
  if (kind !== "pretrain" && kind !== "midtrain" && kind !== "rl") return null;
  const metrics = join(dir, "metrics.jsonl");
  const lines = existsSync(metrics)
    ? readJsonlSync(metrics, { bad: "skip" }).map((l) => l.value as Record<string, unknown>)
    : [];
  const last = lines[lines.length - 1] ?? {};
  const steps = num(last.step) ?? 0;
  const total = num(config.steps);
  let figure: string;
  if (kind === "rl") {
    const val = last.val as Record<string, unknown> | undefined;
    figure = `reward ${fix(num(last.reward), 3)}, verified ${pct(num(last.verified))}${val ? `, validation verified ${pct(num(val.verified))}` : ""} at step ${steps}${total ? ` / ${total}` : ""}`;
  } else {
    const valLoss =
      [...lines]
        .reverse()
        .map((l) => num(l.valLoss))
        .find((v) => v !== null) ?? null;
    figure = `loss ${fix(num(last.loss))}, validation ${fix(valLoss)} after ${fix((num(last.tokens) ?? 0) / 1e6, 3)}M tokens (step ${steps}${total ? ` / ${total}` : ""})`;
  }
  const file = existsSync(metrics) ? metrics : join(dir, "config.json");
  return { kind, model: String(config.preset ?? "?"), figure, date: statSync(file).mtime.toISOString() };
}

/** The entry of an evaluation folder (summary.json), or null. */
function evalEntry(dir: string, s: Record<string, unknown>): Omit<IndexEntry, "path" | "link"> | null {
  const bands = s.perBand as
    | { key: string; passAtK: Record<string, { mean: number }>; ks: number[] }[]
    | undefined;
  const totals = s.totals as { problems?: number; samples?: number } | undefined;
  if (!Array.isArray(bands) || !totals) return null;
  const meta = (s.meta ?? {}) as Record<string, unknown>;
  const parts = bands.map((b) => {
    const k = b.ks[b.ks.length - 1];
    return `${b.key} ${pct(b.passAtK["1"]?.mean ?? null)} (pass@${k} ${pct(b.passAtK[String(k)]?.mean ?? null)})`;
  });
  return {
    kind: "evaluation",
    model: String(meta.model ?? "?"),
    figure: `pass@1 ${parts.join("; ") || "–"} over ${totals.problems ?? "?"} problems`,
    date: statSync(join(dir, "summary.json")).mtime.toISOString(),
  };
}

/** The entry of a study folder (study.json, stages.json), or null. */
function studyEntry(dir: string, s: Record<string, unknown>): Omit<IndexEntry, "path" | "link"> | null {
  if (typeof s.name !== "string" || !Array.isArray(s.stages)) return null;
  const done = existsSync(join(dir, "stages.json"))
    ? (JSON.parse(readFileSync(join(dir, "stages.json"), "utf8")) as unknown[])
    : [];
  return {
    kind: "study",
    model: `${s.name} at ${String(s.scale ?? "?")} scale`,
    figure: `${done.length} of ${s.stages.length} stages done`,
    date: statSync(
      join(dir, existsSync(join(dir, "stages.json")) ? "stages.json" : "study.json"),
    ).mtime.toISOString(),
  };
}

/** Every run, evaluation and study under `root`, newest first. */
export function collectIndex(root: string): IndexEntry[] {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`${root} is not a folder`);
  const out: IndexEntry[] = [];
  const rel = (p: string) => relative(root, p).split(sep).join("/") || ".";
  const walk = (dir: string, depth: number) => {
    let entry: Omit<IndexEntry, "path" | "link"> | null = null;
    const cfg = existsSync(join(dir, "config.json")) ? readJson(join(dir, "config.json")) : null;
    if (cfg) entry = runEntry(dir, cfg);
    if (!entry && existsSync(join(dir, "summary.json"))) {
      const s = readJson(join(dir, "summary.json"));
      if (s) entry = evalEntry(dir, s);
    }
    if (!entry && existsSync(join(dir, "study.json"))) {
      const s = readJson(join(dir, "study.json"));
      if (s) entry = studyEntry(dir, s);
    }
    if (entry) {
      const pageFile = join(dir, "report.html");
      const traces = join(dir, "explorer.html");
      out.push({
        ...entry,
        path: rel(dir),
        link: existsSync(pageFile) ? rel(pageFile) : null,
        ...(existsSync(traces) ? { traces: rel(traces) } : {}),
      });
    }
    if (depth >= MAX_DEPTH) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory() && !SKIP.has(e.name) && !e.name.startsWith(".tmp"))
        walk(join(dir, e.name), depth + 1);
    }
  };
  walk(root, 0);
  return out.sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : a.path.localeCompare(b.path)));
}

/** The index page of `entries` (paths relative to the page's folder). */
export function renderIndex(entries: readonly IndexEntry[], title: string): string {
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
  const rows = entries.map((e) => [
    esc(e.kind),
    e.link ? `<a href="${esc(e.link)}"><code>${esc(e.path)}</code></a>` : `<code>${esc(e.path)}</code>`,
    esc(e.model),
    e.traces ? `${esc(e.figure)} (<a href="${esc(e.traces)}">traces</a>)` : esc(e.figure),
    esc(e.date.slice(0, 16).replace("T", " ")),
  ]);
  const summary = [...counts].map(([k, n]) => `${n} ${k}`).join(", ") || "nothing yet";
  const body = `
<h1>${esc(title)}</h1>
<p class="sub">${esc(summary)}; newest first. Each path links to its own page where it has one (a run's page is written at its first checkpoint).</p>
${entries.length ? table(["kind", "folder", "model", "key figure", "date (UTC)"], rows) : '<p class="note">No run, evaluation or study found.</p>'}
`;
  return page(title, body, []);
}

/** Writes `root`/index.html (or `out`) atomically; returns its path and the entries. */
export function writeIndex(
  root: string,
  out = join(root, "index.html"),
): { path: string; entries: IndexEntry[] } {
  const entries = collectIndex(root);
  // Links are written relative to the page's own folder.
  const here = dirname(out);
  const shifted = entries.map((e) => ({
    ...e,
    link: e.link ? relative(here, join(root, e.link)).split(sep).join("/") : null,
    ...(e.traces ? { traces: relative(here, join(root, e.traces)).split(sep).join("/") } : {}),
  }));
  writeFileAtomic(out, renderIndex(shifted, `Experiments under ${root}`));
  return { path: out, entries };
}
