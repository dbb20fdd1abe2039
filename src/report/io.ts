/** Reading summary.json and writing summary.json + report.html into an evaluation directory. */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { type EvalSummary, parseEvalSummary } from "../stats/evaluation.js";
import { writeFileAtomic } from "../util/atomic.js";
import { type ReportMeta, renderEvalReport } from "./eval-report.js";

/** File names inside an evaluation directory. */
export const EVAL_FILES = {
  samples: "samples.jsonl",
  results: "results.jsonl",
  summary: "summary.json",
  report: "report.html",
} as const;

/** The summary.json path of an evaluation directory, or the path itself when it is a file. */
export function summaryPath(evalDirOrFile: string): string {
  let isDir: boolean;
  try {
    isDir = statSync(evalDirOrFile).isDirectory();
  } catch {
    throw new Error(`${evalDirOrFile}: no such evaluation directory or summary file`);
  }
  return isDir ? join(evalDirOrFile, EVAL_FILES.summary) : evalDirOrFile;
}

/** Reads and checks an evaluation summary from an evaluation directory or a summary.json path. */
export function loadEvalSummary(evalDirOrFile: string): EvalSummary {
  const path = summaryPath(evalDirOrFile);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new Error(`${path}: cannot read the evaluation summary (was the evaluation finished?)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseEvalSummary(json, path);
}

/**
 * Writes summary.json and report.html into an evaluation directory (each atomically) and returns
 * their paths.
 */
export function writeEvalOutputs(
  dir: string,
  summary: EvalSummary,
  meta: ReportMeta = {},
): { summary: string; report: string } {
  const s = join(dir, EVAL_FILES.summary);
  const r = join(dir, EVAL_FILES.report);
  writeFileAtomic(s, `${JSON.stringify(summary, null, 2)}\n`);
  writeFileAtomic(r, renderEvalReport(summary, meta));
  return { summary: s, report: r };
}
