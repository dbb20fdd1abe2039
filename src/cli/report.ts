/** `interplay report` and `interplay compare`: HTML reports from evaluation directories. */
import { statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { policySentence, renderComparison } from "../report/compare-report.js";
import { renderEvalReport } from "../report/eval-report.js";
import { writeIndex } from "../report/index-page.js";
import { EVAL_FILES, loadEvalSummary, summaryPath } from "../report/io.js";
import { writeRunReport } from "../report/run-report.js";
import { compareEvalSummaries, type EvalComparison } from "../stats/comparison.js";
import { describePolicy, type EvalRow, type EvalSummary } from "../stats/evaluation.js";
import { PASSK_ESTIMATORS, type PassKEstimator } from "../stats/passk.js";
import type { CIStat } from "../stats/summary.js";
import { writeFileAtomic } from "../util/atomic.js";
import { choiceOption, parseNat, parsePos } from "./args.js";
import { checkOutputs } from "./outputs.js";
import { pct, renderTable } from "./table.js";

function withCI(c: CIStat | undefined): string {
  if (!c || !Number.isFinite(c.mean)) return "–";
  return `${pct(c.mean)} [${pct(c.lo)}, ${pct(c.hi)}]`;
}

function signed(x: number): string {
  if (!Number.isFinite(x)) return "–";
  const v = (100 * x).toFixed(1);
  return x > 0 && v !== "0.0" ? `+${v}` : v === "-0.0" ? "0.0" : v;
}

function diffCI(c: CIStat | undefined): string {
  if (!c || !Number.isFinite(c.mean)) return "–";
  return `${signed(c.mean)} [${signed(c.lo)}, ${signed(c.hi)}]`;
}

/** Per-band then per-op table of an evaluation summary (percent, bootstrap CIs in brackets). */
export function evalSummaryTable(summary: EvalSummary): string {
  const rows: EvalRow[] = [...summary.perBand, ...summary.perOp];
  if (rows.length === 0) return "(no problems)";
  const body = rows.map((r) => {
    const k = r.ks[r.ks.length - 1];
    return [
      r.key,
      r.problems,
      r.samples,
      withCI(r.passAtK[1]),
      `${pct(r.passAtK[k]?.mean ?? Number.NaN)} @${k}`,
      pct(r.answerAcc.mean),
      pct(r.answerOnly.mean),
      r.processAcc ? pct(r.processAcc.mean) : "–",
    ];
  });
  const level = Math.round(summary.options.level * 100);
  const main = `${renderTable(
    ["group", "problems", "samples", "pass@1", "pass@max", "answer acc", "answer only", "process acc"],
    body,
  )}\n(percent; pass@1 with its ${level}% bootstrap CI over problems; unbiased estimator; "answer only": answer right, trace not verified)`;
  return `${main}\nverified under: ${describePolicy(summary.verify)}\n${extraPolicyTable(rows)}`;
}

/** pass@1 and pass@max with extra nodes allowed and without, side by side (or why not). */
export function extraPolicyTable(rows: readonly EvalRow[]): string {
  if (rows.some((r) => r.byExtra === undefined))
    return "verified with / without extra nodes: not recorded in this summary";
  const body = rows.map((r) => {
    const k = r.ks[r.ks.length - 1];
    const x = r.byExtra!;
    return [
      r.key,
      withCI(x.allowExtra.passAtK[1]),
      `${pct(x.allowExtra.passAtK[k]?.mean ?? Number.NaN)} @${k}`,
      withCI(x.noExtra.passAtK[1]),
      `${pct(x.noExtra.passAtK[k]?.mean ?? Number.NaN)} @${k}`,
    ];
  });
  return `${renderTable(
    ["group", "pass@1 extras allowed", "pass@max extras allowed", "pass@1 no extras", "pass@max no extras"],
    body,
  )}\n(extras allowed: the reference evaluator's "perfect_with_extra" counts as a pass, as in the paper's figures; no extras: the strict reward's view)`;
}

/** Per-band then per-op table of a comparison: pass@1 and pass@max before/after and their differences. */
export function comparisonTable(cmp: EvalComparison, before = "before", after = "after"): string {
  const rows = [...cmp.perBand, ...cmp.perOp];
  if (rows.length === 0) return "(no op evaluated in both)";
  const body = rows.map((r) => {
    const k = r.ks[r.ks.length - 1];
    return [
      r.key,
      r.pairing,
      pct(r.before[1].mean),
      pct(r.after[1].mean),
      diffCI(r.diff[1]),
      k,
      pct(r.before[k].mean),
      pct(r.after[k].mean),
      diffCI(r.diff[k]),
    ];
  });
  return `${renderTable(
    [
      "group",
      "bootstrap",
      `pass@1 ${before}`,
      `pass@1 ${after}`,
      "Δ pass@1",
      "k",
      `pass@k ${before}`,
      `pass@k ${after}`,
      "Δ pass@k",
    ],
    body,
  )}\n(percent; Δ = ${after} − ${before} in points with its ${Math.round(cmp.level * 100)}% bootstrap CI over problems; ${cmp.estimator} estimator)\n${policySentence(cmp, { before, after, level: "" })}`;
}

function defaultReportPath(evalArg: string): string {
  let isDir = false;
  try {
    isDir = statSync(evalArg).isDirectory();
  } catch {
    // loadEvalSummary reports the missing path.
  }
  return isDir ? join(evalArg, EVAL_FILES.report) : join(dirname(evalArg), EVAL_FILES.report);
}

/** The summary.json an --eval/--before/--after value reads (none when it does not exist). */
function summaryInput(evalArg: string): string | undefined {
  try {
    return summaryPath(evalArg);
  } catch {
    return undefined; // loadEvalSummary reports the missing path.
  }
}

interface ReportOpts {
  eval?: string;
  run?: string;
  index?: string;
  out?: string;
  title?: string;
  force?: boolean;
}

interface CompareCliOpts {
  before: string;
  after: string;
  out: string;
  beforeLabel: string;
  afterLabel: string;
  title?: string;
  estimator: PassKEstimator;
  resamples: number;
  seed: number;
  json?: string;
  force?: boolean;
}

/** Registers the report and compare commands. */
export function registerReport(program: Command): void {
  program
    .command("report")
    .description(
      "re-render report.html: of an evaluation directory (--eval, from its summary.json; prints its summary) or of a training run (--run: pretrain, midtrain or rl curves)",
    )
    .option("--eval <dir>", "evaluation directory (or the path of its summary.json)")
    .option("--run <dir>", "run folder of pretrain, midtrain or rl (config.json and metrics.jsonl)")
    .option(
      "--index <dir>",
      "a page listing every run, evaluation and study under a folder (default --out: DIR/index.html)",
    )
    .option(
      "--out <file>",
      "HTML report to write (default: report.html in the evaluation directory, which is replaced; another existing file needs --force)",
    )
    .option("--title <text>", "report title")
    .option("--force", "replace an existing --out file (never the summary)")
    .action((o: ReportOpts) => {
      if ([o.eval, o.run, o.index].filter((x) => x !== undefined).length !== 1)
        throw new Error("give one of --eval DIR, --run DIR or --index DIR");
      if (o.index !== undefined) {
        const own = join(o.index, "index.html");
        const out = o.out ?? own;
        checkOutputs({
          inputs: [],
          files: [{ flag: o.out === undefined ? "index" : "--out", path: out }],
          force: o.force,
          replaceable: [own],
        });
        const { path, entries } = writeIndex(o.index, out);
        console.log(
          renderTable(
            ["kind", "folder", "key figure"],
            entries.map((e) => [e.kind, e.path, e.figure]),
          ),
        );
        console.error(`index of ${entries.length} → ${path}`);
        return;
      }
      if (o.run !== undefined) {
        const own = join(o.run, "report.html");
        const out = o.out ?? own;
        checkOutputs({
          inputs: [
            { flag: "--run", path: join(o.run, "config.json") },
            { flag: "--run", path: join(o.run, "metrics.jsonl") },
          ],
          files: [{ flag: o.out === undefined ? "report" : "--out", path: out }],
          force: o.force,
          replaceable: [own],
        });
        const path = writeRunReport(o.run, { out, ...(o.title !== undefined ? { title: o.title } : {}) });
        console.error(`report → ${path}`);
        return;
      }
      const evalDir = o.eval as string;
      const own = defaultReportPath(evalDir);
      const out = o.out ?? own;
      checkOutputs({
        inputs: [{ flag: "--eval", path: summaryInput(evalDir) }],
        files: [{ flag: o.out === undefined ? "report" : "--out", path: out }],
        force: o.force,
        replaceable: [own],
      });
      const summary = loadEvalSummary(evalDir);
      writeFileAtomic(out, renderEvalReport(summary, o.title !== undefined ? { title: o.title } : {}));
      console.log(evalSummaryTable(summary));
      console.error(`report → ${out}`);
    });

  program
    .command("compare")
    .description("compare two evaluations (e.g. before/after RL): differences in pass@1 and pass@k with CIs")
    .requiredOption("--before <dir>", "first evaluation directory (or its summary.json)")
    .requiredOption("--after <dir>", "second evaluation directory (or its summary.json)")
    .requiredOption("--out <file>", "HTML report to write (an existing file needs --force)")
    .option("--before-label <name>", "name of the first evaluation", "before")
    .option("--after-label <name>", "name of the second evaluation", "after")
    .option("--title <text>", "report title")
    .addOption(choiceOption("--estimator <name>", "pass@k estimator", PASSK_ESTIMATORS).default("unbiased"))
    .option("--resamples <n>", "bootstrap resamples", parsePos("--resamples"), 1000)
    .option("--seed <n>", "bootstrap seed", parseNat("--seed"), 0)
    .option("--json <file>", "also write the comparison as JSON")
    .option("--force", "replace existing --out and --json files (never an input summary)")
    .action((o: CompareCliOpts) => {
      checkOutputs({
        inputs: [
          { flag: "--before", path: summaryInput(o.before) },
          { flag: "--after", path: summaryInput(o.after) },
        ],
        files: [
          { flag: "--out", path: o.out },
          { flag: "--json", path: o.json },
        ],
        force: o.force,
      });
      const before = loadEvalSummary(o.before);
      const after = loadEvalSummary(o.after);
      const cmp = compareEvalSummaries(before, after, {
        estimator: o.estimator,
        resamples: o.resamples,
        seed: o.seed,
      });
      const html = renderComparison(cmp, before, after, {
        beforeLabel: o.beforeLabel,
        afterLabel: o.afterLabel,
        ...(o.title !== undefined ? { title: o.title } : {}),
        details: { before: o.before, after: o.after },
      });
      writeFileAtomic(o.out, html);
      if (o.json) writeFileAtomic(o.json, `${JSON.stringify(cmp, null, 2)}\n`);
      console.log(comparisonTable(cmp, o.beforeLabel, o.afterLabel));
      if (cmp.onlyBefore.length > 0)
        console.log(`ops only in ${o.beforeLabel}: ${cmp.onlyBefore.join(", ")}`);
      if (cmp.onlyAfter.length > 0) console.log(`ops only in ${o.afterLabel}: ${cmp.onlyAfter.join(", ")}`);
      console.error(`comparison (${cmp.pairing} bootstrap) → ${o.out}`);
    });
}
