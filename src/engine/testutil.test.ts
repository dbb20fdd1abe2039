/**
 * Helpers shared by the engine tests (named *.test.ts so that it stays next to them; it holds
 * one trivial test of its own helpers).
 */
import assert from "node:assert/strict";
import { test } from "node:test";

/** A seeded generator of uniform numbers in [0, 1) (mulberry32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform values in [−scale, scale). */
export function rand(r: () => number, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (2 * r() - 1) * scale;
  return a;
}

/**
 * Relative error of `actual` against `expected`: max|a − e| / max(1e-6, max|e|) over the first
 * `n` elements (all when omitted). NaN anywhere counts as an infinite error.
 */
export function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>, n = expected.length): number {
  let diff = 0;
  let mag = 0;
  for (let i = 0; i < n; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(a) !== Number.isNaN(e)) return Number.POSITIVE_INFINITY;
    diff = Math.max(diff, Math.abs(a - e));
    mag = Math.max(mag, Math.abs(e));
  }
  return diff / Math.max(1e-6, mag);
}

/** Asserts relErr(actual, expected) < tol. */
export function close(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  label: string,
): void {
  assert.equal(actual.length >= expected.length, true, `${label}: length`);
  const e = relErr(actual, expected);
  assert.ok(e < tol, `${label}: relative error ${e.toExponential(2)} >= ${tol}`);
}

/** Forward and backward tolerances of the native kernels against the float64 reference. */
export const FWD_TOL = 1e-5;
export const BWD_TOL = 1e-4;

test("relErr is scale-relative and catches NaN", () => {
  assert.equal(relErr([1, 2], [1, 2]), 0);
  assert.ok(Math.abs(relErr([1, 2.1], [1, 2]) - 0.05) < 1e-12);
  assert.equal(relErr([Number.NaN], [1]), Number.POSITIVE_INFINITY);
  const r = rng(1);
  const a = rand(r, 100);
  assert.ok(a.every((x) => x >= -1 && x < 1));
});
