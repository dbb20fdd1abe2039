/** Prints a pass@k summary (per op, then per band) as a CLI table. */
import type { ByExtra } from "../stats/evaluation.js";
import type { Summary, SummaryRow } from "../stats/summary.js";
import { pct, renderTable } from "./table.js";

/** Largest sample count for which every k gets its own column; above it, powers of two and n. */
const ALL_K_UP_TO = 32;

function ksOf(rows: SummaryRow[]): number[] {
  const n = Math.min(...rows.map((r) => r.samples));
  if (n <= ALL_K_UP_TO) return Array.from({ length: n }, (_, i) => i + 1);
  const ks: number[] = [];
  for (let k = 1; k < n; k *= 2) ks.push(k);
  ks.push(n);
  return ks;
}

/** Renders the per-op and per-band rows with pass@k (%) columns; pass@1 carries its 95% CI. */
export function summaryTable(summary: Summary): string {
  const rows = [...summary.perOp, ...summary.perBand];
  if (rows.length === 0) return "(no problems with samples)";
  const ks = ksOf(rows);
  const header = ["group", "problems", "samples", "answer acc", "process acc", ...ks.map((k) => `pass@${k}`)];
  const body = rows.map((r) => [
    r.key,
    r.problems,
    r.samples,
    r.answerAcc ? pct(r.answerAcc.mean) : "–",
    r.processAcc ? pct(r.processAcc.mean) : "–",
    ...ks.map((k) => {
      const c = r.passAtK[k];
      if (!c) return "–";
      return k === 1 ? `${pct(c.mean)} [${pct(c.lo)}, ${pct(c.hi)}]` : pct(c.mean);
    }),
  ]);
  const note =
    Math.min(...rows.map((r) => r.samples)) > ALL_K_UP_TO
      ? "\n(k shown at powers of two; every k is in the JSON summary)"
      : "";
  return `${renderTable(header, body)}\n(percent; pass@1 with its 95% bootstrap CI over problems; unbiased estimator)${note}`;
}

/** pass@1 (with its CI) and pass@max with extra nodes allowed and without, per op then per band. */
export function extraSummaryTable(s: ByExtra<Summary>): string {
  const allow = [...s.allowExtra.perOp, ...s.allowExtra.perBand];
  const none = [...s.noExtra.perOp, ...s.noExtra.perBand];
  if (allow.length === 0) return "(no problems with samples)";
  const cell = (r: SummaryRow, k: number) => {
    const c = r.passAtK[k];
    if (!c) return "–";
    return k === 1 ? `${pct(c.mean)} [${pct(c.lo)}, ${pct(c.hi)}]` : `${pct(c.mean)} @${k}`;
  };
  const body = allow.map((r, i) => [
    r.key,
    cell(r, 1),
    cell(r, r.samples),
    cell(none[i], 1),
    cell(none[i], none[i].samples),
  ]);
  return `${renderTable(
    ["group", "pass@1 extras allowed", "pass@max extras allowed", "pass@1 no extras", "pass@max no extras"],
    body,
  )}\n(extras allowed: the reference evaluator's "perfect_with_extra" counts as a pass, as in the paper's figures; no extras: the strict reward's view)`;
}
