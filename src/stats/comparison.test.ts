import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bootstrapDiffCI, bootstrapMeanCI } from "./bootstrap.js";
import { compareEvalSummaries } from "./comparison.js";
import { buildEvalSummary, type EvalRecord } from "./evaluation.js";
import { passAtK } from "./passk.js";

const near = (a: number, b: number, msg?: string) =>
  assert.ok(Math.abs(a - b) < 1e-12, `${msg ?? ""}: ${a} vs ${b}`);

/** Records of problems `${prefix}${i}` with op ops[i] and the listed sample outcomes (1 = verified). */
function records(prefix: string, problems: { op: number; outcomes: number[] }[]): EvalRecord[] {
  return problems.flatMap((p, i) =>
    p.outcomes.map((v, sample) => ({
      problemId: `${prefix}${i}`,
      op: p.op,
      sample,
      verified: v === 1,
      answerCorrect: v === 1,
    })),
  );
}

const BEFORE = [
  { op: 3, outcomes: [0, 0, 0, 1] },
  { op: 3, outcomes: [0, 0, 0, 0] },
  { op: 3, outcomes: [1, 0, 0, 0] },
  { op: 12, outcomes: [0, 0, 0, 0] },
  { op: 12, outcomes: [0, 1, 0, 0] },
];
const AFTER = [
  { op: 3, outcomes: [1, 1, 0, 1] },
  { op: 3, outcomes: [0, 1, 0, 0] },
  { op: 3, outcomes: [1, 1, 1, 1] },
  { op: 12, outcomes: [0, 0, 1, 0] },
  { op: 12, outcomes: [0, 1, 1, 0] },
];

describe("compareEvalSummaries", () => {
  const opts = { resamples: 300 };
  const before = buildEvalSummary(records("p", BEFORE), opts);
  const after = buildEvalSummary(records("p", AFTER), opts);

  test("same problem ids: paired differences, by hand", () => {
    const cmp = compareEvalSummaries(before, after, opts);
    assert.equal(cmp.pairing, "paired");
    assert.equal(cmp.sharedProblems, 5);
    assert.deepEqual(
      cmp.perOp.map((r) => r.key),
      ["op 3", "op 12"],
    );
    assert.deepEqual(
      cmp.perBand.map((r) => r.key),
      ["ID", "OOD-edge"],
    );
    const op3 = cmp.perOp[0];
    assert.deepEqual(op3.ks, [1, 2, 4]);
    near(op3.before[1].mean, (1 / 4 + 0 + 1 / 4) / 3, "before pass@1");
    near(op3.after[1].mean, (3 / 4 + 1 / 4 + 1) / 3, "after pass@1");
    near(op3.diff[1].mean, (2 / 4 + 1 / 4 + 3 / 4) / 3, "Δ pass@1");
    const b2 = [passAtK(4, 1, 2), 0, passAtK(4, 1, 2)];
    const a2 = [passAtK(4, 3, 2), passAtK(4, 1, 2), 1];
    const paired = bootstrapDiffCI(b2, a2, { resamples: 300, paired: true });
    assert.deepEqual(op3.diff[2], { mean: paired.mean, lo: paired.lo, hi: paired.hi });
    const mb = bootstrapMeanCI(b2, { resamples: 300 });
    assert.deepEqual(op3.before[2], { mean: mb.mean, lo: mb.lo, hi: mb.hi });
    for (const r of [...cmp.perOp, ...cmp.perBand]) {
      for (const k of r.ks)
        assert.ok(r.diff[k].lo <= r.diff[k].mean + 1e-12 && r.diff[k].mean <= r.diff[k].hi + 1e-12);
    }
  });

  test("different problem ids: unpaired; ops in one side only get no row", () => {
    const other = buildEvalSummary(records("q", [...AFTER, { op: 16, outcomes: [1, 1] }]), opts);
    const cmp = compareEvalSummaries(before, other, opts);
    assert.equal(cmp.pairing, "unpaired");
    assert.equal(cmp.sharedProblems, 0);
    assert.deepEqual(cmp.onlyAfter, [16]);
    const op3 = cmp.perOp[0];
    assert.equal(op3.pairing, "unpaired");
    near(op3.diff[1].mean, (3 / 4 + 1 / 4 + 1) / 3 - (1 / 4 + 0 + 1 / 4) / 3, "Δ pass@1");
  });

  test("first-k estimator and a smaller sample count on one side", () => {
    const short = buildEvalSummary(
      records(
        "p",
        AFTER.map((p) => ({ op: p.op, outcomes: p.outcomes.slice(0, 2) })),
      ),
      opts,
    );
    const cmp = compareEvalSummaries(before, short, { ...opts, estimator: "firstK" });
    const op3 = cmp.perOp[0];
    assert.deepEqual(op3.ks, [1, 2]);
    // before first-k pass@1: only p2's first sample is verified; after: p0 and p2.
    near(op3.before[1].mean, 1 / 3, "before");
    near(op3.after[1].mean, 2 / 3, "after");
    near(op3.diff[2].mean, 1 - 1 / 3, "Δ pass@2");
  });

  test("verified with and without extra nodes: both compared when both summaries record them", () => {
    // After: the verified samples of p0 carry an extra node (verified with extras allowed only).
    const withExtra = records("p", AFTER).map(
      (r): EvalRecord => (r.problemId === "p0" && r.verified ? { ...r, errors: { extra: ["e"] } } : r),
    );
    const a = buildEvalSummary(withExtra, opts);
    const cmp = compareEvalSummaries(before, a, opts);
    const op3 = cmp.perOp[0];
    assert.ok(op3.byExtra);
    assert.deepEqual(op3.byExtra.allowExtra.after, op3.after);
    near(op3.byExtra.noExtra.after[1].mean, (0 + 1 / 4 + 1) / 3, "after pass@1 without extras");
    near(op3.byExtra.noExtra.diff[1].mean, (-1 / 4 + 1 / 4 + 3 / 4) / 3, "Δ pass@1 without extras");
    assert.deepEqual(cmp.verify, { before: null, after: null });
    // An old summary (no per-problem counts by policy) gives no such rows, and no error.
    const old = { ...before, problems: before.problems.map(({ byExtra: _, ...p }) => p) };
    const c2 = compareEvalSummaries(old, a, opts);
    assert.equal(c2.perOp[0].byExtra, undefined);
    const recorded = { ...a, verify: { allowExtra: true, allowSlips: false } };
    assert.deepEqual(compareEvalSummaries(old, recorded, opts).verify, {
      before: null,
      after: { allowExtra: true, allowSlips: false },
    });
  });
});
