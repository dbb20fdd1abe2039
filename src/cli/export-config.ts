/** `interplay export-config`: the launch folder of one study stage for a GPU trainer (verl, TRL). */
import type { Command } from "commander";
import { TRAINER_RELEASES, TRAINERS, type Trainer } from "../interop/trainer-config.js";
import { SCALES, type Scale, STUDY_NAMES, type StudyName } from "../studies/builtin.js";
import { exportStageConfig } from "../studies/export-config.js";
import { choiceOption, parseNat, parseOps, parsePos } from "./args.js";
import { type Progress, startProgress } from "./progress.js";

interface ExportConfigOpts {
  study: StudyName;
  scale: Scale;
  stage: string;
  trainer: Trainer;
  out: string;
  seed: number;
  gpus: number;
  nodes: number;
  model?: string;
  edgeBand?: number[];
  maxPrompts?: number;
  force?: boolean;
  corpus?: boolean;
}

/** Registers the export-config command. */
export function registerExportConfig(program: Command): void {
  program
    .command("export-config")
    .description(
      `write what a GPU box launches for one study stage: data, reward integration, and the trainer's config (verl ${TRAINER_RELEASES.verl}, TRL ${TRAINER_RELEASES.trl}) with the stage's hyper-parameters`,
    )
    .addOption(choiceOption("--study <name>", "study", STUDY_NAMES).makeOptionMandatory())
    .addOption(choiceOption("--scale <name>", "scale", SCALES).default("paper"))
    .requiredOption("--stage <id>", "stage id (an rl, pretrain or midtrain stage; a wrong id lists them)")
    .addOption(choiceOption("--trainer <name>", "GPU trainer (RL stages)", TRAINERS).default("verl"))
    .requiredOption("--out <dir>", "new or empty folder (written atomically)")
    .option("--seed <n>", "study seed", parseNat("--seed"), 1)
    .option("--gpus <n>", "GPUs per node", parsePos("--gpus"), 8)
    .option("--nodes <n>", "nodes", parsePos("--nodes"), 1)
    .option("--model <path>", "starting model folder as the GPU box sees it (default hf/<from stage>)")
    .option("--edge-band <lo-hi>", "ops of a measured edge band, for stages that train at the edge", parseOps)
    .option(
      "--max-prompts <n>",
      "cap on the training prompts written (the trainer cycles them)",
      parsePos("--max-prompts"),
    )
    .option(
      "--corpus",
      "pre-/mid-training stages: also write the token shards here (paper scale: tens of millions of problems; run make-corpus.sh where the GPUs read instead)",
    )
    .option("--force", "replace a non-empty --out")
    .action(async (o: ExportConfigOpts) => {
      let edgeBand: { lo: number; hi: number } | undefined;
      if (o.edgeBand) {
        const ops = o.edgeBand;
        const lo = Math.min(...ops);
        const hi = Math.max(...ops);
        if (ops.length !== hi - lo + 1)
          throw new Error("--edge-band must be a contiguous range of ops, e.g. 11-14");
        edgeBand = { lo, hi };
      }
      const t0 = performance.now();
      let bar: Progress | undefined; // started on the corpus export's first chunk, when its size is known
      const r = await exportStageConfig({
        study: o.study,
        scale: o.scale,
        stage: o.stage,
        trainer: o.trainer,
        out: o.out,
        seed: o.seed,
        gpus: o.gpus,
        nodes: o.nodes,
        model: o.model,
        edgeBand,
        maxPrompts: o.maxPrompts,
        force: o.force,
        corpus: o.corpus,
        onProgress: o.corpus
          ? (done, total) => {
              bar ??= startProgress("corpus", total);
              bar.update(done);
            }
          : undefined,
      });
      bar?.stop();
      for (const n of r.notes) console.error(`note: ${n}`);
      console.error(
        `wrote ${r.files.length} files (${r.kind} stage) to ${o.out} in ${((performance.now() - t0) / 1000).toFixed(1)} s; see ${o.out}/README.md`,
      );
    });
}
