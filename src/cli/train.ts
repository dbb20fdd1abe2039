/** `interplay pretrain` and `interplay midtrain`. */
import type { Command } from "commander";
import { type BackendChoice, loadKernels } from "../engine/backend.js";
import { PRESETS } from "../model/config.js";
import { PRECISIONS, type Precision } from "../model/model.js";
import { paramCount } from "../model/params.js";
import { LOSS_TARGETS, type LossTargets, PACKINGS, type Packing } from "../train/data.js";
import { STAGE_DEFAULTS, type Stage, type TrainOptions, train } from "../train/trainer.js";
import { backendOption, choiceOption, given, parseNum as num, parseNat, parsePos } from "./args.js";
import { checkOutputs, mixtureFile } from "./outputs.js";
import { startProgress } from "./progress.js";

interface TrainCliOpts {
  preset?: string;
  from?: string;
  mixture?: string;
  tokens?: number;
  minutes?: number;
  seed: number;
  out: string;
  resume?: boolean;
  backend: BackendChoice;
  batch?: number;
  seqLen?: number;
  packing?: Packing;
  docMask?: boolean;
  accum?: number;
  precision?: Precision;
  lossOn?: LossTargets;
  lr?: number;
  minLr?: number;
  minLrRatio?: number;
  warmup?: number;
  evalEvery?: number;
  ckptEvery?: number;
  digits?: boolean;
}

function register(program: Command, stage: Stage): void {
  const cmd = program.command(stage);
  if (stage === "pretrain") {
    cmd.description("pre-train a model from scratch on a mixture streamed from the generator");
    cmd.addOption(choiceOption("--preset <name>", "model preset", Object.keys(PRESETS)).default("tiny"));
    cmd.option("--digits", "digit-level number tokens instead of one token per integer 0–1000");
  } else {
    cmd.description("continue training a run's latest checkpoint on another mixture and schedule");
    cmd.option("--from <run>", "the run folder to start from");
  }
  cmd
    .option("--mixture <name|file>", "mixture preset or JSON file (a new run; a resumed one has its own)")
    .option(
      "--tokens <n>",
      "supervised tokens (the schedule spans them; or --minutes alone); with --resume, a larger value extends the run at the floor LR",
      num("--tokens"),
    )
    .option(
      "--minutes <m>",
      "stop (with a checkpoint) after this many minutes; a new run without --tokens sizes its schedule to end on the floor LR in this time (from the tokens/s measured first)",
      num("--minutes"),
    )
    .option("--seed <n>", "seed of initialisation and data", parseNat("--seed"), 1)
    .requiredOption("--out <dir>", "run folder")
    .option(
      "--resume",
      "continue the run in --out from its latest checkpoint (its config.json supplies every flag; a different value is refused)",
    )
    .addOption(backendOption())
    .option("--batch <n>", "sequences per micro-batch", parsePos("--batch"))
    .option("--seq-len <n>", "tokens per sequence", parsePos("--seq-len"))
    .addOption(
      choiceOption(
        "--packing <how>",
        "aligned (rows start at problems, padded), fit (as aligned, problems placed first-fit across the batch) or stream (rows cut anywhere)",
        PACKINGS,
      ),
    )
    .option("--no-doc-mask", "let packed problems attend to the ones before them in their row")
    .option("--accum <n>", "micro-batches per optimizer step", parsePos("--accum"))
    .addOption(
      choiceOption(
        "--precision <p>",
        "matrix products: fp32, or bf16 (bf16 operands, float32 sums; weights, moments, norms, softmax and loss stay float32)",
        PRECISIONS,
      ),
    )
    .addOption(
      choiceOption(
        "--loss-on <targets>",
        "tokens the loss predicts: all, or only each problem's solution (the question is read, not predicted)",
        LOSS_TARGETS,
      ),
    )
    .option("--lr <x>", "peak learning rate", num("--lr"))
    .option("--min-lr <x>", "learning-rate floor of the cosine", num("--min-lr"))
    .option(
      "--min-lr-ratio <r>",
      "the floor as a fraction of the peak (0.1: a tenth of --lr)",
      num("--min-lr-ratio"),
    )
    .option("--warmup <f>", "warmup fraction of the steps", num("--warmup"))
    .option("--eval-every <n>", "steps between validation losses", parsePos("--eval-every"))
    .option("--ckpt-every <n>", "steps between checkpoints", parsePos("--ckpt-every"))
    .action(async (o: TrainCliOpts) => {
      const overrides: TrainOptions["overrides"] = {};
      if (o.batch !== undefined) overrides.batch = o.batch;
      if (o.seqLen !== undefined) overrides.seqLen = o.seqLen;
      if (o.packing !== undefined) overrides.packing = o.packing;
      if (o.docMask === false) overrides.docMask = false;
      if (o.accum !== undefined) overrides.accum = o.accum;
      if (o.precision !== undefined) overrides.precision = o.precision;
      if (o.lossOn !== undefined) overrides.lossOn = o.lossOn;
      if (o.lr !== undefined) overrides.lr = o.lr;
      if (o.minLr !== undefined) overrides.minLr = o.minLr;
      if (o.minLrRatio !== undefined) overrides.minLr = floorOf(o, STAGE_DEFAULTS[stage].lr);
      if (o.warmup !== undefined) overrides.warmup = o.warmup;
      if (o.evalEvery !== undefined) overrides.evalEvery = o.evalEvery;
      if (o.ckptEvery !== undefined) overrides.ckptEvery = o.ckptEvery;
      if (o.digits) overrides.digits = true;
      checkOutputs({
        inputs: [
          { flag: "--from", path: o.from },
          { flag: "--mixture", path: mixtureFile(o.mixture) },
        ],
        folders: [{ flag: "--out", path: o.out }],
      });
      const kernels = await loadKernels(o.backend);
      const info = kernels.info();
      let bar: ReturnType<typeof startProgress> | null = null;
      const result = await train(
        {
          stage,
          out: o.out,
          preset: given(cmd, o, "preset"),
          from: o.from,
          mixture: o.mixture,
          tokens: o.tokens,
          minutes: o.minutes,
          seed: given(cmd, o, "seed"),
          resume: o.resume,
          overrides,
          onStep: (m, total) => {
            if (!bar) bar = startProgress(stage, total, ["loss", "tok/s"]);
            bar.update(m.step, { loss: m.loss.toFixed(3), "tok/s": Math.round(m.tokensPerSec) });
          },
        },
        kernels,
      );
      (bar as ReturnType<typeof startProgress> | null)?.stop();
      const c = result.config;
      console.error(
        `${stage}: ${c.preset} (${(paramCount(c.model) / 1e6).toFixed(2)}M parameters) on ${info.name}/${info.path}, ${info.threads} threads, ${c.precision === "bf16" ? `bf16 products (${info.bf16})` : "fp32 products"}`,
      );
      console.error(
        `${result.steps} steps, final loss ${result.finalLoss.toFixed(4)}` +
          (Number.isFinite(result.finalValLoss)
            ? `, validation loss ${result.finalValLoss.toFixed(4)}`
            : "") +
          (result.stoppedEarly ? " (stopped by --minutes; --resume continues)" : "") +
          ` → ${o.out}`,
      );
    });
}

/** Registers pretrain and midtrain. */
export function registerTrain(program: Command): void {
  register(program, "pretrain");
  register(program, "midtrain");
}

/** The floor LR of `--min-lr-ratio`: a fraction of the peak (`--lr`, else the stage's default). */
function floorOf(o: { lr?: number; minLr?: number; minLrRatio?: number }, defaultLr: number): number {
  if (o.minLr !== undefined) throw new Error("give --min-lr or --min-lr-ratio, not both");
  const r = o.minLrRatio as number;
  if (!(r >= 0 && r <= 1)) throw new Error(`--min-lr-ratio must lie in [0, 1], got ${r}`);
  return r * (o.lr ?? defaultLr);
}
