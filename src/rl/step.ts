/**
 * One GRPO step in five parts, each readable alone: rollout (sample `rollouts` completions per
 * prompt), score (the verifier's reward), advantages (normalised per group), policy update (PPO
 * mini-batches: clipped surrogate + k3 KL to the frozen reference, token-mean, AdamW) and
 * accounting (the token counts of every pass, for the compute rules of ./compute.ts).
 */
import type { Kernels } from "../engine/kernels.js";
import type { Model } from "../model/model.js";
import type { WorldTokenizer } from "../model/tokenizer.js";
import { type SampleStats, sampleBatched } from "../sample/sampler.js";
import { clipGradients, type Moments, type RunState } from "../train/loop.js";
import { adamwStep } from "../train/optimizer.js";
import { hashSeed } from "../util/rng.js";
import { REWARD_NAMES, verifySample } from "../verify/index.js";
import { paperRlTokens, type RlWork, rlWorkSupervisedTokens } from "./compute.js";
import { adamw, type RlConfig, type RlMetrics, type RlProblem, rlVerifyOptions } from "./config.js";
import { crossEntropyRowWeights, drGrpoAdvantages, groupAdvantages, grpoPolicyLoss } from "./grpo.js";
import { stepPrompts } from "./prompts.js";

/** A rollout ready for training: token ids, where the response starts, its advantage. */
export interface Rollout {
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

/** What every part of a step reads: the run's config, models, tokenizer and optimizer. */
export interface RlContext {
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
export function rollout(x: RlContext, step: number) {
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
export function score(x: RlContext, r: ReturnType<typeof rollout>) {
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
export function advantages(x: RlContext, r: ReturnType<typeof rollout>, rewards: Float64Array): Rollout[] {
  const G = x.c.rollouts;
  const adv = x.c.advantage === "grpo" ? groupAdvantages(rewards, G) : drGrpoAdvantages(rewards, G);
  return r.completions.map((q, i) => ({
    ids: [...r.prompts[q.request], ...q.tokens],
    start: r.prompts[q.request].length,
    advantage: adv[i],
  }));
}

/** What the policy update did, for metrics and compute accounting. */
export interface UpdateStats {
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
export function policyUpdate(x: RlContext, rollouts: Rollout[], state: RlState): UpdateStats {
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

/**
 * Adds a step to the run's supervised-token equivalents: measured (the engine's FLOP counter over
 * 6 FLOPs per parameter), the 6N rule over the step's work, and the paper's T_RL rule.
 */
export function account(
  c: RlConfig,
  supervised: RlMetrics["supervisedTokens"],
  s: { flops: number; params: number; work: RlWork; rollouts: Rollout[] },
): void {
  const Ltotal = s.rollouts.reduce((a, q) => a + q.ids.length, 0) / s.rollouts.length;
  supervised.measured += s.flops / (6 * s.params);
  supervised.rule6N += rlWorkSupervisedTokens(c.model, { ...s.work, seqLen: Math.ceil(Ltotal) });
  supervised.paper += paperRlTokens(c.promptsPerStep, c.rollouts, Ltotal, c.rlConstant);
}

/** An RL checkpoint's state: AdamW's update count and the cumulative supervised-token equivalents. */
export type RlState = RunState & { updates?: number; supervised?: RlMetrics["supervisedTokens"] };
