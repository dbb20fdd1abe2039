/** Linear expressions a·x + b: the values of reverse-mode traces. */

/** a·x + b. */
export interface Lin {
  a: number;
  b: number;
}

/** A constant. */
export const lin = (b: number, a = 0): Lin => ({ a, b });

/** Canonical text: "2*x + 1", "x - 3", "-x", "7". */
export function formatLin({ a, b }: Lin): string {
  if (a === 0) return String(b);
  const ax = a === 1 ? "x" : a === -1 ? "-x" : `${a}*x`;
  if (b === 0) return ax;
  return b > 0 ? `${ax} + ${b}` : `${ax} - ${-b}`;
}

/** An operand inside a larger expression: bare when a non-negative number or "x", else parenthesised. */
export function formatTerm(v: Lin): string {
  if ((v.a === 0 && v.b >= 0) || (v.a === 1 && v.b === 0)) return formatLin(v);
  return `(${formatLin(v)})`;
}

/** Exact equality of two linear expressions within a tolerance. */
export function linEqual(p: Lin, q: Lin, tol = 1e-6): boolean {
  return Math.abs(p.a - q.a) <= tol && Math.abs(p.b - q.b) <= tol;
}
