/** Test fixtures: generated gold problems and edits of their traces (used by the verify tests only). */
import { formatLin, type Lin } from "../world/linear.js";
import { generateProblem } from "../world/problem.js";
import type { Mode, Problem } from "../world/types.js";
import { parseLinear } from "./parse.js";

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

/** A small deterministic PRNG (mulberry32) for picking mutation sites. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
