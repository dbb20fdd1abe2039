import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bootstrapDiffCI, bootstrapMeanCI, makeRng } from "./bootstrap.js";

/** Deterministic Bernoulli(p) data as 0/1 values. */
function bernoulli(n: number, p: number, seed: number): number[] {
  const rng = makeRng(seed);
  return Array.from({ length: n }, () => (rng() < p ? 1 : 0));
}

function sd(xs: readonly number[]): number {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
}

describe("makeRng", () => {
  test("uniform-ish in [0, 1), deterministic, seed-dependent", () => {
    const a = makeRng(42);
    const b = makeRng(42);
    const c = makeRng(43);
    const xs: number[] = [];
    let same = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = a();
      assert.equal(x, b());
      if (x === c()) same++;
      assert.ok(x >= 0 && x < 1);
      xs.push(x);
    }
    assert.ok(same < 5);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
    const buckets = new Array(10).fill(0);
    for (const x of xs) buckets[Math.floor(x * 10)]++;
    for (const cnt of buckets) assert.ok(Math.abs(cnt - 10_000) < 500, `bucket ${cnt}`);
  });

  test("pinned stream and intervals (report tables print these CIs, so they never change)", () => {
    const r = makeRng(0);
    assert.deepEqual([r(), r(), r()], [0.9979435517452657, 0.944901482667774, 0.3362052678130567]);
    const xs = Array.from({ length: 150 }, (_, i) => ((i * 7919) % 13) / 13);
    assert.deepEqual(bootstrapMeanCI(xs), {
      mean: 0.4615384615384616,
      lo: 0.4184615384615387,
      hi: 0.507179487179487,
      n: 150,
    });
    const before = xs.slice(0, 37);
    const after = Array.from({ length: 37 }, (_, i) => Math.sin(i) * 3);
    const d = bootstrapDiffCI(before, after, { paired: true, seed: 2_000_003 });
    assert.deepEqual([d.lo, d.hi], [-1.1195689373666267, 0.32414414985407003]);
    const u = bootstrapDiffCI(before, after, { seed: 2_000_003 });
    assert.deepEqual([u.lo, u.hi], [-1.0672914202090458, 0.24968717268605198]);
  });

  test("small and large seeds give distinct streams", () => {
    const first = new Set([0, 1, 2, 2 ** 32, 2 ** 32 + 1, -1].map((s) => makeRng(s)()));
    assert.equal(first.size, 6);
    assert.throws(() => makeRng(Number.NaN), RangeError);
  });
});

describe("bootstrapMeanCI", () => {
  test("empty input gives NaNs and n = 0", () => {
    const r = bootstrapMeanCI([]);
    assert.ok(Number.isNaN(r.mean) && Number.isNaN(r.lo) && Number.isNaN(r.hi));
    assert.equal(r.n, 0);
  });

  test("mean is the sample mean and the CI contains it", () => {
    for (const seed of [0, 1, 2, 3]) {
      const xs = bernoulli(150, 0.3, 100 + seed);
      const r = bootstrapMeanCI(xs, { seed });
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      assert.ok(Math.abs(r.mean - m) < 1e-15);
      assert.equal(r.n, 150);
      assert.ok(r.lo <= r.mean && r.mean <= r.hi, JSON.stringify(r));
      assert.ok(r.lo < r.hi);
      assert.ok(r.lo >= 0 && r.hi <= 1);
    }
  });

  test("constant data gives a zero-width interval", () => {
    const r = bootstrapMeanCI([0.25, 0.25, 0.25, 0.25]);
    assert.deepEqual(r, { mean: 0.25, lo: 0.25, hi: 0.25, n: 4 });
  });

  test("width is close to the normal approximation 2·1.96·sd/√n", () => {
    const xs = bernoulli(400, 0.4, 7);
    const r = bootstrapMeanCI(xs, { resamples: 4000, seed: 5 });
    const want = (2 * 1.96 * sd(xs)) / Math.sqrt(xs.length);
    const width = r.hi - r.lo;
    assert.ok(Math.abs(width - want) / want < 0.15, `width ${width} vs ${want}`);
    const r80 = bootstrapMeanCI(xs, { resamples: 4000, seed: 5, level: 0.8 });
    assert.ok(r80.hi - r80.lo < width);
  });

  test("narrows with more data", () => {
    const small = bootstrapMeanCI(bernoulli(50, 0.5, 11));
    const large = bootstrapMeanCI(bernoulli(2000, 0.5, 12));
    assert.ok(
      large.hi - large.lo < 0.5 * (small.hi - small.lo),
      `${JSON.stringify(small)} ${JSON.stringify(large)}`,
    );
  });

  test("deterministic for a seed, different for another seed", () => {
    const rng = makeRng(3);
    const xs = Array.from({ length: 100 }, () => rng()); // continuous, so interval ends rarely tie
    const a = bootstrapMeanCI(xs, { seed: 9 });
    const b = bootstrapMeanCI(xs, { seed: 9 });
    const c = bootstrapMeanCI(xs, { seed: 10 });
    assert.deepEqual(a, b);
    assert.equal(c.mean, a.mean);
    assert.ok(c.lo !== a.lo || c.hi !== a.hi);
  });

  test("invalid options and non-finite values throw", () => {
    assert.throws(() => bootstrapMeanCI([1, 2], { resamples: 0 }), RangeError);
    assert.throws(() => bootstrapMeanCI([1, 2], { resamples: 2.5 }), RangeError);
    assert.throws(() => bootstrapMeanCI([1, 2], { level: 1 }), RangeError);
    assert.throws(() => bootstrapMeanCI([1, 2], { level: 0 }), RangeError);
    assert.throws(() => bootstrapMeanCI([1, Number.NaN]), /index 1/);
  });

  test("200 values × 1000 resamples runs in well under 10 ms", () => {
    const xs = bernoulli(200, 0.5, 1);
    bootstrapMeanCI(xs); // warm up the JIT
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      bootstrapMeanCI(xs, { seed: i });
      best = Math.min(best, performance.now() - t0);
    }
    assert.ok(best < 10, `best of 5: ${best.toFixed(2)} ms`);
  });
});

describe("bootstrapDiffCI", () => {
  test("paired equals the bootstrap of the differences; identical sides give a zero interval", () => {
    const b = [0, 0.5, 1, 0.25];
    const a = [0.5, 0.5, 1, 1];
    const d = bootstrapDiffCI(b, a, { paired: true, resamples: 500, seed: 3 });
    const m = bootstrapMeanCI(
      a.map((x, i) => x - b[i]),
      { resamples: 500, seed: 3 },
    );
    assert.deepEqual([d.mean, d.lo, d.hi], [m.mean, m.lo, m.hi]);
    assert.equal(d.paired, true);
    const z = bootstrapDiffCI(b, b, { paired: true, resamples: 100 });
    assert.deepEqual([z.mean, z.lo, z.hi], [0, 0, 0]);
  });

  test("pairing removes between-problem variance: the paired CI is narrower", () => {
    const base = bernoulli(200, 0.5, 1);
    const before = base.map((x, i) => (x + (i % 5) / 5) / 2);
    const after = before.map((x) => x + 0.05);
    const p = bootstrapDiffCI(before, after, { paired: true, resamples: 400 });
    const u = bootstrapDiffCI(before, after, { resamples: 400 });
    assert.ok(Math.abs(p.mean - 0.05) < 1e-12 && Math.abs(u.mean - 0.05) < 1e-12);
    assert.ok(p.hi - p.lo < 1e-9, "constant shift: paired interval is a point");
    assert.ok(u.hi - u.lo > 0.05, "unpaired interval reflects both samples' spread");
    assert.ok(u.lo < 0.05 && 0.05 < u.hi);
  });

  test("unpaired sides of different sizes; deterministic; errors", () => {
    const a = bootstrapDiffCI([0, 1, 0], [1, 1], { resamples: 200, seed: 9 });
    const b = bootstrapDiffCI([0, 1, 0], [1, 1], { resamples: 200, seed: 9 });
    assert.deepEqual(a, b);
    assert.ok(Math.abs(a.mean - (1 - 1 / 3)) < 1e-12);
    assert.equal(a.nBefore, 3);
    assert.equal(a.nAfter, 2);
    assert.ok(Number.isNaN(bootstrapDiffCI([], [1]).mean));
    assert.throws(() => bootstrapDiffCI([1], [1, 2], { paired: true }), /equal lengths/);
    assert.throws(() => bootstrapDiffCI([Number.NaN], [1]), /not finite/);
    assert.throws(() => bootstrapDiffCI([1], [1], { resamples: 0 }), /resamples/);
  });
});
