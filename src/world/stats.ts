/** Per-op distributions of the generator, and the reference's figures (world.md §9) beside them. */
import { CONTEXT_IDS } from "./contexts.js";
import { drawGraph, generateProblem } from "./problem.js";
import type { Mode } from "./types.js";

/** p10 / median / p90 plus min and max. */
export interface Quantiles {
  min: number;
  p10: number;
  p50: number;
  p90: number;
  max: number;
}

/** The measured distributions of one op. */
export interface OpStats {
  op: number;
  n: number;
  steps: Quantiles;
  sentences: Quantiles;
  distractors: Quantiles;
  answer: Quantiles;
  /** Mean edges per solution node (constants count as one). */
  meanParents: number;
  words: Quantiles;
  /** Mean draws per accepted problem. */
  attempts: number;
}

/** p10 / median / p90 of the reference generator (forward mode), world.md §9. */
export const REFERENCE: Record<
  number,
  { steps: number[]; sentences: number[]; answer: number[]; words: number[] }
> = {
  2: { steps: [2, 2, 2], sentences: [3, 5, 9], answer: [1, 3, 4], words: [73, 122, 217] },
  5: { steps: [3, 3, 4], sentences: [3, 4, 10], answer: [4, 8, 16], words: [122, 154, 285] },
  10: { steps: [5, 6, 6], sentences: [3, 4, 9], answer: [8, 18, 48], words: [197, 218, 323] },
  15: { steps: [7, 9, 10], sentences: [5, 7, 13], answer: [14, 33, 104], words: [298, 341, 468] },
  20: { steps: [8, 10, 12], sentences: [6, 7, 10], answer: [29, 77, 250], words: [388, 418, 481] },
};

/** Solution-node min/max of the reference (15 problems per cell), world.md §9. */
export const REFERENCE_NODES: Record<number, [number, number]> = {
  2: [2, 2],
  3: [3, 3],
  5: [3, 4],
  8: [4, 6],
  10: [5, 7],
  12: [5, 10],
  14: [5, 9],
  17: [6, 12],
  20: [8, 13],
};

/** Quantiles of a sample (nearest rank). */
export function quantiles(xs: number[]): Quantiles {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { min: s[0], p10: at(0.1), p50: at(0.5), p90: at(0.9), max: s[s.length - 1] };
}

/** Measures the generator on `perOp` problems per op (contexts cycled). */
export function measure(ops: number[], opts: { perOp?: number; seed?: number; mode?: Mode } = {}): OpStats[] {
  const { perOp = 300, seed = 1, mode = "forward" } = opts;
  return ops.map((op) => {
    const steps: number[] = [];
    const sentences: number[] = [];
    const distractors: number[] = [];
    const answer: number[] = [];
    const words: number[] = [];
    let parents = 0;
    let nodes = 0;
    let attempts = 0;
    for (let i = 0; i < perOp; i++) {
      const key = { seed, index: i, op, context: CONTEXT_IDS[i % CONTEXT_IDS.length], mode };
      const p = generateProblem(key);
      const g = drawGraph(key);
      steps.push(p.graph.nodes.length);
      sentences.push(p.problem.split(/(?<=\.) (?=The )/).length);
      distractors.push(g.distractors.length);
      answer.push(Number(p.answer));
      words.push(`${p.problem} ${p.question} ${p.solution}`.split(/\s+/).length);
      for (const v of g.order) parents += g.defs[v]!.parents.length + (g.defs[v]!.rng ? 1 : 0);
      nodes += g.order.length;
      attempts += g.attempts;
    }
    return {
      op,
      n: perOp,
      steps: quantiles(steps),
      sentences: quantiles(sentences),
      distractors: quantiles(distractors),
      answer: quantiles(answer),
      meanParents: parents / nodes,
      words: quantiles(words),
      attempts: attempts / perOp,
    };
  });
}

const q3 = (q: Quantiles) => `${q.p10} / ${q.p50} / ${q.p90}`;
const ref3 = (xs: number[] | undefined) => (xs ? xs.join(" / ") : "");

/** A markdown table: ours (p10 / median / p90, min–max) beside the reference (forward mode only). */
export function statsMarkdown(rows: OpStats[], withReference = true): string {
  const out = [
    "| op | steps (ours) | steps (ref) | nodes min–max (ours / ref) | sentences (ours) | sentences (ref) | distractors (ours) | answer (ours) | answer (ref) | words (ours) | words (ref) | edges/node | draws/problem |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const ref = withReference ? REFERENCE[r.op] : undefined;
    const rn = withReference ? REFERENCE_NODES[r.op] : undefined;
    out.push(
      `| ${r.op} | ${q3(r.steps)} | ${ref3(ref?.steps)} | ${r.steps.min}–${r.steps.max} / ${rn ? rn.join("–") : ""} | ${q3(r.sentences)} | ${ref3(ref?.sentences)} | ${q3(r.distractors)} | ${q3(r.answer)} | ${ref3(ref?.answer)} | ${q3(r.words)} | ${ref3(ref?.words)} | ${r.meanParents.toFixed(2)} | ${r.attempts.toFixed(1)} |`,
    );
  }
  return out.join("\n");
}
