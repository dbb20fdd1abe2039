/** `interplay stats`: the generator's per-op distributions beside the reference's. */
import type { Command } from "commander";
import { departures, measure, statsMarkdown, TOLERANCE } from "../world/stats.js";
import { MODES, type Mode } from "../world/types.js";
import { choiceOption, parseNat, parseOps, parsePos } from "./args.js";

/** Registers the stats command. */
export function registerStats(program: Command): void {
  program
    .command("stats")
    .description("measure the generator's per-op distributions (markdown table, reference beside)")
    .option(
      "--ops <ops>",
      "ops",
      parseOps,
      Array.from({ length: 19 }, (_, i) => i + 2),
    )
    .option("--per-op <n>", "problems per op", parsePos("--per-op"), 1000)
    .option("--seed <n>", "seed", parseNat("--seed"), 1)
    .addOption(choiceOption("--mode <mode>", "mode", MODES).default("forward"))
    .action((o: { ops: number[]; perOp: number; seed: number; mode: Mode }) => {
      const forward = o.mode === "forward";
      const rows = measure(o.ops, { perOp: o.perOp, seed: o.seed, mode: o.mode });
      console.log(statsMarkdown(rows, forward));
      if (!forward) return; // the reference table is forward mode only
      const off = rows.flatMap(departures);
      const tol = `steps median ±${TOLERANCE.stepsMedian}, p10/p90 ±${TOLERANCE.stepsTails}; sentences and distractors ±${TOLERANCE.sentences}; answers ×${TOLERANCE.answerFactor}; edges/node ±${TOLERANCE.meanEdges}, shares ±${TOLERANCE.edgeShare}`;
      console.log(
        off.length === 0
          ? `\nwithin the tolerances of the reference at every op measured (${tol})`
          : `\noutside the tolerances (${tol}):\n${off.map((x) => `  ${x}`).join("\n")}`,
      );
    });
}
