import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { syntheticRecords } from "../report/testing/fixtures.js";
import { compareEvalSummaries } from "./comparison.js";
import { buildEvalSummary } from "./evaluation.js";
import { seedDiff } from "./seeds.js";

const opts = { resamples: 400 };
const summary = (seed: number, shift = 0) =>
  buildEvalSummary(syntheticRecords({ seed, shift, problemsPerOp: 16, samples: 8 }), opts);
const before = summary(1);
const band = { name: "ID", lo: 2, hi: 10 };

describe("seed-pooled differences", () => {
  it("with one seed, match the paired comparison of the two evaluations", () => {
    const after = summary(2, 0.2);
    const cmp = compareEvalSummaries(before, after, { bands: [band], resamples: 400 });
    const row = cmp.perBand[0];
    for (const k of [1, 8]) {
      const d = seedDiff(before, [after], band, k, opts);
      assert.ok(Math.abs(d.mean - row.diff[k].mean) < 1e-12, `k=${k}: ${d.mean} vs ${row.diff[k].mean}`);
      assert.equal(d.problems, 9 * 16);
      // Two bootstraps of the same paired differences: intervals of about the same place and width.
      const w = (x: { lo: number; hi: number }) => x.hi - x.lo;
      assert.ok(Math.abs(w(d) - w(row.diff[k])) < 0.35 * w(row.diff[k]), `k=${k} widths`);
      assert.ok(d.lo < d.mean && d.mean < d.hi);
    }
  });

  it("average the seeds, and widen the CI when the seeds disagree", () => {
    const agree = [summary(2, 0.2), summary(3, 0.2), summary(4, 0.2)];
    const disagree = [summary(2, 0.45), summary(3, 0.2), summary(4, -0.05)];
    const a = seedDiff(before, agree, band, 1, opts);
    const d = seedDiff(before, disagree, band, 1, opts);
    for (const x of [a, d]) {
      const m = x.perSeed.reduce((s, v) => s + v, 0) / x.perSeed.length;
      assert.ok(Math.abs(x.mean - m) < 1e-12);
    }
    assert.ok(d.perSeed[0] > d.perSeed[1] && d.perSeed[1] > d.perSeed[2], "seeds ordered by their shift");
    assert.ok(
      d.hi - d.lo > 1.5 * (a.hi - a.lo),
      `seed spread widens the CI: ${d.hi - d.lo} vs ${a.hi - a.lo}`,
    );
    assert.deepEqual(seedDiff(before, disagree, band, 1, opts), d, "deterministic");
  });

  it("pair arm against arm seed by seed when each side has its seeds", () => {
    const bs = [summary(5), summary(6, 0.1)];
    const as = [summary(7, 0.2), summary(8, 0.2)];
    const d = seedDiff(bs, as, band, 1, opts);
    bs.forEach((b, s) => {
      const one = compareEvalSummaries(b, as[s], { bands: [band], resamples: 10 }).perBand[0].diff[1].mean;
      assert.ok(Math.abs(d.perSeed[s] - one) < 1e-12, `seed ${s}`);
    });
    assert.throws(
      () => seedDiff([bs[0], bs[1], bs[0]], as, band, 1, opts),
      /3 before evaluations for 2 seeds/,
    );
  });

  it("leave out problems a seed did not score, refuse k above the samples, and say when nothing is shared", () => {
    const other = buildEvalSummary(syntheticRecords({ seed: 2, prefix: "q", problemsPerOp: 4 }), opts);
    const none = seedDiff(before, [other], band, 1, opts);
    assert.equal(none.problems, 0);
    assert.ok(Number.isNaN(none.mean));
    assert.throws(() => seedDiff(before, [summary(2)], band, 9, opts), /k = 9 exceeds the 8 samples/);
    assert.throws(() => seedDiff(before, [], band, 1, opts), /no seed's evaluation/);
  });
});
