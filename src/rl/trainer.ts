/**
 * GRPO with process-verified rewards (training.md §2, RL row). Each step: draw prompts, sample
 * `rollouts` completions of each at temperature 1 with the batched sampler, score them with the
 * verifier's reward, normalise advantages per group, then run PPO mini-batches over the rollouts:
 * clipped surrogate + k3 KL to the frozen reference as a loss, token-mean, AdamW at a constant LR.
 * The run folder is a training run (config.json, metrics.jsonl, checkpoints/, tokenizer) that every
 * other command (eval, edge, export) reads; `resume` continues from the latest checkpoint.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type BackendChoice, loadKernels } from "../engine/backend.js";
import type { Kernels } from "../engine/kernels.js";
import { flopsExecuted } from "../engine/native.js";
import type { ModelConfig } from "../model/config.js";
import type { KVPrecision, ProductPrecision } from "../model/decode.js";
import { Model } from "../model/model.js";
import { WorldTokenizer } from "../model/tokenizer.js";
import { sampleBatched } from "../sample/sampler.js";
import {
  latestCheckpoint,
  resumeCheckpoint,
  runFileTable,
  saveCheckpoint,
  type TrainState,
} from "../train/checkpoint.js";
import { loadVerified } from "../train/load.js";
import { adamwStep } from "../train/optimizer.js";
import { readJson, readRunConfig, type TrainConfig, trimMetrics } from "../train/trainer.js";
import { writeFileAtomic } from "../util/atomic.js";
import { hasName } from "../util/lookup.js";
import { hashSeed, Rng } from "../util/rng.js";
import { nextTurn } from "../util/turn.js";
import {
  DEFAULT_VERIFY_OPTIONS,
  type RewardName,
  type VerifyOptions,
  verifySample,
} from "../verify/index.js";
import { slotKey } from "../world/corpus.js";
import type { GoldProblem } from "../world/load.js";
import { type Mixture, mixtureKey, resolveMixture } from "../world/mixture.js";
import { generateProblem } from "../world/problem.js";
import type { Problem } from "../world/types.js";
import { paperRlTokens, rlWorkSupervisedTokens } from "./compute.js";
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

/** Defaults every preset starts from. */

/** Options a user gives. */
export interface RlOptions {
  from: string;
  prompts: string;
  out: string;
  steps: number;
  seed: number;
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

/** Loads a JSONL problem file for prompts (every line must carry a prompt and a gold graph). */
function readPromptFile(path: string): RlProblem[] {
  if (!existsSync(path)) throw new Error(`prompt file ${path} does not exist`);
  const out: RlProblem[] = [];
  readFileSync(path, "utf8")
    .split("\n")
    .forEach((l, i) => {
      if (!l.trim()) return;
      let p: RlProblem;
      try {
        p = JSON.parse(l);
      } catch (e) {
        throw new Error(`${path}:${i + 1}: invalid JSON (${(e as Error).message})`);
      }
      if (
        typeof p?.prompt !== "string" ||
        !p.graph ||
        typeof p.answer !== "string" ||
        typeof p.op !== "number"
      )
        throw new Error(`${path}:${i + 1}: a prompt line needs "prompt", "answer", "op" and "graph"`);
      out.push(p);
    });
  if (out.length === 0) throw new Error(`prompt file ${path} holds no problems`);
  return out;
}

/** Resolves the config of a new run, or reads it for --resume. */
export function resolveRlConfig(o: RlOptions): RlConfig {
  const cfgPath = join(o.out, "config.json");
  if (o.resume) {
    if (!existsSync(cfgPath)) throw new Error(`--resume: ${o.out} has no config.json (nothing to resume)`);
    return readRunConfig<RlConfig>(cfgPath);
  }
  if (existsSync(cfgPath))
    throw new Error(`${o.out} already holds a run; pass --resume to continue it, or choose another --out`);
  if (!(Number.isInteger(o.steps) && o.steps >= 1))
    throw new Error(`--steps must be a positive integer, got ${o.steps}`);
  const src = readJson<TrainConfig & { stage: string }>(join(o.from, "config.json"));
  if (!src.model) throw new Error(`--from ${o.from}: not a training run`);
  const ck = latestCheckpoint(o.from);
  if (!ck) throw new Error(`--from ${o.from}: the run has no checkpoint`);
  let prompts: PromptSource;
  if (o.prompts.endsWith(".jsonl"))
    prompts = { kind: "file", path: o.prompts, count: readPromptFile(o.prompts).length };
  else prompts = { kind: "mixture", mixture: resolveMixture(o.prompts) };
  const c: RlConfig = {
    ...resolveRlOptions(src.preset, o.overrides),
    stage: "rl",
    preset: src.preset,
    model: src.model,
    digits: src.digits,
    from: { run: o.from, checkpoint: ck },
    prompts,
    seed: o.seed,
    steps: o.steps,
    allowSlips: o.overrides?.allowSlips ?? DEFAULT_VERIFY_OPTIONS.allowSlips,
  };
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
  if (!["outcome", "process", "composite", "strict"].includes(c.reward))
    throw new Error(`--reward must be outcome, process, composite or strict, got "${c.reward}"`);
  if (!(c.alpha >= 0 && c.alpha <= 1)) throw new Error(`--alpha must be in [0, 1], got ${c.alpha}`);
  if (c.advantage !== "grpo" && c.advantage !== "drgrpo")
    throw new Error(`--advantage must be grpo or drgrpo`);
  if (!(c.lr > 0)) throw new Error(`--lr must be positive, got ${c.lr}`);
  if (!(c.clip > 0 && c.clip < 1)) throw new Error(`--clip must be in (0, 1), got ${c.clip}`);
  if (!(c.klCoef >= 0)) throw new Error(`--kl-coef must be >= 0, got ${c.klCoef}`);
  if (!(c.temperature > 0)) throw new Error(`--temperature must be > 0, got ${c.temperature}`);
  if (c.rolloutCache !== undefined && c.rolloutCache !== "f32" && c.rolloutCache !== "f16")
    throw new Error(`--rollout-cache must be f32 or f16, got ${JSON.stringify(c.rolloutCache)}`);
  if (typeof c.allowSlips !== "boolean")
    throw new Error(`allowSlips must be true or false, got ${JSON.stringify(c.allowSlips)}`);
  if (c.rolloutProducts !== undefined && c.rolloutProducts !== "f32" && c.rolloutProducts !== "bf16")
    throw new Error(`--rollout-products must be f32 or bf16, got ${JSON.stringify(c.rolloutProducts)}`);
  return c;
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
        order = Array.from({ length: n }, (_, k) => k);
        const rng = new Rng(hashSeed(c.seed, "rl-epoch", epoch));
        for (let k = n - 1; k > 0; k--) {
          const r = rng.int(0, k);
          [order[k], order[r]] = [order[r], order[k]];
        }
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
    c.prompts.kind === "mixture" ? c.prompts.mixture.contexts.map((x) => x.id) : ["zoo", "school", "movie"];
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

/** Runs (or resumes) GRPO. */
export async function trainRl(o: RlOptions, kernels?: Kernels): Promise<RlResult> {
  const c = resolveRlConfig(o);
  const k = kernels ?? (await loadKernels(o.backend));
  const tok = new WorldTokenizer({ digits: c.digits });
  if (tok.vocabSize !== c.model.vocabSize)
    throw new Error(`tokenizer has ${tok.vocabSize} tokens, the model ${c.model.vocabSize}`);
  const file = c.prompts.kind === "file" ? readPromptFile(c.prompts.path) : undefined;
  const log = o.log ?? ((msg: string) => console.error(msg));
  // Verified before anything is written: the reference (refused if it fails its checksums) and, on
  // resume, the newest intact checkpoint of this run (older ones are fallen back to, and logged).
  const refParams = loadVerified(c.from.checkpoint, c.model, { warn: log }).tensors.params;
  const ck = o.resume ? resumeCheckpoint(o.out, c.model, log) : null;
  mkdirSync(o.out, { recursive: true });
  const metricsPath = join(o.out, "metrics.jsonl");
  const policy = new Model(k, c.model);
  const ref = new Model(k, c.model, refParams);
  const n = policy.size;
  const mom = k.alloc(n);
  const vel = k.alloc(n);
  // tokens counts generated + trained tokens; updates is AdamW's step counter.
  let state: TrainState & { updates?: number; supervised?: RlMetrics["supervisedTokens"] } = {
    step: 0,
    tokens: 0,
    cursor: { index: 0, offset: 0 },
    elapsedSeconds: 0,
  };
  if (ck) {
    policy.params.flat.set(ck.tensors.params);
    mom.set(ck.tensors.m);
    vel.set(ck.tensors.v);
    state = ck.state as typeof state;
    trimMetrics(metricsPath, state.step);
  } else {
    writeFileAtomic(join(o.out, "config.json"), `${JSON.stringify(c, null, 2)}\n`);
    writeFileAtomic(join(o.out, "tokenizer.json"), JSON.stringify(tok.toHuggingFace()));
    writeFileAtomic(
      join(o.out, "tokenizer_config.json"),
      `${JSON.stringify(tok.toHuggingFaceConfig(), null, 2)}\n`,
    );
    trimMetrics(metricsPath, 0);
    policy.params.flat.set(ref.params.flat);
  }
  const supervised = state.supervised ?? { measured: 0, rule6N: 0, paper: 0 };
  const stop = [tok.id(" </answer>"), tok.id("</answer>"), tok.eosId].filter(
    (x): x is number => x !== undefined && x >= 0,
  );
  const val = validationProblems(c, file);
  const G = c.rollouts;
  const started = performance.now();
  const deadline = o.minutes !== undefined ? started + o.minutes * 60_000 : Number.POSITIVE_INFINITY;
  let last: RlMetrics | null = null;
  let stoppedEarly = false;
  const runFiles = runFileTable(o.out);
  const save = () =>
    saveCheckpoint(
      o.out,
      c.model,
      { params: policy.params.flat, m: mom, v: vel },
      {
        ...state,
        cursor: { index: state.step * c.promptsPerStep, offset: 0 },
        supervised,
      } as TrainState,
      { runFiles },
    );
  while (state.step < c.steps) {
    await nextTurn(); // let finalizers of dropped native buffers run (src/util/turn.ts)
    const t0 = performance.now();
    const f0 = flopsExecuted();
    const problems = stepPrompts(c, state.step, file);
    const prompts = problems.map((p) => tok.encode(p.prompt));
    const { completions, stats } = sampleBatched(
      policy,
      prompts.map((prompt) => ({ prompt, n: G })),
      {
        temperature: c.temperature,
        maxNew: c.maxNew,
        stop,
        seed: hashSeed(c.seed, state.step, "rollout"),
        batch: 64,
        kvCache: c.rolloutCache ?? "f32",
        products: c.rolloutProducts ?? "f32",
      },
    );
    const t1 = performance.now();
    // Rewards, in (prompt, rollout) order: groups are consecutive.
    const rewards = new Float64Array(completions.length);
    const comps: Record<string, number> = { outcome: 0, process: 0, composite: 0, strict: 0 };
    let verified = 0;
    let answers = 0;
    completions.forEach((x, i) => {
      const r = verifySample(tok.decode(x.tokens), problems[x.request], rlVerifyOptions(c));
      rewards[i] = r.rewards[c.reward];
      for (const key of Object.keys(comps)) comps[key] += r.rewards[key as RewardName] / completions.length;
      if (r.verified) verified++;
      if (r.answerCorrect) answers++;
    });
    const adv = c.advantage === "grpo" ? groupAdvantages(rewards, G) : drGrpoAdvantages(rewards, G);
    const rollouts: Rollout[] = completions.map((x, i) => ({
      ids: [...prompts[x.request], ...x.tokens],
      start: prompts[x.request].length,
      advantage: adv[i],
    }));
    // PPO mini-batches (whole groups each); micro-batches inside for memory.
    const perMini = rollouts.length / c.miniBatches;
    const minis: Rollout[][][] = [];
    for (let j = 0; j < c.miniBatches; j++) {
      const mb = rollouts.slice(j * perMini, (j + 1) * perMini);
      const micros: Rollout[][] = [];
      for (let i = 0; i < mb.length; i += c.micro) micros.push(mb.slice(i, i + c.micro));
      minis.push(micros);
    }
    const packed = minis.map((ms) => ms.map((r) => pack(r, tok.padId)));
    const onPolicy = c.miniBatches === 1 && c.epochs === 1;
    const refLp = packed.map((ms) => ms.map((x) => (c.klCoef > 0 ? logprobs(ref, x) : null)));
    const oldLp = onPolicy ? null : packed.map((ms) => ms.map((x) => logprobs(policy, x)));
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
        const norm = packed[j].reduce((s, x) => s + x.mask.reduce((a, b) => a + b, 0), 0);
        packed[j].forEach((x, i) => {
          const lpNew = logprobs(policy, x);
          trainTokens += x.B * x.T;
          if (e === 0 && j === 0) {
            const h = entropyOf(policy, x.mask);
            ent = { sum: ent.sum + h.sum, n: ent.n + h.n };
          }
          const r = grpoPolicyLoss(
            {
              logpNew: lpNew,
              logpOld: oldLp ? (oldLp[j][i] as Float64Array) : lpNew,
              logpRef: refLp[j][i] ?? undefined,
              mask: x.mask,
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
        gradNorm = policy.gradNorm();
        if (!Number.isFinite(gradNorm))
          throw new Error(`step ${state.step + 1}: gradient norm is ${gradNorm}; lower --lr`);
        if (gradNorm > c.gradClip) k.scale(policy.grads.flat, n, c.gradClip / gradNorm);
        state.updates = (state.updates ?? 0) + 1;
        adamwStep(
          policy,
          mom,
          vel,
          { lr: c.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: c.weightDecay },
          state.updates,
        );
      }
    }
    const t2 = performance.now();
    const flops = flopsExecuted() - f0;
    const refTokens = c.klCoef > 0 ? packed.flat().reduce((s, x) => s + x.B * x.T, 0) : 0;
    const work = {
      prefillTokens: stats.prefillTokens,
      rolloutTokens: stats.generatedTokens,
      refForwardTokens: refTokens,
      oldForwardTokens: onPolicy ? 0 : refTokens,
      policyTrainTokens: trainTokens,
    };
    const Ltotal = rollouts.reduce((s, r) => s + r.ids.length, 0) / rollouts.length;
    supervised.measured += flops / (6 * n);
    supervised.rule6N += rlWorkSupervisedTokens(c.model, { ...work, seqLen: Math.ceil(Ltotal) });
    supervised.paper += paperRlTokens(c.promptsPerStep, G, Ltotal, c.rlConstant);
    state.step++;
    state.tokens += stats.generatedTokens + trainTokens;
    const dt = (t2 - t0) / 1000;
    state.elapsedSeconds += dt;
    const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
    const line: RlMetrics = {
      step: state.step,
      reward: mean,
      rewardStd: Math.sqrt(rewards.reduce((a, b) => a + (b - mean) ** 2, 0) / rewards.length),
      components: comps,
      zeroVarGroups: zeroVarianceFraction(rewards, G),
      verified: verified / completions.length,
      answerCorrect: answers / completions.length,
      loss: lossSum / Math.max(1, tokSum),
      kl: klSum / Math.max(1, tokSum),
      entropy: ent.n ? ent.sum / ent.n : 0,
      clipFraction: clipSum / Math.max(1, tokSum),
      gradNorm,
      responseLength: stats.generatedTokens / completions.length,
      rolloutTokensPerSec: stats.generatedTokens / Math.max(1e-9, (t1 - t0) / 1000),
      tokensPerSec: (stats.generatedTokens + trainTokens) / dt,
      seconds: { rollout: (t1 - t0) / 1000, train: (t2 - t1) / 1000 },
      flops,
      supervisedTokens: { ...supervised },
      elapsed: state.elapsedSeconds,
    };
    const timeUp = performance.now() > deadline;
    if (state.step % c.evalEvery === 0 || state.step === c.steps || timeUp)
      line.val = validate(c, policy, tok, val, stop);
    appendFileSync(metricsPath, `${JSON.stringify(line)}\n`);
    last = line;
    o.onStep?.(line, c.steps);
    if (state.step % c.ckptEvery === 0 || state.step === c.steps || timeUp) save();
    if (timeUp && state.step < c.steps) {
      stoppedEarly = true;
      break;
    }
  }
  return { config: c, steps: state.step, stoppedEarly, last };
}
