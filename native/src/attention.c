/* Causal grouped-query attention, forward and backward, built directly on the SGEMM micro-kernel:
 * each operand is packed once per (batch, head) into the micro-kernel's panel formats, and only
 * the MR × NR tiles on or below the diagonal are computed. Parallel over (batch, head) in the
 * forward and over (batch, kv head) in the backward, so that the key/value gradients of a group
 * are accumulated by one thread. */
#include "kernels.h"
#include "ukernel.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

/* Carves 64-byte aligned pieces out of one scratch block. */
typedef struct {
  float *p;
} Carver;

static float *carve(Carver *c, int64_t floats) {
  float *r = c->p;
  c->p += (floats + 15) / 16 * 16;
  return r;
}

/* B-format panels of a [rows × cols] row-major matrix with leading dimension ld, taken as
 * op(B) of depth `rows` (trans = 0: B(k=row, j=col)) or depth `cols` (trans = 1: B(k=col, j=row)).
 * Panel jp starts at dst + jp·depth·NR. */
static void pack_b_all(const float *X, int64_t ld, int trans, int64_t depth, int64_t width, float *dst) {
  for (int64_t j0 = 0; j0 < width; j0 += NR) pack_b_panel(X, ld, trans, j0, min64(NR, width - j0), 0, depth, dst + j0 * depth);
}

/* A-format panels of op(A) for all rows (depth `depth`); panel ip starts at dst + ip·MR·depth. */
static void pack_a_all(const float *X, int64_t ld, int trans, int64_t rows, int64_t depth, float *dst) {
  for (int64_t i0 = 0; i0 < rows; i0 += MR) pack_a_panel(X, ld, trans, i0, min64(MR, rows - i0), 0, depth, dst + i0 * depth);
}

/* dst[0, n_copy) = src, dst[n_copy, n) = 0 with non-temporal stores where possible: the saved
 * probabilities are read again only by the backward pass, long after they left the caches. */
static inline void stream_row(float *dst, const float *src, int64_t n_copy, int64_t n) {
  int64_t j = 0;
#if defined(__AVX512F__)
  if (((uintptr_t)dst & 63) == 0) {
    for (; j + 16 <= n; j += 16) {
      __m512 v;
      if (j + 16 <= n_copy)
        v = _mm512_loadu_ps(src + j);
      else if (j >= n_copy)
        v = _mm512_setzero_ps();
      else
        v = _mm512_maskz_loadu_ps((__mmask16)((1u << (n_copy - j)) - 1u), src + j);
      _mm512_stream_ps(dst + j, v);
    }
  }
#endif
  for (; j < n; j++) dst[j] = j < n_copy ? src[j] : 0.0f;
}

/* exp(x − max) over a row, in place; returns the sum. */
static inline float exp_row(float *row, int64_t n) {
  float mx = row[0];
#pragma omp simd reduction(max : mx)
  for (int64_t s = 1; s < n; s++) mx = row[s] > mx ? row[s] : mx;
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t s = 0; s < n; s++) {
    const float e = ip_expf(row[s] - mx);
    row[s] = e;
    sum += e;
  }
  return sum;
}

void k_attention_forward(float *out, float *probs, const float *qkv, int64_t B, int64_t T, int64_t H, int64_t Hkv,
                         int64_t hd, const int32_t *start) {
  if (B == 0 || T == 0 || H == 0) return;
  const int64_t stride = (H + 2 * Hkv) * hd, ldo = H * hd;
  const int64_t Tm = ceil_div(T, MR) * MR, Tn = ceil_div(T, NR) * NR, hdn = ceil_div(hd, NR) * NR;
  const float scale = (float)(1.0 / sqrt((double)hd));
  const int64_t ntask = B * H;
  int nt = ip_threads;
  if (ntask < 2 || (double)ntask * T * T * hd < 65536.0) nt = 1;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (nt > 1)
  for (int64_t task = 0; task < ntask; task++) {
    const int64_t b = task / H, h = task % H, kvh = h * Hkv / H;
    const float *Q = qkv + b * T * stride + h * hd;
    const float *K = qkv + b * T * stride + (H + kvh) * hd;
    const float *V = qkv + b * T * stride + (H + Hkv + kvh) * hd;
    float *P = probs + (b * H + h) * T * T;
    float *O = out + b * T * ldo + h * hd;

    Carver cv = {ip_scratch(2, (size_t)(Tm * hd + hd * Tn + T * hdn + 2 * MR * Tn + 80))};
    float *Qa = carve(&cv, Tm * hd);  /* Q as A panels, depth hd */
    float *Kb = carve(&cv, hd * Tn);  /* K^T as B panels: depth hd, columns s */
    float *Vb = carve(&cv, T * hdn);  /* V as B panels: depth s, columns hd */
    float *Pa = carve(&cv, MR * T);   /* one row panel of P as an A panel */
    float *Sx = carve(&cv, MR * Tn);  /* one row panel of scores / probabilities, row-major */
    pack_a_all(Q, stride, 0, T, hd, Qa);
    pack_b_all(K, stride, 1, hd, T, Kb);
    pack_b_all(V, stride, 0, T, hd, Vb);

    const int32_t *st = start ? start + b * T : NULL;
    for (int64_t t0 = 0; t0 < T; t0 += MR) {
      const int64_t mr = min64(MR, T - t0), tl = t0 + mr; /* rows t0..tl-1 see columns < tl */
      /* With a document mask, rows t0.. see no column before their first start (starts grow with t):
       * the tiles left of cs are skipped. */
      const int64_t cs = st ? st[t0] / NR * NR : 0;
      /* scores = scale · Q K^T on the tiles touching columns cs..tl-1 */
      for (int64_t s0 = cs; s0 < tl; s0 += NR)
        ukernel(hd, Qa + t0 * hd, Kb + s0 * hd, Sx + s0, Tn, scale, 0.0f, mr, min64(NR, T - s0));
      for (int64_t t = t0; t < tl; t++) {
        float *row = Sx + (t - t0) * Tn;
        const int64_t s0 = st ? st[t] : 0; /* columns before the document's start are 0 */
        for (int64_t s = cs; s < s0; s++) row[s] = 0.0f;
        const float inv = 1.0f / exp_row(row + s0, t + 1 - s0);
#pragma omp simd
        for (int64_t s = s0; s <= t; s++) row[s] *= inv;
        for (int64_t s = t + 1; s < tl; s++) row[s] = 0.0f;
        for (int64_t s = 0; s < cs; s++) row[s] = 0.0f; /* (only for the saved copy below) */
        stream_row(P + t * T, row, t + 1, T);
      }
      /* out[t0:tl] = P[t0:tl, cs:tl] · V[cs:tl] */
      pack_a_panel(Sx, Tn, 0, 0, mr, cs, tl - cs, Pa);
      for (int64_t j0 = 0; j0 < hd; j0 += NR)
        ukernel(tl - cs, Pa, Vb + j0 * T + cs * NR, O + t0 * ldo + j0, ldo, 1.0f, 0.0f, mr, min64(NR, hd - j0));
    }
#if defined(__AVX512F__)
    _mm_sfence();
#endif
  }
}

void k_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *probs, int64_t B, int64_t T,
                          int64_t H, int64_t Hkv, int64_t hd, const int32_t *start) {
  if (B == 0 || T == 0 || H == 0) return;
  const int64_t stride = (H + 2 * Hkv) * hd, ldo = H * hd;
  const int64_t Tm = ceil_div(T, MR) * MR, Tn = ceil_div(T, NR) * NR, hdn = ceil_div(hd, NR) * NR;
  const float scale = (float)(1.0 / sqrt((double)hd));
  const int64_t ntask = B * Hkv;
  int nt = ip_threads;
  if (ntask < 2 || (double)B * H * T * T * hd < 65536.0) nt = 1;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (nt > 1)
  for (int64_t task = 0; task < ntask; task++) {
    const int64_t b = task / Hkv, kvh = task % Hkv;
    const float *K = qkv + b * T * stride + (H + kvh) * hd;
    const float *V = qkv + b * T * stride + (H + Hkv + kvh) * hd;
    float *dK = dqkv + b * T * stride + (H + kvh) * hd;
    float *dV = dqkv + b * T * stride + (H + Hkv + kvh) * hd;

    Carver cv = {ip_scratch(2, (size_t)(T * T + Tm * hd + hd * Tn + 4 * T * hdn + MR * T + 128))};
    float *S = carve(&cv, T * T);     /* dP, then dS, row-major */
    float *dOa = carve(&cv, Tm * hd); /* dO as A panels, depth hd */
    float *Vt = carve(&cv, hd * Tn);  /* V^T as B panels: depth hd, columns s */
    float *Kb = carve(&cv, T * hdn);  /* K as B panels: depth s, columns hd */
    float *Qb = carve(&cv, T * hdn);  /* Q as B panels: depth t, columns hd */
    float *dOb = carve(&cv, T * hdn); /* dO as B panels: depth t, columns hd */
    float *Aa = carve(&cv, MR * T);   /* one A panel of dS, dS^T or P^T */
    pack_b_all(V, stride, 1, hd, T, Vt);
    pack_b_all(K, stride, 0, T, hd, Kb);

    const int32_t *st = start ? start + b * T : NULL;
    for (int64_t h = 0; h < H; h++) {
      if (h * Hkv / H != kvh) continue;
      const float *Q = qkv + b * T * stride + h * hd;
      float *dQ = dqkv + b * T * stride + h * hd;
      const float *P = probs + (b * H + h) * T * T;
      const float *dO = dout + b * T * ldo + h * hd;
      pack_a_all(dO, ldo, 0, T, hd, dOa);
      pack_b_all(Q, stride, 0, T, hd, Qb);
      pack_b_all(dO, ldo, 0, T, hd, dOb);

      for (int64_t t0 = 0; t0 < T; t0 += MR) {
        const int64_t mr = min64(MR, T - t0), tl = t0 + mr;
        const int64_t cs = st ? st[t0] / NR * NR : 0; /* as in the forward: tiles left of cs are masked */
        /* dP = dO V^T on the tiles touching columns cs..tl-1 */
        for (int64_t s0 = cs; s0 < tl; s0 += NR)
          ukernel(hd, dOa + t0 * hd, Vt + s0 * hd, S + t0 * T + s0, T, 1.0f, 0.0f, mr, min64(NR, T - s0));
        /* dS = P ⊙ (dP − Σ P·dP) · scale over the document's columns; zero above the diagonal up to tl
         * and before the start from the first column a pack below reads (row t of dS is read at
         * columns cs..tl-1, and column s at rows t >= s of its MR-block). */
        for (int64_t t = t0; t < tl; t++) {
          const float *p = P + t * T;
          float *d = S + t * T;
          const int64_t s1 = st ? st[t] : 0, z0 = min64(cs, s1 / MR * MR);
          float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
          for (int64_t s = s1; s <= t; s++) dot += p[s] * d[s];
#pragma omp simd
          for (int64_t s = s1; s <= t; s++) d[s] = p[s] * (d[s] - dot) * scale;
          for (int64_t s = z0; s < s1; s++) d[s] = 0.0f;
          for (int64_t s = t + 1; s < tl; s++) d[s] = 0.0f;
        }
        /* dQ[t0:tl] += dS[t0:tl, cs:tl] · K[cs:tl] */
        pack_a_panel(S, T, 0, t0, mr, cs, tl - cs, Aa);
        for (int64_t j0 = 0; j0 < hd; j0 += NR)
          ukernel(tl - cs, Aa, Kb + j0 * T + cs * NR, dQ + t0 * stride + j0, stride, 1.0f, 1.0f, mr,
                  min64(NR, hd - j0));
      }
      for (int64_t s0 = 0, te = 0; s0 < T; s0 += MR) {
        const int64_t mr = min64(MR, T - s0);
        /* rows t >= s0 only, and with a document mask only those whose document starts inside this
         * block or before it (te grows with s0 because starts grow with t) */
        if (te < s0) te = s0;
        while (te < T && (!st || st[te] < s0 + mr)) te++;
        const int64_t depth = te - s0;
        /* dK[s0:s0+mr] += dS[s0:T, s0:s0+mr]^T · Q[s0:T] */
        pack_a_panel(S, T, 1, s0, mr, s0, depth, Aa);
        for (int64_t j0 = 0; j0 < hd; j0 += NR)
          ukernel(depth, Aa, Qb + j0 * T + s0 * NR, dK + s0 * stride + j0, stride, 1.0f, 1.0f, mr,
                  min64(NR, hd - j0));
        /* dV[s0:s0+mr] += P[s0:T, s0:s0+mr]^T · dO[s0:T] */
        pack_a_panel(P, T, 1, s0, mr, s0, depth, Aa);
        for (int64_t j0 = 0; j0 < hd; j0 += NR)
          ukernel(depth, Aa, dOb + j0 * T + s0 * NR, dV + s0 * stride + j0, stride, 1.0f, 1.0f, mr,
                  min64(NR, hd - j0));
      }
    }
  }
}
