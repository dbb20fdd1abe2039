/**
 * GRPO with process-verified rewards (training.md §2, RL row). Each step: draw prompts, sample
 * `rollouts` completions of each at temperature 1 with the batched sampler, score them with the
 * verifier's reward, normalise advantages per group, then run PPO mini-batches over the rollouts:
 * clipped surrogate + k3 KL to the frozen reference as a loss, token-mean, AdamW at a constant LR.
 * The run folder is a training run (config.json, metrics.jsonl, checkpoints/, tokenizer) that every
 * other command (eval, edge, export) reads; `resume` continues from the latest checkpoint.
 */
import { join } from "node:path";
import { type BackendChoice, loadKernels } from "../engine/backend.js";
import type { Kernels } from "../engine/kernels.js";
import { flopsExecuted } from "../engine/native.js";
import type { ModelConfig } from "../model/config.js";
import type { KVPrecision, ProductPrecision } from "../model/decode.js";
import { Model } from "../model/model.js";
import type { WorldTokenizer } from "../model/tokenizer.js";
import { type SampleStats, sampleBatched } from "../sample/sampler.js";
import { latestCheckpoint } from "../train/checkpoint.js";
import { loadVerified } from "../train/load.js";
import {
  checkpointer,
  clipGradients,
  flagOf,
  type GivenFlag,
  growTo,
  type Moments,
  openRun,
  type RunState,
  readJson,
  refuseChanges,
  resolveOrResume,
  resumePoint,
  runLoop,
  runTokenizer,
  sameMixture,
  samePath,
  stderrLog,
} from "../train/loop.js";
import { adamwStep } from "../train/optimizer.js";
import type { TrainConfig } from "../train/trainer.js";
import { hasName } from "../util/lookup.js";
import { hashSeed, Rng } from "../util/rng.js";
import {
  DEFAULT_VERIFY_OPTIONS,
  REWARD_NAMES,
  type RewardName,
  type VerifyOptions,
  verifySample,
} from "../verify/index.js";
import { CONTEXT_IDS } from "../world/contexts.js";
import { slotKey } from "../world/corpus.js";
import { type GoldProblem, loadProblems } from "../world/load.js";
import { type Mixture, mixtureKey, resolveMixture } from "../world/mixture.js";
import { generateProblem } from "../world/problem.js";
import type { Problem } from "../world/types.js";
import { paperRlTokens, type RlWork, rlWorkSupervisedTokens } from "./compute.js";
import {
  crossEntropyRowWeights,
  drGrpoAdvantages,
  groupAdvantages,
  grpoPolicyLoss,
  zeroVarianceFraction,
} from "./grpo.js";

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
  advantage: "grpo" | "drgrpo";
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
  overrides?: Partial<Omit<RlConfig, "stage" | "model" | "from" | "prompts" | "preset" | "digits">>;
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
  seconds: { rollout: number; train: number };
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
export async function resolveRlConfig(o: RlOptions): Promise<RlConfig> {
  return (await resolveRlRun(o)).config;
}

/** The config (as {@link resolveRlConfig}) and, for a file source, its problems (loaded once). */
async function resolveRlRun(o: RlOptions): Promise<{ config: RlConfig; file?: RlProblem[] }> {
  const c = resolveOrResume<RlConfig>(
    o.out,
    o.resume,
    () => freshRlConfig(o),
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
      saved: key === "allowSlips" ? rlVerifyOptions(saved).allowSlips : saved[key as keyof RlConfig],
      shown: key === "allowSlips" ? `allowSlips ${rlVerifyOptions(saved).allowSlips}` : undefined,
    });
  refuseChanges(path, given, "--steps");
  return { ...saved, steps: growTo(path, "--steps", o.steps, target ?? saved.steps) };
}

/** A new run's config from the options, the preset's RL defaults and the base defaults. */
function freshRlConfig(o: RlOptions): RlConfig {
  for (const [flag, v] of [
    ["--from", o.from],
    ["--prompts", o.prompts],
    ["--steps", o.steps],
  ] as const)
    if (v === undefined) throw new Error(`a new rl run needs ${flag}`);
  const from = o.from as string;
  const src = readJson<TrainConfig & { stage: string }>(join(from, "config.json"));
  if (!src.model) throw new Error(`--from ${from}: not a training run`);
  const ck = latestCheckpoint(from);
  if (!ck) throw new Error(`--from ${from}: the run has no checkpoint`);
  const p = o.prompts as string;
  const prompts: PromptSource = p.endsWith(".jsonl")
    ? { kind: "file", path: p, count: -1 }
    : { kind: "mixture", mixture: resolveMixture(p) };
  return {
    ...resolveRlOptions(src.preset, o.overrides),
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
  if (c.advantage !== "grpo" && c.advantage !== "drgrpo")
    throw new Error(`--advantage must be grpo or drgrpo`);
  if (!(c.lr > 0)) throw new Error(`--lr must be positive, got ${c.lr}`);
  const { beta1, beta2, eps } = adamw(c);
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0))
    throw new Error(`AdamW needs 0 <= beta1, beta2 < 1 and eps > 0, got ${beta1}, ${beta2}, ${eps}`);
  if (!(c.clip > 0 && c.clip < 1)) throw new Error(`--clip must be in (0, 1), got ${c.clip}`);
  if (!(c.klCoef >= 0)) throw new Error(`--kl-coef must be >= 0, got ${c.klCoef}`);
  if (!(c.temperature > 0)) throw new Error(`--temperature must be > 0, got ${c.temperature}`);
  if (c.rolloutCache !== undefined && c.rolloutCache !== "f32" && c.rolloutCache !== "f16")
    throw new Error(`--rollout-cache must be f32 or f16, got ${JSON.stringify(c.rolloutCache)}`);
  if (c.allowSlips !== undefined && typeof c.allowSlips !== "boolean")
    throw new Error(`allowSlips must be true or false, got ${JSON.stringify(c.allowSlips)}`);
  if (c.rolloutProducts !== undefined && c.rolloutProducts !== "f32" && c.rolloutProducts !== "bf16")
    throw new Error(`--rollout-products must be f32 or bf16, got ${JSON.stringify(c.rolloutProducts)}`);
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

/** The prompts of step `step` (0-based): a pure function of (config, step). */
export function stepPrompts(c: RlConfig, step: number, file?: RlProblem[]): RlProblem[] {
  const P = c.promptsPerStep;
  const out: RlProblem[] = [];
  if (c.prompts.kind === "mixture") {
    const mix = c.prompts.mixture;
    const seed = hashSeed(c.seed, "rl-prompts") % 1_000_000_007;
    for (let i = 0; i < P; i++)
      out.push(generateProblem(mixtureKey(mix, seed, step * P + i), { letters: mix.letters }));
  } else {
    const all = file as RlProblem[];
    const n = all.length;
    const perms = new Map<number, number[]>();
    const perm = (epoch: number) => {
      let order = perms.get(epoch);
      if (!order) {
        // A seeded permutation per pass over the file.
        order = new Rng(hashSeed(c.seed, "rl-epoch", epoch)).shuffle(Array.from({ length: n }, (_, k) => k));
        perms.set(epoch, order);
      }
      return order;
    };
    for (let i = 0; i < P; i++) {
      const j = step * P + i;
      out.push(all[perm(Math.floor(j / n))[j % n]]);
    }
  }
  return out;
}

/** The fixed validation problems: a grid over the ops of the prompt source, from a seed of its own. */
export function validationProblems(c: RlConfig, file?: RlProblem[]): Problem[] {
  const ops = new Set<number>();
  if (c.prompts.kind === "mixture")
    for (const ctx of c.prompts.mixture.contexts) for (const o of ctx.ops) ops.add(o.op);
  else for (const p of file ?? []) ops.add(p.op);
  const opList = [...ops].sort((a, b) => a - b);
  const perOp = Math.max(1, Math.ceil(c.evalProblems / opList.length));
  const contexts =
    c.prompts.kind === "mixture" ? c.prompts.mixture.contexts.map((x) => x.id) : [...CONTEXT_IDS];
  const modes =
    c.prompts.kind === "mixture" ? c.prompts.mixture.modes.map((m) => m.mode) : (["forward"] as const);
  const plan = {
    kind: "grid" as const,
    seed: hashSeed(c.seed, "rl-val") % 1_000_000_007,
    ops: opList,
    contexts,
    modes: [...modes],
    perOp,
  };
  return Array.from({ length: opList.length * perOp }, (_, j) => generateProblem(slotKey(plan, j)));
}

/** A rollout ready for training: token ids, where the response starts, its advantage. */
interface Rollout {
  ids: number[];
  start: number; // index in ids of the first response token
  advantage: number;
}

/** Inputs, targets (−1 off the response) and row offsets of a micro-batch padded to its longest sequence. */
function pack(rs: Rollout[], padId: number) {
  const T = Math.max(...rs.map((r) => r.ids.length - 1));
  const B = rs.length;
  const tokens = new Int32Array(B * T).fill(padId);
  const targets = new Int32Array(B * T).fill(-1);
  const mask = new Float64Array(B * T);
  rs.forEach((r, b) => {
    for (let t = 0; t < r.ids.length - 1; t++) {
      tokens[b * T + t] = r.ids[t];
      if (t + 1 >= r.start) {
        targets[b * T + t] = r.ids[t + 1];
        mask[b * T + t] = 1;
      }
    }
  });
  return { B, T, tokens, targets, mask };
}

/** Log-probabilities of the targets under a model (0 off the mask). */
function logprobs(m: Model, x: ReturnType<typeof pack>): Float64Array {
  m.forward(x.tokens, x.B, x.T, x.targets);
  const l = m.tokenLosses();
  const out = new Float64Array(x.B * x.T);
  for (let i = 0; i < out.length; i++) out[i] = x.mask[i] ? -l[i] : 0;
  return out;
}

/** Mean entropy of the next-token distributions at up to `max` masked rows of the last forward. */
function entropyOf(m: Model, mask: Float64Array, max = 48): { sum: number; n: number } {
  const V = m.config.vocabSize;
  const logits = m.logits();
  const rows: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) rows.push(i);
  const stride = Math.max(1, Math.floor(rows.length / max));
  let sum = 0;
  let n = 0;
  for (let j = 0; j < rows.length; j += stride) {
    const o = rows[j] * V;
    let mx = Number.NEGATIVE_INFINITY;
    for (let v = 0; v < V; v++) mx = Math.max(mx, logits[o + v]);
    let z = 0;
    let ez = 0;
    for (let v = 0; v < V; v++) {
      const e = Math.exp(logits[o + v] - mx);
      z += e;
      ez += e * (logits[o + v] - mx);
    }
    sum += Math.log(z) - ez / z;
    n++;
  }
  return { sum, n };
}

/** Greedy verified rate and mean reward on the validation problems. */
function validate(c: RlConfig, m: Model, tok: WorldTokenizer, val: Problem[], stop: number[]) {
  const { completions } = sampleBatched(
    m,
    val.map((p) => ({ prompt: tok.encode(p.prompt), n: 1 })),
    { temperature: 0, maxNew: c.maxNew, stop, batch: 64 },
  );
  let ok = 0;
  let reward = 0;
  for (const x of completions) {
    const r = verifySample(tok.decode(x.tokens), val[x.request], rlVerifyOptions(c));
    if (r.verified) ok++;
    reward += r.rewards[c.reward];
  }
  return { verified: ok / val.length, reward: reward / val.length };
}

/** Result of an RL run. */
export interface RlResult {
  config: RlConfig;
  steps: number;
  stoppedEarly: boolean;
  last: RlMetrics | null;
}

/** What every part of a step reads: the run's config, models, tokenizer and optimizer. */
interface RlContext {
  c: RlConfig;
  k: Kernels;
  tok: WorldTokenizer;
  policy: Model;
  ref: Model;
  moments: Moments;
  stop: number[];
  file?: RlProblem[];
}

/** 1. Rollout: `rollouts` completions of each of the step's prompts, sampled from the policy. */
function rollout(x: RlContext, step: number) {
  const problems = stepPrompts(x.c, step, x.file);
  const prompts = problems.map((p) => x.tok.encode(p.prompt));
  const { completions, stats } = sampleBatched(
    x.policy,
    prompts.map((prompt) => ({ prompt, n: x.c.rollouts })),
    {
      temperature: x.c.temperature,
      maxNew: x.c.maxNew,
      stop: x.stop,
      seed: hashSeed(x.c.seed, step, "rollout"),
      batch: 64,
      kvCache: x.c.rolloutCache ?? "f32",
      products: x.c.rolloutProducts ?? "f32",
    },
  );
  return { problems, prompts, completions, stats };
}

/** 2. Score: the verifier's reward of each completion, in (prompt, rollout) order, and the step's tallies. */
function score(x: RlContext, r: ReturnType<typeof rollout>) {
  const n = r.completions.length;
  const rewards = new Float64Array(n);
  const components: Record<string, number> = Object.fromEntries(REWARD_NAMES.map((name) => [name, 0]));
  let verified = 0;
  let answers = 0;
  r.completions.forEach((q, i) => {
    const v = verifySample(x.tok.decode(q.tokens), r.problems[q.request], rlVerifyOptions(x.c));
    rewards[i] = v.rewards[x.c.reward];
    for (const name of REWARD_NAMES) components[name] += v.rewards[name] / n;
    if (v.verified) verified++;
    if (v.answerCorrect) answers++;
  });
  return { rewards, components, verified: verified / n, answerCorrect: answers / n };
}

/** 3. Advantages: normalised within each group of rollouts, attached to the token ids to train on. */
function advantages(x: RlContext, r: ReturnType<typeof rollout>, rewards: Float64Array): Rollout[] {
  const G = x.c.rollouts;
  const adv = x.c.advantage === "grpo" ? groupAdvantages(rewards, G) : drGrpoAdvantages(rewards, G);
  return r.completions.map((q, i) => ({
    ids: [...r.prompts[q.request], ...q.tokens],
    start: r.prompts[q.request].length,
    advantage: adv[i],
  }));
}

/** What the policy update did, for metrics and compute accounting. */
interface UpdateStats {
  loss: number;
  kl: number;
  clipFraction: number;
  entropy: number;
  gradNorm: number;
  /** Padded tokens of one pass over the rollouts (what each scoring forward costs). */
  passTokens: number;
  /** Tokens through the policy's forward + backward, over all epochs. */
  trainTokens: number;
  /** Whether π_old was the sampling policy itself (one mini-batch, one epoch: no rescoring forward). */
  onPolicy: boolean;
}

/**
 * 4. Policy update: PPO over whole groups in `miniBatches` mini-batches (micro-batches inside for
 * memory), `epochs` times; the clipped surrogate plus the k3 KL to the frozen reference, token-mean,
 * one clipped AdamW update per mini-batch.
 */
function policyUpdate(x: RlContext, rollouts: Rollout[], state: RlState): UpdateStats {
  const { c, policy } = x;
  const perMini = rollouts.length / c.miniBatches;
  const minis: Rollout[][][] = [];
  for (let j = 0; j < c.miniBatches; j++) {
    const mb = rollouts.slice(j * perMini, (j + 1) * perMini);
    const micros: Rollout[][] = [];
    for (let i = 0; i < mb.length; i += c.micro) micros.push(mb.slice(i, i + c.micro));
    minis.push(micros);
  }
  const packed = minis.map((ms) => ms.map((r) => pack(r, x.tok.padId)));
  const onPolicy = c.miniBatches === 1 && c.epochs === 1;
  const refLp = packed.map((ms) => ms.map((p) => (c.klCoef > 0 ? logprobs(x.ref, p) : null)));
  const oldLp = onPolicy ? null : packed.map((ms) => ms.map((p) => logprobs(policy, p)));
  let lossSum = 0;
  let klSum = 0;
  let clipSum = 0;
  let tokSum = 0;
  let ent = { sum: 0, n: 0 };
  let gradNorm = 0;
  let trainTokens = 0;
  for (let e = 0; e < c.epochs; e++) {
    for (let j = 0; j < minis.length; j++) {
      policy.zeroGrad();
      const norm = packed[j].reduce((s, p) => s + p.mask.reduce((a, b) => a + b, 0), 0);
      packed[j].forEach((p, i) => {
        const lpNew = logprobs(policy, p);
        trainTokens += p.B * p.T;
        if (e === 0 && j === 0) {
          const h = entropyOf(policy, p.mask);
          ent = { sum: ent.sum + h.sum, n: ent.n + h.n };
        }
        const r = grpoPolicyLoss(
          {
            logpNew: lpNew,
            logpOld: oldLp ? (oldLp[j][i] as Float64Array) : lpNew,
            logpRef: refLp[j][i] ?? undefined,
            mask: p.mask,
            advantages: minis[j][i].map((q) => q.advantage),
          },
          { clipEps: c.clip, klCoef: c.klCoef, tokenNormalizer: norm },
        );
        policy.backward(1, crossEntropyRowWeights(r.coef));
        lossSum += r.loss * r.tokens;
        klSum += r.meanKl * r.tokens;
        clipSum += r.clipFraction * r.tokens;
        tokSum += r.tokens;
      });
      gradNorm = clipGradients(policy, x.k, c.gradClip, state.step + 1);
      state.updates = (state.updates ?? 0) + 1;
      adamwStep(policy, x.moments.m, x.moments.v, adamw(c), state.updates);
    }
  }
  return {
    loss: lossSum / Math.max(1, tokSum),
    kl: klSum / Math.max(1, tokSum),
    clipFraction: clipSum / Math.max(1, tokSum),
    entropy: ent.n ? ent.sum / ent.n : 0,
    gradNorm,
    passTokens: packed.flat().reduce((s, p) => s + p.B * p.T, 0),
    trainTokens,
    onPolicy,
  };
}

/**
 * 5. Accounting: the token counts of a step's passes. Scoring forwards run over the padded
 * rollouts once per pass: the reference when the KL is on, π_old whenever it is not the sampling
 * policy itself (more than one mini-batch or epoch), whatever the KL coefficient.
 */
export function stepWork(
  c: Pick<RlConfig, "klCoef">,
  stats: Pick<SampleStats, "prefillTokens" | "generatedTokens">,
  u: Pick<UpdateStats, "passTokens" | "trainTokens" | "onPolicy">,
): RlWork {
  return {
    prefillTokens: stats.prefillTokens,
    rolloutTokens: stats.generatedTokens,
    refForwardTokens: c.klCoef > 0 ? u.passTokens : 0,
    oldForwardTokens: u.onPolicy ? 0 : u.passTokens,
    policyTrainTokens: u.trainTokens,
  };
}

/** An RL checkpoint's state: AdamW's update count and the cumulative supervised-token equivalents. */
type RlState = RunState & { updates?: number; supervised?: RlMetrics["supervisedTokens"] };

/** Runs (or resumes) GRPO: per step, rollout → score → advantages → policy update → accounting. */
export async function trainRl(o: RlOptions, kernels?: Kernels): Promise<RlResult> {
  const { config: saved, file } = await resolveRlRun(o);
  const k = kernels ?? (await loadKernels(o.backend));
  const log = o.log ?? stderrLog;
  // Verified before anything is written: the reference (refused if it fails its checksums) and, on
  // resume, the newest intact checkpoint of this run (older ones are fallen back to, and logged).
  const refParams = loadVerified(saved.from.checkpoint, saved.model, { warn: log }).tensors.params;
  const ck = resumePoint(o.out, o.resume, saved.model, log);
  const target = (ck?.state as RlState | undefined)?.target;
  const c = o.resume ? resumedRlConfig(o, saved, file, target) : saved;
  const steps = c.steps;
  if (steps !== (target ?? saved.steps))
    log(
      `--resume: --steps ${steps} extends the run from ${target ?? saved.steps} steps (the LR is constant)`,
    );
  const tok = runTokenizer(c.digits, c.model);
  const policy = new Model(k, c.model);
  const ref = new Model(k, c.model, refParams);
  const moments = { m: k.alloc(policy.size), v: k.alloc(policy.size) };
  // tokens counts generated + trained tokens; updates is AdamW's step counter.
  const state = openRun<RlState>({
    out: o.out,
    config: c,
    tok,
    resume: o.resume,
    ck,
    model: policy,
    moments,
    fresh: { step: 0, tokens: 0, cursor: { index: 0, offset: 0 }, elapsedSeconds: 0 },
    init: () => policy.params.flat.set(ref.params.flat),
  });
  if (steps !== saved.steps) state.target = steps;
  const supervised = state.supervised ?? { measured: 0, rule6N: 0, paper: 0 };
  const stop = [tok.id(" </answer>"), tok.id("</answer>"), tok.eosId].filter(
    (x): x is number => x !== undefined && x >= 0,
  );
  const x: RlContext = { c, k, tok, policy, ref, moments, stop, file };
  const val = validationProblems(c, file);
  const save = checkpointer(o.out, policy, moments);
  const r = await runLoop<RlMetrics>({
    out: o.out,
    total: c.steps,
    from: state.step,
    evalEvery: c.evalEvery,
    ckptEvery: c.ckptEvery,
    minutes: o.minutes,
    step: () => {
      const t0 = performance.now();
      const f0 = flopsExecuted();
      const ro = rollout(x, state.step);
      const t1 = performance.now();
      const sc = score(x, ro);
      const rollouts = advantages(x, ro, sc.rewards);
      const u = policyUpdate(x, rollouts, state);
      const t2 = performance.now();
      const flops = flopsExecuted() - f0;
      const Ltotal = rollouts.reduce((s, q) => s + q.ids.length, 0) / rollouts.length;
      const work = stepWork(c, ro.stats, u);
      supervised.measured += flops / (6 * policy.size);
      supervised.rule6N += rlWorkSupervisedTokens(c.model, { ...work, seqLen: Math.ceil(Ltotal) });
      supervised.paper += paperRlTokens(c.promptsPerStep, c.rollouts, Ltotal, c.rlConstant);
      state.step++;
      state.tokens += ro.stats.generatedTokens + u.trainTokens;
      const dt = (t2 - t0) / 1000;
      state.elapsedSeconds += dt;
      const { rewards } = sc;
      const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
      return {
        step: state.step,
        reward: mean,
        rewardStd: Math.sqrt(rewards.reduce((a, b) => a + (b - mean) ** 2, 0) / rewards.length),
        components: sc.components,
        zeroVarGroups: zeroVarianceFraction(rewards, c.rollouts),
        verified: sc.verified,
        answerCorrect: sc.answerCorrect,
        loss: u.loss,
        kl: u.kl,
        entropy: u.entropy,
        clipFraction: u.clipFraction,
        gradNorm: u.gradNorm,
        responseLength: ro.stats.generatedTokens / ro.completions.length,
        rolloutTokensPerSec: ro.stats.generatedTokens / Math.max(1e-9, (t1 - t0) / 1000),
        tokensPerSec: (ro.stats.generatedTokens + u.trainTokens) / dt,
        seconds: { rollout: (t1 - t0) / 1000, train: (t2 - t1) / 1000 },
        flops,
        supervisedTokens: { ...supervised },
        elapsed: state.elapsedSeconds,
      };
    },
    validate: (line) => {
      line.val = validate(c, policy, tok, val, stop);
    },
    save: () => save({ ...state, cursor: { index: state.step * c.promptsPerStep, offset: 0 }, supervised }),
    onStep: o.onStep,
  });
  return { config: c, steps: r.steps, stoppedEarly: r.stoppedEarly, last: r.last };
}
