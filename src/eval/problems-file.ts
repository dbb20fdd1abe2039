/**
 * problems.jsonl of an evaluation folder: the gold problems the samples were verified against, so a
 * trace explorer (or any later reader) needs nothing but the folder. A generated problem is stored
 * as its key (seed, index, op, context, mode) and regenerated on reading; any other problem is
 * stored whole (without its prompt).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../util/atomic.js";
import { readJsonlSync } from "../util/jsonl.js";
import { type GoldProblem, goldProblemError } from "../world/load.js";
import { generateProblem, problemId } from "../world/problem.js";
import type { Mode, Problem, ProblemKey } from "../world/types.js";

/** File name inside an evaluation folder. */
export const PROBLEMS_FILE = "problems.jsonl";

/** One line of problems.jsonl. */
type ProblemLine = { id: string; key: ProblemKey } | { id: string; gold: GoldProblem };

/** The key of a problem when regenerating it from the key gives the same problem back, else null. */
function regenerableKey(p: GoldProblem): ProblemKey | null {
  const { seed, index, op, context, mode } = p;
  if (
    !Number.isSafeInteger(seed) ||
    !Number.isSafeInteger(index) ||
    typeof context !== "string" ||
    (mode !== "forward" && mode !== "reverse")
  )
    return null;
  const key: ProblemKey = { seed: seed!, index: index!, op, context, mode: mode as Mode };
  if (problemId(key) !== p.id) return null;
  let g: Problem;
  try {
    g = generateProblem(key);
  } catch {
    return null;
  }
  const same =
    g.answer === p.answer &&
    (p.problem === undefined || g.problem === p.problem) &&
    JSON.stringify(g.graph) === JSON.stringify(p.graph);
  return same ? key : null;
}

/** Writes problems.jsonl (atomically) into an evaluation folder. */
export function writeEvalProblems(dir: string, problems: readonly GoldProblem[]): string {
  const lines = problems.map((p): ProblemLine => {
    const key = regenerableKey(p);
    if (key) return { id: p.id, key };
    const { prompt: _, ...gold } = p;
    return { id: p.id, gold };
  });
  const path = join(dir, PROBLEMS_FILE);
  writeFileAtomic(path, lines.map((l) => `${JSON.stringify(l)}\n`).join(""));
  return path;
}

/**
 * Reads the problems of an evaluation folder by id (null when it has no problems.jsonl, as folders
 * written before it was kept). A key that no longer regenerates its id is an error naming the line.
 */
export function readEvalProblems(dir: string): Map<string, GoldProblem> | null {
  const path = join(dir, PROBLEMS_FILE);
  if (!existsSync(path)) return null;
  const out = new Map<string, GoldProblem>();
  for (const l of readJsonlSync(path, { bad: "throw" })) {
    const where = `${path}:${l.line}`;
    const x = l.value as Partial<{ id: string; key: ProblemKey; gold: GoldProblem }>;
    let p: GoldProblem;
    if (x && typeof x === "object" && x.key && typeof x.key === "object") {
      try {
        p = generateProblem(x.key);
      } catch (e) {
        throw new Error(
          `${where}: cannot regenerate the problem of key ${JSON.stringify(x.key)} (${(e as Error).message})`,
        );
      }
      if (p.id !== x.id)
        throw new Error(`${where}: key ${JSON.stringify(x.key)} now regenerates "${p.id}", not "${x.id}"`);
    } else if (x && typeof x === "object" && x.gold !== undefined) {
      const err = goldProblemError(x.gold);
      if (err) throw new Error(`${where}: ${err}`);
      p = x.gold;
    } else throw new Error(`${where}: a line must hold {id, key} or {id, gold}`);
    out.set(p.id, p);
  }
  return out;
}
