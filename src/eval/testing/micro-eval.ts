/** A real evaluation folder from an untrained micro model (sampled, verified, summarised, pages written). */
import { native } from "../../engine/native.js";
import { presetConfig } from "../../model/config.js";
import { Model } from "../../model/model.js";
import { WorldTokenizer } from "../../model/tokenizer.js";
import { buildEvalSummary } from "../../stats/evaluation.js";
import { Rng } from "../../util/rng.js";
import { writeEvalPages } from "../explore.js";
import { gridProblems, runEvaluation } from "../runner.js";

/** Samples `samples` traces of each forward problem of `ops` × `perOp` (seed 3) into `out`; returns its pages. */
export function microEvaluation(out: string, ops: number[], perOp: number, samples: number) {
  const tok = new WorldTokenizer();
  const model = new Model(native, presetConfig("micro", tok.vocabSize));
  const rng = new Rng(4);
  model.init(() => rng.next(), 0.5);
  const problems = gridProblems({ ops, perOp, seed: 3, modes: ["forward"] });
  const settings = {
    model: "micro",
    problems: "grid",
    samples,
    temperature: 1,
    topP: 1,
    topK: 0,
    maxNew: 16,
    seed: 3,
  };
  const { results } = runEvaluation({ model, tokenizer: tok, problems, out, settings });
  const summary = buildEvalSummary(
    results.map((r) => ({ ...r, problemId: r.id })),
    { resamples: 100 },
  );
  return writeEvalPages(out, summary, { title: "micro" });
}
