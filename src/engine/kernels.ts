/**
 * The kernel interface of the engine: explicit forward and backward functions per layer (llm.c
 * style). Two implementations: `reference.ts` (naive TypeScript, float64 accumulation — the ground
 * truth of tests) and `native.ts` (the N-API addon: BLAS or portable matrix products, fused, threaded).
 *
 * Conventions: row-major float32 buffers; shapes in comments as [rows, cols]. Backward kernels
 * ACCUMULATE (+=) into every gradient they write (inputs and parameters), so callers zero gradient
 * buffers once per step and residual branches add up naturally. Attention uses a packed qkv buffer
 * [B, T, (H + 2·Hkv)·hd] holding q heads, then k heads, then v heads of each token.
 */

/** A key/value cache: float32, or IEEE half-precision bits (Uint16Array) for half the memory traffic. */
export type KVCache = Float32Array | Uint16Array;

/** Elements (Uint16) of W[N,K] packed for `matmulBf16`: 16-column panels of k pairs, both padded. */
export const bf16PackedSize = (N: number, K: number): number => Math.ceil(N / 16) * 16 * Math.ceil(K / 2) * 2;

/** Which matrix-product path a backend runs. */
export type MatmulPath = "blas" | "portable" | "reference";

/** Which path runs the bf16 products (`matmulMixed`, `matmulBf16`): "portable" and "reference" are exact but slow. */
export type Bf16Path = "amx" | "avx512bf16" | "portable" | "reference";

/** bf16 paths that run at hardware speed (where bf16 training pays). */
export const FAST_BF16_PATHS: readonly Bf16Path[] = ["amx", "avx512bf16"];

/** True when the backend's bf16 products run at hardware speed (new runs then default to bf16 products). */
export const bf16IsFast = (k: Kernels): boolean => FAST_BF16_PATHS.includes(k.info().bf16);

/** What a backend reports about itself. */
export interface BackendInfo {
  name: string;
  path: MatmulPath;
  threads: number;
  simd: string;
  bf16: Bf16Path;
}

/** A general matrix product c[M,N] = alpha·op(a)·op(b) + beta·c (see `Kernels.matmul`). */
export type Matmul = (
  c: Float32Array,
  a: Float32Array,
  b: Float32Array,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
  alpha: number,
  beta: number,
) => void;

/** The kernels every backend provides. */
export interface Kernels {
  info(): BackendInfo;
  /** A zeroed float32 buffer (native: 64-byte aligned memory owned by the addon). */
  alloc(n: number): Float32Array;

  /** c[M,N] = alpha·op(a)·op(b) + beta·c; a is [M,K] ([K,M] if transA), b is [K,N] ([N,K] if transB). */
  matmul: Matmul;
  /** out[M,N] += bias[N] on every row. */
  addBias(out: Float32Array, bias: Float32Array, M: number, N: number): void;
  /** dbias[N] += column sums of dout[M,N]. */
  biasBackward(dbias: Float32Array, dout: Float32Array, M: number, N: number): void;

  /** out[T,C] = wte[tokens[t], :]. */
  embeddingForward(out: Float32Array, tokens: Int32Array, wte: Float32Array, T: number, C: number): void;
  /** dwte[tokens[t], :] += dout[t, :]. */
  embeddingBackward(dwte: Float32Array, dout: Float32Array, tokens: Int32Array, T: number, C: number): void;

  /** out[M,C] = x·rstd·w with rstd[M] = 1/sqrt(mean(x²) + eps) (saved for backward). */
  rmsnormForward(
    out: Float32Array,
    rstd: Float32Array,
    x: Float32Array,
    w: Float32Array,
    M: number,
    C: number,
    eps: number,
  ): void;
  /** dx[M,C] += ∂/∂x, dw[C] += ∂/∂w. */
  rmsnormBackward(
    dx: Float32Array,
    dw: Float32Array,
    dout: Float32Array,
    x: Float32Array,
    w: Float32Array,
    rstd: Float32Array,
    M: number,
    C: number,
  ): void;

  /**
   * Rotary embedding in place on the q and k heads of qkv[B,T,(H+2Hkv)·hd], half-split layout:
   * for i < hd/2, angle = (pos0 + t)·θ^(−2i/hd); (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin).
   * `inverse` rotates by −angle (the backward of the forward rotation).
   */
  rope(
    qkv: Float32Array,
    B: number,
    T: number,
    H: number,
    Hkv: number,
    hd: number,
    theta: number,
    pos0: number,
    inverse: boolean,
  ): void;

  /**
   * Causal grouped-query attention: out[B,T,H·hd]; probs[B,H,T,T] saves the softmax (row t holds
   * T entries, those past t are 0). Query head h uses key/value head floor(h·Hkv/H). Scale hd^−0.5.
   * With `start[B·T]` (a document mask for packed rows), token t of row b attends only to positions
   * start[b·T+t]..t (its own document); probabilities outside are 0, so the backward is unchanged.
   */
  attentionForward(
    out: Float32Array,
    probs: Float32Array,
    qkv: Float32Array,
    B: number,
    T: number,
    H: number,
    Hkv: number,
    hd: number,
    start?: Int32Array | null,
  ): void;
  /**
   * dqkv[B,T,(H+2Hkv)·hd] += gradients of q, k and v. Give the forward's `start` (if any): the
   * masked tiles are skipped (their probabilities are 0).
   */
  attentionBackward(
    dqkv: Float32Array,
    dout: Float32Array,
    qkv: Float32Array,
    probs: Float32Array,
    B: number,
    T: number,
    H: number,
    Hkv: number,
    hd: number,
    start?: Int32Array | null,
  ): void;

  // ---- decode path (the sampler): a key/value cache kc, vc of [S, Hkv, Tmax, hd] per layer -------------

  /** Rotary embedding of N packed rows qkv[N,(H+2Hkv)·hd], row r at position pos[r] (as `rope`). */
  ropeRows(
    qkv: Float32Array,
    pos: Int32Array,
    N: number,
    H: number,
    Hkv: number,
    hd: number,
    theta: number,
  ): void;
  /** kc/vc[slot[r], g, pos[r], :] = k/v head g of row r of qkv[N,(H+2Hkv)·hd]. */
  kvWrite(
    kc: KVCache,
    vc: KVCache,
    qkv: Float32Array,
    slot: Int32Array,
    pos: Int32Array,
    N: number,
    H: number,
    Hkv: number,
    hd: number,
    Tmax: number,
    S: number,
  ): void;
  /**
   * out[N,H·hd]: query head h of row r attends (scale hd^−0.5, stable softmax) over positions
   * 0..pos[r] of cache slot slot[r], key/value head floor(h·Hkv/H).
   */
  attentionCached(
    out: Float32Array,
    qkv: Float32Array,
    kc: KVCache,
    vc: KVCache,
    slot: Int32Array,
    pos: Int32Array,
    N: number,
    H: number,
    Hkv: number,
    hd: number,
    Tmax: number,
    S: number,
  ): void;

  /** out[M,F] = silu(gu[:, :F])·gu[:, F:] for gu[M,2F] ([gate | up] per row). */
  swigluForward(out: Float32Array, gu: Float32Array, M: number, F: number): void;
  /** dgu[M,2F] += gradients of gate and up. */
  swigluBackward(dgu: Float32Array, dout: Float32Array, gu: Float32Array, M: number, F: number): void;

  /**
   * Softmax cross-entropy over logits[M,V] with targets[M] (a negative target is ignored: loss 0,
   * gradient 0). Writes losses[M] and, when dlogits is given (it may be logits itself), the
   * gradient (softmax − onehot)·gradScale. Returns the sum of losses over counted rows.
   */
  crossEntropy(
    dlogits: Float32Array | null,
    losses: Float32Array,
    logits: Float32Array,
    targets: Int32Array,
    M: number,
    V: number,
    gradScale: number,
  ): number;

  /** out[n] = a[n] + b[n] (out may alias a or b). */
  add(out: Float32Array, a: Float32Array, b: Float32Array, n: number): void;
  /** x[n] *= s. */
  scale(x: Float32Array, n: number, s: number): void;
  /** x[i, :] *= w[i] for the rows of x[M, N]. */
  scaleRows(x: Float32Array, w: Float32Array, M: number, N: number): void;
  /**
   * wp = P[N,K] rounded to bfloat16 (nearest even, denormals to 0) in the panel layout of `matmulBf16`
   * (see `bf16PackedSize`); w holds P, or with `trans` its transpose Pᵀ [K,N] (a weight used as
   * c = a·W, as in the backward pass's dX = dY·W).
   */
  packBf16(wp: Uint16Array, w: Float32Array, N: number, K: number, trans?: boolean): void;
  /** c[M,N] = bf16(a)[M,K]·bf16(P)ᵀ + beta·c with float32 accumulation; wp from `packBf16`; beta defaults to 0. */
  matmulBf16(
    c: Float32Array,
    a: Float32Array,
    wp: Uint16Array,
    M: number,
    N: number,
    K: number,
    beta?: number,
  ): void;
  /**
   * `matmul` in mixed precision: both operands rounded to bfloat16 (as `packBf16`), products
   * accumulated in float32 (the bf16 recipe of GPU training); alpha, beta and C stay float32.
   */
  matmulMixed: Matmul;
  /**
   * tokens[r] = a draw from softmax(logits[r,:]·invT) at uniform u[r] ∈ [0,1) (inverse CDF over token
   * ids), or the argmax when invT is 0; L rows of V logits (the sampler's plain path).
   */
  drawRows(
    tokens: Int32Array,
    logits: Float32Array,
    u: Float64Array,
    L: number,
    V: number,
    invT: number,
  ): void;
  /** Σ x². */
  sumSquares(x: Float32Array, n: number): number;
  /**
   * One AdamW step over n values (decoupled weight decay): m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
   * p −= lr·(m̂/(sqrt(v̂)+eps) + wd·p) with bias corrections for step t (t ≥ 1).
   */
  adamw(
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    wd: number,
    t: number,
  ): void;
}
