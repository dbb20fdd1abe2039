import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { syntheticRecords } from "../report/testing/fixtures.js";
import { compareEvalSummaries } from "../stats/comparison.js";
import { buildEvalSummary } from "../stats/evaluation.js";
import { bandPassKCharts, errorCharts, judgeClaim, opPassCharts } from "./figures.js";
import type { Claim } from "./types.js";

const opts = { resamples: 200 };
const before = buildEvalSummary(syntheticRecords({ seed: 1, problemsPerOp: 12 }), opts);
const better = buildEvalSummary(syntheticRecords({ seed: 2, problemsPerOp: 12, shift: 0.35 }), opts);
const claim = (expect: Claim["expect"], metric: Claim["metric"] = "pass1", band = "ID"): Claim => ({
  band,
  metric,
  expect,
  text: "t",
});

describe("claim verdicts", () => {
  it("judge up, flat and down from the CI of the difference, and say when a band is missing", () => {
    const up = compareEvalSummaries(before, better, { bands: before.options.bands });
    const d = up.perBand.find((r) => r.key === "ID")?.diff[1];
    assert.ok(d && d.lo > 0, "the shifted records raise ID pass@1 clearly");
    assert.equal(judgeClaim(up, claim("up")).verdict, "reproduced");
    assert.equal(judgeClaim(up, claim("flat")).verdict, "not reproduced");
    assert.equal(judgeClaim(up, claim("down")).verdict, "not reproduced");
    assert.match(
      judgeClaim(up, claim("up")).evidence,
      /^Δ pass@1 \+\d+\.\d \[\+\d+\.\d, \+\d+\.\d\] points$/,
    );
    // The other way round, the difference is negative.
    const down = compareEvalSummaries(better, before, { bands: before.options.bands });
    assert.equal(judgeClaim(down, claim("down")).verdict, "reproduced");
    assert.equal(judgeClaim(down, claim("up")).verdict, "not reproduced");
    // The same evaluation twice: nothing moved, at pass@k too.
    const same = compareEvalSummaries(before, before, { bands: before.options.bands });
    assert.equal(judgeClaim(same, claim("flat", "passK")).verdict, "reproduced");
    assert.match(judgeClaim(same, claim("flat", "passK")).evidence, /pass@8/);
    assert.equal(judgeClaim(same, claim("up", "passK")).verdict, "not reproduced");
    assert.equal(judgeClaim(same, claim("up", "pass1", "nowhere")).verdict, "not testable here");
  });
});

describe("study figures", () => {
  it("draw one line per evaluation, with each evaluation's own numbers", () => {
    const evals = [
      { id: "eval-base", summary: before },
      { id: "eval-rl", summary: better },
    ];
    const passk = bandPassKCharts(evals);
    assert.deepEqual(
      passk.map((c) => c.title.split(",")[1].trim().split(" ")[0]),
      before.perBand.map((r) => r.key),
    );
    for (const c of [...passk, ...opPassCharts(evals), ...errorCharts(evals)])
      assert.deepEqual(
        c.series.map((s) => s.label),
        ["eval-base", "eval-rl"],
        c.id,
      );
    const [p1] = opPassCharts(evals);
    const op5 = p1.labels?.indexOf("5") ?? -1;
    assert.equal(p1.series[1].data[op5], better.perOp.find((r) => r.ops[0] === 5)?.passAtK[1].mean);
    const id = passk[0].series[0].data as { x: number; y: number | null }[];
    assert.equal(id[0].y, before.perBand[0].passAtK[1].mean);
    assert.equal(id.at(-1)?.x, Math.log2(8));
  });
});
