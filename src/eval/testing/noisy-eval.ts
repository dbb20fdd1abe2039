/**
 * An evaluation folder written the way `interplay eval` writes one, whose completions are gold traces
 * with seeded edits in place of a model's samples (a dropped step, a changed result, an extra step,
 * a wrong answer, a cut-off trace): every verdict category occurs, and the verdicts are the real
 * verifier's. Used by the explorer tests and the explorer benchmark.
 */
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildEvalSummary, type EvalSummary } from "../../stats/evaluation.js";
import { hashSeed, Rng } from "../../util/rng.js";
import { verifySample } from "../../verify/index.js";
import type { Problem } from "../../world/types.js";
import { writeEvalPages } from "../explore.js";
import { writeEvalProblems } from "../problems-file.js";
import { type GridOptions, gridProblems, type ResultLine } from "../runner.js";

/** Steps of a gold completion: head, steps, tail (completion = head + steps.join(" ") + tail). */
function split(c: string, mode: string): { head: string; steps: string[]; tail: string } {
  const starts: number[] = [];
  for (let i = c.indexOf("Define "); i >= 0; i = c.indexOf("Define ", i + 1)) starts.push(i);
  const tailAt = mode === "reverse" ? c.indexOf(" We know ") : c.indexOf(" </solution>");
  const steps = starts.map((s, k) => c.slice(s, k + 1 < starts.length ? starts[k + 1] - 1 : tailAt));
  return { head: c.slice(0, starts[0]), steps, tail: c.slice(tailAt) };
}

/** A gold completion with up to two seeded edits (about 40% of completions are left as they are). */
export function noisyCompletion(p: Problem, rng: Rng): string {
  if (rng.chance(0.4)) return p.completion;
  const t = split(p.completion, p.mode);
  const edits = rng.int(1, 2);
  let cut = false;
  for (let e = 0; e < edits; e++) {
    const k = rng.int(0, t.steps.length - 1);
    switch (rng.int(0, 4)) {
      case 0: // a dropped step (missing, and its children lose a parent)
        if (t.steps.length > 1) t.steps.splice(k, 1);
        break;
      case 1: {
        // a changed final number (a slip, and a wrong value)
        const s = t.steps[k];
        const m = /(-?\d+)\.?$/.exec(s);
        if (m) t.steps[k] = `${s.slice(0, m.index)}${Number(m[1]) + rng.int(1, 3)}.`;
        break;
      }
      case 2: // an extra step
        t.steps.splice(k, 0, `Define spare crate in Nowhere Yard as Q${k}; so Q${k} = ${rng.int(1, 9)}.`);
        break;
      case 3: // a wrong answer
        t.tail = t.tail.replace(
          /<answer> (-?\d+) <\/answer>/,
          (_, a: string) => `<answer> ${Number(a) + 1} </answer>`,
        );
        break;
      default:
        cut = true;
    }
  }
  const text = t.head + t.steps.join(" ") + t.tail;
  return cut ? text.slice(0, Math.max(8, Math.floor(text.length * rng.next()))) : text;
}

/** Options of {@link writeNoisyEvaluation}. */
export interface NoisyEvalOptions extends GridOptions {
  samples: number;
  /** Seed of the edits (default: the grid's seed). */
  noise?: number;
  /** Most samples on the explorer page. */
  maxSamples?: number;
}

/** Writes the folder (problems, samples, results, summary, report, explorer); returns its summary. */
export function writeNoisyEvaluation(
  dir: string,
  o: NoisyEvalOptions,
): { summary: EvalSummary; results: ResultLine[] } {
  mkdirSync(dir, { recursive: true });
  const problems = gridProblems(o) as Problem[];
  writeFileSync(
    join(dir, "eval.json"),
    `${JSON.stringify({ model: "noisy gold traces", samples: o.samples, seed: o.seed })}\n`,
  );
  writeEvalProblems(dir, problems);
  const samples = join(dir, "samples.jsonl");
  const resultsFile = join(dir, "results.jsonl");
  writeFileSync(samples, "");
  writeFileSync(resultsFile, "");
  const results: ResultLine[] = [];
  let sampleText = "";
  let resultText = "";
  problems.forEach((p, pi) => {
    for (let s = 0; s < o.samples; s++) {
      const completion = noisyCompletion(p, new Rng(hashSeed(o.noise ?? o.seed, pi, s)));
      const { breakdown: _, ...v } = verifySample(completion, p);
      const r: ResultLine = { id: p.id, sample: s, op: p.op, context: p.context, ...v };
      results.push(r);
      sampleText += `${JSON.stringify({ id: p.id, sample: s, completion, finish: "stop", tokens: completion.length })}\n`;
      resultText += `${JSON.stringify(r)}\n`;
    }
    if (sampleText.length > 1 << 20 || pi === problems.length - 1) {
      appendFileSync(samples, sampleText);
      appendFileSync(resultsFile, resultText);
      sampleText = "";
      resultText = "";
    }
  });
  const summary = buildEvalSummary(
    results.map((r) => ({ ...r, problemId: r.id })),
    { resamples: 100, seed: o.seed },
  );
  writeEvalPages(
    dir,
    summary,
    { title: "noisy gold traces" },
    o.maxSamples ? { maxSamples: o.maxSamples } : {},
  );
  return { summary, results };
}
