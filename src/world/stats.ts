/** Per-op distributions of the generator, the reference generator's beside them, and the drift check between the two. */
import { CONTEXT_IDS } from "./contexts.js";
import { generateDrawn } from "./problem.js";
import type { Mode } from "./types.js";

/** p10 / median / p90 plus min and max (nearest rank: values that occur). */
export interface Quantiles {
  min: number;
  p10: number;
  p50: number;
  p90: number;
  max: number;
}

/** p10 / median / p90 of integer data, interpolated inside the tied block (grouped-data quantiles). */
export type Trio = [number, number, number];

/** The measured distributions of one op. */
export interface OpStats {
  op: number;
  n: number;
  steps: Quantiles;
  sentences: Quantiles;
  distractors: Quantiles;
  answer: Quantiles;
  words: Quantiles;
  /** Interpolated p10 / median / p90 of steps, sentences and distractors (what the drift check compares). */
  fine: { steps: Trio; sentences: Trio; distractors: Trio };
  /** Mean edges per solution node (a constant counts as one). */
  meanParents: number;
  /** Shares of solution nodes with 1, 2, 3 and ≥ 4 edges. */
  edgeShares: [number, number, number, number];
  /** Mean draws per accepted problem. */
  attempts: number;
}

/** What the reference generator gives at one op (forward mode). */
export interface ReferenceRow {
  /** Interpolated p10 / median / p90. */
  steps: Trio;
  sentences: Trio;
  distractors: Trio;
  /** Nearest-rank p10 / median / p90. */
  answer: Trio;
  words: Trio;
  /** Mean edges per solution node, and the shares with 1, 2, 3, ≥ 4 edges. */
  edges: number;
  edgeShares: [number, number, number, number];
  /** Fewest and most solution steps seen. */
  stepsRange: [number, number];
  /** Draws per accepted problem. */
  draws: number;
}

/**
 * The reference generator (GSM-Infinite's realistic forward generator, zero context, d = 2, number
 * range 5, forced s = op_max, the strictline schedule of world.md §3), run on 2026-12-02 for 5,000
 * problems per op (contexts cycled, seed = op; its console output discarded). Its op 2/5/10/15/20
 * rows agree with the larger run of world.md §9 (`SPEC_REFERENCE`) within sampling noise.
 */
// biome-ignore format: one row per op, as measured
export const REFERENCE: Record<number, ReferenceRow> = {
  2: { steps: [1.6, 2.0, 2.4], sentences: [2.52, 4.61, 8.54], distractors: [1.52, 3.61, 7.54], answer: [1, 3, 4], words: [73, 119, 212], edges: 1.0, edgeShares: [1.0, 0.0, 0.0, 0.0], stepsRange: [2, 2], draws: 19.2 },
  3: { steps: [2.6, 3.0, 3.4], sentences: [2.53, 4.54, 8.54], distractors: [0.53, 2.54, 6.54], answer: [1, 3, 4], words: [91, 131, 224], edges: 1.0, edgeShares: [1.0, 0.0, 0.0, 0.0], stepsRange: [3, 3], draws: 76.3 },
  // biome-ignore lint/suspicious/noApproximativeNumericConstant: a measured share, not ln 2
  4: { steps: [2.61, 3.03, 3.46], sentences: [3.03, 4.24, 8.45], distractors: [1.03, 2.24, 6.45], answer: [2, 6, 8], words: [105, 134, 229], edges: 1.307, edgeShares: [0.693, 0.307, 0.0, 0.0], stepsRange: [3, 4], draws: 4.1 },
  5: { steps: [2.62, 3.09, 3.84], sentences: [2.91, 4.33, 10.59], distractors: [0.8, 2.32, 8.38], answer: [4, 8, 16], words: [122, 154, 289], edges: 1.586, edgeShares: [0.435, 0.544, 0.021, 0.0], stepsRange: [3, 4], draws: 4.3 },
  6: { steps: [2.89, 3.9, 4.79], sentences: [4.53, 8.92, 14.21], distractors: [1.53, 5.92, 11.21], answer: [4, 8, 13], words: [160, 248, 368], edges: 1.543, edgeShares: [0.679, 0.099, 0.222, 0.0], stepsRange: [3, 6], draws: 10.4 },
  7: { steps: [3.68, 4.4, 5.36], sentences: [2.98, 7.27, 12.29], distractors: [-0.08, 4.04, 8.92], answer: [5, 10, 20], words: [153, 228, 340], edges: 1.56, edgeShares: [0.567, 0.308, 0.125, 0.001], stepsRange: [4, 7], draws: 9.5 },
  8: { steps: [3.96, 4.98, 5.98], sentences: [3.23, 7.8, 13.58], distractors: [-0.14, 4.13, 9.73], answer: [6, 12, 27], words: [168, 247, 377], edges: 1.607, edgeShares: [0.546, 0.319, 0.116, 0.018], stepsRange: [4, 8], draws: 5.6 },
  9: { steps: [4.64, 5.48, 6.38], sentences: [3.79, 7.09, 13.73], distractors: [-0.21, 3.09, 9.73], answer: [7, 14, 32], words: [183, 252, 394], edges: 1.634, edgeShares: [0.489, 0.412, 0.076, 0.023], stepsRange: [4, 8], draws: 5.1 },
  10: { steps: [4.73, 5.64, 6.49], sentences: [2.81, 3.9, 9.18], distractors: [-0.37, 0.15, 5.05], answer: [8, 18, 48], words: [197, 218, 320], edges: 1.76, edgeShares: [0.477, 0.337, 0.135, 0.051], stepsRange: [5, 9], draws: 13.0 },
  11: { steps: [5.11, 6.07, 7.35], sentences: [3.63, 4.3, 11.06], distractors: [-0.36, 0.22, 6.33], answer: [9, 21, 51], words: [215, 241, 372], edges: 1.783, edgeShares: [0.423, 0.407, 0.137, 0.034], stepsRange: [5, 10], draws: 9.9 },
  12: { steps: [5.53, 6.09, 7.32], sentences: [3.63, 4.15, 8.5], distractors: [-0.38, 0.09, 3.7], answer: [12, 27, 68], words: [231, 251, 323], edges: 1.926, edgeShares: [0.391, 0.38, 0.14, 0.088], stepsRange: [5, 10], draws: 18.7 },
  13: { steps: [5.57, 6.3, 8.16], sentences: [3.66, 4.3, 9.05], distractors: [-0.38, 0.12, 4.09], answer: [14, 34, 88], words: [251, 275, 358], edges: 1.975, edgeShares: [0.362, 0.383, 0.173, 0.082], stepsRange: [5, 11], draws: 11.3 },
  // biome-ignore lint/suspicious/noApproximativeNumericConstant: a measured share, not ln 2
  14: { steps: [5.82, 7.62, 9.26], sentences: [4.04, 5.73, 12.11], distractors: [-0.34, 0.28, 6.3], answer: [13, 34, 103], words: [275, 310, 437], edges: 1.853, edgeShares: [0.434, 0.341, 0.165, 0.06], stepsRange: [5, 12], draws: 13.6 },
  15: { steps: [7.0, 8.56, 10.06], sentences: [5.13, 6.95, 13.37], distractors: [-0.31, 0.43, 6.77], answer: [14, 33, 104], words: [298, 343, 469], edges: 1.757, edgeShares: [0.453, 0.365, 0.154, 0.027], stepsRange: [6, 12], draws: 14.4 },
  16: { steps: [6.62, 7.8, 9.48], sentences: [3.84, 5.07, 8.56], distractors: [-0.38, 0.08, 2.64], answer: [19, 48, 141], words: [314, 337, 391], edges: 2.017, edgeShares: [0.449, 0.226, 0.186, 0.14], stepsRange: [6, 13], draws: 23.2 },
  17: { steps: [6.99, 8.58, 10.48], sentences: [4.79, 6.03, 9.5], distractors: [-0.37, 0.13, 3.78], answer: [20, 52, 160], words: [332, 362, 441], edges: 1.957, edgeShares: [0.409, 0.309, 0.201, 0.082], stepsRange: [6, 13], draws: 18.0 },
  18: { steps: [7.63, 9.45, 11.32], sentences: [5.55, 6.87, 11.37], distractors: [-0.37, 0.17, 4.42], answer: [21, 56, 177], words: [352, 387, 481], edges: 1.905, edgeShares: [0.41, 0.335, 0.195, 0.06], stepsRange: [6, 13], draws: 16.3 },
  19: { steps: [7.56, 8.88, 10.91], sentences: [4.76, 5.86, 8.52], distractors: [-0.39, 0.06, 0.88], answer: [28, 79, 248], words: [368, 392, 444], edges: 2.102, edgeShares: [0.376, 0.279, 0.21, 0.134], stepsRange: [6, 14], draws: 16.4 },
  20: { steps: [8.08, 10.01, 12.05], sentences: [5.71, 7.06, 9.61], distractors: [-0.38, 0.09, 2.67], answer: [27, 74, 250], words: [389, 418, 488], edges: 1.991, edgeShares: [0.391, 0.309, 0.218, 0.081], stepsRange: [7, 15], draws: 16.0 },
};

/** The larger reference run of world.md §9 (forward; nearest-rank p10 / median / p90). */
export const SPEC_REFERENCE: Record<number, { steps: Trio; sentences: Trio; answer: Trio; words: Trio }> = {
  2: { steps: [2, 2, 2], sentences: [3, 5, 9], answer: [1, 3, 4], words: [73, 122, 217] },
  5: { steps: [3, 3, 4], sentences: [3, 4, 10], answer: [4, 8, 16], words: [122, 154, 285] },
  10: { steps: [5, 6, 6], sentences: [3, 4, 9], answer: [8, 18, 48], words: [197, 218, 323] },
  15: { steps: [7, 9, 10], sentences: [5, 7, 13], answer: [14, 33, 104], words: [298, 341, 468] },
  20: { steps: [8, 10, 12], sentences: [6, 7, 10], answer: [29, 77, 250], words: [388, 418, 481] },
};

/**
 * How far the generator may sit from the reference at any op (issue 12): interpolated medians of
 * solution steps ±0.5 and their p10/p90 ±1; sentences and distractors ±1 at p10/median/p90; answers
 * within a factor 1.5 at p10/median/p90; mean edges per node ±0.05 and each edge-count share ±0.03.
 */
export const TOLERANCE = {
  stepsMedian: 0.5,
  stepsTails: 1,
  sentences: 1,
  distractors: 1,
  answerFactor: 1.5,
  meanEdges: 0.05,
  edgeShare: 0.03,
};

/** Quantiles of a sample (nearest rank). */
export function quantiles(xs: number[]): Quantiles {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { min: s[0], p10: at(0.1), p50: at(0.5), p90: at(0.9), max: s[s.length - 1] };
}

/**
 * p10 / median / p90 of integer data, interpolated inside the block of the value that crosses each
 * level (x − ½ + (p − F(x−1)) / f(x)): a median that moves smoothly as mass shifts between two
 * neighbouring integers, so a tolerance of ±0.5 means something.
 */
export function fineQuantiles(xs: number[]): Trio {
  const counts = new Map<number, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  const values = [...counts.keys()].sort((a, b) => a - b);
  const at = (p: number) => {
    let F = 0;
    for (const x of values) {
      const f = counts.get(x)! / xs.length;
      if (F + f >= p) return x - 0.5 + (p - F) / f;
      F += f;
    }
    return values[values.length - 1];
  };
  return [at(0.1), at(0.5), at(0.9)];
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
    const shares = [0, 0, 0, 0];
    let parents = 0;
    let nodes = 0;
    let attempts = 0;
    for (let i = 0; i < perOp; i++) {
      const key = { seed, index: i, op, context: CONTEXT_IDS[i % CONTEXT_IDS.length], mode };
      const { problem: p, graph: g } = generateDrawn(key);
      steps.push(p.graph.nodes.length);
      sentences.push(p.problem.split(/(?<=\.) (?=The )/).length);
      distractors.push(g.distractors.length);
      answer.push(Number(p.answer));
      words.push(`${p.problem} ${p.question} ${p.solution}`.split(/\s+/).length);
      for (const v of g.order) {
        const e = g.defs[v]!.parents.length + (g.defs[v]!.rng ? 1 : 0);
        parents += e;
        shares[Math.min(4, e) - 1]++;
      }
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
      words: quantiles(words),
      fine: {
        steps: fineQuantiles(steps),
        sentences: fineQuantiles(sentences),
        distractors: fineQuantiles(distractors),
      },
      meanParents: parents / nodes,
      edgeShares: shares.map((c) => c / nodes) as OpStats["edgeShares"],
      attempts: attempts / perOp,
    };
  });
}

/** Where one op's measurement leaves the tolerances around the reference (empty when it holds; ops without a reference row pass). */
export function departures(s: OpStats): string[] {
  const ref = REFERENCE[s.op];
  if (!ref) return [];
  const out: string[] = [];
  const names = ["p10", "median", "p90"];
  const f2 = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(" / ");
  const near = (what: string, ours: Trio, theirs: Trio, tol: (i: number) => number) => {
    for (let i = 0; i < 3; i++) {
      if (Math.abs(ours[i] - theirs[i]) > tol(i)) {
        out.push(`${what} ${names[i]}: ${f2(ours)} vs reference ${f2(theirs)} (±${tol(i)})`);
        return;
      }
    }
  };
  near("steps", s.fine.steps, ref.steps, (i) => (i === 1 ? TOLERANCE.stepsMedian : TOLERANCE.stepsTails));
  near("sentences", s.fine.sentences, ref.sentences, () => TOLERANCE.sentences);
  near("distractors", s.fine.distractors, ref.distractors, () => TOLERANCE.distractors);
  const ans: Trio = [s.answer.p10, s.answer.p50, s.answer.p90];
  for (let i = 0; i < 3; i++) {
    if (Math.abs(Math.log(ans[i] / ref.answer[i])) > Math.log(TOLERANCE.answerFactor) + 1e-9) {
      out.push(
        `answer ${names[i]}: ${ans.join(" / ")} vs reference ${ref.answer.join(" / ")} (factor ${TOLERANCE.answerFactor})`,
      );
      break;
    }
  }
  if (Math.abs(s.meanParents - ref.edges) > TOLERANCE.meanEdges) {
    out.push(
      `edges per node: ${s.meanParents.toFixed(3)} vs reference ${ref.edges} (±${TOLERANCE.meanEdges})`,
    );
  }
  for (let k = 0; k < 4; k++) {
    if (Math.abs(s.edgeShares[k] - ref.edgeShares[k]) > TOLERANCE.edgeShare) {
      out.push(
        `share of nodes with ${k === 3 ? "≥ 4" : k + 1} edges: ${f2(s.edgeShares)} vs reference ${f2(ref.edgeShares)} (±${TOLERANCE.edgeShare})`,
      );
      break;
    }
  }
  return out.map((m) => `op ${s.op}: ${m}`);
}

const t3 = (xs: readonly number[] | undefined, digits = 0) =>
  xs ? xs.map((x) => x.toFixed(digits)).join(" / ") : "";

/**
 * A markdown table, ours beside the reference (forward mode; `withReference` false leaves those
 * columns empty): steps, sentences and distractors as interpolated p10 / median / p90 (the figures
 * the drift check compares), answers and words as nearest-rank p10 / median / p90.
 */
export function statsMarkdown(rows: OpStats[], withReference = true): string {
  const out = [
    "| op | steps (ours) | steps (ref) | steps min–max (ours / ref) | sentences (ours) | sentences (ref) | distractors (ours) | distractors (ref) | answer (ours) | answer (ref) | words (ours) | words (ref) | edges/node (ours / ref) | nodes with 1 / 2 / 3 / ≥4 edges (ours) | (ref) | draws/problem (ours / ref) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const ref = withReference ? REFERENCE[r.op] : undefined;
    const cells = [
      r.op,
      t3(r.fine.steps, 1),
      t3(ref?.steps, 1),
      `${r.steps.min}–${r.steps.max} / ${ref ? ref.stepsRange.join("–") : ""}`,
      t3(r.fine.sentences, 1),
      t3(ref?.sentences, 1),
      t3(r.fine.distractors, 1),
      t3(ref?.distractors, 1),
      t3([r.answer.p10, r.answer.p50, r.answer.p90]),
      t3(ref?.answer),
      t3([r.words.p10, r.words.p50, r.words.p90]),
      t3(ref?.words),
      `${r.meanParents.toFixed(2)} / ${ref ? ref.edges.toFixed(2) : ""}`,
      t3(r.edgeShares, 2),
      t3(ref?.edgeShares, 2),
      `${r.attempts.toFixed(1)} / ${ref ? ref.draws.toFixed(1) : ""}`,
    ];
    out.push(`| ${cells.join(" | ")} |`);
  }
  return out.join("\n");
}
