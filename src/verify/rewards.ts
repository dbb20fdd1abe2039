/**
 * RL rewards from a verdict (verification.md §4). Every function returns its components (outcome,
 * process, penalty breakdown) next to the scalar `reward`, so training logs can plot them. The
 * penalty counts arithmetic slips unless the verdict was reached with `allowSlips`.
 */
import type { Verdict } from "./compare.js";

/** Names of the reward regimes. */
export type RewardName = "outcome" | "process" | "composite" | "strict";

/** All reward names, in a stable order. */
export const REWARD_NAMES: readonly RewardName[] = ["outcome", "process", "composite", "strict"];

/** How the composite reward mixes outcome and process: gated (reference code) or linear (seed text). */
export type CompositeForm = "gated" | "linear";

/** All composite forms. */
export const COMPOSITE_FORMS: readonly CompositeForm[] = ["gated", "linear"];

/** Options of the composite reward. */
export interface CompositeOptions {
  /** Weight of the outcome part, in [0, 1] (default 0.2; the paper also used 0.5). */
  alpha?: number;
  /** Mixing form (default "gated", which produced the paper's numbers). */
  form?: CompositeForm;
}

/** Default composite options. */
export const DEFAULT_COMPOSITE_OPTIONS: Readonly<Required<CompositeOptions>> = { alpha: 0.2, form: "gated" };

/** The parts of the process penalty, for logging. */
export interface PenaltyBreakdown {
  /** |V|, the number of gold nodes. */
  nGold: number;
  wrongValue: number;
  wrongDependency: number;
  missing: number;
  /** Extra nodes found. */
  extra: number;
  /** Extra nodes counted in the penalty: min(extra, |V|). */
  extraCounted: number;
  /** Nodes whose step has an arithmetic slip. */
  arithmeticSlips: number;
  /** Slips counted in the penalty: all of them, or 0 when the verdict's policy allows slips. */
  slipsCounted: number;
  /** 1 when the answer is wrong. */
  answerWrong: 0 | 1;
  parseFailed: boolean;
  /** wrongValue + wrongDependency + missing + extraCounted + slipsCounted + answerWrong. */
  total: number;
}

/** Outcome reward and its component. */
export interface OutcomeReward {
  name: "outcome";
  reward: number;
  outcome: number;
}

/** Process reward R_pv and its penalty parts. */
export interface ProcessReward {
  name: "process";
  reward: number;
  process: number;
  penalty: PenaltyBreakdown;
}

/** Composite reward with its outcome and process parts. */
export interface CompositeReward {
  name: "composite";
  reward: number;
  outcome: number;
  process: number;
  alpha: number;
  form: CompositeForm;
  penalty: PenaltyBreakdown;
}

/** Strict reward with its parts. */
export interface StrictReward {
  name: "strict";
  reward: number;
  outcome: number;
  penalty: PenaltyBreakdown;
}

/** The four reward scalars of one verdict. */
export type RewardValues = Record<RewardName, number>;

function checkNGold(nGold: number): void {
  if (!Number.isInteger(nGold) || nGold < 1) {
    throw new RangeError(`nGold must be a positive integer (the number of gold nodes), got ${nGold}`);
  }
}

/** Penalty parts of a verdict against |V| = nGold gold nodes. */
export function rewardBreakdown(v: Verdict, nGold: number): PenaltyBreakdown {
  checkNGold(nGold);
  const e = v.errors;
  const extraCounted = Math.min(e.extra.length, nGold);
  const slipsCounted = v.policy.allowSlips ? 0 : e.arithmeticSlips.length;
  const answerWrong = v.answerCorrect ? 0 : 1;
  return {
    nGold,
    wrongValue: e.wrongValue.length,
    wrongDependency: e.wrongDependency.length,
    missing: e.missing.length,
    extra: e.extra.length,
    extraCounted,
    arithmeticSlips: e.arithmeticSlips.length,
    slipsCounted,
    answerWrong,
    parseFailed: v.parseFailed,
    total:
      e.wrongValue.length +
      e.wrongDependency.length +
      e.missing.length +
      extraCounted +
      slipsCounted +
      answerWrong,
  };
}

/** R_out = 1 if the extracted answer equals the gold answer, else 0. */
export function outcomeReward(v: Verdict): OutcomeReward {
  const outcome = v.answerCorrect ? 1 : 0;
  return { name: "outcome", reward: outcome, outcome };
}

/** R_pv = max(0, 1 − penalty/|V|); 0 on a parse failure. */
export function processReward(v: Verdict, nGold: number): ProcessReward {
  const penalty = rewardBreakdown(v, nGold);
  const process = processFrom(penalty);
  return { name: "process", reward: process, process, penalty };
}

/** Gated R_out·(α + (1−α)·R_pv) or linear α·R_out + (1−α)·R_pv; α outside [0, 1] throws a RangeError. */
export function compositeReward(v: Verdict, nGold: number, opts: CompositeOptions = {}): CompositeReward {
  const { alpha, form } = checkComposite(opts);
  const penalty = rewardBreakdown(v, nGold);
  const outcome = v.answerCorrect ? 1 : 0;
  const process = processFrom(penalty);
  const reward = compositeFrom(outcome, process, alpha, form);
  return { name: "composite", reward, outcome, process, alpha, form, penalty };
}

/** 1 iff the answer is right and the penalty (extra nodes included) is 0, else 0. */
export function strictReward(v: Verdict, nGold: number): StrictReward {
  const penalty = rewardBreakdown(v, nGold);
  const outcome = v.answerCorrect ? 1 : 0;
  return { name: "strict", reward: strictFrom(outcome, penalty), outcome, penalty };
}

/** The four reward scalars of a verdict (composite with the given options); the penalty is computed once. */
export function allRewards(v: Verdict, nGold: number, opts: CompositeOptions = {}): RewardValues {
  const { alpha, form } = checkComposite(opts);
  const penalty = rewardBreakdown(v, nGold);
  const outcome = v.answerCorrect ? 1 : 0;
  const process = processFrom(penalty);
  return {
    outcome,
    process,
    composite: compositeFrom(outcome, process, alpha, form),
    strict: strictFrom(outcome, penalty),
  };
}

function checkComposite(opts: CompositeOptions): Required<CompositeOptions> {
  const alpha = opts.alpha ?? DEFAULT_COMPOSITE_OPTIONS.alpha;
  const form = opts.form ?? DEFAULT_COMPOSITE_OPTIONS.form;
  if (typeof alpha !== "number" || !(alpha >= 0 && alpha <= 1)) {
    throw new RangeError(`alpha must be in [0, 1], got ${alpha}`);
  }
  if (form !== "gated" && form !== "linear") {
    throw new RangeError(`form must be "gated" or "linear", got "${form}"`);
  }
  return { alpha, form };
}

function processFrom(penalty: PenaltyBreakdown): number {
  return penalty.parseFailed ? 0 : Math.max(0, 1 - penalty.total / penalty.nGold);
}

function compositeFrom(outcome: number, process: number, alpha: number, form: CompositeForm): number {
  return form === "gated"
    ? outcome * (alpha + (1 - alpha) * process)
    : alpha * outcome + (1 - alpha) * process;
}

function strictFrom(outcome: number, penalty: PenaltyBreakdown): number {
  return outcome === 1 && penalty.total === 0 && !penalty.parseFailed ? 1 : 0;
}

/** One reward scalar by name. */
export function rewardByName(
  name: RewardName,
  v: Verdict,
  nGold: number,
  opts: CompositeOptions = {},
): number {
  switch (name) {
    case "outcome":
      return outcomeReward(v).reward;
    case "process":
      return processReward(v, nGold).reward;
    case "composite":
      return compositeReward(v, nGold, opts).reward;
    case "strict":
      return strictReward(v, nGold).reward;
    default:
      throw new RangeError(`unknown reward "${name as string}" (known: ${REWARD_NAMES.join(", ")})`);
  }
}
