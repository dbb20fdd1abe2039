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
import { clip, describe, MAX_JSON_DEPTH, quote, scanJsonText } from "./input.js";

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

/** A request error: answered with this status, message and any extra response headers. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

const OPTION_KEYS = ["reward", "alpha", "form", "allowExtra", "allowSlips"] as const;

/** A decimal number as a query parameter writes it: digits, one point, an exponent; no hex, no spaces. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?$/;

function badOption(where: string, key: string, expected: string, got: unknown): RequestError {
  return new RequestError(400, "bad_option", `${where}${key} must be ${expected}, got ${describe(got)}`);
}

/**
 * Reads scoring options from a record over `base`; a wrong type or value is a 400 naming the field,
 * the expected type and (boundedly) what came. In a JSON body (and the server's defaults) each option
 * has its JSON type: `alpha` a number, `allowExtra`/`allowSlips` booleans, `reward`/`form` strings;
 * `"0.5"` or `"true"` are refused there. With `fromText` (query parameters, which are text) `alpha` is
 * a plain decimal ("0.5", "1", "2e-1"; not "0x1", " 1 " or "") and the flags are exactly "true" or
 * "false".
 */
export function readOptions(
  src: Record<string, unknown>,
  base: ScoreOptions,
  where: string,
  fromText = false,
): ScoreOptions {
  const o = { ...base };
  const reward = src.reward;
  if (reward !== undefined) {
    if (typeof reward !== "string" || !REWARD_NAMES.includes(reward as RewardName))
      throw badOption(where, "reward", `one of ${REWARD_NAMES.join(", ")}`, reward);
    o.reward = reward as RewardName;
  }
  const alpha = src.alpha;
  if (alpha !== undefined) {
    const expected = fromText ? "a decimal number in [0, 1]" : "a JSON number in [0, 1]";
    let a: number;
    if (fromText && typeof alpha === "string") {
      if (!DECIMAL.test(alpha)) throw badOption(where, "alpha", expected, alpha);
      a = Number(alpha);
    } else if (typeof alpha === "number") a = alpha;
    else throw badOption(where, "alpha", expected, alpha);
    if (!(a >= 0 && a <= 1)) throw badOption(where, "alpha", expected, alpha);
    o.alpha = a;
  }
  const form = src.form;
  if (form !== undefined) {
    if (form !== "gated" && form !== "linear") throw badOption(where, "form", `"gated" or "linear"`, form);
    o.form = form;
  }
  for (const k of ["allowExtra", "allowSlips"] as const) {
    const v = src[k];
    if (v === undefined) continue;
    if (fromText && typeof v === "string" && (v === "true" || v === "false")) o[k] = v === "true";
    else if (typeof v === "boolean") o[k] = v;
    else throw badOption(where, k, fromText ? `"true" or "false"` : "a JSON boolean (true or false)", v);
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
    throw new RequestError(
      422,
      "bad_gold",
      `cannot score against this gold: ${clip(String((e as Error)?.message), 200)}`,
    );
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
  /** Most JSON values in a body, and again in all of a request's JSON labels together. */
  maxJsonValues: number;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return !!x && typeof x === "object" && !Array.isArray(x);
}

function checkCompletion(c: unknown, where: string, lim: ContentLimits): string {
  if (typeof c !== "string")
    throw new RequestError(400, "bad_type", `${where} must be a string, got ${describe(c)}`);
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
        `${where}unknown field ${quote(k, 60)} (allowed: ${[...allowed].join(", ")})`,
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
      `the body must be a JSON object: {completion, gold} or {items: [{completion, gold}, ...]}, got ${describe(body)}`,
    );
  if (body.items !== undefined) {
    rejectUnknown(body, BATCH_KEYS, "");
    const o = readOptions(body, base, "");
    if (!Array.isArray(body.items))
      throw new RequestError(400, "bad_type", `"items" must be an array, got ${describe(body.items)}`);
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
        throw new RequestError(
          400,
          "bad_type",
          `${where} must be an object {completion, gold}, got ${describe(it)}`,
        );
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
      `the body must be a JSON object {"query": [...], "labels": [...]}, got ${describe(body)}`,
    );
  const o = readOptions(body, base, "");
  const { query, prompts, labels } = body;
  if (!Array.isArray(query))
    throw new RequestError(400, "bad_type", `"query" must be an array of strings, got ${describe(query)}`);
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
      `"labels" must be an array with one gold per query: a problem id or a JSON {graph, answer} (OpenRLHF: --label_key), got ${describe(labels)}`,
    );
  if (labels.length !== query.length)
    throw new RequestError(
      400,
      "length_mismatch",
      `"labels" has ${labels.length} entries, "query" has ${query.length}`,
    );
  if (prompts !== undefined && prompts !== null) {
    if (!Array.isArray(prompts))
      throw new RequestError(
        400,
        "bad_type",
        `"prompts" must be an array of strings, got ${describe(prompts)}`,
      );
    if (prompts.length !== query.length)
      throw new RequestError(
        400,
        "length_mismatch",
        `"prompts" has ${prompts.length} entries, "query" has ${query.length}`,
      );
  }
  let labelValues = 0;
  const work = query.map((q, i): [string, ResolvedGold] => {
    let c = checkCompletion(q, `query[${i}]`, lim);
    const p = Array.isArray(prompts) ? prompts[i] : undefined;
    if (p !== undefined && p !== null) {
      if (typeof p !== "string")
        throw new RequestError(400, "bad_type", `prompts[${i}] must be a string, got ${describe(p)}`);
      if (p.length > 0 && c.startsWith(p)) c = c.slice(p.length);
    }
    let label = labels[i];
    if (typeof label === "string" && label.trimStart().startsWith("{")) {
      const shape = scanJsonText(label, MAX_JSON_DEPTH);
      if (shape.tooDeep)
        throw new RequestError(
          400,
          "too_deep",
          `labels[${i}] nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`,
        );
      labelValues += shape.values;
      if (labelValues > lim.maxJsonValues)
        throw new RequestError(
          413,
          "too_many_values",
          `the JSON labels up to labels[${i}] hold more than ${lim.maxJsonValues} values`,
        );
      try {
        label = JSON.parse(label);
      } catch (e) {
        throw new RequestError(
          400,
          "bad_gold",
          `labels[${i}] looks like JSON but does not parse: ${clip((e as Error).message, 120)}`,
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
