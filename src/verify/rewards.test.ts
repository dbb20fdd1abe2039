import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Verdict } from "./compare.js";
import {
  allRewards,
  compositeReward,
  outcomeReward,
  processReward,
  REWARD_NAMES,
  rewardBreakdown,
  rewardByName,
  strictReward,
} from "./rewards.js";

/** A verdict with the given error counts (node names are placeholders). */
function verdict(o: {
  answerCorrect?: boolean;
  missing?: number;
  extra?: number;
  wrongValue?: number;
  wrongDependency?: number;
  slips?: number;
  parseFailed?: boolean;
  allowSlips?: boolean;
}): Verdict {
  const names = (n = 0, tag = "n") => Array.from({ length: n }, (_, i) => `${tag}${i}`);
  return {
    answerCorrect: o.answerCorrect ?? true,
    verified: false,
    verifiedAllowExtra: false,
    verifiedNoExtra: false,
    processAcc: 0,
    parseFailed: o.parseFailed ?? false,
    truncated: false,
    errors: {
      missing: names(o.missing, "m"),
      extra: names(o.extra, "e"),
      wrongValue: names(o.wrongValue, "v"),
      wrongDependency: names(o.wrongDependency, "d"),
      arithmeticSlips: names(o.slips, "s"),
    },
    answer: o.answerCorrect === false ? "0" : "1",
    policy: { allowExtra: true, allowSlips: o.allowSlips ?? false },
  };
}

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

describe("rewards (verification.md §4)", () => {
  test("5 gold nodes, 1 wrong value and 1 missing, right answer", () => {
    const v = verdict({ wrongValue: 1, missing: 1 });
    const pr = processReward(v, 5);
    close(pr.reward, 0.6);
    assert.equal(pr.penalty.total, 2);
    assert.equal(pr.penalty.wrongValue, 1);
    assert.equal(pr.penalty.missing, 1);
    assert.equal(pr.penalty.answerWrong, 0);
    assert.equal(outcomeReward(v).reward, 1);
    close(compositeReward(v, 5).reward, 0.2 + 0.8 * 0.6); // 0.68, gated α = 0.2 by default
    close(compositeReward(v, 5, { alpha: 0.5 }).reward, 0.5 + 0.5 * 0.6);
    close(compositeReward(v, 5, { form: "linear" }).reward, 0.2 * 1 + 0.8 * 0.6);
    close(compositeReward(v, 5, { alpha: 0.5, form: "linear" }).reward, 0.8);
    assert.equal(strictReward(v, 5).reward, 0);
    const c = compositeReward(v, 5);
    assert.equal(c.outcome, 1);
    close(c.process, 0.6);
    assert.equal(c.alpha, 0.2);
    assert.equal(c.form, "gated");
  });

  test("the same errors with a wrong answer: gated composite is 0, linear keeps the process part", () => {
    const v = verdict({ wrongValue: 1, missing: 1, answerCorrect: false });
    close(processReward(v, 5).reward, 1 - 3 / 5);
    assert.equal(outcomeReward(v).reward, 0);
    assert.equal(compositeReward(v, 5).reward, 0);
    close(compositeReward(v, 5, { form: "linear" }).reward, 0.8 * 0.4);
    assert.equal(strictReward(v, 5).reward, 0);
  });

  test("extra nodes are capped at |V| in the penalty and break only the strict reward when alone", () => {
    const v = verdict({ extra: 10 });
    const b = rewardBreakdown(v, 4);
    assert.equal(b.extra, 10);
    assert.equal(b.extraCounted, 4);
    assert.equal(processReward(v, 4).reward, 0);
    const one = verdict({ extra: 1 });
    close(processReward(one, 4).reward, 0.75);
    assert.equal(strictReward(one, 4).reward, 0);
    assert.equal(strictReward(verdict({}), 4).reward, 1);
  });

  test("wrong dependency counts; the penalty clamps at 0", () => {
    close(processReward(verdict({ wrongDependency: 2, wrongValue: 1 }), 6).reward, 0.5);
    assert.equal(processReward(verdict({ wrongDependency: 5, missing: 5 }), 6).reward, 0);
  });

  test("each slipped node counts 1 in the penalty by default; under allowSlips none does", () => {
    const s = verdict({ slips: 1, wrongValue: 1 });
    const p = processReward(s, 4);
    close(p.reward, 0.5);
    assert.equal(p.penalty.arithmeticSlips, 1);
    assert.equal(p.penalty.slipsCounted, 1);
    assert.equal(p.penalty.total, 2);
    close(compositeReward(s, 4).reward, 0.2 + 0.8 * 0.5);
    assert.equal(strictReward(verdict({ slips: 1 }), 4).reward, 0);
    assert.equal(processReward(verdict({ slips: 5 }), 4).reward, 0, "clamps at 0");
    const lenient = verdict({ slips: 3, allowSlips: true });
    assert.equal(processReward(lenient, 3).reward, 1);
    assert.equal(strictReward(lenient, 3).reward, 1);
    assert.deepEqual(allRewards(lenient, 3), { outcome: 1, process: 1, composite: 1, strict: 1 });
    const b = rewardBreakdown(lenient, 3);
    assert.equal(b.arithmeticSlips, 3);
    assert.equal(b.slipsCounted, 0);
    assert.equal(b.total, 0);
  });

  test("a parse failure gives process 0 even with the answer right", () => {
    const v = verdict({ parseFailed: true, missing: 3 });
    assert.equal(processReward(v, 3).reward, 0);
    assert.equal(compositeReward(v, 3).reward, 0.2);
    assert.equal(strictReward(v, 3).reward, 0);
    assert.equal(processReward(verdict({ parseFailed: true }), 3).reward, 0);
  });

  test("allRewards and rewardByName agree with the individual functions", () => {
    const v = verdict({ wrongValue: 1, missing: 1 });
    const all = allRewards(v, 5, { alpha: 0.5, form: "linear" });
    assert.deepEqual(Object.keys(all), [...REWARD_NAMES]);
    close(all.composite, 0.8);
    for (const name of REWARD_NAMES) {
      assert.equal(rewardByName(name, v, 5, { alpha: 0.5, form: "linear" }), all[name]);
    }
    assert.deepEqual(allRewards(verdict({}), 3), { outcome: 1, process: 1, composite: 1, strict: 1 });
  });

  test("invalid alpha, form and nGold throw RangeError", () => {
    const v = verdict({});
    for (const alpha of [-0.01, 1.01, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => compositeReward(v, 3, { alpha }), RangeError);
    }
    assert.equal(compositeReward(v, 3, { alpha: 0 }).reward, 1);
    assert.equal(compositeReward(v, 3, { alpha: 1 }).reward, 1);
    assert.throws(() => compositeReward(v, 3, { form: "mixed" as "gated" }), RangeError);
    assert.throws(() => processReward(v, 0), RangeError);
    assert.throws(() => strictReward(v, 1.5), RangeError);
    assert.throws(() => rewardByName("other" as "outcome", v, 3), RangeError);
  });
});
