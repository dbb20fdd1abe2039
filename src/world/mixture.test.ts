import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mixtureKey, PRESETS, resolveMixture, validateMixture } from "./mixture.js";

describe("mixtures", () => {
  it("every preset validates, and rl_opA-B patterns resolve", () => {
    for (const name of Object.keys(PRESETS)) assert.equal(resolveMixture(name).name, name);
    assert.deepEqual(resolveMixture("op2-4_forward").modes, [{ mode: "forward", p: 1 }]);
    const m = resolveMixture("rl_op5-8");
    assert.deepEqual(
      m.contexts[0].ops.map((o) => o.op),
      [5, 6, 7, 8],
    );
  });

  it("rejects a mixture that does not sum to 1 instead of renormalising", () => {
    const bad = { contexts: { zoo: { p: 0.9, ops: { "2-10": 1 } }, school: { p: 0.9, ops: { "2": 1 } } } };
    assert.throws(() => validateMixture(bad), /contexts: probabilities sum to 1\.8, not 1/);
    const badOps = { contexts: { zoo: { p: 1, ops: { "2-4": 0.5, "5": 0.4 } } } };
    assert.throws(() => validateMixture(badOps), /contexts\.zoo\.ops: probabilities sum to 0\.9/);
  });

  it("names what is wrong: unknown context, bad op range, bad probability, unknown field", () => {
    assert.throws(
      () => validateMixture({ contexts: { mars: { p: 1, ops: { "2": 1 } } } }),
      /unknown context "mars"/,
    );
    assert.throws(
      () => validateMixture({ contexts: { zoo: { p: 1, ops: { "1-4": 1 } } } }),
      /op 1 in "1-4" is out of range/,
    );
    assert.throws(
      () => validateMixture({ contexts: { zoo: { p: 1, ops: { "9-4": 1 } } } }),
      /range "9-4" is empty/,
    );
    assert.throws(
      () => validateMixture({ contexts: { zoo: { p: 1, ops: { abc: 1 } } } }),
      /"abc" is not an op/,
    );
    assert.throws(
      () => validateMixture({ contexts: { zoo: { p: "1", ops: { "2": 1 } } } }),
      /zoo\.p: probability/,
    );
    assert.throws(
      () => validateMixture({ contexts: { zoo: { p: 1, ops: { "2": 1 } } }, extra: 1 }),
      /unknown field "extra"/,
    );
    assert.throws(
      () => validateMixture({ contexts: { zoo: { p: 1, ops: { "2": 1 } } }, modes: { up: 1 } }),
      /unknown mode "up"/,
    );
    assert.throws(() => validateMixture([]), /must be a JSON object/);
    assert.throws(
      () => validateMixture({ contexts: { zoo: { p: 1, ops: { "2": 1 } } }, letters: "greek" }),
      /"letters" must be "random" or "sequential"/,
    );
    assert.equal(validateMixture({ contexts: { zoo: { p: 1, ops: { "2": 1 } } } }).letters, "random");
    assert.throws(() => resolveMixture("no-such-mixture"), /neither a preset/);
  });

  it("draws contexts, ops and modes with the mixture's probabilities", () => {
    const mix = resolveMixture("id2-10_easy0.2_medium0.3_hard0.5");
    const n = 30000;
    const bands = { easy: 0, medium: 0, hard: 0 };
    let reverse = 0;
    const ctx = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const k = mixtureKey(mix, 4, i);
      if (k.op <= 4) bands.easy++;
      else if (k.op <= 7) bands.medium++;
      else bands.hard++;
      if (k.mode === "reverse") reverse++;
      ctx.set(k.context, (ctx.get(k.context) ?? 0) + 1);
    }
    // 4 standard deviations of a binomial proportion at n = 30000 is < 0.012.
    const near = (got: number, want: number) =>
      assert.ok(Math.abs(got / n - want) < 0.012, `${got / n} vs ${want}`);
    near(bands.easy, 0.2);
    near(bands.medium, 0.3);
    near(bands.hard, 0.5);
    near(reverse, 0.5);
    for (const c of ["zoo", "school", "movie"]) near(ctx.get(c)!, 1 / 3);
    const breadth = resolveMixture("zoo0.99_school0.01op2");
    let school = 0;
    for (let i = 0; i < n; i++) {
      const k = mixtureKey(breadth, 1, i);
      if (k.context === "school") {
        school++;
        assert.equal(k.op, 2);
      }
    }
    assert.ok(Math.abs(school / n - 0.01) < 0.003, `school share ${school / n}`);
    const none = resolveMixture("zoo1_school0op2");
    for (let i = 0; i < 2000; i++) assert.equal(mixtureKey(none, 1, i).context, "zoo");
  });
});
