/** `interplay stats`: the generator's per-op distributions beside the reference's. */
import type { Command } from "commander";
import { measure, statsMarkdown } from "../world/stats.js";
import type { Mode } from "../world/types.js";
import { parseNat, parseOps, parsePos } from "./args.js";

/** Registers the stats command. */
export function registerStats(program: Command): void {
  program
    .command("stats")
    .description("measure the generator's per-op distributions (markdown table, reference beside)")
    .option("--ops <ops>", "ops", parseOps, [2, 3, 5, 8, 10, 12, 14, 15, 17, 20])
    .option("--per-op <n>", "problems per op", parsePos("--per-op"), 1000)
    .option("--seed <n>", "seed", parseNat("--seed"), 1)
    .option("--mode <mode>", "forward or reverse", "forward")
    .action((o: { ops: number[]; perOp: number; seed: number; mode: string }) => {
      if (o.mode !== "forward" && o.mode !== "reverse") throw new Error(`--mode: unknown mode "${o.mode}"`);
      console.log(
        statsMarkdown(
          measure(o.ops, { perOp: o.perOp, seed: o.seed, mode: o.mode as Mode }),
          o.mode === "forward",
        ),
      );
    });
}
