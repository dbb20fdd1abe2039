import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  classifyProblem,
  EDGE_CLASSES,
  type EdgeOpRow,
  edgeBand,
  edgeByOp,
  selectEdgeProblems,
} from "./edge.js";
import type { ProblemOutcome } from "./summary.js";

/** n samples, c of them correct, placed starting at `offset` (wrapping). */
function spread(n: number, c: number, offset = 0): boolean[] {
  const out = new Array<boolean>(n).fill(false);
  for (let i = 0; i < c; i++) out[(offset + i) % n] = true;
  return out;
}

describe("classifyProblem", () => {
  test("hand-made cases", () => {
    assert.equal(classifyProblem([true, true, false, false]), "solved@1");
    assert.equal(classifyProblem([false, false, true, true]), "solved@1");
    assert.equal(classifyProblem([false, true, false, false]), "solvedWithinK");
    assert.equal(classifyProblem([false, false, false, true]), "solvedWithinK");
    assert.equal(classifyProblem([false, false, false]), "neverSolved");
    assert.equal(classifyProblem([true]), "solved@1");
  });

  test("k limits the samples looked at for 'within k'", () => {
    const s = [false, false, false, true];
    assert.equal(classifyProblem(s, 4), "solvedWithinK");
    assert.equal(classifyProblem(s, 3), "neverSolved");
    assert.equal(classifyProblem(s, 1), "neverSolved");
    // pass@1 above threshold wins regardless of k.
    assert.equal(classifyProblem([false, true, true, true], 1), "solved@1");
  });

  test("the pass@1 threshold is configurable", () => {
    const s = [true, true, false, false];
    assert.equal(classifyProblem(s, undefined, { pass1Threshold: 0.6 }), "solvedWithinK");
    assert.equal(
      classifyProblem([true, false, false, false], undefined, { pass1Threshold: 0.25 }),
      "solved@1",
    );
    assert.equal(classifyProblem([false, false], undefined, { pass1Threshold: 0 }), "solved@1");
    assert.throws(() => classifyProblem(s, undefined, { pass1Threshold: 1.5 }), RangeError);
  });

  test("invalid input throws", () => {
    assert.throws(() => classifyProblem([]), RangeError);
    assert.throws(() => classifyProblem([true], 2), RangeError);
    assert.throws(() => classifyProblem([true, false], 0), RangeError);
  });
});

/** Synthetic model: correct samples (of 16) per op, falling with op; half the problems get one fewer. */
const CORRECT_BY_OP: Record<number, number> = {
  2: 15,
  3: 15,
  4: 14,
  5: 13,
  6: 12,
  7: 11,
  8: 10,
  9: 6,
  10: 4,
  11: 3,
  12: 2,
  13: 1,
};

function syntheticOutcomes(problemsPerOp = 10): ProblemOutcome[] {
  const out: ProblemOutcome[] = [];
  for (let op = 2; op <= 20; op++) {
    for (let j = 0; j < problemsPerOp; j++) {
      const c = Math.max(0, (CORRECT_BY_OP[op] ?? 0) - (j % 2));
      out.push({ id: `op${op}-p${j}`, op, correct: spread(16, c, j * 5) });
    }
  }
  return out;
}

describe("edgeByOp / edgeBand", () => {
  const outcomes = syntheticOutcomes();
  const perOp = edgeByOp(outcomes);

  test("per-op counts, fractions and mean pass@1", () => {
    assert.deepEqual(
      perOp.map((r) => r.op),
      Array.from({ length: 19 }, (_, i) => i + 2),
    );
    for (const r of perOp) {
      const group = outcomes.filter((o) => o.op === r.op);
      assert.equal(r.problems, group.length);
      assert.equal(r.minSamples, 16);
      const total = EDGE_CLASSES.reduce((a, c) => a + r.counts[c], 0);
      assert.equal(total, r.problems);
      for (const c of EDGE_CLASSES) assert.equal(r.fractions[c], r.counts[c] / r.problems);
      const c = CORRECT_BY_OP[r.op] ?? 0;
      const wantPass1 = (c + Math.max(0, c - 1)) / 2 / 16;
      assert.ok(Math.abs(r.pass1 - wantPass1) < 1e-12, `op ${r.op}`);
    }
    const byOp = new Map(perOp.map((r) => [r.op, r]));
    assert.equal(byOp.get(5)!.fractions["solved@1"], 1);
    assert.equal(byOp.get(11)!.fractions.solvedWithinK, 1);
    assert.equal(byOp.get(13)!.fractions.solvedWithinK, 0.5);
    assert.equal(byOp.get(13)!.fractions.neverSolved, 0.5);
    assert.equal(byOp.get(17)!.fractions.neverSolved, 1);
    // pass@1 falls with op.
    for (let i = 1; i < perOp.length; i++) assert.ok(perOp[i].pass1 <= perOp[i - 1].pass1);
  });

  test("the edge band is where pass@1 is low but many problems are solved within k", () => {
    assert.deepEqual(edgeBand(perOp), { lo: 9, hi: 13 });
    assert.deepEqual(edgeBand(perOp, { minEdgeFraction: 0.6 }), { lo: 9, hi: 12 });
    assert.deepEqual(edgeBand(perOp, { maxPass1: 0.1 }), { lo: 12, hi: 13 });
    assert.equal(edgeBand(perOp, { maxPass1: 0 }), null);
    assert.equal(edgeBand([]), null);
  });

  test("a smaller k moves problems from solvedWithinK to neverSolved", () => {
    const k2 = edgeByOp(outcomes, { k: 2 });
    const all = edgeByOp(outcomes);
    for (let i = 0; i < all.length; i++) {
      assert.ok(k2[i].counts.solvedWithinK <= all[i].counts.solvedWithinK);
      assert.equal(k2[i].counts["solved@1"], all[i].counts["solved@1"]);
    }
    assert.ok(k2.some((r, i) => r.counts.solvedWithinK < all[i].counts.solvedWithinK));
  });

  test("longest qualifying run wins, ties go to the larger edge mass", () => {
    const row = (op: number, pass1: number, edge: number): EdgeOpRow => ({
      op,
      problems: 10,
      counts: { "solved@1": 0, solvedWithinK: 0, neverSolved: 0 },
      fractions: { "solved@1": 0, solvedWithinK: edge, neverSolved: 1 - edge },
      pass1,
      minSamples: 8,
    });
    const rows = [
      row(7, 0.1, 0.5),
      row(3, 0.1, 0.9), // qualifies alone
      row(4, 0.8, 0.9), // pass@1 too high
      row(5, 0.3, 0.2),
      row(6, 0.2, 0.3),
      row(8, 0.0, 0.0), // nothing solved
      row(10, 0.05, 0.4),
      row(11, 0.05, 0.5),
    ];
    assert.deepEqual(edgeBand(rows), { lo: 5, hi: 7 });
    assert.deepEqual(edgeBand(rows.filter((r) => r.op !== 5)), { lo: 10, hi: 11 });
    assert.deepEqual(edgeBand(rows.filter((r) => r.op >= 8)), { lo: 10, hi: 11 });
  });
});

describe("selectEdgeProblems", () => {
  const outcomes: ProblemOutcome[] = [
    { id: "easy", op: 3, correct: [true, true, true, false] },
    { id: "edge-late", op: 9, correct: [false, false, false, true] },
    { id: "edge-early", op: 9, correct: [true, false, false, false] },
    { id: "hard", op: 15, correct: [false, false, false, false] },
  ];

  test("selects problems failing pass@1 but solved within k", () => {
    assert.deepEqual(selectEdgeProblems(outcomes), ["edge-late", "edge-early"]);
    assert.deepEqual(selectEdgeProblems(outcomes, { k: 2 }), ["edge-early"]);
    assert.deepEqual(selectEdgeProblems(outcomes, { pass1Threshold: 0.8 }), [
      "easy",
      "edge-late",
      "edge-early",
    ]);
    assert.deepEqual(selectEdgeProblems([]), []);
  });

  test("errors name the offending problem", () => {
    assert.throws(() => selectEdgeProblems(outcomes, { k: 5 }), /"easy".*fewer than k=5/);
    assert.throws(() => selectEdgeProblems([{ id: "void", op: 4, correct: [] }]), /"void"/);
    assert.throws(() => edgeByOp(outcomes, { k: 0 }), RangeError);
  });
});
