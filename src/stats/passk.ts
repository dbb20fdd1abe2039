/**
 * pass@k estimators (spec: verification.md §5).
 *
 * The default is the unbiased estimator of Chen et al. (2021); the "first k samples" variant is
 * kept so numbers can be compared with the reference implementation.
 */

/** Name of a per-problem pass@k estimator: "unbiased" (Chen et al. 2021) or "firstK" (reference). */
export type PassKEstimator = "unbiased" | "firstK";

/** All estimator names, in a stable order (useful for CLI validation). */
export const PASSK_ESTIMATORS: readonly PassKEstimator[] = ["unbiased", "firstK"];

function requireInteger(name: string, value: number, fn: string): void {
  if (!Number.isInteger(value)) {
    throw new RangeError(`${fn}: ${name} must be an integer, got ${value}`);
  }
}

function checkK(n: number, k: number, fn: string): void {
  requireInteger("k", k, fn);
  if (k < 1) throw new RangeError(`${fn}: k must be >= 1, got k=${k}`);
  if (k > n) throw new RangeError(`${fn}: k must be <= n (number of samples), got k=${k}, n=${n}`);
}

/** Unbiased pass@k of Chen et al. (2021) for n samples of which c are correct: 1 − C(n−c,k)/C(n,k). */
export function passAtK(n: number, c: number, k: number): number {
  const fn = "passAtK";
  requireInteger("n", n, fn);
  requireInteger("c", c, fn);
  if (n < 0) throw new RangeError(`${fn}: n must be >= 0, got n=${n}`);
  if (c < 0) throw new RangeError(`${fn}: c must be >= 0, got c=${c}`);
  if (c > n) throw new RangeError(`${fn}: c must be <= n, got c=${c}, n=${n}`);
  checkK(n, k, fn);
  if (n - c < k) return 1;
  // C(n−c,k)/C(n,k) = Π_{i=n−c+1..n} (1 − k/i): every factor is in (0,1], so the product is stable.
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

/** Reference "first k samples" pass@k: 1 if any of the first k samples is correct, else 0. */
export function passAtKFirst(correct: readonly boolean[], k: number): number {
  checkK(correct.length, k, "passAtKFirst");
  for (let i = 0; i < k; i++) if (correct[i]) return 1;
  return 0;
}

/** Number of true entries in a per-sample correctness array. */
export function countCorrect(correct: readonly boolean[]): number {
  let c = 0;
  for (const x of correct) if (x) c++;
  return c;
}

/** pass@k of one problem from its per-sample correctness, with the chosen estimator (default "unbiased"). */
export function problemPassAtK(
  correct: readonly boolean[],
  k: number,
  estimator: PassKEstimator = "unbiased",
): number {
  switch (estimator) {
    case "unbiased":
      return passAtK(correct.length, countCorrect(correct), k);
    case "firstK":
      return passAtKFirst(correct, k);
    default:
      throw new RangeError(`problemPassAtK: unknown estimator ${JSON.stringify(estimator)}`);
  }
}

function checkN(n: number, fn: string): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`${fn}: n must be an integer >= 1, got ${n}`);
  }
}

/** Powers of two 1, 2, 4, … up to n, followed by n itself when n is not a power of two. */
export function kGrid(n: number): number[] {
  checkN(n, "kGrid");
  const ks: number[] = [];
  for (let k = 1; k <= n; k *= 2) ks.push(k);
  if (ks[ks.length - 1] !== n) ks.push(n);
  return ks;
}

/** Every k from 1 to n. */
export function allK(n: number): number[] {
  checkN(n, "allK");
  return Array.from({ length: n }, (_, i) => i + 1);
}
