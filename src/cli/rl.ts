/** `interplay rl`: GRPO from a trained run with process-verified rewards. */
import { type Command, Option } from "commander";
import { type BackendChoice, loadKernels } from "../engine/backend.js";
import { KV_PRECISIONS, PRODUCT_PRECISIONS } from "../model/decode.js";
import { PRECISIONS } from "../model/model.js";
import type { RlOptions } from "../rl/config.js";
import { ADVANTAGES } from "../rl/config.js";
import { trainRl } from "../rl/trainer.js";
import { REWARD_NAMES } from "../verify/index.js";
import { backendOption, given, parseNum as num, parseNat, parsePos, parseUnit } from "./args.js";
import { checkOutputs, mixtureFile } from "./outputs.js";
import { startProgress } from "./progress.js";

/** CLI flags that map one-to-one onto RlConfig fields: a value parser, or the names of a choice. */
const FLAGS: [
  flag: string,
  key: keyof NonNullable<RlOptions["overrides"]>,
  help: string,
  parse: ((v: string) => unknown) | readonly string[],
][] = [
  ["--reward <name>", "reward", "reward (default composite)", REWARD_NAMES],
  ["--alpha <a>", "alpha", "α of the composite reward (default 0.2)", parseUnit("--alpha")],
  [
    "--advantage <kind>",
    "advantage",
    "grpo (group-std normalised, default) or drgrpo (centred only)",
    ADVANTAGES,
  ],
  [
    "--prompts-per-step <n>",
    "promptsPerStep",
    "prompts per step (preset default)",
    parsePos("--prompts-per-step"),
  ],
  ["--rollouts <n>", "rollouts", "rollouts per prompt (default 6)", parsePos("--rollouts")],
  ["--mini-batches <n>", "miniBatches", "PPO mini-batches per step", parsePos("--mini-batches")],
  ["--epochs <n>", "epochs", "PPO epochs per step (default 1)", parsePos("--epochs")],
  ["--micro <n>", "micro", "sequences per forward/backward (memory)", parsePos("--micro")],
  ["--clip <eps>", "clip", "PPO clip ε (default 0.2)", num("--clip")],
  [
    "--kl-coef <b>",
    "klCoef",
    "coefficient of the k3 KL loss to the reference (default 1e-3)",
    num("--kl-coef"),
  ],
  ["--lr <x>", "lr", "constant learning rate (preset default)", num("--lr")],
  ["--temperature <t>", "temperature", "rollout temperature (default 1)", num("--temperature")],
  [
    "--rollout-cache <p>",
    "rolloutCache",
    "rollout KV cache: f32 (default) or f16 (half the bytes; old log-probs stay float32)",
    KV_PRECISIONS,
  ],
  [
    "--rollout-products <p>",
    "rolloutProducts",
    "rollout matrix products: f32 (default) or bf16 (AVX512_BF16; ≈2× faster products)",
    PRODUCT_PRECISIONS,
  ],
  [
    "--precision <p>",
    "precision",
    "policy update's matrix products: fp32 (default) or bf16 (bf16 operands, float32 sums; rescored log-probs too)",
    PRECISIONS,
  ],
  ["--max-new <n>", "maxNew", "most response tokens (preset default)", parsePos("--max-new")],
  ["--eval-every <n>", "evalEvery", "steps between validation (greedy, verified)", parsePos("--eval-every")],
  ["--eval-problems <n>", "evalProblems", "validation problems", parsePos("--eval-problems")],
  ["--ckpt-every <n>", "ckptEvery", "steps between checkpoints", parsePos("--ckpt-every")],
  [
    "--compute-budget <tokens>",
    "computeBudget",
    "end at the first step whose measured compute (FLOPs / 6N, supervised-token equivalents) reaches this; --steps is then a cap",
    num("--compute-budget"),
  ],
  [
    "--rl-constant <c>",
    "rlConstant",
    "constant of T_RL ≈ c·N·r·L (default 5/3; the seed prints 5.3)",
    num("--rl-constant"),
  ],
];

/** Registers the rl command. */
export function registerRl(program: Command): void {
  const cmd = program
    .command("rl")
    .description("GRPO with process-verified rewards, from a pre-/mid-trained run")
    .option(
      "--from <run>",
      "the run whose latest checkpoint is the policy and the frozen reference (a new run)",
    )
    .option(
      "--prompts <name|file>",
      "a mixture (e.g. rl_op7-10, op5-8_forward, a JSON file) or a problems .jsonl (a new run)",
    )
    .option(
      "--steps <n>",
      "GRPO steps (a new run); with --resume, a larger value extends the run",
      parsePos("--steps"),
    )
    .requiredOption("--out <dir>", "run folder")
    .option("--seed <n>", "seed of prompts and rollouts", parseNat("--seed"), 1)
    .option(
      "--resume",
      "continue the run in --out from its latest checkpoint (its config.json supplies every flag; a different value is refused)",
    )
    .option("--minutes <m>", "stop (with a checkpoint) after this many minutes", num("--minutes"))
    .addOption(backendOption())
    .option(
      "--allow-slips",
      "arithmetic slips neither block verified nor count in the reward's penalty (the old lenient policy; default: they do)",
    );
  for (const [flag, , help, parse] of FLAGS) {
    const option = new Option(flag, help);
    cmd.addOption(typeof parse === "function" ? option.argParser(parse) : option.choices(parse));
  }
  cmd.action(async (o: Record<string, unknown>) => {
    const overrides: Record<string, unknown> = {};
    for (const [, key] of FLAGS) if (o[key] !== undefined) overrides[key] = o[key];
    if (o.allowSlips === true) overrides.allowSlips = true;
    checkOutputs({
      inputs: [
        { flag: "--from", path: o.from as string },
        { flag: "--prompts", path: mixtureFile(o.prompts as string | undefined) },
      ],
      folders: [{ flag: "--out", path: o.out as string }],
    });
    const kernels = await loadKernels(o.backend as BackendChoice);
    let bar: ReturnType<typeof startProgress> | null = null;
    const r = await trainRl(
      {
        from: o.from as string | undefined,
        prompts: o.prompts as string | undefined,
        out: o.out as string,
        steps: o.steps as number | undefined,
        seed: given(cmd, o, "seed"),
        resume: o.resume as boolean | undefined,
        minutes: o.minutes as number | undefined,
        overrides: overrides as RlOptions["overrides"],
        onStep: (m, total) => {
          if (!bar) bar = startProgress("rl", total, ["reward", "verified", "kl"]);
          bar.update(m.step, {
            reward: m.reward.toFixed(3),
            verified: `${(100 * m.verified).toFixed(0)}%`,
            kl: m.kl.toExponential(1),
          });
        },
      },
      kernels,
    );
    (bar as ReturnType<typeof startProgress> | null)?.stop();
    const m = r.last;
    console.error(
      `rl: ${r.steps} steps` +
        (m
          ? `, reward ${m.reward.toFixed(3)}, verified ${(100 * m.verified).toFixed(1)}%` +
            (m.val ? `, validation verified ${(100 * m.val.verified).toFixed(1)}%` : "") +
            `, ${Math.round(m.supervisedTokens.measured).toLocaleString("en")} supervised-token equivalents (measured)`
          : "") +
        (r.stoppedEarly ? " (stopped by --minutes; --resume continues)" : "") +
        ` → ${o.out}`,
    );
  });
}
