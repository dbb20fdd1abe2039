/**
 * The Qwen2-style model (training.md §1) on a kernel backend: one forward and one backward pass,
 * activations preallocated for a (B, T) batch shape, parameters and gradients as named views of one
 * flat buffer each. Shapes in comments use M = B·T tokens, C hidden, V vocab, F mlp, hd head dim,
 * Q = H·hd, D = (H + 2·Hkv)·hd.
 */
import { bf16PackedSize, type Kernels } from "../engine/kernels.js";
import { headDim, type ModelConfig } from "./config.js";
import { ParamViews, paramCount } from "./params.js";

/** The sizes the passes use (see the file comment). */
export function dims(c: ModelConfig, B: number, T: number) {
  const hd = headDim(c);
  const H = c.heads;
  const Hkv = c.kvHeads;
  return { M: B * T, C: c.hidden, hd, H, Hkv, Q: H * hd, D: (H + 2 * Hkv) * hd, F: c.mlp };
}

/** Precisions of the passes' matrix products (training.md §1): float32, or bf16 operands with float32 sums. */
export const PRECISIONS = ["fp32", "bf16"] as const;
export type Precision = (typeof PRECISIONS)[number];

/** A weight P [N,K] of the products c = x·Pᵀ, with its bf16 packs (forward: P; backward: Pᵀ for dX = dY·P). */
interface Packed {
  w: Float32Array;
  N: number;
  K: number;
  fwd: Uint16Array;
  bwd: Uint16Array;
}

/** Saved activations of one layer. */
interface LayerActs {
  x: Float32Array; // [M,C] residual stream entering the layer
  ln1: Float32Array; // [M,C]
  rstd1: Float32Array; // [M]
  qkv: Float32Array; // [M,D] (q, k after rotary)
  probs: Float32Array; // [B,H,T,T]
  atty: Float32Array; // [M,Q]
  xmid: Float32Array; // [M,C] after the attention residual
  ln2: Float32Array; // [M,C]
  rstd2: Float32Array; // [M]
  gu: Float32Array; // [M,2F]
  h: Float32Array; // [M,F]
}

/** Activations and scratch for one batch shape. */
class Acts {
  readonly layers: LayerActs[] = [];
  readonly xf: Float32Array; // [M,C] residual after the last layer
  readonly lnf: Float32Array; // [M,C]
  readonly rstdf: Float32Array; // [M]
  readonly logits: Float32Array; // [M,V] (gradients overwrite it in backward)
  readonly losses: Float32Array; // [M]
  // Backward scratch.
  readonly dres: Float32Array; // [M,C]
  readonly dln: Float32Array; // [M,C]
  readonly dgu: Float32Array; // [M,2F]
  readonly dh: Float32Array; // [M,F]
  readonly dqkv: Float32Array; // [M,D]
  readonly datty: Float32Array; // [M,Q]
  readonly tmp: Float32Array; // [M,C]

  constructor(k: Kernels, c: ModelConfig, B: number, T: number) {
    const M = B * T;
    const C = c.hidden;
    const hd = headDim(c);
    const Q = c.heads * hd;
    const D = (c.heads + 2 * c.kvHeads) * hd;
    const F = c.mlp;
    for (let i = 0; i < c.layers; i++) {
      this.layers.push({
        x: k.alloc(M * C),
        ln1: k.alloc(M * C),
        rstd1: k.alloc(M),
        qkv: k.alloc(M * D),
        probs: k.alloc(B * c.heads * T * T),
        atty: k.alloc(M * Q),
        xmid: k.alloc(M * C),
        ln2: k.alloc(M * C),
        rstd2: k.alloc(M),
        gu: k.alloc(M * 2 * F),
        h: k.alloc(M * F),
      });
    }
    this.xf = k.alloc(M * C);
    this.lnf = k.alloc(M * C);
    this.rstdf = k.alloc(M);
    this.logits = k.alloc(M * c.vocabSize);
    this.losses = k.alloc(M);
    this.dres = k.alloc(M * C);
    this.dln = k.alloc(M * C);
    this.dgu = k.alloc(M * 2 * F);
    this.dh = k.alloc(M * F);
    this.dqkv = k.alloc(M * D);
    this.datty = k.alloc(M * Q);
    this.tmp = k.alloc(M * C);
  }
}

/** Result of a forward pass with targets. */
export interface ForwardResult {
  /** Mean loss over counted targets. */
  loss: number;
  /** Number of counted (non-negative) targets. */
  count: number;
}

/** A model: parameters, gradients and the passes, on one backend. */
export class Model {
  readonly params: ParamViews;
  readonly grads: ParamViews;
  private acts: Acts | null = null;
  private shape: [number, number] = [0, 0];
  private capacity: [number, number] = [0, 0];
  private tokens: Int32Array = new Int32Array(0);
  private start: Int32Array | undefined = undefined;
  private targets: Int32Array = new Int32Array(0);
  private count = 0;
  /**
   * Precision of the matrix products. "bf16": every product of forward and backward (x·Wᵀ, dY·W,
   * dYᵀ·X) rounds its operands to bf16 and sums in float32; attention, norms, softmax, the loss,
   * the master weights and the optimizer stay float32. Weights are packed to bf16 once per forward
   * (so once per optimizer step without gradient accumulation), not per product.
   */
  precision: Precision = "fp32";
  private packs: Packed[] = [];
  private packedBackward = false;

  constructor(
    readonly kernels: Kernels,
    readonly config: ModelConfig,
    flat?: Float32Array,
  ) {
    const n = paramCount(config);
    const p = kernels.alloc(n);
    if (flat) {
      if (flat.length !== n)
        throw new Error(`parameter buffer holds ${flat.length} values, the config needs ${n}`);
      p.set(flat);
    }
    this.params = new ParamViews(config, p);
    this.grads = new ParamViews(config, kernels.alloc(n));
  }

  /** Number of parameters. */
  get size(): number {
    return this.params.flat.length;
  }

  /** Initialises weights: normal(0, std) for matrices and embeddings, 1 for norms, 0 for biases. */
  init(rand: () => number, std = 0.02): void {
    for (const s of this.params.specs) {
      const v = this.params.byName.get(s.name)!;
      if (s.name.endsWith("norm.weight")) v.fill(1);
      else if (s.name.endsWith(".bias")) v.fill(0);
      else {
        for (let i = 0; i < v.length; i += 2) {
          // Box–Muller: two normals from two uniforms.
          const u1 = Math.max(rand(), 1e-12);
          const u2 = rand();
          const r = Math.sqrt(-2 * Math.log(u1));
          v[i] = std * r * Math.cos(2 * Math.PI * u2);
          if (i + 1 < v.length) v[i + 1] = std * r * Math.sin(2 * Math.PI * u2);
        }
      }
    }
  }

  /** Activations for (B, T): buffers are reused while they are large enough (a smaller batch fits in a prefix). */
  private ensure(B: number, T: number): Acts {
    if (T > this.config.context)
      throw new Error(`sequence length ${T} exceeds the model's context ${this.config.context}`);
    if (!this.acts || B * T > this.capacity[0] || B * T * T > this.capacity[1]) {
      // Growing (varying lengths, as in RL): leave headroom so that slowly growing lengths do not
      // allocate a new set of buffers every call (the old ones wait for the garbage collector).
      const Tc = this.acts ? Math.min(this.config.context, Math.max(T, Math.ceil((1.25 * T) / 64) * 64)) : T;
      this.acts = new Acts(this.kernels, this.config, B, Tc);
      this.capacity = [B * Tc, B * Tc * Tc];
    }
    this.shape = [B, T];
    return this.acts;
  }

  /** Preallocates activations for up to B sequences of T tokens. */
  reserve(B: number, T: number): void {
    this.ensure(B, T);
  }

  /**
   * Forward pass over tokens[B·T]; with targets[B·T] (negative = ignored) also the loss; with
   * start[B·T] each token attends only within its document (packed rows, see `attentionForward`).
   * Logits stay in `logits()` until the next backward.
   */
  forward(tokens: Int32Array, B: number, T: number, targets?: Int32Array, start?: Int32Array): ForwardResult {
    const k = this.kernels;
    const c = this.config;
    const a = this.ensure(B, T);
    const { M, C, hd, H, Hkv, Q, D, F } = dims(c, B, T);
    if (tokens.length !== M) throw new Error(`tokens hold ${tokens.length} ids, B·T is ${M}`);
    for (let i = 0; i < M; i++) {
      if (!(tokens[i] >= 0 && tokens[i] < c.vocabSize))
        throw new Error(`token id ${tokens[i]} at ${i} is outside the vocabulary`);
    }
    this.tokens = tokens;
    this.start = start;
    const bf = this.precision === "bf16";
    if (bf) this.pack(false);
    // c[M,N] = x[M,K]·P_iᵀ for the i-th packed weight (layer l: 4l … 4l+3, head 4·layers).
    const mm = (out: Float32Array, x: Float32Array, i: number, w: Float32Array, N: number, K: number) => {
      if (bf) k.matmulBf16(out, x, this.packs[i].fwd, M, N, K);
      else k.matmul(out, x, w, M, N, K, false, true, 1, 0);
    };
    k.embeddingForward(a.layers.length ? a.layers[0].x : a.xf, tokens, this.params.embed, M, C);
    for (let l = 0; l < c.layers; l++) {
      const L = a.layers[l];
      const w = this.params.layers[l];
      const next = l + 1 < c.layers ? a.layers[l + 1].x : a.xf;
      k.rmsnormForward(L.ln1, L.rstd1, L.x, w.inNorm, M, C, c.rmsEps);
      mm(L.qkv, L.ln1, 4 * l, w.wqkv, D, C); // [M,C]·[D,C]ᵀ
      k.addBias(L.qkv, w.bqkv, M, D);
      k.rope(L.qkv, B, T, H, Hkv, hd, c.ropeTheta, 0, false);
      k.attentionForward(L.atty, L.probs, L.qkv, B, T, H, Hkv, hd, start);
      mm(L.xmid, L.atty, 4 * l + 1, w.wo, C, Q); // [M,Q]·[C,Q]ᵀ
      k.add(L.xmid, L.xmid, L.x, M * C);
      k.rmsnormForward(L.ln2, L.rstd2, L.xmid, w.postNorm, M, C, c.rmsEps);
      mm(L.gu, L.ln2, 4 * l + 2, w.wgu, 2 * F, C); // [M,C]·[2F,C]ᵀ
      k.swigluForward(L.h, L.gu, M, F);
      mm(next, L.h, 4 * l + 3, w.wdown, C, F); // [M,F]·[C,F]ᵀ
      k.add(next, next, L.xmid, M * C);
    }
    k.rmsnormForward(a.lnf, a.rstdf, a.xf, this.params.finalNorm, M, C, c.rmsEps);
    mm(a.logits, a.lnf, 4 * c.layers, this.params.embed, c.vocabSize, C); // tied head
    if (!targets) {
      this.count = 0;
      return { loss: Number.NaN, count: 0 };
    }
    if (targets.length !== M) throw new Error(`targets hold ${targets.length} ids, B·T is ${M}`);
    let count = 0;
    for (let i = 0; i < M; i++) if (targets[i] >= 0) count++;
    this.targets = targets;
    this.count = count;
    const sum = k.crossEntropy(null, a.losses, a.logits, targets, M, c.vocabSize, 0);
    return { loss: count > 0 ? sum / count : 0, count };
  }

  /** Logits [B·T, V] of the last forward pass. */
  logits(): Float32Array {
    if (!this.acts) throw new Error("no forward pass yet");
    return this.acts.logits;
  }

  /** Zeroes the gradient buffer. */
  zeroGrad(): void {
    this.grads.flat.fill(0);
  }

  /** Per-position losses −log p(target) [B·T] of the last forward with targets (0 where ignored). */
  tokenLosses(): Float32Array {
    if (!this.acts || this.count === 0) throw new Error("no forward pass with targets yet");
    return this.acts.losses;
  }

  /**
   * Backward pass of the last forward (which must have had targets); ACCUMULATES into the gradients
   * with the loss scaled by `scale` (1/accumulation steps). With `rowWeights` [B·T] the loss is
   * instead Σ_t w_t·(−log p_t) (a policy-gradient loss: w_t = −∂L/∂log p_t), and `scale` is ignored.
   * Overwrites the saved logits.
   */
  backward(scale = 1, rowWeights?: Float32Array): void {
    const a = this.acts;
    if (!a || this.count === 0) throw new Error("backward needs a forward pass with targets first");
    const k = this.kernels;
    const c = this.config;
    const [B, T] = this.shape;
    const { M, C, hd, H, Hkv, Q, D, F } = dims(c, B, T);
    const V = c.vocabSize;
    const g = this.grads;
    if (rowWeights) {
      if (rowWeights.length < M) throw new Error(`rowWeights hold ${rowWeights.length} values, B·T is ${M}`);
      k.crossEntropy(a.logits, a.losses, a.logits, this.targets, M, V, 1);
      k.scaleRows(a.logits, rowWeights, M, V);
    } else k.crossEntropy(a.logits, a.losses, a.logits, this.targets, M, V, scale / this.count);
    const dlogits = a.logits;
    const bf = this.precision === "bf16";
    if (bf) this.pack(true);
    // dx[M,K] = dy[M,N]·P_i [N,K] (the i-th packed weight, as in forward).
    const dx = (out: Float32Array, dy: Float32Array, i: number, w: Float32Array, N: number, K: number) => {
      if (bf) k.matmulBf16(out, dy, this.packs[i].bwd, M, K, N);
      else k.matmul(out, dy, w, M, K, N, false, false, 1, 0);
    };
    // dP[N,K] += dyᵀ[N,M]·x[M,K]
    const dw = (out: Float32Array, dy: Float32Array, x: Float32Array, N: number, K: number) => {
      if (bf) k.matmulMixed(out, dy, x, N, K, M, true, false, 1, 1);
      else k.matmul(out, dy, x, N, K, M, true, false, 1, 1);
    };
    // logits = lnf·embedᵀ → dlnf = dlogits·embed [M,V]·[V,C]; dembed += dlogitsᵀ·lnf [V,M]·[M,C]
    dx(a.dln, dlogits, 4 * c.layers, this.params.embed, V, C);
    dw(g.embed, dlogits, a.lnf, V, C);
    a.dres.fill(0);
    k.rmsnormBackward(a.dres, g.finalNorm, a.dln, a.xf, this.params.finalNorm, a.rstdf, M, C);
    for (let l = c.layers - 1; l >= 0; l--) {
      const L = a.layers[l];
      const w = this.params.layers[l];
      const gw = g.layers[l];
      // x_{l+1} = xmid + h·wdownᵀ; dres holds ∂/∂x_{l+1}.
      dx(a.dh, a.dres, 4 * l + 3, w.wdown, C, F); // [M,C]·[C,F]
      dw(gw.wdown, a.dres, L.h, C, F); // [C,M]·[M,F]
      a.dgu.fill(0);
      k.swigluBackward(a.dgu, a.dh, L.gu, M, F);
      dx(a.dln, a.dgu, 4 * l + 2, w.wgu, 2 * F, C); // [M,2F]·[2F,C]
      dw(gw.wgu, a.dgu, L.ln2, 2 * F, C); // [2F,M]·[M,C]
      k.rmsnormBackward(a.dres, gw.postNorm, a.dln, L.xmid, w.postNorm, L.rstd2, M, C); // dres = ∂/∂xmid
      // xmid = x + atty·woᵀ
      dx(a.datty, a.dres, 4 * l + 1, w.wo, C, Q); // [M,C]·[C,Q]
      dw(gw.wo, a.dres, L.atty, C, Q); // [C,M]·[M,Q]
      a.dqkv.fill(0);
      k.attentionBackward(a.dqkv, a.datty, L.qkv, L.probs, B, T, H, Hkv, hd, this.start);
      k.rope(a.dqkv, B, T, H, Hkv, hd, c.ropeTheta, 0, true);
      k.biasBackward(gw.bqkv, a.dqkv, M, D);
      dx(a.dln, a.dqkv, 4 * l, w.wqkv, D, C); // [M,D]·[D,C]
      dw(gw.wqkv, a.dqkv, L.ln1, D, C); // [D,M]·[M,C]
      k.rmsnormBackward(a.dres, gw.inNorm, a.dln, L.x, w.inNorm, L.rstd1, M, C); // dres = ∂/∂x_l
    }
    k.embeddingBackward(g.embed, a.dres, this.tokens, M, C);
  }

  /**
   * Rounds the current weights into their bf16 packs: the forward layout at every forward, the
   * backward layout once at the first backward after it (the weights cannot change in between).
   */
  private pack(backward: boolean): void {
    const k = this.kernels;
    if (this.packs.length === 0) {
      const c = this.config;
      const { C, Q, D, F } = dims(c, 1, 1);
      const add = (w: Float32Array, N: number, K: number) =>
        this.packs.push({
          w,
          N,
          K,
          fwd: new Uint16Array(bf16PackedSize(N, K)),
          bwd: new Uint16Array(bf16PackedSize(K, N)),
        });
      for (const w of this.params.layers) {
        add(w.wqkv, D, C);
        add(w.wo, C, Q);
        add(w.wgu, 2 * F, C);
        add(w.wdown, C, F);
      }
      add(this.params.embed, c.vocabSize, C);
    }
    if (!backward) {
      for (const p of this.packs) k.packBf16(p.fwd, p.w, p.N, p.K);
      this.packedBackward = false;
    } else if (!this.packedBackward) {
      for (const p of this.packs) k.packBf16(p.bwd, p.w, p.K, p.N, true);
      this.packedBackward = true;
    }
  }

  /** Global L2 norm of the gradients. */
  gradNorm(): number {
    return Math.sqrt(this.kernels.sumSquares(this.grads.flat, this.grads.flat.length));
  }
}
