/** Test fixtures: generated gold problems and edits of their traces (used by the verify tests only). */

import { Rng } from "../../util/rng.js";
import { formatLin, formatTerm, type Lin } from "../../world/linear.js";
import { generateProblem } from "../../world/problem.js";
import type { Mode, Problem } from "../../world/types.js";
import { parseLinear } from "../parse.js";

/** Ops covered by the tests. */
export const OPS: readonly number[] = Array.from({ length: 19 }, (_, i) => i + 2);
/** Contexts covered by the tests. */
export const CONTEXTS: readonly string[] = ["zoo", "school", "movie"];
/** Modes covered by the tests. */
export const MODES: readonly Mode[] = ["forward", "reverse"];

/** `perCell` problems for every (op, context, mode) cell, indices 0..perCell-1. */
export function problemGrid(perCell: number, seed = 1, ops: readonly number[] = OPS): Problem[] {
  const out: Problem[] = [];
  for (const op of ops) {
    for (const context of CONTEXTS) {
      for (const mode of MODES) {
        for (let index = 0; index < perCell; index++)
          out.push(generateProblem({ seed, index, op, context, mode }));
      }
    }
  }
  return out;
}

/** A gold completion cut into its `Define` steps: completion = head + steps.join(" ") + tail. */
export interface SplitTrace {
  head: string;
  steps: string[];
  tail: string;
}

/** Splits a gold completion into its steps (one per gold node). */
export function splitTrace(p: Problem): SplitTrace {
  const c = p.completion;
  const starts: number[] = [];
  for (let i = c.indexOf("Define "); i >= 0; i = c.indexOf("Define ", i + 1)) starts.push(i);
  const tailAt = p.mode === "reverse" ? c.indexOf(" We know ") : c.indexOf(" </solution>");
  const steps = starts.map((s, k) => c.slice(s, k + 1 < starts.length ? starts[k + 1] - 1 : tailAt));
  return { head: c.slice(0, starts[0]), steps, tail: c.slice(tailAt) };
}

/** Reassembles a split trace. */
export function joinTrace(t: SplitTrace): string {
  return t.head + t.steps.join(" ") + t.tail;
}

/** The variable a step defines. */
export function stepVar(step: string): string {
  const semi = step.indexOf(";");
  return step.slice(step.lastIndexOf(" as ", semi) + 4, semi);
}

/** The gold value of node k as a linear expression. */
export function goldLin(p: Problem, k: number): Lin {
  const n = p.graph.nodes[k];
  return n.expr !== undefined ? parseLinear(n.expr)! : { a: 0, b: n.value };
}

/** The step's clauses (header removed, trailing "." removed). */
export function clausesOf(step: string): { header: string; clauses: string[] } {
  const semi = step.indexOf(";");
  const body = step.slice(semi + 2, step.length - 1);
  return { header: step.slice(0, semi + 1), clauses: body.split("; ") };
}

/** Rebuilds a step from its header and clauses. */
export function buildStep(header: string, clauses: string[]): string {
  return `${header} ${clauses.join("; ")}.`;
}

/** Adds a constant to a linear value, formatted canonically. */
export function shiftLin(v: Lin, d: number): string {
  return formatLin({ a: v.a, b: v.b + d });
}

/** Indices of the gold nodes that have node k as a parent. */
export function childrenOf(p: Problem, k: number): number[] {
  const name = p.graph.nodes[k].name;
  const out: number[] = [];
  p.graph.nodes.forEach((n, i) => {
    if (n.parents.includes(name)) out.push(i);
  });
  return out;
}

/** A uniform stream in [0, 1) for picking mutation sites, from the project's one seeded generator (util/rng). */
export function prng(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

/** Indices of the gold nodes that depend on node k, directly or through others. */
export function descendantsOf(p: Problem, k: number): number[] {
  const out = new Set<number>();
  const todo = [k];
  while (todo.length > 0) {
    for (const c of childrenOf(p, todo.pop() as number)) {
      if (!out.has(c)) {
        out.add(c);
        todo.push(c);
      }
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** A variable of a trace link (a letter and digits; "x" is the reverse-mode unknown). */
const VARIABLE = /\b[A-Za-z][0-9]*\b/g;

/** A gold trace with one written result changed (see {@link changeWrittenResult}). */
export interface ChangedTrace {
  text: string;
  steps: string[];
  /** Per gold node, the value its step now writes as its result. */
  written: Lin[];
  /** The answer tag now written. */
  answer: string;
}

/**
 * The solving section of a reverse trace, worded as the world writes it, for the equation f = given
 * (X the given's variable): "We know X = given, so we have f = given.", then "Subtract b from both
 * sides: a*x = r." or "Add …", "Divide both sides by a: x = v." when a ≠ 1, "Solution: x = v.".
 */
export function solvingText(X: string, f: Lin, given: number): { text: string; x: number } {
  const parts = [`We know ${X} = ${given}, so we have ${formatLin(f)} = ${given}.`];
  const r = given - f.b;
  if (f.b !== 0) {
    const verb = f.b > 0 ? `Subtract ${f.b} from` : `Add ${-f.b} to`;
    parts.push(`${verb} both sides: ${formatLin({ a: f.a, b: 0 })} = ${r}.`);
  }
  const x = r / f.a;
  if (f.a !== 1) parts.push(`Divide both sides by ${f.a}: x = ${x}.`);
  parts.push(`Solution: x = ${x}.`);
  return { text: parts.join(" "), x };
}

/** The solving section of a reverse gold completion, cut into its sentences (each with its "."). */
export interface SolvingSection {
  /** The completion before the section (its steps), without the space before `We know`. */
  head: string;
  /** `We know …, so we have …`, the step equations, `Solution: x = v.` */
  sentences: string[];
  /** From " </solution>" on. */
  tail: string;
}

/** Splits a reverse gold completion at its solving section. */
export function splitSolving(p: Problem): SolvingSection {
  const c = p.completion;
  const at = c.indexOf(" We know ");
  const end = c.indexOf(" </solution>");
  return { head: c.slice(0, at), sentences: c.slice(at + 1, end).split(/(?<=\.) /), tail: c.slice(end) };
}

/** Reassembles a split solving section. */
export function joinSolving(s: SolvingSection): string {
  return `${s.head} ${s.sentences.join(" ")}${s.tail}`;
}

/** The index of the gold node that is the reverse-mode unknown (no parents, value x). */
export function unknownOf(p: Problem): number {
  return p.graph.nodes.findIndex((n) => n.parents.length === 0 && n.expr === "x");
}

/**
 * Node k's written result (the last link of its step's last clause) set to `result`. With `carry`,
 * every later step is rewritten consistently with the values as written: each substituted operand
 * and each result is recomputed from the written results of the variables it names, in forward
 * mode the answer tag follows the last node, and in reverse mode the solving section is solved
 * again for the last node's written value (and the answer tag follows x); without, nothing else
 * changes. Carrying `result` = the gold value gives back the gold completion.
 */
export function changeWrittenResult(p: Problem, k: number, result: Lin, carry: boolean): ChangedTrace {
  const t = splitTrace(p);
  const values = new Map<string, Lin>();
  const written: Lin[] = [];
  const steps = t.steps.map((step, i) => {
    const { header, clauses } = clausesOf(step);
    const out = clauses.map((clause, j) => {
      const links = clause.split(" = ");
      const lhs = links[0].replace(/^so /, "");
      if (i === k && j === clauses.length - 1) {
        links[links.length - 1] = formatLin(result);
        values.set(lhs, result);
        return links.join(" = ");
      }
      if (carry && i > k && links.length >= 3) {
        const substituted = links[1].replace(VARIABLE, (v) => (v === "x" ? v : formatTerm(values.get(v)!)));
        const value = parseLinear(substituted)!;
        if (links.length >= 4) links[2] = substituted;
        links[links.length - 1] = formatLin(value);
        values.set(lhs, value);
        return links.join(" = ");
      }
      values.set(lhs, parseLinear(links[links.length - 1])!);
      return clause;
    });
    written.push(values.get(stepVar(step))!);
    return buildStep(header, out);
  });
  let tail = t.tail;
  let answer = p.answer;
  if (carry && p.mode === "forward") {
    answer = formatLin(written[written.length - 1]);
    tail = tail.replace(`<answer> ${p.answer} </answer>`, `<answer> ${answer} </answer>`);
  }
  if (carry && p.mode === "reverse") ({ tail, answer } = resolved(p, steps, written[written.length - 1]));
  return { text: joinTrace({ ...t, steps, tail }), steps, written, answer };
}

/**
 * The tail of a reverse trace whose last node (the given) is written as f: its solving section
 * solved again for f (the given's value kept) and the answer tag set to the new x.
 */
export function resolved(p: Problem, steps: string[], f: Lin): { tail: string; answer: string } {
  const last = p.graph.nodes.length - 1;
  const { text, x } = solvingText(stepVar(steps[last]), f, p.graph.nodes[last].value);
  const answer = String(x);
  return { tail: ` ${text} </solution> <answer> ${answer} </answer>`, answer };
}
