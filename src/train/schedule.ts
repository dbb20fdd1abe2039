/** Learning-rate schedule: linear warmup, then cosine decay to a floor (training.md §2). */

/** Schedule parameters. */
export interface Schedule {
  peak: number;
  floor: number;
  /** Warmup as a fraction of all steps. */
  warmup: number;
  steps: number;
}

/** Learning rate at optimizer step s (0-based). */
export function lrAt(s: number, { peak, floor, warmup, steps }: Schedule): number {
  const w = Math.max(1, Math.round(warmup * steps));
  if (s < w) return (peak * (s + 1)) / w;
  if (steps <= w) return peak;
  const t = Math.min(1, (s - w) / Math.max(1, steps - w - 1));
  return floor + 0.5 * (peak - floor) * (1 + Math.cos(Math.PI * t));
}
