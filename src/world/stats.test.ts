import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { measure, REFERENCE, REFERENCE_NODES } from "./stats.js";

/**
 * Tolerances of the drift test (documented in docs/world.md): p10/median/p90 of solution steps within
 * ±2 of the reference, problem sentences within ±4 (p10, median) and ±6 (p90), answers within a
 * factor 2.2, words within ±40%; node min/max of the 15-per-cell table within ±1 at the ends.
 */
describe("generator distributions stay near the reference (world.md §9)", () => {
  const stats = measure([2, 3, 5, 8, 10, 12, 14, 15, 17, 20], { perOp: 300, seed: 9 });
  const byOp = new Map(stats.map((s) => [s.op, s]));
  const trio = (q: { p10: number; p50: number; p90: number }) => [q.p10, q.p50, q.p90];

  for (const [op, ref] of Object.entries(REFERENCE)) {
    it(`op ${op}: steps, sentences, answers and words`, () => {
      const s = byOp.get(Number(op))!;
      const ts = trio(s.steps);
      const tn = trio(s.sentences);
      const ta = trio(s.answer);
      const tw = trio(s.words);
      for (let i = 0; i < 3; i++) {
        assert.ok(Math.abs(ts[i] - ref.steps[i]) <= 2, `steps ${ts} vs ${ref.steps}`);
        assert.ok(
          Math.abs(tn[i] - ref.sentences[i]) <= (i === 2 ? 6 : 4),
          `sentences ${tn} vs ${ref.sentences}`,
        );
        assert.ok(
          Math.abs(Math.log(ta[i] / ref.answer[i])) <= Math.log(2.2),
          `answers ${ta} vs ${ref.answer}`,
        );
        assert.ok(Math.abs(tw[i] / ref.words[i] - 1) <= 0.4, `words ${tw} vs ${ref.words}`);
      }
    });
  }

  it("solution-node ranges match the 15-per-cell reference table within one node", () => {
    for (const [op, [lo, hi]] of Object.entries(REFERENCE_NODES)) {
      const s = byOp.get(Number(op))!;
      assert.ok(s.steps.p10 >= lo - 1 && s.steps.p90 <= hi + 1, `op ${op}: ${trio(s.steps)} vs ${lo}–${hi}`);
    }
  });

  it("reaches the distribution with few wasted draws (the reference needs up to ~1000)", () => {
    for (const s of stats) assert.ok(s.attempts < 60, `op ${s.op}: ${s.attempts} draws per problem`);
  });
});
