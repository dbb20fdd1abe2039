import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { allK, countCorrect, kGrid, passAtK, passAtKFirst, problemPassAtK } from "./passk.js";

/** Fraction of size-k subsets of n samples (the first c correct) that contain a correct sample. */
function bruteForcePassAtK(n: number, c: number, k: number): number {
  let total = 0;
  let hit = 0;
  const correctMask = (1 << c) - 1;
  for (let mask = 0; mask < 1 << n; mask++) {
    let bits = 0;
    for (let m = mask; m; m &= m - 1) bits++;
    if (bits !== k) continue;
    total++;
    if (mask & correctMask) hit++;
  }
  return hit / total;
}

function binom(n: number, k: number): bigint {
  if (k < 0 || k > n) return 0n;
  let r = 1n;
  for (let i = 1; i <= k; i++) r = (r * BigInt(n - k + i)) / BigInt(i);
  return r;
}

/** Exact 1 − C(n−c,k)/C(n,k) via big integers, rounded to ~1e-18. */
function exactPassAtK(n: number, c: number, k: number): number {
  const scale = 10n ** 18n;
  const ratio = (binom(n - c, k) * scale) / binom(n, k);
  return 1 - Number(ratio) / 1e18;
}

/** Boolean array of length n with c trues at the given positions pattern. */
function samples(n: number, correctIdx: number[]): boolean[] {
  return Array.from({ length: n }, (_, i) => correctIdx.includes(i));
}

/** All permutations of [0..n-1]. */
function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) {
    for (let pos = 0; pos <= p.length; pos++) out.push([...p.slice(0, pos), n - 1, ...p.slice(pos)]);
  }
  return out;
}

describe("passAtK (unbiased)", () => {
  test("matches brute-force subset enumeration for n <= 10, all c and k", () => {
    let checked = 0;
    for (let n = 1; n <= 10; n++) {
      for (let c = 0; c <= n; c++) {
        for (let k = 1; k <= n; k++) {
          const got = passAtK(n, c, k);
          const want = bruteForcePassAtK(n, c, k);
          assert.ok(Math.abs(got - want) <= 1e-12, `n=${n} c=${c} k=${k}: got ${got}, want ${want}`);
          checked++;
        }
      }
    }
    assert.equal(checked, 440); // sum over n = 1..10 of (n + 1) * n
  });

  test("c = 0 gives 0 and c = n gives 1", () => {
    for (const n of [1, 2, 7, 64, 128]) {
      for (const k of [1, Math.ceil(n / 2), n]) {
        assert.equal(passAtK(n, 0, k), 0);
        assert.equal(passAtK(n, n, k), 1);
      }
    }
  });

  test("returns 1 when n - c < k", () => {
    assert.equal(passAtK(10, 8, 3), 1);
    assert.equal(passAtK(5, 1, 5), 1);
    assert.ok(passAtK(10, 7, 3) < 1);
  });

  test("k = 1 is the fraction of correct samples", () => {
    for (let n = 1; n <= 40; n++) {
      for (let c = 0; c <= n; c++) assert.ok(Math.abs(passAtK(n, c, 1) - c / n) < 1e-14);
    }
  });

  test("n = 128: in [0, 1], monotone in k and c, and matches big-integer binomials", () => {
    const n = 128;
    const cs = [0, 1, 2, 3, 5, 10, 32, 64, 100, 127, 128];
    let prevByK: number[] | null = null;
    for (const c of cs) {
      const byK: number[] = [];
      let prev = -1;
      for (let k = 1; k <= n; k++) {
        const v = passAtK(n, c, k);
        assert.ok(v >= 0 && v <= 1, `out of range at c=${c} k=${k}: ${v}`);
        assert.ok(v >= prev - 1e-15, `not monotone in k at c=${c} k=${k}`);
        prev = v;
        byK.push(v);
      }
      if (prevByK) {
        for (let k = 1; k <= n; k++) assert.ok(byK[k - 1] >= prevByK[k - 1] - 1e-15, `not monotone in c`);
      }
      prevByK = byK;
      for (const k of [1, 2, 8, 16, 64, 100]) {
        const want = exactPassAtK(n, c, k);
        assert.ok(Math.abs(passAtK(n, c, k) - want) < 1e-12, `c=${c} k=${k}`);
      }
    }
  });

  test("invalid arguments throw RangeError", () => {
    assert.throws(() => passAtK(10, 2, 0), RangeError);
    assert.throws(() => passAtK(10, 2, -1), RangeError);
    assert.throws(() => passAtK(10, 2, 11), /k must be <= n/);
    assert.throws(() => passAtK(10, -1, 2), /c must be >= 0/);
    assert.throws(() => passAtK(10, 11, 2), /c must be <= n/);
    assert.throws(() => passAtK(10.5, 2, 2), /n must be an integer/);
    assert.throws(() => passAtK(10, 2.5, 2), /c must be an integer/);
    assert.throws(() => passAtK(10, 2, 1.5), /k must be an integer/);
    assert.throws(() => passAtK(Number.NaN, 2, 1), RangeError);
    assert.throws(() => passAtK(0, 0, 1), RangeError);
  });
});

describe("passAtKFirst", () => {
  test("hand cases", () => {
    const s = samples(6, [3]);
    assert.equal(passAtKFirst(s, 1), 0);
    assert.equal(passAtKFirst(s, 3), 0);
    assert.equal(passAtKFirst(s, 4), 1);
    assert.equal(passAtKFirst(s, 6), 1);
    assert.equal(passAtKFirst([true, false], 1), 1);
    assert.equal(passAtKFirst([false, false, false], 3), 0);
  });

  test("invalid k throws", () => {
    assert.throws(() => passAtKFirst([true, false], 0), RangeError);
    assert.throws(() => passAtKFirst([true, false], 3), RangeError);
    assert.throws(() => passAtKFirst([], 1), RangeError);
    assert.throws(() => passAtKFirst([true, false], 1.5), RangeError);
  });

  test("expectation of firstK over all sample orders equals the unbiased estimator (n <= 6)", () => {
    for (let n = 1; n <= 6; n++) {
      const perms = permutations(n);
      for (let c = 0; c <= n; c++) {
        const base = samples(
          n,
          Array.from({ length: c }, (_, i) => i),
        );
        for (let k = 1; k <= n; k++) {
          let sum = 0;
          for (const p of perms)
            sum += passAtKFirst(
              p.map((i) => base[i]),
              k,
            );
          const avg = sum / perms.length;
          assert.ok(Math.abs(avg - passAtK(n, c, k)) < 1e-12, `n=${n} c=${c} k=${k}`);
        }
      }
    }
  });
});

describe("problemPassAtK / countCorrect", () => {
  test("dispatches on the estimator", () => {
    const s = samples(8, [5, 6]);
    assert.equal(countCorrect(s), 2);
    assert.equal(problemPassAtK(s, 3), passAtK(8, 2, 3));
    assert.equal(problemPassAtK(s, 3, "unbiased"), bruteForcePassAtK(8, 2, 3));
    assert.equal(problemPassAtK(s, 3, "firstK"), 0);
    assert.equal(problemPassAtK(s, 6, "firstK"), 1);
    assert.throws(() => problemPassAtK(s, 3, "bogus" as never), /unknown estimator/);
  });
});

describe("kGrid / allK", () => {
  test("powers of two up to n, plus n when not a power of two", () => {
    assert.deepEqual(kGrid(1), [1]);
    assert.deepEqual(kGrid(2), [1, 2]);
    assert.deepEqual(kGrid(128), [1, 2, 4, 8, 16, 32, 64, 128]);
    assert.deepEqual(kGrid(100), [1, 2, 4, 8, 16, 32, 64, 100]);
    assert.deepEqual(kGrid(3), [1, 2, 3]);
    for (let n = 1; n <= 300; n++) {
      const g = kGrid(n);
      assert.equal(g[g.length - 1], n);
      for (let i = 1; i < g.length; i++) assert.ok(g[i] > g[i - 1]);
    }
  });

  test("allK is 1..n", () => {
    assert.deepEqual(allK(1), [1]);
    assert.deepEqual(allK(5), [1, 2, 3, 4, 5]);
  });

  test("invalid n throws", () => {
    assert.throws(() => kGrid(0), RangeError);
    assert.throws(() => kGrid(2.5), RangeError);
    assert.throws(() => allK(-1), RangeError);
  });
});
