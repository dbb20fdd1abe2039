/**
 * Comparing a parsed trace Ĝ with the gold graph G node by node (verification.md §3).
 */
import { type Lin, linEqual } from "../world/linear.js";
import type { GoldGraph } from "../world/types.js";
import { normalizeName, type ParsedNode, type ParsedTrace, parseLinear, parseTrace } from "./parse.js";

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

/** The verification policies a verdict was reached under (both always set). */
export type VerifyPolicy = Readonly<Required<VerifyOptions>>;

/** The outcome of checking one trace against its gold graph and answer. */
export interface Verdict {
  /** The extracted answer equals the gold answer exactly. */
  answerCorrect: boolean;
  /** ProcessAcc = 1, the answer is right, the trace parsed, and the extra/slip policies hold. */
  verified: boolean;
  /**
   * Verified with extra nodes allowed, under the same slip policy: the reference evaluator's
   * figure, which counts "perfect with extra" as a pass (the paper's published numbers).
   */
  verifiedAllowExtra: boolean;
  /** Verified and no extra node, under the same slip policy (the strict training reward's view). */
  verifiedNoExtra: boolean;
  /**
   * Mean over gold nodes of s(v) (present, parents match, value matches, and, unless slips are
   * allowed, no arithmetic slip in its step); 0 on parse failure.
   */
  processAcc: number;
  /** No `Define` step could be read. */
  parseFailed: boolean;
  /** The trace has steps but reaches neither `</solution>` nor an answer. */
  truncated: boolean;
  /** Node names per error category (gold order for gold nodes, trace order for extras and slips). */
  errors: VerdictErrors;
  /** The extracted answer (null when none). */
  answer: string | null;
  /** The policies of `verified`, `processAcc` and the rewards computed from this verdict. */
  policy: VerifyPolicy;
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
  /**
   * Arithmetic slips neither prevent `verified` nor make a step incorrect nor count in the process
   * penalty (default false: a trace that writes a false equation is not a correct process).
   */
  allowSlips?: boolean;
}

/**
 * Revision of the verifier's judgement: the same trace may get another verdict in another revision,
 * so study stages that score traces hash it. 1 = slips allowed by default, solving section unread
 * (until 2026-11); 2 = slips block `verified` and the reverse-mode solving section is checked (issue 12);
 * 3 = a Unicode space (U+2028, U+3000, U+FEFF, …) before a step header's `;` is trimmed from the
 * variable as ASCII space is (found by the reference parser, issue 14; world-tokenizer models cannot
 * write such characters, so only imported BPE models' verdicts can change).
 */
export const VERIFIER_VERSION = 3;

/** Default verification policies. */
export const DEFAULT_VERIFY_OPTIONS: VerifyPolicy = {
  allowExtra: true,
  allowSlips: false,
};

/** Both policies, defaults filled in; a value that is neither absent nor boolean throws a TypeError. */
export function verifyPolicy(opts: VerifyOptions = {}): VerifyPolicy {
  for (const k of ["allowExtra", "allowSlips"] as const) {
    if (opts[k] !== undefined && typeof opts[k] !== "boolean")
      throw new TypeError(`${k} must be true or false, got ${JSON.stringify(opts[k])}`);
  }
  return {
    allowExtra: opts.allowExtra ?? DEFAULT_VERIFY_OPTIONS.allowExtra,
    allowSlips: opts.allowSlips ?? DEFAULT_VERIFY_OPTIONS.allowSlips,
  };
}

/** A gold graph prepared for comparison: names, parent indices and target values per node. */
interface CompiledGold {
  names: string[];
  /** Gold node index by normalised name. */
  index: Map<string, number>;
  /** Parent indices per node (distinct). */
  parents: number[][];
  targets: Lin[];
  /**
   * Reverse mode (a node is the unknown: no parents, value x): the given is the last node, whose
   * value the problem text states (null in forward mode).
   */
  given: { name: string; value: number } | null;
}

/** Tolerance on the given's value (as on node values). */
const GIVEN_TOL = 1e-6;

/** Prepared gold graphs; gold graphs are treated as immutable once verified against. */
const compiled = new WeakMap<GoldGraph, CompiledGold>();

function compileGold(graph: GoldGraph): CompiledGold {
  const hit = compiled.get(graph);
  if (hit) return hit;
  // Flat copies of the names (generated names are often concatenations, slow to compare).
  const raw: [string, string[]][] = JSON.parse(JSON.stringify(graph.nodes.map((n) => [n.name, n.parents])));
  const names = raw.map(([name]) => normalizeName(name));
  const index = new Map<string, number>();
  names.forEach((name, i) => {
    if (!index.has(name)) index.set(name, i);
  });
  // A parent outside the graph gets an index no parsed parent can match.
  let outside = 0;
  const parents = raw.map(([, ps]) => [...new Set(ps.map((p) => index.get(normalizeName(p)) ?? --outside))]);
  const targets = graph.nodes.map((n): Lin => {
    if (n.expr === undefined) return { a: 0, b: n.value };
    const e = parseLinear(n.expr);
    if (e === null) throw new Error(`gold node "${n.name}" has an unreadable expr "${n.expr}"`);
    return e;
  });
  const last = graph.nodes.length - 1;
  const reverse =
    last > 0 &&
    targets[last].a !== 0 &&
    targets.some((t, i) => parents[i].length === 0 && linEqual(t, { a: 1, b: 0 }));
  const given = reverse ? { name: names[last], value: graph.nodes[last].value } : null;
  const out = { names, index, parents, targets, given };
  compiled.set(graph, out);
  return out;
}

/**
 * Checks a trace (parsed, or raw text to parse) against the gold graph and answer. Throws only on a
 * malformed gold graph, never on model output.
 */
export function verifyTrace(trace: ParsedTrace | string, gold: Gold, opts: VerifyOptions = {}): Verdict {
  const policy = verifyPolicy(opts);
  const { allowExtra, allowSlips } = policy;
  const parsed = typeof trace === "string" ? parseTrace(trace) : trace;
  const g = compileGold(gold.graph);
  const n = g.names.length;
  const errors: VerdictErrors = {
    missing: [],
    extra: [],
    wrongValue: [],
    wrongDependency: [],
    arithmeticSlips: [],
  };
  // The solving section's slips belong to the node it names (the unknown's): its own checks, and
  // in reverse mode a given that is not the problem's (another node, or another value than stated).
  const solve = parsed.solve ?? null;
  const given = g.given;
  const solveSlip =
    solve !== null &&
    (solve.slip ||
      (given !== null &&
        solve.hasGiven &&
        (solve.givenNode !== given.name ||
          solve.given === null ||
          Math.abs(solve.given - given.value) > GIVEN_TOL)));
  const slipNode = solveSlip ? solve.node : null;
  const match: (ParsedNode | undefined)[] = new Array(n);
  const slipped = new Set<ParsedNode>();
  for (const pn of parsed.nodes.values()) {
    const i = g.index.get(pn.name);
    if (i === undefined) errors.extra.push(pn.name);
    else if (match[i] === undefined) match[i] = pn;
    if (pn.slip || pn.name === slipNode) {
      errors.arithmeticSlips.push(pn.name);
      slipped.add(pn);
    }
  }
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const pn = match[i];
    if (pn === undefined) {
      errors.missing.push(g.names[i]);
      continue;
    }
    const want = g.parents[i];
    let parentsOk = pn.parents.length === want.length;
    for (let j = 0; parentsOk && j < pn.parents.length; j++) {
      const pi = g.index.get(pn.parents[j]);
      parentsOk = pi !== undefined && want.includes(pi);
    }
    const valueOk = pn.value !== null && linEqual(pn.value, g.targets[i]);
    if (!parentsOk) errors.wrongDependency.push(g.names[i]);
    if (!valueOk) errors.wrongValue.push(g.names[i]);
    if (parentsOk && valueOk && (allowSlips || !slipped.has(pn))) correct++;
  }
  const processAcc = parsed.parseFailed ? 0 : n === 0 ? 1 : correct / n;
  const answerCorrect = parsed.answer !== null && parsed.answer === String(gold.answer);
  // Slips of extra nodes (not gold steps, so not in processAcc) block it too unless allowed.
  const verifiedAllowExtra =
    processAcc === 1 &&
    answerCorrect &&
    !parsed.parseFailed &&
    (allowSlips || errors.arithmeticSlips.length === 0);
  const verifiedNoExtra = verifiedAllowExtra && errors.extra.length === 0;
  return {
    answerCorrect,
    verified: allowExtra ? verifiedAllowExtra : verifiedNoExtra,
    verifiedAllowExtra,
    verifiedNoExtra,
    processAcc,
    parseFailed: parsed.parseFailed,
    truncated: parsed.truncated,
    errors,
    answer: parsed.answer,
    policy,
  };
}
