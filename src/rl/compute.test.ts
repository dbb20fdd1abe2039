import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { presetConfig } from "../model/config.js";
import { forwardFlops, matmulParams, supervisedEquivalentTokens } from "../model/flops.js";
import { paramCount } from "../model/params.js";
import {
  ALLOCATION_BETAS,
  allocateBudget,
  explainConstant,
  measuredRlConstant,
  paperRlTokens,
  RL_CONSTANTS,
  resolveRlConstant,
  rlStepWork,
  rlWorkFlops,
  rlWorkSupervisedTokens,
} from "./compute.js";

const close = (a: number, b: number, tol = 1e-9) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

describe("RL work", () => {
  const c = presetConfig("tiny", 1000);
  const shape = { prompts: 8, rollouts: 6, promptTokens: 100, responseTokens: 156 };

  test("step work counts", () => {
    const w = rlStepWork(shape);
    assert.deepEqual(w, {
      prefillTokens: 48 * 100,
      rolloutTokens: 48 * 156,
      refForwardTokens: 48 * 256,
      oldForwardTokens: 0,
      policyTrainTokens: 48 * 256,
      seqLen: 256,
    });
    const v = rlStepWork({ ...shape, sharedPrefill: true, recomputeOld: true, epochs: 2, reference: false });
    assert.equal(v.prefillTokens, 800);
    assert.equal(v.oldForwardTokens, 48 * 256);
    assert.equal(v.refForwardTokens, 0);
    assert.equal(v.policyTrainTokens, 2 * 48 * 256);
  });

  test("FLOPs by part: rollout + prefill + ref = 2 forwards' worth, policy = 3 forwards", () => {
    const f = rlWorkFlops(c, rlStepWork(shape));
    const fwd = forwardFlops(c, 256) * 48;
    close(f.prefill + f.rollout, fwd);
    close(f.ref, fwd);
    assert.equal(f.old, 0);
    close(f.policy, 3 * fwd);
    close(f.total, 5 * fwd);
    close(rlWorkSupervisedTokens(c, rlStepWork(shape)), f.total / (6 * paramCount(c)));
    close(supervisedEquivalentTokens(c, 6e9), 6e9 / (6 * paramCount(c)));
  });

  test("measured constant: 5/3 under one counter, 2 with π_old recomputed, 4/3 without the reference", () => {
    close(measuredRlConstant(c, shape, "measured"), 5 / 3);
    close(measuredRlConstant(c, shape, "measured", { attention: "none" }), 5 / 3);
    close(measuredRlConstant(c, { ...shape, recomputeOld: true }, "measured"), 2);
    close(measuredRlConstant(c, { ...shape, reference: false }, "measured"), 4 / 3);
    // 6N with matmuls only: 5/3 · N_mm / N (biases and norms are in N).
    close(
      measuredRlConstant(c, shape, "6N", { attention: "none" }),
      ((5 / 3) * matmulParams(c)) / paramCount(c),
    );
    // 6N with attention: above 5/3 (the RL passes pay attention the 6N token does not).
    assert.ok(measuredRlConstant(c, shape, "6N") > 5 / 3);
  });

  test("the paper's rule and its constants", () => {
    assert.equal(paperRlTokens(1024, 6), 20971520);
    close(paperRlTokens(1024, 6, 2048, "5.3"), 5.3 * 12582912);
    close(paperRlTokens(1024, 6, 2048, "seed"), 5.3 * 12582912);
    assert.equal(RL_CONSTANTS.paper, 5 / 3);
    for (const s of ["paper", "5/3", " 5 / 3 "]) assert.equal(resolveRlConstant(s), 5 / 3);
    assert.equal(resolveRlConstant("seed"), 5.3);
    assert.equal(resolveRlConstant("2"), 2);
    assert.equal(resolveRlConstant("10/6"), 10 / 6);
    assert.equal(resolveRlConstant(1.5), 1.5);
    assert.throws(() => resolveRlConstant("x"), /not/);
    assert.throws(() => resolveRlConstant(-1), /positive/);
    assert.throws(() => resolveRlConstant("0/3"), /not/);
  });

  test("explanation names both constants and the implied mid-training steps", () => {
    const text = explainConstant();
    assert.match(text, /5\/3/);
    assert.match(text, /5\.3/);
    assert.match(text, /10N/);
    assert.match(text, /40\.0/);
    assert.match(text, /127\.2/);
    assert.match(explainConstant(c), /This model \(\d+ parameters/);
  });
});

describe("budget allocation", () => {
  test("mid + RL = T for every β of the study", () => {
    for (const T of [1e9, 123456789, 7]) {
      for (const beta of ALLOCATION_BETAS) {
        const a = allocateBudget(T, beta, 1000);
        assert.equal(a.midTokens + a.rlTokens, T);
        assert.equal(a.rlTokensUsed + a.rlTokensLeft, a.rlTokens);
        assert.ok(a.rlTokensLeft >= 0 && a.rlTokensLeft < 1000);
      }
    }
  });

  test("hand values", () => {
    const step = paperRlTokens(1024, 6); // 20,971,520 supervised-token equivalents per RL step
    const a = allocateBudget(1e9, 0.2, step);
    assert.equal(a.midTokens, 8e8);
    assert.equal(a.rlTokens, 2e8);
    assert.equal(a.rlSteps, 9); // 2e8 / 20,971,520 = 9.54
    assert.equal(a.rlTokensUsed, 9 * step);
    assert.deepEqual(allocateBudget(100, 0, 10), {
      totalTokens: 100,
      beta: 0,
      midTokens: 100,
      rlTokens: 0,
      rlSteps: 0,
      rlTokensUsed: 0,
      rlTokensLeft: 0,
    });
    const all = allocateBudget(100, 1, 10);
    assert.equal(all.midTokens, 0);
    assert.equal(all.rlSteps, 10);
  });

  test("bad arguments throw", () => {
    assert.throws(() => allocateBudget(100, 1.5, 10), /β/);
    assert.throws(() => allocateBudget(100, 0.5, 0), /positive/);
    assert.throws(() => allocateBudget(-1, 0.5, 10), /budget/);
  });
});
