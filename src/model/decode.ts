/**
 * The decode path: the model's forward over N rows that each sit at their own position of their own
 * sequence, with keys and values kept in a preallocated cache of S slots × Tmax positions per layer.
 * Prefill (the P rows of a prompt in one slot) and a decode step (one row per active slot) are the
 * same call. Logits are computed only for the rows asked for. Shapes: N rows, C hidden, V vocab,
 * F mlp, hd head dim, Q = H·hd, D = (H + 2·Hkv)·hd; cache [S, Hkv, Tmax, hd] per layer.
 */
import { bf16PackedSize, type Kernels, type KVCache } from "../engine/kernels.js";
import type { ModelConfig } from "./config.js";
import { dims, type Model } from "./model.js";

/** Scratch activations for up to `cap` rows. */
class RowActs {
  readonly x: Float32Array; // [N,C] residual stream
  readonly ln: Float32Array; // [N,C]
  readonly rstd: Float32Array; // [N]
  readonly qkv: Float32Array; // [N,D]
  readonly atty: Float32Array; // [N,Q]
  readonly xmid: Float32Array; // [N,C]
  readonly gu: Float32Array; // [N,2F]
  readonly h: Float32Array; // [N,F]
  readonly tokens: Int32Array; // [N]
  readonly slot: Int32Array; // [N]
  readonly pos: Int32Array; // [N]

  constructor(
    k: Kernels,
    c: ModelConfig,
    readonly cap: number,
  ) {
    const { C, D, Q, F } = dims(c, 1, cap);
    this.x = k.alloc(cap * C);
    this.ln = k.alloc(cap * C);
    this.rstd = k.alloc(cap);
    this.qkv = k.alloc(cap * D);
    this.atty = k.alloc(cap * Q);
    this.xmid = k.alloc(cap * C);
    this.gu = k.alloc(cap * 2 * F);
    this.h = k.alloc(cap * F);
    this.tokens = new Int32Array(cap);
    this.slot = new Int32Array(cap);
    this.pos = new Int32Array(cap);
  }
}

/** One row of a decode call: token `token` at position `pos` of cache slot `slot`. */
export interface DecodeRow {
  token: number;
  slot: number;
  pos: number;
}

/** Element type of the cache: float32, or half precision (half the bytes read per decode step). */
export const KV_PRECISIONS = ["f32", "f16"] as const;
export type KVPrecision = (typeof KV_PRECISIONS)[number];
/** Matrix products of decoding: float32, or bfloat16 inputs with float32 sums (AVX512_BF16). */
export const PRODUCT_PRECISIONS = ["f32", "bf16"] as const;
export type ProductPrecision = (typeof PRODUCT_PRECISIONS)[number];

/** A weight [N,K] in bf16 panels (see `Kernels.packBf16`). */
interface Packed {
  wp: Uint16Array;
  N: number;
  K: number;
}

/** Per layer [qkv, o, gate-up, down], and the tied head. */
interface PackedWeights {
  layers: Packed[][];
  head: Packed;
}

/** A model with a key/value cache of `slots` sequences of up to `maxLen` tokens. */
export class KVDecoder {
  readonly kc: KVCache[]; // per layer [S, Hkv, Tmax, hd]
  readonly vc: KVCache[];
  private acts: RowActs | null = null;
  private lnf: Float32Array = new Float32Array(0);
  private rstdf: Float32Array = new Float32Array(0);
  private logitBuf: Float32Array = new Float32Array(0);
  private packed: PackedWeights | null = null;

  constructor(
    readonly model: Model,
    readonly slots: number,
    readonly maxLen: number,
    readonly cache: KVPrecision = "f32",
    readonly products: ProductPrecision = "f32",
  ) {
    const c = model.config;
    if (!(Number.isInteger(slots) && slots >= 1))
      throw new Error(`slots must be a positive integer, got ${slots}`);
    if (!(Number.isInteger(maxLen) && maxLen >= 1 && maxLen <= c.context))
      throw new Error(`maxLen must be an integer in [1, ${c.context}] (the model context), got ${maxLen}`);
    const { hd, Hkv } = dims(c, 1, 1);
    if (cache !== "f32" && cache !== "f16") throw new Error(`cache must be "f32" or "f16", got ${cache}`);
    if (products !== "f32" && products !== "bf16")
      throw new Error(`products must be "f32" or "bf16", got ${products}`);
    const n = slots * Hkv * maxLen * hd;
    const k = model.kernels;
    const alloc = (): KVCache => {
      if (cache === "f32") return k.alloc(n);
      const f = k.alloc(Math.ceil(n / 2)); // aligned memory of the backend, viewed as half-precision bits
      return new Uint16Array(f.buffer, f.byteOffset, n);
    };
    this.kc = Array.from({ length: c.layers }, alloc);
    this.vc = Array.from({ length: c.layers }, alloc);
  }

  /**
   * Rounds the model's current weights into the bf16 panels (bf16 products only; call again after
   * the weights change — the sampler does at every call).
   */
  refreshWeights(): void {
    if (this.products !== "bf16") return;
    const k = this.model.kernels;
    const c = this.model.config;
    const p = this.model.params;
    const { C, Q, D, F } = dims(c, 1, 1);
    const pack = (w: Float32Array, N: number, K: number, old?: Packed): Packed => {
      const wp = old?.wp ?? new Uint16Array(bf16PackedSize(N, K));
      k.packBf16(wp, w, N, K);
      return { wp, N, K };
    };
    const old = this.packed;
    this.packed = {
      layers: p.layers.map((w, l) => [
        pack(w.wqkv, D, C, old?.layers[l][0]),
        pack(w.wo, C, Q, old?.layers[l][1]),
        pack(w.wgu, 2 * F, C, old?.layers[l][2]),
        pack(w.wdown, C, F, old?.layers[l][3]),
      ]),
      head: pack(p.embed, c.vocabSize, C, old?.head),
    };
  }

  private rows(n: number): RowActs {
    if (!this.acts || this.acts.cap < n)
      this.acts = new RowActs(this.model.kernels, this.model.config, Math.max(n, 16));
    return this.acts;
  }

  /** Copies positions [0, len) of slot `src` into slot `dst` in every layer (a shared prefill). */
  copySlot(dst: number, src: number, len: number): void {
    if (dst === src || len === 0) return;
    const { hd, Hkv } = dims(this.model.config, 1, 1);
    const T = this.maxLen;
    for (let l = 0; l < this.kc.length; l++) {
      for (let g = 0; g < Hkv; g++) {
        const from = (src * Hkv + g) * T * hd;
        const to = (dst * Hkv + g) * T * hd;
        this.kc[l].copyWithin(to, from, from + len * hd);
        this.vc[l].copyWithin(to, from, from + len * hd);
      }
    }
  }

  /**
   * Runs the model over `rows` (their keys and values enter the cache; a row attends to positions
   * 0..pos of its slot, so earlier positions must already be cached or be in this call) and returns
   * the logits [logitRows.length, V] of the rows listed in `logitRows` (indices into `rows`).
   * The returned buffer is reused by the next call.
   */
  forward(rows: readonly DecodeRow[], logitRows: readonly number[]): Float32Array {
    const k = this.model.kernels;
    const c = this.model.config;
    const p = this.model.params;
    const N = rows.length;
    const { C, hd, H, Hkv, Q, D, F } = dims(c, 1, N);
    const V = c.vocabSize;
    const S = this.slots;
    const T = this.maxLen;
    const a = this.rows(N);
    for (let r = 0; r < N; r++) {
      const row = rows[r];
      if (!(row.token >= 0 && row.token < V))
        throw new RangeError(`token ${row.token} outside the vocabulary [0, ${V})`);
      a.tokens[r] = row.token;
      a.slot[r] = row.slot;
      a.pos[r] = row.pos;
    }
    const bf = this.products === "bf16";
    if (bf && !this.packed) this.refreshWeights();
    const mm = (
      out: Float32Array,
      x: Float32Array,
      w: Float32Array,
      l: number,
      i: number,
      Nout: number,
      K: number,
    ) => {
      if (bf) k.matmulBf16(out, x, (this.packed as PackedWeights).layers[l][i].wp, N, Nout, K);
      else k.matmul(out, x, w, N, Nout, K, false, true, 1, 0);
    };
    k.embeddingForward(a.x, a.tokens, p.embed, N, C);
    for (let l = 0; l < c.layers; l++) {
      const w = p.layers[l];
      k.rmsnormForward(a.ln, a.rstd, a.x, w.inNorm, N, C, c.rmsEps);
      mm(a.qkv, a.ln, w.wqkv, l, 0, D, C); // [N,C]·[D,C]ᵀ
      k.addBias(a.qkv, w.bqkv, N, D);
      k.ropeRows(a.qkv, a.pos, N, H, Hkv, hd, c.ropeTheta);
      k.kvWrite(this.kc[l], this.vc[l], a.qkv, a.slot, a.pos, N, H, Hkv, hd, T, S);
      k.attentionCached(a.atty, a.qkv, this.kc[l], this.vc[l], a.slot, a.pos, N, H, Hkv, hd, T, S);
      mm(a.xmid, a.atty, w.wo, l, 1, C, Q); // [N,Q]·[C,Q]ᵀ
      k.add(a.xmid, a.xmid, a.x, N * C);
      k.rmsnormForward(a.ln, a.rstd, a.xmid, w.postNorm, N, C, c.rmsEps);
      mm(a.gu, a.ln, w.wgu, l, 2, 2 * F, C); // [N,C]·[2F,C]ᵀ
      k.swigluForward(a.h, a.gu, N, F);
      mm(a.x, a.h, w.wdown, l, 3, C, F); // [N,F]·[C,F]ᵀ
      k.add(a.x, a.x, a.xmid, N * C);
    }
    const L = logitRows.length;
    if (this.lnf.length < L * C) {
      this.lnf = k.alloc(Math.max(L, 16) * C);
      this.rstdf = k.alloc(Math.max(L, 16));
      this.logitBuf = k.alloc(Math.max(L, 16) * V);
    }
    // Gather the asked-for rows (into ln, free now), then the final norm and the tied head.
    for (let i = 0; i < L; i++) {
      const r = logitRows[i];
      if (!(r >= 0 && r < N)) throw new RangeError(`logit row ${r} outside [0, ${N})`);
      a.ln.set(a.x.subarray(r * C, r * C + C), i * C);
    }
    k.rmsnormForward(this.lnf, this.rstdf, a.ln, p.finalNorm, L, C, c.rmsEps);
    if (bf) {
      k.matmulBf16(this.logitBuf, this.lnf, (this.packed as PackedWeights).head.wp, L, V, C); // [L,C]·[V,C]ᵀ
    } else k.matmul(this.logitBuf, this.lnf, p.embed, L, V, C, false, true, 1, 0); // [L,C]·[V,C]ᵀ
    return this.logitBuf.subarray(0, L * V);
  }
}
