import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  departures,
  fineQuantiles,
  measure,
  type OpStats,
  REFERENCE,
  SPEC_REFERENCE,
  TOLERANCE,
} from "./stats.js";

const OPS = Array.from({ length: 19 }, (_, i) => i + 2);

/**
 * The drift test (tolerances in TOLERANCE, docs/world.md): at every op 2–20 the generator's
 * distributions of solution steps, problem sentences, distractors, answers and edges per node sit
 * within the tolerances around the reference generator's, and it wastes about as many draws.
 */
describe("generator distributions match the reference generator at every op 2–20", () => {
  const stats = measure(OPS, { perOp: 1500, seed: 9 });

  for (const s of stats) {
    it(`op ${s.op}: steps, sentences, distractors, answers, edges per node`, () => {
      assert.deepEqual(departures(s), []);
    });
  }

  it("draws per accepted problem stay within 30% of the reference's (same rejection process)", () => {
    for (const s of stats) {
      const ref = REFERENCE[s.op].draws;
      assert.ok(Math.abs(s.attempts / ref - 1) <= 0.3, `op ${s.op}: ${s.attempts.toFixed(1)} vs ${ref}`);
    }
  });
});

describe("the drift check", () => {
  /** A measurement that sits exactly on the reference row of `op`. */
  function onReference(op: number): OpStats {
    const r = REFERENCE[op];
    const q = (t: number[]) => ({ min: t[0], p10: t[0], p50: t[1], p90: t[2], max: t[2] });
    return {
      op,
      n: 1000,
      steps: q(r.steps),
      sentences: q(r.sentences),
      distractors: q(r.distractors),
      answer: q(r.answer),
      words: q(r.words),
      fine: { steps: [...r.steps], sentences: [...r.sentences], distractors: [...r.distractors] },
      meanParents: r.edges,
      edgeShares: [...r.edgeShares],
      attempts: r.draws,
    };
  }

  it("passes the reference itself and flags each kind of departure", () => {
    assert.deepEqual(departures(onReference(15)), []);
    const shallow = onReference(15);
    shallow.fine.steps = [6.4, 7.3, 9.1]; // the old generator at op 15: steps a median 2 lower
    assert.match(departures(shallow).join("\n"), /op 15: steps median/);
    const tails = onReference(20);
    tails.fine.steps[2] += TOLERANCE.stepsTails + 0.1;
    assert.match(departures(tails).join("\n"), /steps p90/);
    const wordy = onReference(10);
    wordy.fine.sentences[1] += 1.2;
    assert.match(departures(wordy).join("\n"), /sentences median/);
    const busy = onReference(10);
    busy.fine.distractors[2] -= 1.5;
    assert.match(departures(busy).join("\n"), /distractors p90/);
    const big = onReference(20);
    big.answer.p50 = Math.round(REFERENCE[20].answer[1] * 1.6);
    assert.match(departures(big).join("\n"), /answer median/);
    const dense = onReference(20);
    dense.meanParents += 0.2;
    assert.match(departures(dense).join("\n"), /edges per node/);
    const shares = onReference(12);
    shares.edgeShares = [
      shares.edgeShares[0] - 0.05,
      shares.edgeShares[1] + 0.05,
      shares.edgeShares[2],
      shares.edgeShares[3],
    ];
    assert.match(departures(shares).join("\n"), /share of nodes with 1 edges/);
  });

  it("the measured reference agrees with the spec's larger reference run (world.md §9)", () => {
    for (const [op, spec] of Object.entries(SPEC_REFERENCE)) {
      const r = REFERENCE[Number(op)];
      for (let i = 0; i < 3; i++) {
        assert.ok(Math.abs(r.steps[i] - spec.steps[i]) <= 0.75, `op ${op} steps ${r.steps} vs ${spec.steps}`);
        assert.ok(
          Math.abs(r.sentences[i] - spec.sentences[i]) <= 1,
          `op ${op} sentences ${r.sentences} vs ${spec.sentences}`,
        );
        assert.ok(Math.abs(Math.log(r.answer[i] / spec.answer[i])) <= Math.log(1.15), `op ${op} answers`);
        assert.ok(Math.abs(r.words[i] / spec.words[i] - 1) <= 0.05, `op ${op} words`);
      }
    }
  });
});

describe("fineQuantiles", () => {
  it("interpolates inside the tied block and equals the plain quantile on distinct values", () => {
    // 10 values: four 1s, four 2s, two 3s. F(1) = 0.4, F(2) = 0.8.
    const xs = [1, 1, 1, 1, 2, 2, 2, 2, 3, 3];
    const [p10, p50, p90] = fineQuantiles(xs);
    assert.ok(Math.abs(p10 - (0.5 + 0.1 / 0.4)) < 1e-12);
    assert.ok(Math.abs(p50 - (1.5 + 0.1 / 0.4)) < 1e-12);
    assert.ok(Math.abs(p90 - (2.5 + 0.1 / 0.2)) < 1e-12);
    // A constant sample: its value ± 0.4 at p10/p90.
    assert.deepEqual(
      fineQuantiles([5, 5, 5, 5]).map((x) => Math.round(x * 10) / 10),
      [4.6, 5, 5.4],
    );
  });
});
