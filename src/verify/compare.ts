/**
 * Comparing a parsed trace Ĝ with the gold graph G node by node (verification.md §3).
 */
import { type Lin, linEqual } from "../world/linear.js";
import type { GoldGraph } from "../world/types.js";
import { normalizeName, type ParsedTrace, parseLinear, parseTrace } from "./parse.js";

/** Error categories of verification.md §3 (wrong answer and parse failure are flags of the verdict). */
export type ErrorCategory = "missing" | "extra" | "wrongValue" | "wrongDependency" | "arithmeticSlips";

/** All error categories, in a stable order. */
export const ERROR_CATEGORIES: readonly ErrorCategory[] = [
  "missing",
  "extra",
  "wrongValue",
  "wrongDependency",
  "arithmeticSlips",
];

/** Node names per error category. */
export type VerdictErrors = Record<ErrorCategory, string[]>;

/** The outcome of checking one trace against its gold graph and answer. */
export interface Verdict {
  /** The extracted answer equals the gold answer exactly. */
  answerCorrect: boolean;
  /** ProcessAcc = 1, the answer is right, the trace parsed, and the extra/slip policies hold. */
  verified: boolean;
  /** Mean over gold nodes of s(v) (present, parents match, value matches); 0 on parse failure. */
  processAcc: number;
  parseFailed: boolean;
  truncated: boolean;
  errors: VerdictErrors;
  /** The extracted answer (null when none). */
  answer: string | null;
}

/** What a trace is checked against: a problem's gold graph and answer. */
export interface Gold {
  graph: GoldGraph;
  answer: string;
}

/** Verification policies. */
export interface VerifyOptions {
  /** Extra (hallucinated or distractor) nodes do not prevent `verified` (default true, as the reference). */
  allowExtra?: boolean;
  /** Arithmetic slips whose node values are still right do not prevent `verified` (default true). */
  allowSlips?: boolean;
}

/** Default verification policies. */
export const DEFAULT_VERIFY_OPTIONS: Readonly<Required<VerifyOptions>> = { allowExtra: true, allowSlips: true };

/** A gold node prepared for comparison. */
interface GoldNode {
  name: string;
  parents: Set<string>;
  target: Lin;
}

/** Prepared gold graphs; gold graphs are treated as immutable once verified against. */
const compiled = new WeakMap<GoldGraph, { nodes: GoldNode[]; names: Set<string> }>();

function compileGold(graph: GoldGraph): { nodes: GoldNode[]; names: Set<string> } {
  const hit = compiled.get(graph);
  if (hit) return hit;
  const nodes: GoldNode[] = graph.nodes.map((n) => {
    let target: Lin = { a: 0, b: n.value };
    if (n.expr !== undefined) {
      const e = parseLinear(n.expr);
      if (e === null) throw new Error(`gold node "${n.name}" has an unreadable expr "${n.expr}"`);
      target = e;
    }
    return { name: normalizeName(n.name), parents: new Set(n.parents.map(normalizeName)), target };
  });
  const out = { nodes, names: new Set(nodes.map((n) => n.name)) };
  compiled.set(graph, out);
  return out;
}

/**
 * Checks a trace (parsed, or raw text to parse) against the gold graph and answer. Throws only on a
 * malformed gold graph, never on model output.
 */
export function verifyTrace(trace: ParsedTrace | string, gold: Gold, opts: VerifyOptions = {}): Verdict {
  const { allowExtra, allowSlips } = { ...DEFAULT_VERIFY_OPTIONS, ...opts };
  const parsed = typeof trace === "string" ? parseTrace(trace) : trace;
  const g = compileGold(gold.graph);
  const errors: VerdictErrors = { missing: [], extra: [], wrongValue: [], wrongDependency: [], arithmeticSlips: [] };
  let correct = 0;
  for (const gn of g.nodes) {
    const pn = parsed.nodes.get(gn.name);
    if (pn === undefined) {
      errors.missing.push(gn.name);
      continue;
    }
    let parentsOk = pn.parents.length === gn.parents.size;
    if (parentsOk) {
      for (const p of pn.parents) {
        if (!gn.parents.has(p)) {
          parentsOk = false;
          break;
        }
      }
    }
    const valueOk = pn.value !== null && linEqual(pn.value, gn.target);
    if (!parentsOk) errors.wrongDependency.push(gn.name);
    if (!valueOk) errors.wrongValue.push(gn.name);
    if (parentsOk && valueOk) correct++;
  }
  for (const pn of parsed.nodes.values()) {
    if (!g.names.has(pn.name)) errors.extra.push(pn.name);
    if (pn.slip) errors.arithmeticSlips.push(pn.name);
  }
  const n = g.nodes.length;
  const processAcc = parsed.parseFailed ? 0 : n === 0 ? 1 : correct / n;
  const answerCorrect = parsed.answer !== null && parsed.answer === gold.answer;
  const verified =
    processAcc === 1 &&
    answerCorrect &&
    !parsed.parseFailed &&
    (allowExtra || errors.extra.length === 0) &&
    (allowSlips || errors.arithmeticSlips.length === 0);
  return {
    answerCorrect,
    verified,
    processAcc,
    parseFailed: parsed.parseFailed,
    truncated: parsed.truncated,
    errors,
    answer: parsed.answer,
  };
}
