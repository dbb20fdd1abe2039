/** The prompts of an RL run: each step's (a pure function of config and step) and the fixed validation set. */
import { hashSeed, Rng } from "../util/rng.js";
import { CONTEXT_IDS } from "../world/contexts.js";
import { slotKey } from "../world/corpus.js";
import { mixtureKey } from "../world/mixture.js";
import { generateProblem } from "../world/problem.js";
import type { Problem } from "../world/types.js";
import type { RlConfig, RlProblem } from "./config.js";

/** The prompts of step `step` (0-based): a pure function of (config, step). */
export function stepPrompts(c: RlConfig, step: number, file?: RlProblem[]): RlProblem[] {
  const P = c.promptsPerStep;
  const out: RlProblem[] = [];
  if (c.prompts.kind === "mixture") {
    const mix = c.prompts.mixture;
    const seed = hashSeed(c.seed, "rl-prompts") % 1_000_000_007;
    for (let i = 0; i < P; i++)
      out.push(generateProblem(mixtureKey(mix, seed, step * P + i), { letters: mix.letters }));
  } else {
    const all = file as RlProblem[];
    const n = all.length;
    const perms = new Map<number, number[]>();
    const perm = (epoch: number) => {
      let order = perms.get(epoch);
      if (!order) {
        // A seeded permutation per pass over the file.
        order = new Rng(hashSeed(c.seed, "rl-epoch", epoch)).shuffle(Array.from({ length: n }, (_, k) => k));
        perms.set(epoch, order);
      }
      return order;
    };
    for (let i = 0; i < P; i++) {
      const j = step * P + i;
      out.push(all[perm(Math.floor(j / n))[j % n]]);
    }
  }
  return out;
}

/** The fixed validation problems: a grid over the ops of the prompt source, from a seed of its own. */
export function validationProblems(c: RlConfig, file?: RlProblem[]): Problem[] {
  const ops = new Set<number>();
  if (c.prompts.kind === "mixture")
    for (const ctx of c.prompts.mixture.contexts) for (const o of ctx.ops) ops.add(o.op);
  else for (const p of file ?? []) ops.add(p.op);
  const opList = [...ops].sort((a, b) => a - b);
  const perOp = Math.max(1, Math.ceil(c.evalProblems / opList.length));
  const contexts =
    c.prompts.kind === "mixture" ? c.prompts.mixture.contexts.map((x) => x.id) : [...CONTEXT_IDS];
  const modes =
    c.prompts.kind === "mixture" ? c.prompts.mixture.modes.map((m) => m.mode) : (["forward"] as const);
  const plan = {
    kind: "grid" as const,
    seed: hashSeed(c.seed, "rl-val") % 1_000_000_007,
    ops: opList,
    contexts,
    modes: [...modes],
    perOp,
  };
  return Array.from({ length: opList.length * perOp }, (_, j) => generateProblem(slotKey(plan, j)));
}
