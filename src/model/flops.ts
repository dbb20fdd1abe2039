/**
 * FLOPs of the model's passes (one multiply-add = 2 FLOPs), used by compute accounting (rl/compute.ts),
 * pre-training plans (studies) and the engine's FLOP-counter tests.
 *
 * What the FLOP counter counts (one multiply-add = 2 FLOPs):
 *   - every matrix product with a weight: per layer q/k/v (fused), o, gate/up (fused), down, and
 *     the output head (tied to the embedding): 2 · N_mm FLOPs per token forward, with N_mm
 *     from {@link matmulParams};
 *   - attention scores Q·Kᵀ and the weighted sum P·V: 2·hd FLOPs each per (query, key) pair and
 *     head. "causal" (default, what the engine computes) counts key positions s ≤ t, so
 *     T(T + 1)/2 pairs per head for a sequence of T; "full" counts T²; "none" drops attention.
 *   Not counted: the embedding lookup (a gather), RMSNorm, rotary, softmax, SiLU, bias and
 *   residual additions, the loss, and the optimizer — all O(N) or O(T·C) per token, < 1 % here.
 * Backward = 2 × forward: every product needs the gradient of its input and of its weight (for
 * attention: dP and dV, then dQ and dK).
 *
 * A causal forward over L tokens costs exactly what a KV-cached generation of the same L tokens
 * costs (prefill the prompt, then decode one position at a time, position p attending to p keys),
 * so rollout, prefill and scoring tokens are all priced at the per-token average of a causal
 * forward of the full sequence length.
 */
import { headDim, type ModelConfig } from "./config.js";
import { paramCount } from "./params.js";

/** Which attention products the counter includes. */
export type AttentionCount = "causal" | "full" | "none";

/** Options of the FLOP counter. */
export interface FlopOptions {
  /** Default "causal". */
  attention?: AttentionCount;
}

/** Weights that enter matrix products: q, k, v, o, gate, up, down per layer plus the tied head. */
export function matmulParams(c: ModelConfig): number {
  const hd = headDim(c);
  const q = c.heads * hd;
  const kv = c.kvHeads * hd;
  const perLayer = c.hidden * (q + 2 * kv) + q * c.hidden + 3 * c.hidden * c.mlp;
  return c.layers * perLayer + c.vocabSize * c.hidden;
}

/** Attention-product FLOPs (Q·Kᵀ and P·V, all layers and heads) of one sequence of seqLen tokens. */
export function attentionFlops(c: ModelConfig, seqLen: number, opts: FlopOptions = {}): number {
  const mode = opts.attention ?? "causal";
  if (mode === "none") return 0;
  const pairs = mode === "causal" ? (seqLen * (seqLen + 1)) / 2 : seqLen * seqLen;
  return c.layers * c.heads * pairs * 2 * (2 * headDim(c));
}

/** Forward FLOPs of one sequence of seqLen tokens: 2·N_mm·T plus attention. */
export function forwardFlops(c: ModelConfig, seqLen: number, opts: FlopOptions = {}): number {
  checkLen(seqLen);
  return 2 * matmulParams(c) * seqLen + attentionFlops(c, seqLen, opts);
}

/** Backward FLOPs of one sequence: twice the forward. */
export function backwardFlops(c: ModelConfig, seqLen: number, opts: FlopOptions = {}): number {
  return 2 * forwardFlops(c, seqLen, opts);
}

/** Forward + backward FLOPs of one sequence (3 × forward). */
export function trainFlops(c: ModelConfig, seqLen: number, opts: FlopOptions = {}): number {
  return 3 * forwardFlops(c, seqLen, opts);
}

/** Forward FLOPs per token, averaged over a causal sequence of seqLen tokens. */
export function forwardFlopsPerToken(c: ModelConfig, seqLen: number, opts: FlopOptions = {}): number {
  return forwardFlops(c, seqLen, opts) / seqLen;
}

/** How a supervised token is priced: the paper's 6N (N = all parameters) or this counter's fwd+bwd. */
export type SupervisedConvention = "6N" | "measured";

/** FLOPs of one supervised training token: 6·paramCount ("6N") or trainFlops(seqLen)/seqLen ("measured"). */
export function supervisedTokenFlops(
  c: ModelConfig,
  convention: SupervisedConvention = "6N",
  seqLen: number = c.context,
  opts: FlopOptions = {},
): number {
  return convention === "6N" ? 6 * paramCount(c) : trainFlops(c, seqLen, opts) / seqLen;
}

/** Supervised-token equivalents of an amount of FLOPs. */
export function supervisedEquivalentTokens(
  c: ModelConfig,
  flops: number,
  convention: SupervisedConvention = "6N",
  seqLen: number = c.context,
  opts: FlopOptions = {},
): number {
  return flops / supervisedTokenFlops(c, convention, seqLen, opts);
}

/** Sequence lengths may be means over rollouts, hence any finite value ≥ 1. */
function checkLen(seqLen: number): void {
  if (!(seqLen >= 1) || !Number.isFinite(seqLen))
    throw new Error(`sequence length must be a finite number ≥ 1, got ${seqLen}`);
}
