/** Process verification of generated traces and RL rewards (verification.md §2–4). */
import { type Gold, type Verdict, type VerifyOptions, verifyTrace } from "./compare.js";
import { parseTrace } from "./parse.js";
import {
  allRewards,
  type CompositeOptions,
  type PenaltyBreakdown,
  type RewardValues,
  rewardBreakdown,
} from "./rewards.js";

export {
  DEFAULT_VERIFY_OPTIONS,
  ERROR_CATEGORIES,
  type ErrorCategory,
  type Gold,
  VERIFIER_VERSION,
  type Verdict,
  type VerdictErrors,
  type VerifyOptions,
  type VerifyPolicy,
  verifyPolicy,
  verifyTrace,
} from "./compare.js";
export {
  DEFAULT_PARSE_OPTIONS,
  isVariable,
  normalizeName,
  type ParsedNode,
  type ParsedSolve,
  type ParsedTrace,
  type ParseOptions,
  parseLinear,
  parseTrace,
  type StepSpan,
} from "./parse.js";
export {
  allRewards,
  COMPOSITE_FORMS,
  type CompositeForm,
  type CompositeOptions,
  type CompositeReward,
  compositeReward,
  DEFAULT_COMPOSITE_OPTIONS,
  type OutcomeReward,
  outcomeReward,
  type PenaltyBreakdown,
  type ProcessReward,
  processReward,
  REWARD_NAMES,
  type RewardName,
  type RewardValues,
  rewardBreakdown,
  rewardByName,
  type StrictReward,
  strictReward,
} from "./rewards.js";

/** Options of verifySample: verification policies plus composite-reward options. */
export type SampleOptions = VerifyOptions & CompositeOptions;

/** A verdict with every reward scalar and the penalty parts. */
export type SampleResult = Verdict & { rewards: RewardValues; breakdown: PenaltyBreakdown };

/** Parses, verifies and scores one sampled completion (or full text) against its problem. */
export function verifySample(completion: string, problem: Gold, opts: SampleOptions = {}): SampleResult {
  const v = verifyTrace(parseTrace(completion), problem, opts);
  const nGold = Math.max(1, problem.graph.nodes.length);
  return {
    answerCorrect: v.answerCorrect,
    verified: v.verified,
    verifiedAllowExtra: v.verifiedAllowExtra,
    verifiedNoExtra: v.verifiedNoExtra,
    processAcc: v.processAcc,
    parseFailed: v.parseFailed,
    truncated: v.truncated,
    errors: v.errors,
    answer: v.answer,
    policy: v.policy,
    rewards: allRewards(v, nGold, opts),
    breakdown: rewardBreakdown(v, nGold),
  };
}
