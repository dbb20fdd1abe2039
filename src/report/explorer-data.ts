/**
 * What the trace explorer shows, built from an evaluation's problems, samples and verdicts: every
 * trace cut into its steps, each step marked by its verdict, missing gold steps placed, the predicted
 * and gold graphs as node and edge lists; and, for large evaluations, the seeded stratified subset
 * the page carries. Pure: the page (explorer.ts) only lays it out.
 */
import { EVAL_ERROR_KEYS, type EvalErrorKey } from "../stats/evaluation.js";
import { hashSeed, Rng } from "../util/rng.js";
import { normalizeName, parseTrace, type VerdictErrors } from "../verify/index.js";
import { formatLin } from "../world/linear.js";
import type { GoldProblem } from "../world/load.js";

/** One line of samples.jsonl (what the explorer reads of it). */
export interface SampleLine {
  id: string;
  sample: number;
  /** The training step it was sampled at (validation traces of a run). */
  step?: number;
  completion: string;
  finish?: string;
  tokens?: number;
}

/** One line of results.jsonl (what the explorer reads of it). */
export interface VerdictLine {
  id: string;
  sample: number;
  step?: number;
  answerCorrect: boolean;
  verified: boolean;
  processAcc: number;
  parseFailed: boolean;
  truncated: boolean;
  errors: VerdictErrors;
  answer: string | null;
  rewards?: Record<string, number>;
}

/** Outcome of a sample: the stratum of the subset and the "verdict" filter. */
export type Outcome = "verified" | "answerOnly" | "wrong" | "parseFailed";

/** Outcomes in display order. */
export const OUTCOMES: readonly Outcome[] = ["verified", "answerOnly", "wrong", "parseFailed"];

/** Outcomes in words. */
export const OUTCOME_LABELS: Readonly<Record<Outcome, string>> = {
  verified: "verified",
  answerOnly: "answer right, not verified",
  wrong: "wrong answer",
  parseFailed: "parse failure",
};

/** The outcome of a verdict. */
export function outcomeOf(v: Pick<VerdictLine, "verified" | "answerCorrect" | "parseFailed">): Outcome {
  if (v.verified) return "verified";
  if (v.parseFailed) return "parseFailed";
  return v.answerCorrect ? "answerOnly" : "wrong";
}

/** How a step of a trace (or a gold node) fares. */
export type StepMark =
  | "correct"
  | "wrongValue"
  | "wrongDependency"
  | "slip"
  | "extra"
  | "duplicate"
  | "unreadable"
  | "missing";

/** A gold node as the page shows it. */
export interface XGoldNode {
  name: string;
  /** Indices of its parents in the gold node list. */
  parents: number[];
  value: string;
  /** Its step in the gold trace (text). */
  step: string;
}

/** A problem as the page shows it. */
export interface XProblem {
  id: string;
  op: number;
  context: string;
  mode: string;
  text: string;
  question: string;
  answer: string;
  gold: XGoldNode[];
}

/** A step of a model trace. */
export interface XStep {
  /** Its text. */
  t: string;
  /** The node it defines (null: unreadable header). */
  n: string | null;
  /** Its variable, when read. */
  v?: string;
  /** Index of its gold node (-1: not a gold node, or a repeated definition). */
  g: number;
  /** Its marks (at least one). */
  m: StepMark[];
  /** Step indices of its parents (first definitions). */
  par: number[];
  /** Its value as read (null when none could be). */
  val: string | null;
}

/** A sample as the page shows it. */
export interface XSample {
  /** Index of its problem in `problems`. */
  p: number;
  /** Sample number within its problem. */
  s: number;
  /** The training step it was sampled at, when it is a run's validation trace. */
  step?: number;
  o: Outcome;
  trunc: boolean;
  acc: number;
  ans: string | null;
  rw: Record<string, number>;
  /** Error counts per evaluation category (zeros left out). */
  err: Partial<Record<EvalErrorKey, number>>;
  /** Text before the first step, the steps, and the text after the last one. */
  pre: string;
  steps: XStep[];
  post: string;
  /** Missing gold nodes: [gold index, index of the step it belongs before (steps.length: at the end)]. */
  miss: [number, number][];
  /** Characters of the completion not carried by the page (0: all of it). */
  cut: number;
  finish?: string;
  tokens?: number;
}

/** Bounds of what one page carries. */
export interface ExplorerLimits {
  /** Most samples on the page (default 2,000); more are reduced to a stratified subset. */
  maxSamples?: number;
  /** Seed of the subset (default 0). */
  seed?: number;
  /** Most characters of one completion (default 4,000). */
  maxChars?: number;
  /** Most steps of one trace (default 64). */
  maxSteps?: number;
}

/** Default limits. */
export const EXPLORER_LIMITS: Readonly<Required<ExplorerLimits>> = {
  maxSamples: 2000,
  seed: 0,
  maxChars: 4000,
  maxSteps: 64,
};

/** The subset a page carries, in words and numbers. */
export interface SubsetInfo {
  total: number;
  kept: number;
  seed: number;
  /** Most samples kept per op × outcome stratum (null: every sample kept). */
  perStratum: number | null;
  strata: number;
}

/** Limits with defaults filled in; bad values throw naming the field. */
export function explorerLimits(l: ExplorerLimits = {}): Required<ExplorerLimits> {
  const o = { ...EXPLORER_LIMITS, ...l };
  for (const k of ["maxSamples", "maxChars", "maxSteps"] as const)
    if (!(Number.isInteger(o[k]) && o[k] >= 1))
      throw new RangeError(`${k} must be a positive integer, got ${o[k]}`);
  if (!(Number.isInteger(o.seed) && o.seed >= 0))
    throw new RangeError(`seed must be a non-negative integer, got ${o.seed}`);
  return o;
}

/**
 * Keeps at most `max` of the items, stratified: every stratum gets an equal share of the budget
 * (a stratum smaller than its share keeps all and leaves the rest to the others), filled at random
 * within the stratum from a seed hashed with the stratum's key. Returns the kept indices in input
 * order and the largest number kept from one stratum.
 */
export function stratifiedSubset(
  keys: readonly string[],
  max: number,
  seed: number,
): { kept: number[]; perStratum: number | null; strata: number } {
  const groups = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  if (keys.length <= max) return { kept: keys.map((_, i) => i), perStratum: null, strata: groups.size };
  const sorted = [...groups.entries()].sort((a, b) => a[1].length - b[1].length || (a[0] < b[0] ? -1 : 1));
  let left = max;
  let cap = 0;
  const kept: number[] = [];
  sorted.forEach(([key, idx], j) => {
    const share = Math.floor(left / (sorted.length - j));
    const take = Math.min(idx.length, share);
    cap = Math.max(cap, take);
    left -= take;
    const rng = new Rng(hashSeed(seed, key));
    const order = rng.shuffle([...idx]);
    for (let i = 0; i < take; i++) kept.push(order[i]);
  });
  kept.sort((a, b) => a - b);
  return { kept, perStratum: cap, strata: groups.size };
}

/** A gold graph's nodes as the page shows them, with each node's step of the gold trace. */
export function goldNodes(p: GoldProblem): XGoldNode[] {
  const nodes = p.graph.nodes;
  const index = new Map(nodes.map((n, i) => [normalizeName(n.name), i]));
  const goldText = p.completion ?? p.solution ?? "";
  const spans = parseTrace(goldText).spans;
  const stepOf = new Map<string, string>();
  for (const s of spans)
    if (s.name !== null && !stepOf.has(s.name)) stepOf.set(s.name, goldText.slice(s.start, s.end).trim());
  return nodes.map((n) => {
    const name = normalizeName(n.name);
    return {
      name,
      parents: n.parents.map((q) => index.get(normalizeName(q))).filter((i): i is number => i !== undefined),
      value: n.expr ?? String(n.value),
      step: stepOf.get(name) ?? "",
    };
  });
}

/** A problem as the page shows it. */
export function explorerProblem(p: GoldProblem): XProblem {
  return {
    id: p.id,
    op: p.op,
    context: p.context ?? "",
    mode: p.mode ?? "",
    text: p.problem ?? "",
    question: p.question ?? "",
    answer: p.answer,
    gold: goldNodes(p),
  };
}

/** The marks of every step of a trace and where its missing gold nodes belong. */
export function explorerSample(
  pi: number,
  problem: XProblem,
  line: SampleLine,
  verdict: VerdictLine,
  limits: Required<ExplorerLimits>,
): XSample {
  const full = line.completion;
  const text = full.length > limits.maxChars ? full.slice(0, limits.maxChars) : full;
  const parsed = parseTrace(full);
  const goldIndex = new Map(problem.gold.map((g, i) => [g.name, i]));
  const e = verdict.errors;
  const wrongValue = new Set(e.wrongValue);
  const wrongDep = new Set(e.wrongDependency);
  const slips = new Set(e.arithmeticSlips);
  const firstStep = new Map<string, number>();
  const spans = parsed.spans.filter((s) => s.start < text.length).slice(0, limits.maxSteps);
  const steps: XStep[] = spans.map((s, i) => {
    const name = s.name;
    const node = name === null || s.duplicate ? undefined : parsed.nodes.get(name);
    if (node && !firstStep.has(node.name)) firstStep.set(node.name, i);
    const g = node ? (goldIndex.get(node.name) ?? -1) : -1;
    const m: StepMark[] = [];
    if (name === null) m.push("unreadable");
    else if (s.duplicate) m.push("duplicate");
    else {
      if (g < 0) m.push("extra");
      if (g >= 0 && wrongDep.has(name)) m.push("wrongDependency");
      if (g >= 0 && wrongValue.has(name)) m.push("wrongValue");
      if (slips.has(name)) m.push("slip");
      if (m.length === 0) m.push("correct");
    }
    return {
      t: text.slice(s.start, Math.min(s.end, text.length)),
      n: name,
      ...(node ? { v: node.variable } : {}),
      g,
      m,
      par: [],
      val: node?.value ? formatLin(node.value) : null,
    };
  });
  spans.forEach((s, i) => {
    const node = s.name === null || s.duplicate ? undefined : parsed.nodes.get(s.name);
    if (node)
      steps[i].par = node.parents.map((q) => firstStep.get(q)).filter((j): j is number => j !== undefined);
  });
  // A missing gold node goes before the first step of a later gold node (gold order), else at the end.
  const miss: [number, number][] = [];
  for (const name of e.missing) {
    const gi = goldIndex.get(name);
    if (gi === undefined) continue;
    let at = steps.findIndex((st) => st.g > gi);
    if (at < 0) at = steps.length;
    miss.push([gi, at]);
  }
  const first = spans.length > 0 ? spans[0].start : text.length;
  const lastEnd = spans.length > 0 ? Math.min(spans[spans.length - 1].end, text.length) : text.length;
  const err: Partial<Record<EvalErrorKey, number>> = {};
  const counts: Record<EvalErrorKey, number> = {
    missing: e.missing.length,
    extra: e.extra.length,
    wrongValue: e.wrongValue.length,
    wrongDependency: e.wrongDependency.length,
    wrongAnswer: verdict.answerCorrect ? 0 : 1,
    arithmeticSlips: e.arithmeticSlips.length,
    parseFailure: verdict.parseFailed ? 1 : 0,
  };
  for (const k of EVAL_ERROR_KEYS) if (counts[k] > 0) err[k] = counts[k];
  const shownSteps = spans.length < parsed.spans.length;
  return {
    p: pi,
    s: line.sample,
    o: outcomeOf(verdict),
    trunc: verdict.truncated,
    acc: verdict.processAcc,
    ans: verdict.answer,
    rw: verdict.rewards ?? {},
    err,
    pre: text.slice(0, first),
    steps,
    post: shownSteps ? "" : text.slice(lastEnd),
    miss,
    cut: shownSteps ? full.length - lastEnd : full.length - text.length,
    ...(line.step !== undefined ? { step: line.step } : {}),
    ...(line.finish !== undefined ? { finish: line.finish } : {}),
    ...(line.tokens !== undefined ? { tokens: line.tokens } : {}),
  };
}

/** The filter tags of a sample: op, context, mode, verdict (outcome, truncated) and error categories. */
export function sampleTags(x: XSample, p: XProblem): Record<string, string[]> {
  return {
    op: [String(p.op)],
    context: [p.context],
    mode: [p.mode],
    verdict: [x.o, ...(x.trunc ? ["truncated"] : [])],
    error: Object.keys(x.err).length === 0 ? ["none"] : Object.keys(x.err),
    ...(x.step !== undefined ? { step: [String(x.step)] } : {}),
  };
}

/** A sample joined with its problem and verdict. */
export interface JoinedSample {
  problem: GoldProblem;
  line: SampleLine;
  verdict: VerdictLine;
}

/** A samples.jsonl line as read (`interplay verify` inputs carry no sample number). */
export type SampleInput = Omit<SampleLine, "sample"> & { sample?: number };
/** A results.jsonl line as read. */
export type VerdictInput = Omit<VerdictLine, "sample"> & { sample?: number };

/** Lines without a `sample` number are numbered by their order among the lines of their id. */
export function numbered<T extends { id: string; sample?: number }>(
  lines: readonly T[],
): (T & { sample: number })[] {
  const seen = new Map<string, number>();
  return lines.map((l) => {
    const k = seen.get(l.id) ?? 0;
    seen.set(l.id, k + 1);
    return Number.isInteger(l.sample) ? (l as T & { sample: number }) : { ...l, sample: k };
  });
}

/** A verdict line the explorer can show (`interplay verify` writes error records in place of others). */
function isVerdict(v: Partial<VerdictInput>): boolean {
  return (
    typeof v.verified === "boolean" &&
    typeof v.answerCorrect === "boolean" &&
    !!v.errors &&
    typeof v.errors === "object"
  );
}

/**
 * Joins samples with their verdicts and problems (lines without a sample number are numbered in
 * order per id, as `interplay verify` writes them). A sample of an unknown problem is an error
 * naming it; one without a usable verdict is left out and counted.
 */
export function joinSamples(
  problems: ReadonlyMap<string, GoldProblem>,
  samples: readonly SampleInput[],
  verdicts: readonly VerdictInput[],
): { joined: JoinedSample[]; unverified: number } {
  const key = (l: { id: string; sample: number; step?: number }) => `${l.id}#${l.sample}#${l.step ?? ""}`;
  const byKey = new Map(numbered(verdicts).map((v) => [key(v), v]));
  const joined: JoinedSample[] = [];
  let unverified = 0;
  for (const line of numbered(samples)) {
    if (!line || typeof line.id !== "string" || typeof line.completion !== "string")
      throw new Error(`a sample line must hold {id, completion}, got ${JSON.stringify(line).slice(0, 80)}`);
    const problem = problems.get(line.id);
    if (!problem)
      throw new Error(
        `sample ${line.sample} of "${line.id}": the problem is not in the evaluation's problems`,
      );
    const verdict = byKey.get(key(line));
    if (!verdict || !isVerdict(verdict)) unverified++;
    else joined.push({ problem, line, verdict });
  }
  return { joined, unverified };
}
