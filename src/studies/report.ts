/** The report of a study: the paper's finding, then per comparison the before/after table with CIs. */
import { join } from "node:path";
import { ciCell, esc, page, table } from "../report/html.js";
import { loadEvalSummary } from "../report/io.js";
import { type CompareRow, compareEvalSummaries } from "../stats/comparison.js";
import type { StageRecord, Study } from "./types.js";

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

/** What the stages table shows of a stage's result. */
function resultCell(r: StageRecord): unknown {
  if (r.kind === "rl") return { prompts: r.result.prompts, steps: r.result.steps };
  if (r.kind === "eval") return r.result.bands;
  if (r.kind === "edge") return { band: r.result.band };
  return r.result;
}

/** Self-contained HTML report of a finished study. */
export function studyReport(s: Study, stages: readonly StageRecord[]): string {
  const byId = new Map(stages.map((r) => [r.id, r]));
  const parts: string[] = [
    `<p>${esc(s.description)}</p>`,
    `<h2>What the paper found</h2><p>${esc(s.finding)}</p>`,
    `<h2>Stages</h2>`,
    table(
      ["stage", "kind", "folder", "seconds", "result"],
      stages.map((r) => [
        esc(r.id),
        esc(r.kind),
        `<code>${esc(r.dir)}</code>`,
        r.seconds.toFixed(0),
        `<code>${esc(JSON.stringify(resultCell(r)))}</code>`,
      ]),
    ),
  ];
  for (const c of s.compare) {
    const before = loadEvalSummary(join((byId.get(c.before) as StageRecord).dir));
    const after = loadEvalSummary(join((byId.get(c.after) as StageRecord).dir));
    const cmp = compareEvalSummaries(before, after, { bands: before.options.bands });
    parts.push(
      `<h2>${esc(c.label)}: ${esc(c.before)} → ${esc(c.after)}</h2>`,
      `<p>pass@k in percent with 95% bootstrap CIs over problems (${esc(cmp.pairing)} resampling); differences in points.</p>`,
      table(
        ["group", "pass@1 before", "pass@1 after", "Δ pass@1", "pass@k before", "pass@k after", "Δ pass@k"],
        comparisonRows([...cmp.perBand, ...cmp.perOp]),
      ),
    );
  }
  return page(`Study ${s.name} (${s.scale})`, parts.join("\n"), []);
}
