/**
 * An RL run's config (training.md §2, RL row): its fields, the per-preset and base defaults, how a
 * new run's config is resolved and a resumed run's checked against the flags given with it, and
 * the prompt files it can draw from.
 */
import { join } from "node:path";
import type { BackendChoice } from "../engine/backend.js";
import type { ModelConfig } from "../model/config.js";
import {
  KV_PRECISIONS,
  type KVPrecision,
  PRODUCT_PRECISIONS,
  type ProductPrecision,
} from "../model/decode.js";
import { PRECISIONS, type Precision } from "../model/model.js";
import { latestCheckpoint } from "../train/checkpoint.js";
import {
  checkOptionKeys,
  flagOf,
  type GivenFlag,
  growTo,
  refuseChanges,
  resolveOrResume,
  sameMixture,
  samePath,
} from "../train/loop.js";
import type { TrainConfig } from "../train/trainer.js";
import { readJsonFile } from "../util/jsonl.js";
import { hasName } from "../util/lookup.js";
import {
  DEFAULT_VERIFY_OPTIONS,
  REWARD_NAMES,
  type RewardName,
  type VerifyOptions,
} from "../verify/index.js";
import { type GoldProblem, loadProblems } from "../world/load.js";
import { type Mixture, resolveMixture } from "../world/mixture.js";

/** Advantage estimators: GRPO (group-std normalised) or Dr.GRPO (centred only). */
export const ADVANTAGES = ["grpo", "drgrpo"] as const;
export type Advantage = (typeof ADVANTAGES)[number];

/** Where prompts come from: a mixture (drawn by seed and index) or a problem file (cycled). */
export type PromptSource =
  | { kind: "mixture"; mixture: Mixture }
  | { kind: "file"; path: string; count: number };

/** Everything that defines an RL run (saved as RUN/config.json, with stage "rl"). */
export interface RlConfig {
  stage: "rl";
  preset: string;
  model: ModelConfig;
  digits: boolean;
  from: { run: string; checkpoint: string };
  prompts: PromptSource;
  reward: RewardName;
  alpha: number;
  advantage: Advantage;
  seed: number;
  steps: number;
  promptsPerStep: number;
  rollouts: number;
  miniBatches: number;
  epochs: number;
  micro: number;
  clip: number;
  klCoef: number;
  lr: number;
  /** AdamW's moment decay rates and epsilon (absent in runs written before they were recorded: 0.9, 0.999, 1e-8). */
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay: number;
  gradClip: number;
  temperature: number;
  maxNew: number;
  /** Rollout sampler's KV cache; absent means float32 (old log-probs are recomputed in float32). */
  rolloutCache?: KVPrecision;
  /** Rollout sampler's matrix products; absent means float32. */
  rolloutProducts?: ProductPrecision;
  /** Matrix products of the policy's (and reference's) training forward and backward; absent means fp32. */
  precision?: Precision;
  /**
   * Arithmetic slips neither block `verified` nor count in the reward's penalty. Every new config
   * records it (default false); a config without it was written before slips counted and keeps the
   * lenient policy it ran under (see {@link rlVerifyOptions}).
   */
  allowSlips?: boolean;
  evalEvery: number;
  evalProblems: number;
  ckptEvery: number;
  /** Constant of the paper's RL-to-supervised rule (5/3; the seed text prints 5.3). */
  rlConstant: number;
  /**
   * A compute budget in supervised-token equivalents by the engine's measured FLOPs (FLOPs / 6N):
   * the run ends at the first step that reaches it, and `steps` is then a cap. Absent: `steps` alone.
   */
  computeBudget?: number;
}

/** The verification options of an RL run's rewards and validation (a config without allowSlips: lenient). */
export function rlVerifyOptions(
  c: Pick<RlConfig, "alpha" | "allowSlips">,
): VerifyOptions & { alpha: number } {
  return { alpha: c.alpha, allowSlips: c.allowSlips ?? true };
}

/** Per-preset defaults, scaled from the reference's 1024 prompts × 6 rollouts, LR 1e-6 at 100M. */
export const RL_DEFAULTS: Record<string, Partial<RlConfig>> = {
  micro: { promptsPerStep: 4, rollouts: 4, miniBatches: 1, micro: 4, lr: 1e-4, maxNew: 64, evalProblems: 4 },
  tiny: {
    promptsPerStep: 16,
    rollouts: 6,
    miniBatches: 2,
    micro: 8,
    lr: 2e-5,
    maxNew: 256,
    evalProblems: 32,
  },
  compact: {
    promptsPerStep: 16,
    rollouts: 6,
    miniBatches: 2,
    micro: 8,
    lr: 5e-5,
    maxNew: 320,
    evalProblems: 32,
  },
  small: {
    promptsPerStep: 32,
    rollouts: 6,
    miniBatches: 2,
    micro: 8,
    lr: 1e-5,
    maxNew: 400,
    evalProblems: 64,
  },
  paper: {
    promptsPerStep: 1024,
    rollouts: 6,
    miniBatches: 4,
    micro: 16,
    lr: 1e-6,
    maxNew: 1024,
    evalProblems: 200,
  },
};

/** Defaults every preset starts from. */
export const RL_BASE_DEFAULTS: Omit<
  RlConfig,
  "stage" | "preset" | "model" | "digits" | "from" | "prompts" | "seed" | "steps"
> = {
  reward: "composite",
  alpha: 0.2,
  advantage: "grpo",
  promptsPerStep: 16,
  rollouts: 6,
  miniBatches: 2,
  epochs: 1,
  micro: 8,
  clip: 0.2,
  klCoef: 1e-3,
  lr: 2e-5,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  gradClip: 1,
  temperature: 1,
  maxNew: 256,
  evalEvery: 10,
  evalProblems: 32,
  ckptEvery: 10,
  rlConstant: 5 / 3,
};

/** The keys an RL stage's `overrides` may set: the base defaults' and the optional ones. */
export const RL_OPTION_KEYS: readonly string[] = [
  ...Object.keys(RL_BASE_DEFAULTS),
  "rolloutCache",
  "rolloutProducts",
  "allowSlips",
  "precision",
  "computeBudget",
];

/**
 * An RL configuration resolved as the trainer resolves it: the base defaults, then the preset's
 * (an unknown or prototype name adds nothing), then `rl`.
 */
export function resolveRlOptions(
  preset: string,
  rl: Partial<RlConfig> = {},
): typeof RL_BASE_DEFAULTS & Partial<RlConfig> {
  return { ...RL_BASE_DEFAULTS, ...(hasName(RL_DEFAULTS, preset) ? RL_DEFAULTS[preset] : {}), ...rl };
}

/**
 * Options a user gives. A new run needs `from`, `prompts` and `steps`; a resumed one takes them
 * from its config.json, and every option given with `resume` must agree with it, except `steps`,
 * which may grow.
 */
export interface RlOptions {
  from?: string;
  prompts?: string;
  out: string;
  steps?: number;
  /** Default 1. */
  seed?: number;
  resume?: boolean;
  minutes?: number;
  backend?: BackendChoice;
  /** RL settings; the run's identity (source, prompts, steps, seed) comes from the fields above. */
  overrides?: Partial<
    Omit<RlConfig, "stage" | "model" | "from" | "prompts" | "preset" | "digits" | "steps" | "seed">
  >;
  onStep?: (m: RlMetrics, total: number) => void;
  /** Where checkpoint notices go (a fallback past a corrupt checkpoint, unverified old ones); default stderr. */
  log?: (msg: string) => void;
}

/** One line of metrics.jsonl. */
export interface RlMetrics {
  step: number;
  reward: number;
  rewardStd: number;
  components: Record<string, number>;
  zeroVarGroups: number;
  verified: number;
  answerCorrect: number;
  loss: number;
  kl: number;
  entropy: number;
  clipFraction: number;
  gradNorm: number;
  responseLength: number;
  rolloutTokensPerSec: number;
  tokensPerSec: number;
  /** Wall time of the step's parts: sampling the rollouts, verifying and rewarding them, the policy update (with its rescoring forwards). */
  seconds: { rollout: number; scoring: number; train: number };
  /** Measured FLOPs of the step (engine counter), and cumulative supervised-token equivalents. */
  flops: number;
  supervisedTokens: { measured: number; rule6N: number; paper: number };
  elapsed: number;
  val?: { verified: number; reward: number };
}

/** A problem with the prompt the policy continues. */
export type RlProblem = GoldProblem & { prompt: string };

/** Loads a prompt file through the world's loader (ids, ops, answers, graphs, no duplicates), plus a prompt per line. */
export async function loadPromptFile(path: string): Promise<RlProblem[]> {
  const out: RlProblem[] = [];
  for (const p of (await loadProblems(path)).values()) {
    if (typeof p.prompt !== "string" || p.prompt === "")
      throw new Error(`${path}: problem "${p.id}" has no "prompt" (RL prompt files need one per line)`);
    out.push(p as RlProblem);
  }
  return out;
}

/**
 * The config of a new run (validated), or a resumed run's config.json as read: {@link trainRl}
 * checks it once its checkpoint has verified the file ({@link resumedRlConfig}).
 */
export async function resolveRlConfig(o: RlOptions, fastBf16 = false): Promise<RlConfig> {
  return (await resolveRlRun(o, fastBf16)).config;
}

/** The config (as {@link resolveRlConfig}) and, for a file source, its problems (loaded once). */
export async function resolveRlRun(
  o: RlOptions,
  fastBf16 = false,
): Promise<{ config: RlConfig; file?: RlProblem[] }> {
  const c = resolveOrResume<RlConfig>(
    o.out,
    o.resume,
    () => freshRlConfig(o, fastBf16),
    (saved, path) => {
      if (saved?.stage !== "rl")
        throw new Error(
          `--resume: ${path} is a ${JSON.stringify(saved?.stage)} run, not rl; resume it with its own command`,
        );
      return saved;
    },
  );
  const file = c.prompts?.kind === "file" ? await loadPromptFile(c.prompts.path) : undefined;
  if (!o.resume) checkRlConfig(c, file);
  return { config: c, file };
}

/**
 * A resumed run's config: config.json validated again, every option given beside `resume` checked
 * against it (a different value is refused, naming the flag and both values), and `steps`, which
 * may grow past the run's length so far (`target`, when an earlier resume extended it).
 */
export function resumedRlConfig(
  o: RlOptions,
  saved: RlConfig,
  file?: RlProblem[],
  target?: number,
): RlConfig {
  const path = join(o.out, "config.json");
  checkRlConfig(saved, file);
  const given: GivenFlag[] = [
    { flag: "--from", given: o.from, saved: saved.from.run, same: samePath },
    { flag: "--seed", given: o.seed, saved: saved.seed },
    saved.prompts.kind === "file"
      ? { flag: "--prompts", given: o.prompts, saved: saved.prompts.path, same: samePath }
      : {
          flag: "--prompts",
          given: o.prompts,
          saved: saved.prompts.mixture,
          same: sameMixture,
          shown: saved.prompts.mixture.name,
        },
  ];
  for (const [key, value] of Object.entries(o.overrides ?? {}))
    given.push({
      flag: key === "allowSlips" ? "--allow-slips" : flagOf(key),
      given: value,
      saved:
        key === "allowSlips"
          ? rlVerifyOptions(saved).allowSlips
          : key === "precision"
            ? (saved.precision ?? "fp32")
            : saved[key as keyof RlConfig],
      shown: key === "allowSlips" ? `allowSlips ${rlVerifyOptions(saved).allowSlips}` : undefined,
    });
  refuseChanges(path, given, "--steps");
  return { ...saved, steps: growTo(path, "--steps", o.steps, target ?? saved.steps) };
}

/** A new run's config from the options, the preset's RL defaults and the base defaults. */
function freshRlConfig(o: RlOptions, fastBf16: boolean): RlConfig {
  checkOptionKeys(o.overrides, RL_OPTION_KEYS, "RL");
  for (const [flag, v] of [
    ["--from", o.from],
    ["--prompts", o.prompts],
    ["--steps", o.steps],
  ] as const)
    if (v === undefined) throw new Error(`a new rl run needs ${flag}`);
  const from = o.from as string;
  const src = readJsonFile<TrainConfig & { stage: string }>(join(from, "config.json"));
  if (!src.model) throw new Error(`--from ${from}: not a training run`);
  const ck = latestCheckpoint(from);
  if (!ck) throw new Error(`--from ${from}: the run has no checkpoint`);
  const p = o.prompts as string;
  const prompts: PromptSource = p.endsWith(".jsonl")
    ? { kind: "file", path: p, count: -1 }
    : { kind: "mixture", mixture: resolveMixture(p) };
  const options = resolveRlOptions(src.preset, o.overrides);
  // Where bf16 products run at hardware speed, a new run's update and rollouts default to them.
  if (fastBf16) {
    options.precision ??= "bf16";
    options.rolloutProducts ??= "bf16";
  }
  if (options.precision === "fp32") delete options.precision; // fp32 is the absent key (as in pre-training)
  return {
    ...options,
    stage: "rl",
    preset: src.preset,
    model: src.model,
    digits: src.digits,
    from: { run: from, checkpoint: ck },
    prompts,
    seed: o.seed ?? 1,
    steps: o.steps as number,
    allowSlips: o.overrides?.allowSlips ?? DEFAULT_VERIFY_OPTIONS.allowSlips,
  };
}

/** Checks a config, new or read back (a file source's count is set from `file` when new, checked when read). */
function checkRlConfig(c: RlConfig, file?: RlProblem[]): void {
  if (!c.model || typeof c.model.context !== "number") throw new Error("the config has no model");
  if (!c.from || typeof c.from.checkpoint !== "string") throw new Error("the config has no from.checkpoint");
  if (c.prompts?.kind === "file") {
    const n = (file as RlProblem[]).length;
    if (c.prompts.count === -1) c.prompts.count = n;
    else if (c.prompts.count !== n)
      throw new Error(
        `prompt file ${c.prompts.path} holds ${n} problems, the run was started with ${c.prompts.count}: it changed since`,
      );
  } else if (c.prompts?.kind !== "mixture")
    throw new Error("the config's prompts are neither a mixture nor a file");
  if (!(Number.isInteger(c.steps) && c.steps >= 1))
    throw new Error(`--steps must be a positive integer, got ${c.steps}`);
  if (!Number.isInteger(c.seed) || c.seed < 0)
    throw new Error(`--seed must be a natural number, got ${c.seed}`);
  for (const k of [
    "promptsPerStep",
    "rollouts",
    "miniBatches",
    "epochs",
    "micro",
    "maxNew",
    "evalEvery",
    "evalProblems",
    "ckptEvery",
  ] as const)
    if (!(Number.isInteger(c[k]) && c[k] >= 1))
      throw new Error(`${k} must be a positive integer, got ${c[k]}`);
  if (c.rollouts < 2) throw new Error("rollouts must be at least 2 (advantages are relative to the group)");
  if (c.promptsPerStep % c.miniBatches !== 0)
    throw new Error(`prompts per step (${c.promptsPerStep}) must divide into ${c.miniBatches} mini-batches`);
  if (!REWARD_NAMES.includes(c.reward))
    throw new Error(`--reward must be one of ${REWARD_NAMES.join(", ")}, got ${JSON.stringify(c.reward)}`);
  if (!(c.alpha >= 0 && c.alpha <= 1)) throw new Error(`--alpha must be in [0, 1], got ${c.alpha}`);
  if (!ADVANTAGES.includes(c.advantage))
    throw new Error(`--advantage must be ${ADVANTAGES.join(" or ")}, got ${JSON.stringify(c.advantage)}`);
  if (!(c.lr > 0)) throw new Error(`--lr must be positive, got ${c.lr}`);
  const { beta1, beta2, eps } = adamw(c);
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0))
    throw new Error(`AdamW needs 0 <= beta1, beta2 < 1 and eps > 0, got ${beta1}, ${beta2}, ${eps}`);
  if (!(c.clip > 0 && c.clip < 1)) throw new Error(`--clip must be in (0, 1), got ${c.clip}`);
  if (!(c.klCoef >= 0)) throw new Error(`--kl-coef must be >= 0, got ${c.klCoef}`);
  if (c.computeBudget !== undefined && !(c.computeBudget > 0 && Number.isFinite(c.computeBudget)))
    throw new Error(`--compute-budget must be a positive number of tokens, got ${c.computeBudget}`);
  if (!(c.temperature > 0)) throw new Error(`--temperature must be > 0, got ${c.temperature}`);
  if (c.rolloutCache !== undefined && !KV_PRECISIONS.includes(c.rolloutCache))
    throw new Error(
      `--rollout-cache must be ${KV_PRECISIONS.join(" or ")}, got ${JSON.stringify(c.rolloutCache)}`,
    );
  if (c.allowSlips !== undefined && typeof c.allowSlips !== "boolean")
    throw new Error(`allowSlips must be true or false, got ${JSON.stringify(c.allowSlips)}`);
  if (c.precision !== undefined && !PRECISIONS.includes(c.precision))
    throw new Error(`--precision must be ${PRECISIONS.join(" or ")}, got ${JSON.stringify(c.precision)}`);
  if (c.rolloutProducts !== undefined && !PRODUCT_PRECISIONS.includes(c.rolloutProducts))
    throw new Error(
      `--rollout-products must be ${PRODUCT_PRECISIONS.join(" or ")}, got ${JSON.stringify(c.rolloutProducts)}`,
    );
}

/** AdamW's settings of an RL run (a config written before they were recorded: 0.9, 0.999, 1e-8). */
export function adamw(c: RlConfig) {
  return {
    lr: c.lr,
    beta1: c.beta1 ?? 0.9,
    beta2: c.beta2 ?? 0.999,
    eps: c.eps ?? 1e-8,
    weightDecay: c.weightDecay,
  };
}
