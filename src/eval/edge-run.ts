/**
 * Finding the edge of competence of a model (verification.md §6): evaluate a problem grid with k
 * samples per problem, classify every problem (solved at pass@1 / solved only within k / never
 * solved), name the edge band, and optionally select RL prompts at the edge from a fresh split whose
 * seed differs from the measurement's and whose problems are disjoint from it.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Model } from "../model/model.js";
import type { TextTokenizer } from "../model/tokenizer.js";
import {
  type EdgeBandOptions,
  type EdgeOpRow,
  type EdgeOptions,
  edgeBand,
  edgeByOp,
  selectEdgeProblems,
} from "../stats/edge.js";
import type { ProblemOutcome } from "../stats/summary.js";
import { writeFileAtomic } from "../util/atomic.js";
import { hashSeed } from "../util/rng.js";
import { type VerifyOptions, type VerifyPolicy, verifyPolicy } from "../verify/compare.js";
import { problemHash } from "../world/corpus.js";
import type { Mode, Problem } from "../world/types.js";
import { writeExplorerIfPossible } from "./explore.js";
import { gridProblems, type ResultLine, runEvaluation } from "./runner.js";

/** Options of {@link measureEdge}. */
export interface MeasureEdgeOptions extends EdgeOptions, EdgeBandOptions {
  model: Model;
  tokenizer: TextTokenizer;
  modelName: string;
  ops: number[];
  perOp: number;
  samples: number;
  temperature: number;
  maxNew: number;
  seed: number;
  contexts?: string[];
  modes?: Mode[];
  out: string;
  batch?: number;
  /** Problems per op of the fresh split to select RL prompts from (none when absent). */
  selectPerOp?: number;
  /** Verification policies of "solved" (default: the library's). */
  verify?: VerifyOptions;
  onProgress?: (stage: "measure" | "select", done: number, total: number) => void;
}

/** What {@link measureEdge} finds (also written as EDGE_DIR/edge.json). */
export interface EdgeReport {
  /** The verification policies a sample was judged solved under. */
  verify: VerifyPolicy;
  perOp: EdgeOpRow[];
  band: { lo: number; hi: number } | null;
  selected?: { file: string; count: number; perOp: Record<number, number>; seed: number; looked: number };
}

/** Per-problem outcomes of result lines (in problem order). */
export function outcomesOf(results: readonly ResultLine[]): ProblemOutcome[] {
  const by = new Map<string, ProblemOutcome>();
  for (const r of results) {
    let o = by.get(r.id);
    if (!o) {
      o = { id: r.id, op: r.op, correct: [], answerCorrect: [], processAcc: [] };
      by.set(r.id, o);
    }
    o.correct.push(r.verified);
    o.answerCorrect?.push(r.answerCorrect);
    o.processAcc?.push(r.processAcc);
  }
  return [...by.values()];
}

/** Runs (or resumes) the edge measurement and the optional selection. */
export function measureEdge(o: MeasureEdgeOptions): EdgeReport {
  const settings = {
    model: o.modelName,
    samples: o.samples,
    temperature: o.temperature,
    topP: 1,
    topK: 0,
    maxNew: o.maxNew,
    seed: o.seed,
  };
  const grid = { contexts: o.contexts, modes: o.modes };
  const verify = verifyPolicy(o.verify);
  const problems = gridProblems({ ops: o.ops, perOp: o.perOp, seed: o.seed, ...grid });
  mkdirSync(o.out, { recursive: true });
  const measured = runEvaluation({
    model: o.model,
    tokenizer: o.tokenizer,
    problems,
    out: join(o.out, "measure"),
    batch: o.batch,
    verify,
    settings: { ...settings, problems: `grid ops ${o.ops.join(",")} × ${o.perOp} seed ${o.seed}` },
    onProgress: (d, t) => o.onProgress?.("measure", d, t),
  });
  writeExplorerIfPossible(join(o.out, "measure"), {
    title: "Edge of competence: the measured traces",
    reportHref: undefined, // the folder has no report.html
  });
  const perOp = edgeByOp(outcomesOf(measured.results), o);
  const band = edgeBand(perOp, o);
  const report: EdgeReport = { verify, perOp, band };
  if (o.selectPerOp !== undefined) {
    const seed = hashSeed(o.seed, "edge-select") % 1_000_000_007;
    const seen = new Set(problems.map((p) => problemHash(p as Problem)));
    const fresh = gridProblems({ ops: o.ops, perOp: o.selectPerOp, seed, ...grid }).filter(
      (p) => !seen.has(problemHash(p as Problem)),
    );
    const sel = runEvaluation({
      model: o.model,
      tokenizer: o.tokenizer,
      problems: fresh,
      out: join(o.out, "select"),
      batch: o.batch,
      verify,
      settings: {
        ...settings,
        seed,
        problems: `grid ops ${o.ops.join(",")} × ${o.selectPerOp} seed ${seed}`,
      },
      onProgress: (d, t) => o.onProgress?.("select", d, t),
    });
    const ids = new Set(selectEdgeProblems(outcomesOf(sel.results), o));
    const chosen = fresh.filter((p) => ids.has(p.id));
    const file = join(o.out, "prompts.jsonl");
    writeFileAtomic(file, chosen.map((p) => `${JSON.stringify(p)}\n`).join(""));
    const count: Record<number, number> = {};
    for (const p of chosen) count[p.op] = (count[p.op] ?? 0) + 1;
    report.selected = { file, count: chosen.length, perOp: count, seed, looked: fresh.length };
  }
  writeFileAtomic(join(o.out, "edge.json"), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}
