import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { passAtK, passAtKFirst } from "./passk.js";
import { type Band, PAPER_BANDS, type ProblemOutcome, summarize } from "./summary.js";

/** n samples with the listed indices correct. */
function s(n: number, correctIdx: number[]): boolean[] {
  return Array.from({ length: n }, (_, i) => correctIdx.includes(i));
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

const outcomes: ProblemOutcome[] = [
  { id: "a", op: 3, correct: s(4, [0, 2]) },
  { id: "b", op: 3, correct: s(6, [5]) },
  { id: "c", op: 3, correct: s(6, []) },
  { id: "d", op: 7, correct: s(8, [1, 2, 3]) },
  { id: "e", op: 12, correct: s(8, [7]) },
  { id: "f", op: 12, correct: s(5, [0, 1, 2, 3, 4]) },
  { id: "g", op: 16, correct: s(8, []) },
];

describe("summarize", () => {
  test("per-op rows: sorted, keyed, ks limited to the smallest sample count", () => {
    const { perOp } = summarize(outcomes, { resamples: 200 });
    assert.deepEqual(
      perOp.map((r) => r.key),
      ["op 3", "op 7", "op 12", "op 16"],
    );
    const op3 = perOp[0];
    assert.deepEqual(op3.ops, [3, 3]);
    assert.equal(op3.problems, 3);
    assert.equal(op3.samples, 4);
    assert.deepEqual(Object.keys(op3.passAtK).map(Number), [1, 2, 3, 4]);
    for (const k of [1, 2, 3, 4]) {
      const want = mean([passAtK(4, 2, k), passAtK(6, 1, k), passAtK(6, 0, k)]);
      const got = op3.passAtK[k];
      assert.ok(Math.abs(got.mean - want) < 1e-12, `k=${k}`);
      assert.ok(got.lo <= got.mean + 1e-12 && got.mean <= got.hi + 1e-12);
    }
    assert.ok(Math.abs(op3.passAtK[1].mean - (0.5 + 1 / 6 + 0) / 3) < 1e-12);
    assert.deepEqual(Object.keys(perOp[2].passAtK).map(Number), [1, 2, 3, 4, 5]);
    assert.deepEqual(Object.keys(perOp[3].passAtK).map(Number), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(op3.answerAcc, undefined);
    assert.equal(op3.processAcc, undefined);
  });

  test("explicit ks above the group's minimum sample count are dropped", () => {
    const { perOp, perBand } = summarize(outcomes, { ks: [8, 1, 2, 4, 2], resamples: 100 });
    assert.deepEqual(Object.keys(perOp[0].passAtK).map(Number), [1, 2, 4]);
    assert.deepEqual(Object.keys(perOp[1].passAtK).map(Number), [1, 2, 4, 8]);
    const ood = perBand.find((r) => r.key === "OOD-edge")!;
    assert.equal(ood.samples, 5);
    assert.deepEqual(Object.keys(ood.passAtK).map(Number), [1, 2, 4]);
    assert.throws(() => summarize(outcomes, { ks: [0] }), RangeError);
  });

  test("bands group problems by op range and skip empty bands", () => {
    const { perBand } = summarize(outcomes, { resamples: 100 });
    assert.deepEqual(
      perBand.map((r) => [r.key, r.ops, r.problems, r.samples]),
      [
        ["ID", [2, 10], 4, 4],
        ["OOD-edge", [11, 14], 2, 5],
        ["OOD-hard", [15, 20], 1, 8],
      ],
    );
    const id = perBand[0];
    const want = mean([passAtK(4, 2, 2), passAtK(6, 1, 2), passAtK(6, 0, 2), passAtK(8, 3, 2)]);
    assert.ok(Math.abs(id.passAtK[2].mean - want) < 1e-12);

    const bands: Band[] = [
      { name: "low", lo: 0, hi: 5 },
      { name: "empty", lo: 30, hi: 40 },
      { name: "all", lo: 0, hi: 100 },
    ];
    const custom = summarize(outcomes, { bands, resamples: 100 }).perBand;
    assert.deepEqual(
      custom.map((r) => [r.key, r.problems]),
      [
        ["low", 3],
        ["all", 7],
      ],
    );
    assert.deepEqual(
      PAPER_BANDS.map((b) => [b.lo, b.hi]),
      [
        [2, 10],
        [11, 14],
        [15, 20],
      ],
    );
  });

  test("firstK estimator uses the first k samples", () => {
    const { perOp } = summarize(outcomes, { estimator: "firstK", resamples: 100 });
    const op3 = perOp[0];
    for (const k of [1, 2, 3, 4]) {
      const want = mean(outcomes.filter((o) => o.op === 3).map((o) => passAtKFirst(o.correct, k)));
      assert.equal(op3.passAtK[k].mean, want);
    }
    assert.equal(op3.passAtK[1].mean, 1 / 3);
    assert.throws(() => summarize(outcomes, { estimator: "x" as never }), /unknown estimator/);
  });

  test("answer and process accuracy over the problems that provide them", () => {
    const withAcc: ProblemOutcome[] = [
      { id: "p", op: 4, correct: s(4, [0]), answerCorrect: s(4, [0, 1]), processAcc: [1, 0.5, 0.5, 0] },
      { id: "q", op: 4, correct: s(2, []), answerCorrect: s(2, [1]) },
      { id: "r", op: 4, correct: s(2, [0, 1]) },
    ];
    const row = summarize(withAcc, { resamples: 100 }).perOp[0];
    assert.ok(row.answerAcc && row.processAcc);
    assert.equal(row.answerAcc.n, 2);
    assert.ok(Math.abs(row.answerAcc.mean - (0.5 + 0.5) / 2) < 1e-12);
    assert.equal(row.processAcc.n, 1);
    assert.equal(row.processAcc.mean, 0.5);
  });

  test("named per-sample metrics: mean of per-problem means over the problems that carry them", () => {
    const withMetrics: ProblemOutcome[] = [
      { id: "m1", op: 4, correct: [true, false], metrics: { slips: [2, 0], flag: [1, 1] } },
      { id: "m2", op: 4, correct: [false, false, false, false], metrics: { slips: [1, 0, 0, 0] } },
      { id: "m3", op: 4, correct: [true] },
    ];
    const row = summarize(withMetrics, { resamples: 100 }).perOp[0];
    assert.ok(row.metrics);
    assert.deepEqual(Object.keys(row.metrics), ["slips", "flag"]);
    assert.ok(Math.abs(row.metrics.slips.mean - (1 + 0.25) / 2) < 1e-12);
    assert.equal(row.metrics.slips.n, 2);
    assert.deepEqual(row.metrics.flag, { mean: 1, lo: 1, hi: 1, n: 1 });
    assert.equal(summarize(outcomes, { resamples: 10 }).perOp[0].metrics, undefined);
    assert.throws(
      () => summarize([{ id: "w", op: 4, correct: [true], metrics: { slips: [1, 2] } }]),
      /"w".*metric "slips" has 2 entries/,
    );
    assert.throws(
      () => summarize([{ id: "v", op: 4, correct: [true], metrics: { slips: [Number.POSITIVE_INFINITY] } }]),
      /"v".*non-finite/,
    );
  });

  test("deterministic for a seed", () => {
    const a = summarize(outcomes, { seed: 3, resamples: 300 });
    const b = summarize(outcomes, { seed: 3, resamples: 300 });
    assert.deepEqual(a, b);
  });

  test("clear errors on empty input, zero samples and malformed outcomes", () => {
    assert.throws(() => summarize([]), /no problem outcomes/);
    assert.throws(
      () => summarize([...outcomes, { id: "empty-one", op: 5, correct: [] }]),
      /"empty-one".*zero samples/,
    );
    assert.throws(
      () => summarize([{ id: "x", op: 5, correct: [true], answerCorrect: [] }]),
      /"x".*answerCorrect/,
    );
    assert.throws(() => summarize([{ id: "y", op: 5, correct: [true], processAcc: [Number.NaN] }]), /"y"/);
    assert.throws(() => summarize([{ id: "z", op: 5.5, correct: [true] }]), /"z".*op/);
    assert.throws(() => summarize([outcomes[0], outcomes[0]]), /duplicate problem id "a"/);
  });
});
