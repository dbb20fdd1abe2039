/**
 * Writing the trace explorer of an evaluation folder (explorer.html beside report.html), and of two
 * folders compared, from their samples.jsonl, results.jsonl and problems.jsonl.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ReportMeta } from "../report/eval-report.js";
import {
  type CompareExplorerOptions,
  type ExplorerEval,
  type ExplorerOptions,
  renderCompareExplorer,
  renderExplorer,
} from "../report/explorer.js";
import { numbered, type SampleInput, type VerdictInput } from "../report/explorer-data.js";
import { EVAL_FILES, writeEvalOutputs } from "../report/io.js";
import type { EvalSummary } from "../stats/evaluation.js";
import { writeFileAtomic } from "../util/atomic.js";
import { readJsonlSync } from "../util/jsonl.js";
import type { GoldProblem } from "../world/load.js";
import { PROBLEMS_FILE, readEvalProblems } from "./problems-file.js";

/** File name of the explorer inside an evaluation folder. */
export const EXPLORER_FILE = "explorer.html";

/** Complete JSON lines of a file (a line cut by a kill ends the read). */
function lines<T>(path: string): T[] {
  return readJsonlSync(path, { bad: "stop" }).map((l) => l.value as T);
}

/** Why a folder cannot have an explorer (null when it can). */
export function explorerUnavailable(dir: string, problems?: ReadonlyMap<string, GoldProblem>): string | null {
  for (const f of [EVAL_FILES.samples, EVAL_FILES.results])
    if (!existsSync(join(dir, f))) return `${dir} has no ${f} (is it an evaluation folder?)`;
  if (!problems && !existsSync(join(dir, PROBLEMS_FILE)))
    return `${dir} has no ${PROBLEMS_FILE} (written by evaluations since the trace explorer; give the problems with --problems FILE)`;
  return null;
}

/** An evaluation folder's samples, verdicts and problems (the problems may be given instead). */
export function readExplorerEval(dir: string, problems?: ReadonlyMap<string, GoldProblem>): ExplorerEval {
  const why = explorerUnavailable(dir, problems);
  if (why) throw new Error(why);
  const ps = problems ?? readEvalProblems(dir)!;
  return {
    problems: ps,
    samples: lines<SampleInput>(join(dir, EVAL_FILES.samples)),
    verdicts: lines<VerdictInput>(join(dir, EVAL_FILES.results)),
  };
}

/** Writes explorer.html into an evaluation folder (or `out`), atomically; returns its path. */
export function writeExplorer(
  dir: string,
  opts: ExplorerOptions & { out?: string; problems?: ReadonlyMap<string, GoldProblem> } = {},
): string {
  const out = opts.out ?? join(dir, EXPLORER_FILE);
  const { out: _, problems, ...page } = opts;
  const html = renderExplorer(readExplorerEval(dir, problems), {
    reportHref: opts.out === undefined ? EVAL_FILES.report : undefined,
    ...page,
  });
  writeFileAtomic(out, html);
  return out;
}

/**
 * Writes the explorer of loose files (`interplay verify`'s samples and results, numbered in order per
 * id) to `out`; returns its path.
 */
export function writeExplorerOfFiles(
  files: { samples: string; results: string; problems: ReadonlyMap<string, GoldProblem> },
  out: string,
  opts: ExplorerOptions = {},
): string {
  const samples = numbered(lines<SampleInput>(files.samples));
  const results = lines<Partial<VerdictInput>>(files.results);
  if (results.length !== samples.length)
    throw new Error(
      `${files.results} holds ${results.length} lines for ${samples.length} sample lines of ${files.samples} (interplay verify writes one per sample line, in order)`,
    );
  // Line i of the results is the verdict of sample line i (error records included).
  const verdicts = results.map((v, i) => {
    if (v && typeof v.id === "string" && v.id !== samples[i].id)
      throw new Error(
        `${files.results}:${i + 1}: the verdict of "${v.id}", but sample line ${i + 1} is of "${samples[i].id}"`,
      );
    return { ...v, id: samples[i].id, sample: samples[i].sample } as VerdictInput;
  });
  const ev = { problems: files.problems, samples, verdicts };
  writeFileAtomic(out, renderExplorer(ev, opts));
  return out;
}

/** Writes explorer.html when the folder allows one; returns its path, or null when it does not. */
export function writeExplorerIfPossible(dir: string, opts: ExplorerOptions = {}): string | null {
  if (explorerUnavailable(dir) !== null) return null;
  return writeExplorer(dir, opts);
}

/** Writes the comparison explorer of two evaluation folders to `out`; returns its path. */
export function writeCompareExplorer(
  beforeDir: string,
  afterDir: string,
  out: string,
  opts: CompareExplorerOptions = {},
): string {
  writeFileAtomic(out, renderCompareExplorer(readExplorerEval(beforeDir), readExplorerEval(afterDir), opts));
  return out;
}

/**
 * Writes an evaluation folder's pages: explorer.html (when the folder has its samples and problems),
 * then summary.json and report.html linking into it.
 */
export function writeEvalPages(
  dir: string,
  summary: EvalSummary,
  meta: ReportMeta = {},
  explorer: ExplorerOptions = {},
): { summary: string; report: string; explorer: string | null } {
  const title = meta.title !== undefined ? `Traces: ${meta.title}` : undefined;
  const x = writeExplorerIfPossible(dir, { ...(title ? { title } : {}), ...explorer });
  const paths = writeEvalOutputs(dir, summary, { ...meta, ...(x ? { explorer: EXPLORER_FILE } : {}) });
  return { ...paths, explorer: x };
}
