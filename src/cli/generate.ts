/** `interplay generate`: problem files from an op grid or a mixture. */
import type { Command } from "commander";
import { CONTEXT_IDS } from "../world/contexts.js";
import { checkGridPlan, type Plan, planSize, readHashes, writeCorpus } from "../world/corpus.js";
import { resolveMixture } from "../world/mixture.js";
import { MODES, type Mode } from "../world/types.js";
import { choiceListOption, parseNat, parseOps, parsePos } from "./args.js";
import { checkOutputs, mixtureFile } from "./outputs.js";
import { startProgress } from "./progress.js";

interface GenerateOpts {
  ops?: number[];
  contexts: string[];
  modes: Mode[];
  perOp?: number;
  mixture?: string;
  count?: number;
  seed: number;
  out: string;
  exclude: string[];
  workers?: number;
  force?: boolean;
}

/** Registers the generate command. */
export function registerGenerate(program: Command): void {
  program
    .command("generate")
    .description(
      "write problems as JSONL: --per-op problems for each op of --ops, or --count from a --mixture",
    )
    .option("--ops <ops>", "ops as a range or list, e.g. 2-20 or 2,5,10", parseOps)
    .addOption(
      choiceListOption("--contexts <list>", "contexts to cycle through", CONTEXT_IDS).default([
        ...CONTEXT_IDS,
      ]),
    )
    .addOption(choiceListOption("--modes <list>", "modes to cycle through", MODES).default([...MODES]))
    .option("--per-op <n>", "problems per op", parsePos("--per-op"))
    .option("--mixture <name|file>", "draw from a mixture preset or JSON file instead of --ops")
    .option("--count <n>", "problems to draw from the mixture", parsePos("--count"))
    .requiredOption("--seed <n>", "seed: the same seed and options give the same bytes", parseNat("--seed"))
    .requiredOption("--out <file>", "output JSONL file (written atomically; an existing file needs --force)")
    .option("--exclude <files...>", "problem files of other splits: none of their problems is repeated", [])
    .option("--workers <n>", "worker threads (default: all cores)", parseNat("--workers"))
    .option("--force", "replace an existing --out file (never an input: --mixture, --exclude)")
    .action(async (o: GenerateOpts) => {
      checkOutputs({
        inputs: [
          { flag: "--mixture", path: mixtureFile(o.mixture) },
          ...o.exclude.map((path) => ({ flag: "--exclude", path })),
        ],
        files: [{ flag: "--out", path: o.out }],
        force: o.force,
      });
      let plan: Plan;
      if (o.mixture !== undefined) {
        if (o.ops || o.perOp) throw new Error("use either --mixture with --count, or --ops with --per-op");
        if (o.count === undefined) throw new Error("--mixture needs --count");
        plan = { kind: "mixture", seed: o.seed, mixture: resolveMixture(o.mixture), count: o.count };
      } else {
        if (!o.ops) throw new Error("give --ops (with --per-op) or --mixture (with --count)");
        if (o.perOp === undefined) throw new Error("--ops needs --per-op");
        plan = {
          kind: "grid",
          seed: o.seed,
          ops: o.ops,
          contexts: o.contexts,
          modes: o.modes,
          perOp: o.perOp,
        };
        checkGridPlan(plan);
      }
      const exclude = await readHashes(o.exclude);
      const total = planSize(plan);
      const bar = startProgress("generate", total);
      const t0 = performance.now();
      const stats = await writeCorpus(plan, o.out, {
        workers: o.workers ?? (total >= 4000 ? undefined : 0),
        exclude,
        onProgress: (done) => bar.update(done),
      });
      bar.stop();
      const secs = (performance.now() - t0) / 1000;
      console.error(
        `wrote ${stats.written} problems to ${o.out} in ${secs.toFixed(1)} s` +
          (stats.replaced ? ` (${stats.replaced} duplicates replaced)` : ""),
      );
    });
}
