/**
 * Greedy decoding for sanity checks: re-runs the full forward pass on the growing sequence (the
 * batched sampler with a KV cache is the evaluation engine's job).
 */
import type { Model } from "./model.js";

/** Options of greedy decoding. */
export interface GreedyOptions {
  maxNew?: number;
  /** Token ids that end generation (included in the output). */
  stop?: number[];
}

/** Continues `prompt` greedily; returns the new ids. */
export function greedy(model: Model, prompt: number[], opts: GreedyOptions = {}): number[] {
  const { maxNew = 256, stop = [] } = opts;
  const V = model.config.vocabSize;
  const ids = prompt.slice();
  const out: number[] = [];
  // Activations for the longest sequence up front: growing them token by token would reallocate every step.
  model.reserve(1, Math.min(model.config.context, prompt.length + maxNew));
  for (let i = 0; i < maxNew && ids.length < model.config.context; i++) {
    const T = ids.length;
    model.forward(Int32Array.from(ids), 1, T);
    const logits = model.logits();
    let best = 0;
    for (let j = 1; j < V; j++) if (logits[(T - 1) * V + j] > logits[(T - 1) * V + best]) best = j;
    ids.push(best);
    out.push(best);
    if (stop.includes(best)) break;
  }
  return out;
}
