/**
 * `interplay demo`: the world and the verifier end to end, with a simulated sampler standing in for
 * a model (until the engine's sampler and RL land, issues 3–5): problems for every op, context and
 * mode; each sample is the gold trace, corrupted with a probability that grows with op (a skipped
 * step, a changed number, a wrong answer or a cut-off trace); process verification; the per-op
 * pass@k table with answer-only accuracy beside it (false positives show as the gap), and the edge
 * of competence this simulated "model" has.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { edgeBand, edgeByOp } from "../eval/edge.js";
import { type ProblemOutcome, summarize } from "../eval/summary.js";
import { writeFileAtomic } from "../util/atomic.js";
import { Rng } from "../util/rng.js";
import { verifySample } from "../verify/index.js";
import { CONTEXT_IDS } from "../world/contexts.js";
import { generateProblem } from "../world/problem.js";
import { MODES, type Problem } from "../world/types.js";
import { parseNat, parsePos } from "./args.js";
import { summaryTable } from "./summary-table.js";
import { pct, renderTable } from "./table.js";

/** The simulated sampler: gold, or one corruption with probability 1 − 0.9^(op−1). */
function simulate(p: Problem, rng: Rng): string {
  if (rng.next() < 0.9 ** (p.op - 1)) return p.completion;
  const steps = p.completion.split(" Define ");
  const kind = rng.int(0, 3);
  if (kind === 0 && steps.length > 2) {
    // Skip a middle step: the answer survives, the process does not (an answer-only false positive).
    steps.splice(rng.int(1, steps.length - 2), 1);
    return steps.join(" Define ");
  }
  if (kind === 1) return p.completion.replace(/= (\d+)\./, (_m, d) => `= ${Number(d) + rng.int(1, 3)}.`);
  if (kind === 2) return p.completion.replace(/<answer> (\d+) </, (_m, d) => `<answer> ${Number(d) + 1} <`);
  return p.completion.slice(0, Math.floor(p.completion.length * rng.next()));
}

/** Registers the demo command. */
export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("the main job: generate, sample (simulated), verify and summarise, end to end")
    .option("--per-op <n>", "problems per op", parsePos("--per-op"), 30)
    .option("--samples <n>", "samples per problem", parsePos("--samples"), 8)
    .option("--seed <n>", "seed", parseNat("--seed"), 1)
    .option("--out <dir>", "folder for problems, samples, results and summary", "runs/demo")
    .action((o: { perOp: number; samples: number; seed: number; out: string }) => {
      const t0 = performance.now();
      const rng = new Rng(o.seed);
      const problems: Problem[] = [];
      const outcomes: ProblemOutcome[] = [];
      const sampleLines: string[] = [];
      const resultLines: string[] = [];
      let index = 0;
      for (let op = 2; op <= 20; op++) {
        for (let i = 0; i < o.perOp; i++) {
          const p = generateProblem({
            seed: o.seed,
            index: index++,
            op,
            context: CONTEXT_IDS[i % CONTEXT_IDS.length],
            mode: MODES[Math.floor(i / CONTEXT_IDS.length) % MODES.length],
          });
          problems.push(p);
          const oc: ProblemOutcome = { id: p.id, op, correct: [], answerCorrect: [], processAcc: [] };
          for (let s = 0; s < o.samples; s++) {
            const completion = simulate(p, rng);
            const r = verifySample(completion, p);
            oc.correct.push(r.verified);
            oc.answerCorrect!.push(r.answerCorrect);
            oc.processAcc!.push(r.processAcc);
            sampleLines.push(JSON.stringify({ id: p.id, completion }));
            resultLines.push(
              JSON.stringify({
                id: p.id,
                verified: r.verified,
                answerCorrect: r.answerCorrect,
                errors: r.errors,
                rewards: r.rewards,
              }),
            );
          }
          outcomes.push(oc);
        }
      }
      const summary = summarize(outcomes);
      mkdirSync(o.out, { recursive: true });
      writeFileAtomic(
        join(o.out, "problems.jsonl"),
        `${problems.map((p) => JSON.stringify(p)).join("\n")}\n`,
      );
      writeFileAtomic(join(o.out, "samples.jsonl"), `${sampleLines.join("\n")}\n`);
      writeFileAtomic(join(o.out, "results.jsonl"), `${resultLines.join("\n")}\n`);
      writeFileAtomic(join(o.out, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
      console.log(
        `interplay demo: ${problems.length} problems (ops 2–20 × 3 contexts × 2 modes), ${o.samples} simulated samples each`,
      );
      console.log(
        "(the sampler corrupts the gold trace with probability 1 − 0.9^(op−1); a trained model replaces it in later issues)\n",
      );
      console.log(summaryTable(summary));
      const edge = edgeByOp(outcomes);
      console.log("\nedge of competence (share of problems per class):");
      console.log(
        renderTable(
          ["op", "solved@1", "within k", "never"],
          edge.map((r) => [
            r.op,
            pct(r.fractions["solved@1"]),
            pct(r.fractions.solvedWithinK),
            pct(r.fractions.neverSolved),
          ]),
        ),
      );
      const band = edgeBand(edge);
      console.log(band ? `edge band: ops ${band.lo}–${band.hi}` : "no edge band found");
      console.log(`\nfiles in ${o.out}; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    });
}
