/**
 * Reference kernels: the naive definition of every kernel, in TypeScript with float64 accumulation.
 * Slow on purpose and easy to read; tests compare the native kernels against these.
 */
import { fromBf16, fromHalf, toBf16Ftz, toHalf } from "./half.js";
import { type BackendInfo, bf16PackedSize, type Kernels, type KVCache } from "./kernels.js";

/** x rounded to bfloat16 as the products' operands are (nearest even, denormals to 0). */
const bf16 = (x: number): number => fromBf16(toBf16Ftz(x));

const silu = (x: number) => x / (1 + Math.exp(-x));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** A cache's element writer and reader: float32 as is, Uint16Array as half precision (rounded to nearest even). */
function cacheIo(kc: KVCache, vc: KVCache) {
  const half = kc instanceof Uint16Array;
  if (half !== vc instanceof Uint16Array) throw new TypeError("kc and vc must have the same element type");
  return half
    ? { put: (x: number) => toHalf(x), get: (h: number) => fromHalf(h) }
    : { put: (x: number) => x, get: (x: number) => x };
}

/** Throws a RangeError, as the native kernels do, unless document starts are in [0, t] and non-decreasing in t. */
function checkStarts(start: Int32Array, B: number, T: number): void {
  if (start.length < B * T) throw new RangeError(`start has ${start.length} entries, needs ${B * T}`);
  for (let i = 0; i < B * T; i++) {
    const t = i % T;
    if (!(start[i] >= 0 && start[i] <= t) || (t > 0 && start[i] < start[i - 1]))
      throw new RangeError(`start[${i}] must be in [0, ${t}] and non-decreasing in t`);
  }
}

/** Throws a RangeError, as the native kernels do, when a decode row points outside the cache. */
function checkRows(slot: Int32Array, pos: Int32Array, N: number, S: number, Tmax: number): void {
  for (let r = 0; r < N; r++) {
    if (!(pos[r] >= 0 && pos[r] < Tmax)) throw new RangeError("pos out of range [0, Tmax)");
    if (!(slot[r] >= 0 && slot[r] < S)) throw new RangeError("slot out of range [0, slots)");
  }
}

/** The reference backend. */
export const reference: Kernels = {
  info(): BackendInfo {
    return { name: "reference", path: "reference", threads: 1, simd: "none", bf16: "reference" };
  },

  alloc(n) {
    return new Float32Array(n);
  },

  matmul(c, a, b, M, N, K, transA, transB, alpha, beta) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = transA ? a[k * M + i] : a[i * K + k];
          const bv = transB ? b[j * K + k] : b[k * N + j];
          s += av * bv;
        }
        c[i * N + j] = alpha * s + (beta === 0 ? 0 : beta * c[i * N + j]);
      }
    }
  },

  addBias(out, bias, M, N) {
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) out[i * N + j] += bias[j];
  },

  biasBackward(dbias, dout, M, N) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let i = 0; i < M; i++) s += dout[i * N + j];
      dbias[j] += s;
    }
  },

  embeddingForward(out, tokens, wte, T, C) {
    for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) out[t * C + c] = wte[tokens[t] * C + c];
  },

  embeddingBackward(dwte, dout, tokens, T, C) {
    for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) dwte[tokens[t] * C + c] += dout[t * C + c];
  },

  rmsnormForward(out, rstd, x, w, M, C, eps) {
    for (let i = 0; i < M; i++) {
      let ss = 0;
      for (let c = 0; c < C; c++) ss += x[i * C + c] * x[i * C + c];
      const r = 1 / Math.sqrt(ss / C + eps);
      rstd[i] = r;
      for (let c = 0; c < C; c++) out[i * C + c] = x[i * C + c] * r * w[c];
    }
  },

  rmsnormBackward(dx, dw, dout, x, w, rstd, M, C) {
    for (let i = 0; i < M; i++) {
      const r = rstd[i];
      // y = x·r·w, r = (mean x² + eps)^−1/2 → dx = r·(dy·w) − x·r³·mean(dy·w·x)
      let dot = 0;
      for (let c = 0; c < C; c++) dot += dout[i * C + c] * w[c] * x[i * C + c];
      const k = (r * r * r * dot) / C;
      for (let c = 0; c < C; c++) {
        dx[i * C + c] += r * dout[i * C + c] * w[c] - k * x[i * C + c];
        dw[c] += dout[i * C + c] * x[i * C + c] * r;
      }
    }
  },

  rope(qkv, B, T, H, Hkv, hd, theta, pos0, inverse) {
    const half = hd / 2;
    const stride = (H + 2 * Hkv) * hd;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const base = (b * T + t) * stride;
        for (let h = 0; h < H + Hkv; h++) {
          const o = base + h * hd;
          for (let i = 0; i < half; i++) {
            const ang = (pos0 + t) * theta ** ((-2 * i) / hd);
            const cos = Math.cos(ang);
            const sin = inverse ? -Math.sin(ang) : Math.sin(ang);
            const x1 = qkv[o + i];
            const x2 = qkv[o + half + i];
            qkv[o + i] = x1 * cos - x2 * sin;
            qkv[o + half + i] = x2 * cos + x1 * sin;
          }
        }
      }
    }
  },

  ropeRows(qkv, pos, N, H, Hkv, hd, theta) {
    const stride = (H + 2 * Hkv) * hd;
    for (let r = 0; r < N; r++)
      this.rope(qkv.subarray(r * stride, (r + 1) * stride), 1, 1, H, Hkv, hd, theta, pos[r], false);
  },

  kvWrite(kc, vc, qkv, slot, pos, N, H, Hkv, hd, Tmax, S) {
    const stride = (H + 2 * Hkv) * hd;
    const { put } = cacheIo(kc, vc);
    checkRows(slot, pos, N, S, Tmax);
    for (let r = 0; r < N; r++) {
      for (let g = 0; g < Hkv; g++) {
        const at = ((slot[r] * Hkv + g) * Tmax + pos[r]) * hd;
        for (let i = 0; i < hd; i++) {
          kc[at + i] = put(qkv[r * stride + (H + g) * hd + i]);
          vc[at + i] = put(qkv[r * stride + (H + Hkv + g) * hd + i]);
        }
      }
    }
  },

  attentionCached(out, qkv, kc, vc, slot, pos, N, H, Hkv, hd, Tmax, S) {
    const stride = (H + 2 * Hkv) * hd;
    const { get } = cacheIo(kc, vc);
    const scale = 1 / Math.sqrt(hd);
    checkRows(slot, pos, N, S, Tmax);
    for (let r = 0; r < N; r++) {
      const n = pos[r] + 1;
      const w = new Float64Array(n);
      for (let h = 0; h < H; h++) {
        const g = Math.floor((h * Hkv) / H);
        const base = (slot[r] * Hkv + g) * Tmax * hd;
        let mx = Number.NEGATIVE_INFINITY;
        for (let s = 0; s < n; s++) {
          let d = 0;
          for (let i = 0; i < hd; i++) d += qkv[r * stride + h * hd + i] * get(kc[base + s * hd + i]);
          w[s] = d * scale;
          mx = Math.max(mx, w[s]);
        }
        let sum = 0;
        for (let s = 0; s < n; s++) {
          w[s] = Math.exp(w[s] - mx);
          sum += w[s];
        }
        for (let i = 0; i < hd; i++) {
          let o = 0;
          for (let s = 0; s < n; s++) o += w[s] * get(vc[base + s * hd + i]);
          out[r * H * hd + h * hd + i] = o / sum;
        }
      }
    }
  },

  attentionForward(out, probs, qkv, B, T, H, Hkv, hd, start) {
    const stride = (H + 2 * Hkv) * hd;
    const scale = 1 / Math.sqrt(hd);
    const row = new Float64Array(T);
    if (start) checkStarts(start, B, T);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const kvh = Math.floor((h * Hkv) / H);
        for (let t = 0; t < T; t++) {
          const q = (b * T + t) * stride + h * hd;
          const s0 = start ? start[b * T + t] : 0;
          let max = Number.NEGATIVE_INFINITY;
          row.fill(0, 0, s0);
          for (let s = s0; s <= t; s++) {
            const k = (b * T + s) * stride + (H + kvh) * hd;
            let d = 0;
            for (let i = 0; i < hd; i++) d += qkv[q + i] * qkv[k + i];
            row[s] = d * scale;
            if (row[s] > max) max = row[s];
          }
          let sum = 0;
          for (let s = s0; s <= t; s++) {
            row[s] = Math.exp(row[s] - max);
            sum += row[s];
          }
          const p = ((b * H + h) * T + t) * T;
          for (let s = 0; s < T; s++) probs[p + s] = s <= t ? row[s] / sum : 0;
          const o = (b * T + t) * H * hd + h * hd;
          for (let i = 0; i < hd; i++) {
            let acc = 0;
            for (let s = 0; s <= t; s++)
              acc += (row[s] / sum) * qkv[(b * T + s) * stride + (H + Hkv + kvh) * hd + i];
            out[o + i] = acc;
          }
        }
      }
    }
  },

  attentionBackward(dqkv, dout, qkv, probs, B, T, H, Hkv, hd, start) {
    // Masked probabilities are 0, so the plain backward is already the masked one.
    if (start) checkStarts(start, B, T);
    const stride = (H + 2 * Hkv) * hd;
    const scale = 1 / Math.sqrt(hd);
    const dp = new Float64Array(T);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const kvh = Math.floor((h * Hkv) / H);
        for (let t = 0; t < T; t++) {
          const p = ((b * H + h) * T + t) * T;
          const o = (b * T + t) * H * hd + h * hd;
          const q = (b * T + t) * stride + h * hd;
          // dv += p·dout; dp = dout·v; dscore = p·(dp − Σ p·dp)
          let dot = 0;
          for (let s = 0; s <= t; s++) {
            const v = (b * T + s) * stride + (H + Hkv + kvh) * hd;
            let d = 0;
            for (let i = 0; i < hd; i++) {
              d += dout[o + i] * qkv[v + i];
              dqkv[v + i] += probs[p + s] * dout[o + i];
            }
            dp[s] = d;
            dot += probs[p + s] * d;
          }
          for (let s = 0; s <= t; s++) {
            const ds = probs[p + s] * (dp[s] - dot) * scale;
            const k = (b * T + s) * stride + (H + kvh) * hd;
            for (let i = 0; i < hd; i++) {
              dqkv[q + i] += ds * qkv[k + i];
              dqkv[k + i] += ds * qkv[q + i];
            }
          }
        }
      }
    }
  },

  swigluForward(out, gu, M, F) {
    for (let i = 0; i < M; i++)
      for (let j = 0; j < F; j++) out[i * F + j] = silu(gu[i * 2 * F + j]) * gu[i * 2 * F + F + j];
  },

  swigluBackward(dgu, dout, gu, M, F) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < F; j++) {
        const g = gu[i * 2 * F + j];
        const u = gu[i * 2 * F + F + j];
        const s = sigmoid(g);
        const d = dout[i * F + j];
        dgu[i * 2 * F + j] += d * u * s * (1 + g * (1 - s));
        dgu[i * 2 * F + F + j] += d * g * s;
      }
    }
  },

  crossEntropy(dlogits, losses, logits, targets, M, V, gradScale) {
    let total = 0;
    for (let i = 0; i < M; i++) {
      const o = i * V;
      const y = targets[i];
      if (y < 0) {
        losses[i] = 0;
        if (dlogits) for (let j = 0; j < V; j++) dlogits[o + j] = 0;
        continue;
      }
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < V; j++) if (logits[o + j] > max) max = logits[o + j];
      let sum = 0;
      for (let j = 0; j < V; j++) sum += Math.exp(logits[o + j] - max);
      const lse = max + Math.log(sum);
      losses[i] = lse - logits[o + y];
      total += losses[i];
      if (dlogits) {
        for (let j = 0; j < V; j++) {
          const p = Math.exp(logits[o + j] - lse);
          dlogits[o + j] = (p - (j === y ? 1 : 0)) * gradScale;
        }
      }
    }
    return total;
  },

  add(out, a, b, n) {
    for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
  },

  scale(x, n, s) {
    for (let i = 0; i < n; i++) x[i] *= s;
  },

  scaleRows(x, w, M, N) {
    if (w.length < M) throw new RangeError(`scaleRows: w has ${w.length} elements, needs ${M}`);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) x[i * N + j] *= w[i];
  },

  packBf16(wp, w, N, K, trans = false) {
    const need = bf16PackedSize(N, K);
    if (wp.length < need) throw new RangeError(`packBf16: wp has ${wp.length} elements, needs ${need}`);
    const K2 = Math.ceil(K / 2);
    for (let p = 0; p < Math.ceil(N / 16); p++)
      for (let k2 = 0; k2 < K2; k2++)
        for (let j = 0; j < 16; j++)
          for (let e = 0; e < 2; e++) {
            const n = p * 16 + j;
            const k = 2 * k2 + e;
            wp[((p * K2 + k2) * 16 + j) * 2 + e] =
              n < N && k < K ? toBf16Ftz(trans ? w[k * N + n] : w[n * K + k]) : 0;
          }
  },

  matmulBf16(c, a, wp, M, N, K, beta = 0) {
    const K2 = Math.ceil(K / 2);
    if (wp.length < bf16PackedSize(N, K)) throw new RangeError("matmulBf16: wp is too small");
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        const p = Math.floor(n / 16);
        const j = n % 16;
        let s = 0;
        for (let k = 0; k < K; k++)
          s += bf16(a[m * K + k]) * fromBf16(wp[((p * K2 + (k >> 1)) * 16 + j) * 2 + (k & 1)]);
        c[m * N + n] = s + (beta === 0 ? 0 : beta * c[m * N + n]);
      }
  },

  matmulMixed(c, a, b, M, N, K, transA, transB, alpha, beta) {
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++)
          s += bf16(transA ? a[k * M + i] : a[i * K + k]) * bf16(transB ? b[j * K + k] : b[k * N + j]);
        c[i * N + j] = alpha * s + (beta === 0 ? 0 : beta * c[i * N + j]);
      }
  },

  drawRows(tokens, logits, u, L, V, invT) {
    if (!(V >= 1)) throw new RangeError("drawRows: V must be positive");
    if (!(invT >= 0 && Number.isFinite(invT))) throw new RangeError("drawRows: invT must be finite and >= 0");
    const p = new Float64Array(V);
    for (let r = 0; r < L; r++) {
      const x = logits.subarray(r * V, (r + 1) * V);
      let best = 0;
      for (let j = 1; j < V; j++) if (x[j] > x[best]) best = j;
      if (invT === 0) {
        tokens[r] = best;
        continue;
      }
      let sum = 0;
      for (let j = 0; j < V; j++) {
        p[j] = Math.exp((x[j] - x[best]) * invT);
        sum += p[j];
      }
      let t = u[r] * sum;
      let pick = -1;
      for (let j = 0; j < V && pick < 0; j++) {
        t -= p[j];
        if (t < 0) pick = j;
      }
      // Rounding left t a hair above 0: the last token with mass.
      if (pick < 0) for (pick = V - 1; pick > 0 && p[pick] === 0; pick--);
      tokens[r] = pick;
    }
  },

  sumSquares(x, n) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] * x[i];
    return s;
  },

  adamw(p, g, m, v, n, lr, beta1, beta2, eps, wd, t) {
    const c1 = 1 - beta1 ** t;
    const c2 = 1 - beta2 ** t;
    for (let i = 0; i < n; i++) {
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      const mh = m[i] / c1;
      const vh = v[i] / c2;
      p[i] -= lr * (mh / (Math.sqrt(vh) + eps) + wd * p[i]);
    }
  },
};
