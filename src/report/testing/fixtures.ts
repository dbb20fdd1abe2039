/** Synthetic evaluation records for the report tests and demos: success falls with the op. */
import { makeRng } from "../../stats/bootstrap.js";
import type { EvalRecord } from "../../stats/evaluation.js";
import type { ChartSpec } from "../html.js";

/** The chart descriptions embedded in a rendered page (throws when there are none). */
export function embeddedSpecs(html: string): ChartSpec[] {
  const m = /<script type="application\/json" id="chart-specs">([\s\S]*?)<\/script>/.exec(html);
  if (!m) throw new Error("no chart descriptions in the page");
  return JSON.parse(m[1]);
}

/** Options of {@link syntheticRecords}. */
export interface SyntheticOptions {
  ops?: readonly number[];
  problemsPerOp?: number;
  samples?: number;
  seed?: number;
  /** Added to every problem's success probability (e.g. 0.1 for an "after RL" evaluation). */
  shift?: number;
  /** Problem id prefix (equal prefixes make two evaluations share problem ids). */
  prefix?: string;
}

/**
 * Records of a made-up model whose verified rate decays with the op; a share of the unverified
 * samples still has the right answer, and the errors spread over the categories.
 */
export function syntheticRecords(opts: SyntheticOptions = {}): EvalRecord[] {
  const ops = opts.ops ?? Array.from({ length: 19 }, (_, i) => i + 2);
  const perOp = opts.problemsPerOp ?? 6;
  const n = opts.samples ?? 8;
  const rng = makeRng(opts.seed ?? 1);
  const prefix = opts.prefix ?? "p";
  const contexts = ["zoo", "school", "movie"];
  const out: EvalRecord[] = [];
  for (const op of ops) {
    for (let i = 0; i < perOp; i++) {
      const id = `${prefix}-op${op}-${i}`;
      const base = Math.min(0.98, Math.max(0, 1.05 - op / 14 + (rng() - 0.5) * 0.3 + (opts.shift ?? 0)));
      for (let sample = 0; sample < n; sample++) {
        const verified = rng() < base;
        const answerCorrect = verified || rng() < 0.25;
        const parseFailed = !verified && rng() < 0.05;
        const truncated = !verified && rng() < 0.05;
        const missing = verified || parseFailed ? 0 : Math.floor(rng() * 3);
        const wrongValue = verified ? 0 : Math.floor(rng() * 2);
        const wrongDependency = verified || missing + wrongValue > 0 ? 0 : 1;
        const extra = rng() < 0.1 ? 1 : 0;
        out.push({
          problemId: id,
          op,
          context: contexts[i % contexts.length],
          sample,
          verified,
          // `verified` allows extra nodes; without them, a verified sample with one fails.
          verifiedAllowExtra: verified,
          verifiedNoExtra: verified && extra === 0,
          answerCorrect,
          processAcc: verified ? 1 : parseFailed ? 0 : Math.max(0, 1 - (missing + wrongValue + 1) / (op + 1)),
          parseFailed,
          truncated,
          errors: {
            missing,
            wrongValue,
            wrongDependency,
            extra,
            arithmeticSlips: rng() < 0.08 ? 1 : 0,
          },
        });
      }
    }
  }
  return out;
}
