/**
 * Compute accounting for the mid-training vs RL study (training.md §3): FLOPs of the model's
 * passes, RL work in FLOPs and supervised-token equivalents, the paper's T_RL rule with a
 * selectable constant, and the budget split of the β sweep.
 * FLOP formulas of the passes: model/flops.ts.
 */
import type { ModelConfig } from "../model/config.js";
import {
  type FlopOptions,
  forwardFlopsPerToken,
  type SupervisedConvention,
  supervisedEquivalentTokens,
} from "../model/flops.js";
import { paramCount } from "../model/params.js";

/** Token counts of RL work, each position through the model counted once per pass. */
export interface RlWork {
  /** Prompt tokens prefilled before sampling (forward only). */
  prefillTokens: number;
  /** Response tokens generated (one decode forward each). */
  rolloutTokens: number;
  /** Tokens scored by the frozen reference model (forward only). */
  refForwardTokens: number;
  /** Tokens re-scored by the sampling policy for π_old (forward only; 0 when the sampler's log-probs are used). */
  oldForwardTokens: number;
  /** Tokens through the policy's forward and backward (summed over PPO epochs). */
  policyTrainTokens: number;
  /** Sequence length (prompt + response) whose causal attention is averaged into each token; default context. */
  seqLen?: number;
}

/** FLOPs of each part of some RL work. */
export interface RlFlops {
  prefill: number;
  rollout: number;
  ref: number;
  old: number;
  policy: number;
  total: number;
}

/** Measured FLOPs of RL work under this counter. */
export function rlWorkFlops(c: ModelConfig, work: RlWork, opts: FlopOptions = {}): RlFlops {
  const fwd = forwardFlopsPerToken(c, work.seqLen ?? c.context, opts);
  const prefill = work.prefillTokens * fwd;
  const rollout = work.rolloutTokens * fwd;
  const ref = work.refForwardTokens * fwd;
  const old = work.oldForwardTokens * fwd;
  const policy = work.policyTrainTokens * 3 * fwd;
  return { prefill, rollout, ref, old, policy, total: prefill + rollout + ref + old + policy };
}

/** Supervised-token equivalents of RL work (measured FLOPs ÷ the supervised token's FLOPs). */
export function rlWorkSupervisedTokens(
  c: ModelConfig,
  work: RlWork,
  convention: SupervisedConvention = "6N",
  opts: FlopOptions = {},
): number {
  const seqLen = work.seqLen ?? c.context;
  return supervisedEquivalentTokens(c, rlWorkFlops(c, work, opts).total, convention, seqLen, opts);
}

/** Shape of one RL step (training.md §2: 1024 prompts × 6 rollouts, 2048 tokens). */
export interface RlStepShape {
  prompts: number;
  rollouts: number;
  /** Mean prompt tokens per rollout. */
  promptTokens: number;
  /** Mean response tokens per rollout. */
  responseTokens: number;
  /** Reference forward over every sequence (the KL loss needs it; default true). */
  reference?: boolean;
  /** Re-run the policy forward for π_old (verl does); default false: the sampler's log-probs at T = 1. */
  recomputeOld?: boolean;
  /** Passes of forward+backward over the batch (PPO epochs; default 1). */
  epochs?: number;
  /** Prefill each prompt once for its group (prefix sharing) instead of once per rollout (default false). */
  sharedPrefill?: boolean;
}

/** The token counts of one RL step. */
export function rlStepWork(s: RlStepShape): RlWork {
  const seqs = s.prompts * s.rollouts;
  const L = s.promptTokens + s.responseTokens;
  return {
    prefillTokens: (s.sharedPrefill ? s.prompts : seqs) * s.promptTokens,
    rolloutTokens: seqs * s.responseTokens,
    refForwardTokens: (s.reference ?? true) ? seqs * L : 0,
    oldForwardTokens: s.recomputeOld ? seqs * L : 0,
    policyTrainTokens: seqs * L * (s.epochs ?? 1),
    seqLen: L,
  };
}

/**
 * The constant c this counter implies: supervised-token equivalents of one RL step divided by
 * N_prompts · r · L_total. Under the "measured" convention and the defaults it is exactly 5/3
 * (attention or not: every pass is priced per token at the same sequence length); recomputing
 * π_old makes it 2. Under "6N" the attention of the RL passes is extra: ≈1.97 for the paper model
 * at L_total = 2048, ≈1.666 with attention "none" (6N also counts biases and norms).
 */
export function measuredRlConstant(
  c: ModelConfig,
  s: RlStepShape,
  convention: SupervisedConvention = "6N",
  opts: FlopOptions = {},
): number {
  const tokens = s.prompts * s.rollouts * (s.promptTokens + s.responseTokens);
  return rlWorkSupervisedTokens(c, rlStepWork(s), convention, opts) / tokens;
}

/** The paper's constant 5/3 and the seed text's printed "5.3". */
export const RL_CONSTANTS = { paper: 5 / 3, seed: 5.3 } as const;

/** Parses an RL constant: "5/3" or "paper" → 5/3, "5.3" or "seed" → 5.3, else a positive number or fraction. */
export function resolveRlConstant(x: number | string): number {
  if (typeof x === "number") {
    if (!(x > 0) || !Number.isFinite(x)) throw new Error(`RL constant must be a positive number, got ${x}`);
    return x;
  }
  const s = x.trim().toLowerCase();
  if (s === "paper" || s === "5/3") return RL_CONSTANTS.paper;
  if (s === "seed" || s === "5.3") return RL_CONSTANTS.seed;
  const frac = /^(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)$/.exec(s);
  const v = frac ? Number(frac[1]) / Number(frac[2]) : Number(s);
  if (!(v > 0) || !Number.isFinite(v))
    throw new Error(`RL constant "${x}" is not "paper", "seed", a positive number or a fraction`);
  return v;
}

/** The paper's rule: T_RL ≈ c · N_prompts · r · L_total supervised-token equivalents (c = 5/3 by default). */
export function paperRlTokens(
  prompts: number,
  rollouts: number,
  lTotal = 2048,
  constant: number | string = RL_CONSTANTS.paper,
): number {
  return resolveRlConstant(constant) * prompts * rollouts * lTotal;
}

/**
 * L_total of the 5/3 rule for RL with a response cap: prompt + response, taken as twice the cap,
 * within the model's context and the paper's 2048.
 */
export function rlSequenceLength(context: number, maxNew: number): number {
  return Math.min(context, 2048, 2 * maxNew);
}

/** The β values of the allocation study (training.md §3). */
export const ALLOCATION_BETAS: readonly number[] = [0, 0.2, 0.5, 0.8, 1];

/** A split of a supervised-token budget between mid-training and RL. */
export interface Allocation {
  totalTokens: number;
  beta: number;
  /** (1 − β)·T, rounded so that midTokens + rlTokens = T exactly. */
  midTokens: number;
  /** β·T rounded to a whole token. */
  rlTokens: number;
  /** Whole RL steps that fit in rlTokens at rlStepTokens each. */
  rlSteps: number;
  /** rlSteps · rlStepTokens. */
  rlTokensUsed: number;
  /** rlTokens − rlTokensUsed (less than one step). */
  rlTokensLeft: number;
}

/** Splits T supervised-token equivalents: mid-training (1 − β)T, RL βT = rlSteps whole steps plus a remainder. */
export function allocateBudget(totalTokens: number, beta: number, rlStepTokens: number): Allocation {
  if (!(totalTokens >= 0) || !Number.isFinite(totalTokens))
    throw new Error(`total budget must be a finite non-negative token count, got ${totalTokens}`);
  if (!(beta >= 0 && beta <= 1)) throw new Error(`β must be in [0, 1], got ${beta}`);
  if (!(rlStepTokens > 0)) throw new Error(`the cost of an RL step must be positive, got ${rlStepTokens}`);
  const rlTokens = Math.round(beta * totalTokens);
  const midTokens = totalTokens - rlTokens;
  const rlSteps = Math.floor(rlTokens / rlStepTokens + 1e-9);
  const rlTokensUsed = rlSteps * rlStepTokens;
  return {
    totalTokens,
    beta,
    midTokens,
    rlTokens,
    rlSteps,
    rlTokensUsed,
    rlTokensLeft: rlTokens - rlTokensUsed,
  };
}

/**
 * Why the constant is 5/3, how the seed's 5.3 differs, and what each implies for the reference
 * step; given a model, also the constants this counter measures for it.
 */
export function explainConstant(c?: ModelConfig): string {
  const step = 1024 * 6 * 2048;
  const midBatch = 512 * 1024;
  const per = (k: number) => ((k * step) / midBatch).toFixed(1);
  const lines = [
    "T_RL ≈ c · N_prompts · r · L_total converts RL to supervised-token equivalents (6N FLOPs each).",
    "c = 5/3: for every token of a rollout (prompt + response, L_total) the step runs",
    "  2N  the rollout forward (prefill + sampling, forward only),",
    "  2N  one more forward, the reference model (or the old policy) scoring the sequence,",
    "  6N  the policy's forward + backward on it,",
    "  = 10N per token, over 6N per supervised token = 5/3.",
    "  Scoring with both the reference and a recomputed old policy adds 2N more: 12N/6N = 2.",
    `Reference step (1024 prompts × 6 rollouts × 2048 tokens = ${step} tokens): c = 5/3 gives ${per(5 / 3)}`,
    `  mid-training steps of 512k tokens, close to the reference code's ≈38.7; c = 5.3 gives ${per(5.3)},`,
    "  which matches neither the code nor any FLOP count of the pipeline (5.3 = 31.8N/6N per token).",
    "  The seed prints 5.3, most likely 5/3 with the slash lost; both are selectable.",
    "Measured with this counter: pricing supervised tokens with the same counter at the same sequence",
    "  length ('measured') gives exactly 5/3 (every term scales with one forward per token); the 6N",
    "  convention leaves the attention of the RL passes uncovered, which raises c with L_total.",
  ];
  if (c) {
    const L = Math.min(2048, c.context);
    const shape: RlStepShape = { prompts: 1024, rollouts: 6, promptTokens: L / 2, responseTokens: L / 2 };
    const f = (x: number) => x.toFixed(3);
    lines.push(
      `This model (${paramCount(c)} parameters, L_total = ${L}): c = ${f(measuredRlConstant(c, shape, "6N"))} (6N),`,
      `  ${f(measuredRlConstant(c, shape, "measured"))} (measured), ${f(measuredRlConstant(c, shape, "6N", { attention: "none" }))} (6N, matmuls only),`,
      `  ${f(measuredRlConstant(c, { ...shape, recomputeOld: true }, "measured"))} (measured, π_old recomputed).`,
    );
  }
  return lines.join("\n");
}
