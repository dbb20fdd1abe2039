/** `interplay report` and `interplay compare`: HTML reports from evaluation directories. */
import { existsSync, statSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import type { Command } from "commander";
import {
  EXPLORER_FILE,
  explorerUnavailable,
  writeCompareExplorer,
  writeExplorer,
  writeExplorerOfFiles,
} from "../eval/explore.js";
import { policySentence, renderComparison } from "../report/compare-report.js";
import { renderEvalReport } from "../report/eval-report.js";
import { EXPLORER_LIMITS } from "../report/explorer-data.js";
import { writeIndex } from "../report/index-page.js";
import { EVAL_FILES, loadEvalSummary, summaryPath } from "../report/io.js";
import { writeRunReport } from "../report/run-report.js";
import { compareEvalSummaries, type EvalComparison } from "../stats/comparison.js";
import { describePolicy, type EvalRow, type EvalSummary } from "../stats/evaluation.js";
import { PASSK_ESTIMATORS, type PassKEstimator } from "../stats/passk.js";
import type { CIStat } from "../stats/summary.js";
import { writeFileAtomic } from "../util/atomic.js";
import { loadProblems } from "../world/load.js";
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

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // the readers report the missing path
  }
}

function defaultReportPath(evalArg: string): string {
  return isDirectory(evalArg) ? join(evalArg, EVAL_FILES.report) : join(dirname(evalArg), EVAL_FILES.report);
}

/** The link from the page at `from` to the file `to` (relative, URL-encoded). */
function relativeHref(from: string, to: string): string {
  return relative(dirname(from), to).split(sep).map(encodeURIComponent).join("/");
}

/** The changed-verdicts page written beside a comparison report: compare.html → compare-traces.html. */
export function tracesPath(out: string): string {
  return out.replace(/(\.html?)?$/i, "-traces.html");
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
  traces: boolean;
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

interface ExploreOpts {
  eval?: string;
  samples?: string;
  results?: string;
  out?: string;
  problems?: string;
  title?: string;
  maxSamples: number;
  maxChars: number;
  seed: number;
  force?: boolean;
}

/** Registers the report, explore and compare commands. */
export function registerReport(program: Command): void {
  program
    .command("explore")
    .description(
      "write the trace explorer of an evaluation folder (explorer.html): traces step by step with their verdicts, predicted and gold graphs, filters",
    )
    .option("--eval <dir>", "evaluation folder (samples.jsonl, results.jsonl, problems.jsonl)")
    .option(
      "--samples <file>",
      "instead of --eval: sample JSONL as `interplay verify` reads it (with --results, --problems, --out)",
    )
    .option("--results <file>", "instead of --eval: the results JSONL `interplay verify` wrote for --samples")
    .option("--out <file>", "page to write (default: explorer.html in the folder, which is replaced)")
    .option(
      "--problems <file>",
      "the evaluated problems (JSONL), for folders written before problems.jsonl was kept",
    )
    .option("--title <text>", "page title")
    .option(
      "--max-samples <n>",
      "most samples on the page; more are reduced to a seeded subset stratified by op × outcome",
      parsePos("--max-samples"),
      EXPLORER_LIMITS.maxSamples,
    )
    .option(
      "--max-chars <n>",
      "most characters of one trace",
      parsePos("--max-chars"),
      EXPLORER_LIMITS.maxChars,
    )
    .option("--seed <n>", "seed of the subset", parseNat("--seed"), EXPLORER_LIMITS.seed)
    .option("--force", "replace an existing --out file")
    .action(async (o: ExploreOpts) => {
      const loose = o.samples !== undefined || o.results !== undefined;
      if (loose === (o.eval !== undefined))
        throw new Error("give --eval DIR, or --samples FILE with --results FILE (and --problems, --out)");
      if (
        loose &&
        (o.samples === undefined ||
          o.results === undefined ||
          o.problems === undefined ||
          o.out === undefined)
      )
        throw new Error("--samples and --results need each other, --problems FILE and --out FILE");
      const own = o.eval !== undefined ? join(o.eval, EXPLORER_FILE) : undefined;
      const out = (o.out ?? own) as string;
      checkOutputs({
        inputs: [
          {
            flag: o.eval !== undefined ? "--eval" : "--samples",
            path: o.eval !== undefined ? join(o.eval, EVAL_FILES.samples) : o.samples,
          },
          {
            flag: o.eval !== undefined ? "--eval" : "--results",
            path: o.eval !== undefined ? join(o.eval, EVAL_FILES.results) : o.results,
          },
          { flag: "--problems", path: o.problems },
        ],
        files: [{ flag: o.out === undefined ? "explorer" : "--out", path: out }],
        force: o.force,
        replaceable: own ? [own] : [],
      });
      const problems = o.problems !== undefined ? await loadProblems(o.problems) : undefined;
      const t0 = performance.now();
      const page = {
        ...(o.title !== undefined ? { title: o.title } : {}),
        maxSamples: o.maxSamples,
        maxChars: o.maxChars,
        seed: o.seed,
      };
      const path =
        o.eval !== undefined
          ? writeExplorer(o.eval, {
              ...(o.out !== undefined ? { out } : {}),
              ...(problems ? { problems } : {}),
              ...page,
            })
          : writeExplorerOfFiles(
              { samples: o.samples!, results: o.results!, problems: problems! },
              out,
              page,
            );
      const s = statSync(path).size;
      console.error(
        `trace explorer → ${path} (${(s / 1e6).toFixed(2)} MB, ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
      );
    });

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
      // The folder's own report links its trace explorer, rewritten beside it when the folder has one.
      // (one written before by `explore --problems` is linked as it is)
      const ownFolder = o.out === undefined && isDirectory(evalDir);
      const explorer =
        ownFolder && explorerUnavailable(evalDir) === null
          ? writeExplorer(evalDir, o.title !== undefined ? { title: `Traces: ${o.title}` } : {})
          : ownFolder && existsSync(join(evalDir, EXPLORER_FILE))
            ? join(evalDir, EXPLORER_FILE)
            : null;
      writeFileAtomic(
        out,
        renderEvalReport(summary, {
          ...(o.title !== undefined ? { title: o.title } : {}),
          ...(explorer ? { explorer: EXPLORER_FILE } : {}),
        }),
      );
      console.log(evalSummaryTable(summary));
      console.error(`report → ${out}${explorer ? `, trace explorer → ${explorer}` : ""}`);
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
    .option(
      "--no-traces",
      "do not write OUT-traces.html (the changed-verdicts explorer, written when both are evaluation folders with samples and problems)",
    )
    .option("--force", "replace existing --out and --json files (never an input summary)")
    .action((o: CompareCliOpts) => {
      const traces =
        [o.before, o.after].every((d) => isDirectory(d) && explorerUnavailable(d) === null) &&
        o.traces !== false
          ? tracesPath(o.out)
          : undefined;
      checkOutputs({
        inputs: [
          { flag: "--before", path: summaryInput(o.before) },
          { flag: "--after", path: summaryInput(o.after) },
        ],
        files: [
          { flag: "--out", path: o.out },
          { flag: "--json", path: o.json },
          { flag: "changed-verdicts page", path: traces },
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
      if (traces)
        writeCompareExplorer(o.before, o.after, traces, {
          beforeLabel: o.beforeLabel,
          afterLabel: o.afterLabel,
          reportHref: relativeHref(traces, o.out),
          details: [
            [o.beforeLabel, o.before],
            [o.afterLabel, o.after],
          ],
        });
      const html = renderComparison(cmp, before, after, {
        beforeLabel: o.beforeLabel,
        afterLabel: o.afterLabel,
        ...(o.title !== undefined ? { title: o.title } : {}),
        details: { before: o.before, after: o.after },
        ...(traces ? { traces: relativeHref(o.out, traces) } : {}),
      });
      writeFileAtomic(o.out, html);
      if (o.json) writeFileAtomic(o.json, `${JSON.stringify(cmp, null, 2)}\n`);
      console.log(comparisonTable(cmp, o.beforeLabel, o.afterLabel));
      if (cmp.onlyBefore.length > 0)
        console.log(`ops only in ${o.beforeLabel}: ${cmp.onlyBefore.join(", ")}`);
      if (cmp.onlyAfter.length > 0) console.log(`ops only in ${o.afterLabel}: ${cmp.onlyAfter.join(", ")}`);
      console.error(
        `comparison (${cmp.pairing} bootstrap) → ${o.out}${traces ? `, changed verdicts → ${traces}` : ""}`,
      );
    });
}
