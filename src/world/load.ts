/** Loading problem files (JSONL) with validation: every error names the file, the line and the field. */
import { checkInputFile, readJsonl } from "../util/jsonl.js";
import type { GoldGraph, Problem } from "./types.js";

/** What verification needs of a problem: its id, op, gold answer and gold graph (other fields kept as read). */
export type GoldProblem = Pick<Problem, "id" | "op" | "answer" | "graph"> & Partial<Problem>;

/** Returns why a parsed line is not a usable gold problem, or null when it is. */
export function goldProblemError(x: unknown): string | null {
  if (!x || typeof x !== "object" || Array.isArray(x)) return "a problem line must be a JSON object";
  const p = x as Record<string, unknown>;
  if (typeof p.id !== "string" || p.id === "") return `"id" must be a non-empty string`;
  if (typeof p.op !== "number" || !Number.isInteger(p.op)) return `"op" must be an integer`;
  if (typeof p.answer !== "string") return `"answer" must be a string`;
  const g = p.graph as GoldGraph | undefined;
  if (!g || typeof g !== "object" || !Array.isArray(g.nodes) || g.nodes.length === 0) {
    return `"graph" must be {nodes: [{name, value, parents}, ...]} with at least one node`;
  }
  for (const [i, n] of g.nodes.entries()) {
    if (!n || typeof n.name !== "string") return `graph.nodes[${i}].name must be a string`;
    if (typeof n.value !== "number" || !Number.isFinite(n.value))
      return `graph.nodes[${i}].value must be a number`;
    if (!Array.isArray(n.parents) || n.parents.some((q) => typeof q !== "string")) {
      return `graph.nodes[${i}].parents must be an array of names`;
    }
    if (n.expr !== undefined && typeof n.expr !== "string") return `graph.nodes[${i}].expr must be a string`;
  }
  return null;
}

/** Reads a problem file into a map by id; malformed lines and duplicate ids are errors. */
export async function loadProblems(path: string): Promise<Map<string, GoldProblem>> {
  checkInputFile(path, "problems");
  const out = new Map<string, GoldProblem>();
  for await (const l of readJsonl(path, { bad: "throw" })) {
    const err = goldProblemError(l.value);
    if (err) throw new Error(`${path}:${l.line}: ${err}`);
    const p = l.value as GoldProblem;
    if (out.has(p.id)) throw new Error(`${path}:${l.line}: duplicate id "${p.id}"`);
    out.set(p.id, p);
  }
  if (out.size === 0) throw new Error(`problems file ${path} holds no problems`);
  return out;
}
