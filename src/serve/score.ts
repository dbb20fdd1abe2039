/**
 * Scoring requests of the reward service: option checking, one completion against its gold, and
 * the response shapes of the native endpoint and of OpenRLHF's `/get_reward`.
 */
import {
  type CompositeForm,
  DEFAULT_COMPOSITE_OPTIONS,
  DEFAULT_VERIFY_OPTIONS,
  type PenaltyBreakdown,
  REWARD_NAMES,
  type RewardName,
  type RewardValues,
  type VerdictErrors,
  type VerifyPolicy,
  verifySample,
} from "../verify/index.js";
import type { GoldResolver, ResolvedGold } from "./gold.js";

/** Scoring options a request may set (each has a server default). */
export interface ScoreOptions {
  /** Which reward is the scalar `reward` (default "composite"). */
  reward: RewardName;
  /** α of the composite reward, in [0, 1]. */
  alpha: number;
  /** Composite form. */
  form: CompositeForm;
  /** Extra nodes do not block `verified` (default true, the reference's evaluation). */
  allowExtra: boolean;
  /**
   * Arithmetic slips neither block `verified` nor count in the penalty (default false: a false
   * equation is a process error; true is the old lenient policy).
   */
  allowSlips: boolean;
}

/** The library's defaults (verification.md §3–4): composite gated α = 0.2, extras allowed, slips not. */
export const DEFAULT_SCORE_OPTIONS: Readonly<ScoreOptions> = {
  reward: "composite",
  alpha: DEFAULT_COMPOSITE_OPTIONS.alpha,
  form: DEFAULT_COMPOSITE_OPTIONS.form,
  allowExtra: DEFAULT_VERIFY_OPTIONS.allowExtra,
  allowSlips: DEFAULT_VERIFY_OPTIONS.allowSlips,
};

/** A request error: answered with this status and message. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const OPTION_KEYS = ["reward", "alpha", "form", "allowExtra", "allowSlips"] as const;

/** Reads scoring options from a record (body or query), over `base`; wrong types are 400s. */
export function readOptions(src: Record<string, unknown>, base: ScoreOptions, where: string): ScoreOptions {
  const o = { ...base };
  if (src.reward !== undefined) {
    if (typeof src.reward !== "string" || !REWARD_NAMES.includes(src.reward as RewardName))
      throw new RequestError(
        400,
        "bad_option",
        `${where}reward must be one of ${REWARD_NAMES.join(", ")}, got ${JSON.stringify(src.reward)}`,
      );
    o.reward = src.reward as RewardName;
  }
  if (src.alpha !== undefined) {
    const a = typeof src.alpha === "string" && src.alpha.trim() !== "" ? Number(src.alpha) : src.alpha;
    if (typeof a !== "number" || !(a >= 0 && a <= 1))
      throw new RequestError(
        400,
        "bad_option",
        `${where}alpha must be a number in [0, 1], got ${JSON.stringify(src.alpha)}`,
      );
    o.alpha = a;
  }
  if (src.form !== undefined) {
    if (src.form !== "gated" && src.form !== "linear")
      throw new RequestError(
        400,
        "bad_option",
        `${where}form must be "gated" or "linear", got ${JSON.stringify(src.form)}`,
      );
    o.form = src.form;
  }
  for (const k of ["allowExtra", "allowSlips"] as const) {
    const v = src[k] === "true" ? true : src[k] === "false" ? false : src[k];
    if (v === undefined) continue;
    if (typeof v !== "boolean")
      throw new RequestError(
        400,
        "bad_option",
        `${where}${k} must be true or false, got ${JSON.stringify(src[k])}`,
      );
    o[k] = v;
  }
  return o;
}

/** Everything the service says about one scored completion. */
export interface ScoreResult {
  /** The scalar of the chosen reward variant. */
  reward: number;
  variant: RewardName;
  /** All four reward scalars (composite with the request's α and form). */
  rewards: RewardValues;
  /** Penalty parts of the process reward. */
  penalty: PenaltyBreakdown;
  answerCorrect: boolean;
  /** Verified under the request's policies. */
  verified: boolean;
  /** Verified with extra nodes allowed (the reference evaluator's figure), same slip policy. */
  verifiedAllowExtra: boolean;
  /** Verified and no extra node, same slip policy. */
  verifiedNoExtra: boolean;
  processAcc: number;
  parseFailed: boolean;
  truncated: boolean;
  /** The extracted answer (null when none). */
  answer: string | null;
  /** The error taxonomy: node names per category. */
  errors: VerdictErrors;
  /** The verification policies the result was computed under. */
  policy: VerifyPolicy;
  /** The gold it was scored against. */
  gold: { id: string | null; answer: string; nodes: number };
}

/** Scores one completion against a resolved gold. */
export function scoreOne(completion: string, gold: ResolvedGold, o: ScoreOptions): ScoreResult {
  let r: ReturnType<typeof verifySample>;
  try {
    r = verifySample(completion, gold, {
      alpha: o.alpha,
      form: o.form,
      allowExtra: o.allowExtra,
      allowSlips: o.allowSlips,
    });
  } catch (e) {
    // The verifier throws only on a malformed gold, never on model output.
    throw new RequestError(422, "bad_gold", `cannot score against this gold: ${(e as Error).message}`);
  }
  return {
    reward: r.rewards[o.reward],
    variant: o.reward,
    rewards: r.rewards,
    penalty: r.breakdown,
    answerCorrect: r.answerCorrect,
    verified: r.verified,
    verifiedAllowExtra: r.verifiedAllowExtra,
    verifiedNoExtra: r.verifiedNoExtra,
    processAcc: r.processAcc,
    parseFailed: r.parseFailed,
    truncated: r.truncated,
    answer: r.answer,
    errors: r.errors,
    policy: r.policy,
    gold: { id: gold.id ?? null, answer: gold.answer, nodes: gold.graph.nodes.length },
  };
}

/** Limits of request contents. */
export interface ContentLimits {
  maxBatch: number;
  maxCompletionChars: number;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return !!x && typeof x === "object" && !Array.isArray(x);
}

function checkCompletion(c: unknown, where: string, lim: ContentLimits): string {
  if (typeof c !== "string") throw new RequestError(400, "bad_type", `${where} must be a string`);
  if (c.length > lim.maxCompletionChars)
    throw new RequestError(
      413,
      "completion_too_large",
      `${where} has ${c.length} characters (at most ${lim.maxCompletionChars})`,
    );
  return c;
}

/** Resolves a gold, turning resolver errors into request errors. */
function resolveGold(resolver: GoldResolver, gold: unknown, where: string): ResolvedGold {
  try {
    return resolver.resolve(gold, where);
  } catch (e) {
    const err = e as Error & { status?: number };
    if (typeof err.status === "number")
      throw new RequestError(err.status, err.status === 422 ? "unknown_gold" : "bad_gold", err.message);
    throw e;
  }
}

const SINGLE_KEYS = new Set<string>(["completion", "gold", ...OPTION_KEYS]);
const BATCH_KEYS = new Set<string>(["items", ...OPTION_KEYS]);
const ITEM_KEYS = new Set<string>(["completion", "gold"]);

function rejectUnknown(o: Record<string, unknown>, allowed: Set<string>, where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.has(k))
      throw new RequestError(
        400,
        "unknown_field",
        `${where}unknown field "${k}" (allowed: ${[...allowed].join(", ")})`,
      );
  }
}

/**
 * The native endpoint: `{completion, gold, ...options}` → one result, or
 * `{items: [{completion, gold}, ...], ...options}` → `{results: [...]}`. Every item is checked
 * before any is scored, so a bad request costs no verification.
 */
export function nativeReward(
  body: unknown,
  resolver: GoldResolver,
  base: ScoreOptions,
  lim: ContentLimits,
): ScoreResult | { results: ScoreResult[] } {
  if (!isObject(body))
    throw new RequestError(
      400,
      "bad_type",
      "the body must be a JSON object: {completion, gold} or {items: [{completion, gold}, ...]}",
    );
  if (body.items !== undefined) {
    rejectUnknown(body, BATCH_KEYS, "");
    const o = readOptions(body, base, "");
    if (!Array.isArray(body.items)) throw new RequestError(400, "bad_type", `"items" must be an array`);
    const items = body.items;
    if (items.length === 0) throw new RequestError(400, "empty_batch", `"items" is empty`);
    if (items.length > lim.maxBatch)
      throw new RequestError(
        413,
        "batch_too_large",
        `"items" has ${items.length} entries (at most ${lim.maxBatch})`,
      );
    const work: [string, ResolvedGold][] = items.map((it, i) => {
      const where = `items[${i}]`;
      if (!isObject(it))
        throw new RequestError(400, "bad_type", `${where} must be an object {completion, gold}`);
      rejectUnknown(it, ITEM_KEYS, `${where}: `);
      const c = checkCompletion(it.completion, `${where}.completion`, lim);
      if (it.gold === undefined) throw new RequestError(400, "missing_field", `${where}.gold is missing`);
      return [c, resolveGold(resolver, it.gold, `${where}.gold`)];
    });
    return { results: work.map(([c, g]) => scoreOne(c, g, o)) };
  }
  rejectUnknown(body, SINGLE_KEYS, "");
  const o = readOptions(body, base, "");
  if (body.completion === undefined)
    throw new RequestError(
      400,
      "missing_field",
      `"completion" is missing (or send a batch as {items: [...]})`,
    );
  const c = checkCompletion(body.completion, `"completion"`, lim);
  if (body.gold === undefined) throw new RequestError(400, "missing_field", `"gold" is missing`);
  return scoreOne(c, resolveGold(resolver, body.gold, "gold"), o);
}

/** OpenRLHF's response. */
export interface OpenRlhfResponse {
  rewards: number[];
  scores: number[];
  extra_logs: Record<string, number[]>;
}

/**
 * OpenRLHF's `/get_reward`: `{query: [...], prompts: [...], labels: [...]}`. A query is the prompt
 * plus the response; when it starts with its prompt, the rest is the completion, else the whole
 * query is parsed (the verifier cuts a full model text at its first `<solution>`). A label is a
 * problem id, or a JSON text of {graph, answer} (or an object). Unknown fields are ignored.
 */
export function openRlhfReward(
  body: unknown,
  resolver: GoldResolver,
  base: ScoreOptions,
  lim: ContentLimits,
): OpenRlhfResponse {
  if (!isObject(body))
    throw new RequestError(
      400,
      "bad_type",
      `the body must be a JSON object {"query": [...], "labels": [...]}`,
    );
  const o = readOptions(body, base, "");
  const { query, prompts, labels } = body;
  if (!Array.isArray(query)) throw new RequestError(400, "bad_type", `"query" must be an array of strings`);
  if (query.length === 0) throw new RequestError(400, "empty_batch", `"query" is empty`);
  if (query.length > lim.maxBatch)
    throw new RequestError(
      413,
      "batch_too_large",
      `"query" has ${query.length} entries (at most ${lim.maxBatch})`,
    );
  if (!Array.isArray(labels))
    throw new RequestError(
      400,
      "missing_field",
      `"labels" must be an array with one gold per query: a problem id or a JSON {graph, answer} (OpenRLHF: --label_key)`,
    );
  if (labels.length !== query.length)
    throw new RequestError(
      400,
      "length_mismatch",
      `"labels" has ${labels.length} entries, "query" has ${query.length}`,
    );
  if (prompts !== undefined && prompts !== null) {
    if (!Array.isArray(prompts))
      throw new RequestError(400, "bad_type", `"prompts" must be an array of strings`);
    if (prompts.length !== query.length)
      throw new RequestError(
        400,
        "length_mismatch",
        `"prompts" has ${prompts.length} entries, "query" has ${query.length}`,
      );
  }
  const work = query.map((q, i): [string, ResolvedGold] => {
    let c = checkCompletion(q, `query[${i}]`, lim);
    const p = Array.isArray(prompts) ? prompts[i] : undefined;
    if (p !== undefined && p !== null) {
      if (typeof p !== "string") throw new RequestError(400, "bad_type", `prompts[${i}] must be a string`);
      if (p.length > 0 && c.startsWith(p)) c = c.slice(p.length);
    }
    let label = labels[i];
    if (typeof label === "string" && label.trimStart().startsWith("{")) {
      try {
        label = JSON.parse(label);
      } catch (e) {
        throw new RequestError(
          400,
          "bad_gold",
          `labels[${i}] looks like JSON but does not parse: ${(e as Error).message}`,
        );
      }
    }
    return [c, resolveGold(resolver, label, `labels[${i}]`)];
  });
  const results = work.map(([c, g]) => scoreOne(c, g, o));
  const rewards = results.map((r) => r.reward);
  return {
    rewards,
    scores: rewards,
    extra_logs: {
      outcome: results.map((r) => r.rewards.outcome),
      process: results.map((r) => r.rewards.process),
      composite: results.map((r) => r.rewards.composite),
      strict: results.map((r) => r.rewards.strict),
      verified: results.map((r) => (r.verified ? 1 : 0)),
      verified_no_extra: results.map((r) => (r.verifiedNoExtra ? 1 : 0)),
      process_acc: results.map((r) => r.processAcc),
      parse_failed: results.map((r) => (r.parseFailed ? 1 : 0)),
      missing: results.map((r) => r.penalty.missing),
      extra: results.map((r) => r.penalty.extra),
      wrong_value: results.map((r) => r.penalty.wrongValue),
      wrong_dependency: results.map((r) => r.penalty.wrongDependency),
      arithmetic_slips: results.map((r) => r.penalty.arithmeticSlips),
    },
  };
}
