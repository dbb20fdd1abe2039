/* Elementwise, normalisation, rotary, attention, loss and optimiser kernels. Threaded over the one
 * OpenMP pool when the work is large enough; reductions accumulate in double. */
#include "kernels.h"

#include <stdlib.h>

#include "common.h"

#ifdef _OPENMP
#define TID omp_get_thread_num()
#define NTH omp_get_num_threads()
#else
#define TID 0
#define NTH 1
#endif

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* ---- thread-local scratch ------------------------------------------------------------------- */

void *ip_aligned_alloc(size_t bytes) {
  void *p = NULL;
  size_t n = (bytes + 63) / 64 * 64;
  if (n == 0) n = 64;
  if (posix_memalign(&p, 64, n) != 0) return NULL;
  return p;
}

void ip_aligned_free(void *p) { free(p); }

static _Thread_local float *scratch_ptr[4];
static _Thread_local size_t scratch_len[4];

float *ip_scratch(int slot, size_t floats) {
  if (floats > scratch_len[slot] || !scratch_ptr[slot]) {
    size_t n = floats < 1024 ? 1024 : floats;
    n += n / 4;
    free(scratch_ptr[slot]);
    scratch_ptr[slot] = ip_aligned_alloc(n * sizeof(float));
    if (!scratch_ptr[slot]) abort(); /* out of memory: nothing sensible to do inside a kernel */
    scratch_len[slot] = n;
  }
  return scratch_ptr[slot];
}

/* ---- bias ------------------------------------------------------------------------------------ */

void k_add_bias(float *out, const float *bias, int64_t M, int64_t N) {
  const int nt IP_MAYBE_UNUSED = ip_threads_for(M * N);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int64_t lo, hi;
    ip_split(M, NTH, TID, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
      float *o = out + i * N;
#pragma omp simd
      for (int64_t j = 0; j < N; j++) o[j] += bias[j];
    }
  }
}

void k_bias_backward(float *dbias, const float *dout, int64_t M, int64_t N) {
  /* Threads own column ranges (no reduction across threads needed). */
  int nt IP_MAYBE_UNUSED = ip_threads_for(M * N);
  if (N < 64 * nt) nt = 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int64_t lo, hi;
    ip_split(N, NTH, TID, &lo, &hi);
    const int64_t w = hi - lo;
    double *acc = (double *)ip_scratch(3, (size_t)(2 * w + 16));
    for (int64_t j = 0; j < w; j++) acc[j] = 0.0;
    for (int64_t i = 0; i < M; i++) {
      const float *d = dout + i * N + lo;
#pragma omp simd
      for (int64_t j = 0; j < w; j++) acc[j] += (double)d[j];
    }
    for (int64_t j = 0; j < w; j++) dbias[lo + j] += (float)acc[j];
  }
}

/* ---- embedding ------------------------------------------------------------------------------- */

void k_embedding_forward(float *out, const int32_t *tokens, const float *wte, int64_t T, int64_t C) {
  const int nt IP_MAYBE_UNUSED = ip_threads_for(T * C);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int64_t lo, hi;
    ip_split(T, NTH, TID, &lo, &hi);
    for (int64_t t = lo; t < hi; t++) memcpy(out + t * C, wte + (int64_t)tokens[t] * C, (size_t)C * sizeof(float));
  }
}

void k_embedding_backward(float *dwte, const float *dout, const int32_t *tokens, int64_t T, int64_t C) {
  /* Thread i owns the table rows with token % nthreads == i: whole rows, no races. Memory-bound:
   * one thread streaming dout sequentially wins below very large sizes (measured). */
  const int nt IP_MAYBE_UNUSED = ip_threads_for(T * C / 256);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int tid = TID, nth = NTH;
    for (int64_t t = 0; t < T; t++) {
      if (tokens[t] % nth != tid) continue;
      float *d = dwte + (int64_t)tokens[t] * C;
      const float *s = dout + t * C;
#pragma omp simd
      for (int64_t c = 0; c < C; c++) d[c] += s[c];
    }
  }
}

/* ---- RMSNorm ---------------------------------------------------------------------------------- */

void k_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int64_t M, int64_t C, float eps) {
  const int nt IP_MAYBE_UNUSED = ip_threads_for(M * C);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int64_t lo, hi;
    ip_split(M, NTH, TID, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
      const float *xi = x + i * C;
      float *oi = out + i * C;
      double ss = 0.0;
#pragma omp simd reduction(+ : ss)
      for (int64_t c = 0; c < C; c++) ss += (double)xi[c] * (double)xi[c];
      const float r = (float)(1.0 / sqrt(ss / (double)C + (double)eps));
      rstd[i] = r;
#pragma omp simd
      for (int64_t c = 0; c < C; c++) oi[c] = xi[c] * r * w[c];
    }
  }
}

void k_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w, const float *rstd,
                        int64_t M, int64_t C) {
  int nt IP_MAYBE_UNUSED = ip_threads_for(M * C);
  /* Per-thread partial dw in double, summed by the calling thread afterwards. */
  double *part = (double *)ip_scratch(3, (size_t)(2 * C * nt + 16));
  for (int64_t c = 0; c < C * nt; c++) part[c] = 0.0;
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int tid = TID;
    int64_t lo, hi;
    ip_split(M, NTH, tid, &lo, &hi);
    double *pw = part + (int64_t)tid * C;
    for (int64_t i = lo; i < hi; i++) {
      const float *xi = x + i * C, *di = dout + i * C;
      float *dxi = dx + i * C;
      const float r = rstd[i];
      double dot = 0.0;
#pragma omp simd reduction(+ : dot)
      for (int64_t c = 0; c < C; c++) dot += (double)(di[c] * w[c]) * (double)xi[c];
      const float k = (float)((double)r * r * r * dot / (double)C);
#pragma omp simd
      for (int64_t c = 0; c < C; c++) {
        dxi[c] += r * di[c] * w[c] - k * xi[c];
        pw[c] += (double)(di[c] * xi[c] * r);
      }
    }
  }
  for (int t = 0; t < nt; t++) {
    const double *pw = part + (int64_t)t * C;
    if (t == 0)
      for (int64_t c = 0; c < C; c++) part[c] = pw[c];
    else
      for (int64_t c = 0; c < C; c++) part[c] += pw[c];
  }
  for (int64_t c = 0; c < C; c++) dw[c] += (float)part[c];
}

/* ---- rotary embedding ------------------------------------------------------------------------ */

/* Cached cos/sin table: rope_tab[pos·hd + i] = cos, [pos·hd + hd/2 + i] = sin (angles in double).
 * One cache per calling (JS) thread, so that worker threads never free each other's table. */
static _Thread_local float *rope_tab;
static _Thread_local int64_t rope_npos, rope_hd;
static _Thread_local double rope_theta;

static const float *rope_table(int64_t npos, int64_t hd, double theta) {
  if (rope_tab && rope_hd == hd && rope_theta == theta && rope_npos >= npos) return rope_tab;
  int64_t cap = npos < 256 ? 256 : npos;
  if (rope_tab && rope_hd == hd && rope_theta == theta && cap < 2 * rope_npos) cap = 2 * rope_npos;
  free(rope_tab);
  rope_tab = ip_aligned_alloc((size_t)(cap * hd) * sizeof(float));
  if (!rope_tab) abort();
  const int64_t half = hd / 2;
  double *inv = malloc((size_t)(half > 0 ? half : 1) * sizeof(double));
  if (!inv) abort();
  for (int64_t i = 0; i < half; i++) inv[i] = pow(theta, (-2.0 * (double)i) / (double)hd);
  for (int64_t p = 0; p < cap; p++)
    for (int64_t i = 0; i < half; i++) {
      const double a = (double)p * inv[i];
      rope_tab[p * hd + i] = (float)cos(a);
      rope_tab[p * hd + half + i] = (float)sin(a);
    }
  free(inv);
  rope_npos = cap;
  rope_hd = hd;
  rope_theta = theta;
  return rope_tab;
}

void k_rope(float *qkv, int64_t B, int64_t T, int64_t H, int64_t Hkv, int64_t hd, double theta, int64_t pos0,
            int inverse) {
  if (B == 0 || T == 0 || hd < 2) return;
  const float *tab = rope_table(pos0 + T, hd, theta);
  const int64_t half = hd / 2, stride = (H + 2 * Hkv) * hd, rows = B * T;
  const float sgn = inverse ? -1.0f : 1.0f;
  const int nt IP_MAYBE_UNUSED = ip_threads_for(rows * (H + Hkv) * hd);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int64_t lo, hi;
    ip_split(rows, NTH, TID, &lo, &hi);
    for (int64_t r = lo; r < hi; r++) {
      const int64_t t = r % T;
      const float *cs = tab + (pos0 + t) * hd, *sn = cs + half;
      float *base = qkv + r * stride;
      for (int64_t h = 0; h < H + Hkv; h++) {
        float *x1 = base + h * hd, *x2 = x1 + half;
#pragma omp simd
        for (int64_t i = 0; i < half; i++) {
          const float c = cs[i], s = sgn * sn[i];
          const float a = x1[i], b = x2[i];
          x1[i] = a * c - b * s;
          x2[i] = b * c + a * s;
        }
      }
    }
  }
}

/* Rotary embedding of N rows, each at its own position pos[r] (the decode path: rows of a batch
 * sit at different positions of their sequences). Same layout and table as k_rope. */
void k_rope_rows(float *qkv, const int32_t *pos, int64_t N, int64_t H, int64_t Hkv, int64_t hd, double theta) {
  if (N == 0 || hd < 2) return;
  int64_t maxp = 0;
  for (int64_t r = 0; r < N; r++) maxp = pos[r] > maxp ? pos[r] : maxp;
  const float *tab = rope_table(maxp + 1, hd, theta);
  const int64_t half = hd / 2, stride = (H + 2 * Hkv) * hd;
  for (int64_t r = 0; r < N; r++) {
    const float *cs = tab + (int64_t)pos[r] * hd, *sn = cs + half;
    float *base = qkv + r * stride;
    for (int64_t h = 0; h < H + Hkv; h++) {
      float *x1 = base + h * hd, *x2 = x1 + half;
#pragma omp simd
      for (int64_t i = 0; i < half; i++) {
        const float c = cs[i], s = sn[i];
        const float a = x1[i], b = x2[i];
        x1[i] = a * c - b * s;
        x2[i] = b * c + a * s;
      }
    }
  }
}

/* ---- SwiGLU ----------------------------------------------------------------------------------- */

void k_swiglu_forward(float *out, const float *gu, int64_t M, int64_t F) {
  const int nt IP_MAYBE_UNUSED = ip_threads_for(M * F * 4);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int64_t lo, hi;
    ip_split(M, NTH, TID, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
      const float *g = gu + i * 2 * F, *u = g + F;
      float *o = out + i * F;
#pragma omp simd
      for (int64_t j = 0; j < F; j++) o[j] = g[j] * u[j] / (1.0f + ip_expf(-g[j]));
    }
  }
}

void k_swiglu_backward(float *dgu, const float *dout, const float *gu, int64_t M, int64_t F) {
  const int nt IP_MAYBE_UNUSED = ip_threads_for(M * F * 4);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int64_t lo, hi;
    ip_split(M, NTH, TID, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
      const float *g = gu + i * 2 * F, *u = g + F, *d = dout + i * F;
      float *dg = dgu + i * 2 * F, *du = dg + F;
#pragma omp simd
      for (int64_t j = 0; j < F; j++) {
        const float s = 1.0f / (1.0f + ip_expf(-g[j]));
        dg[j] += d[j] * u[j] * s * (1.0f + g[j] * (1.0f - s));
        du[j] += d[j] * g[j] * s;
      }
    }
  }
}

/* ---- cross-entropy ------------------------------------------------------------------------------ */

double k_cross_entropy(float *dlogits, float *losses, const float *logits, const int32_t *targets, int64_t M,
                       int64_t V, float grad_scale) {
  double total = 0.0;
  const int nt IP_MAYBE_UNUSED = ip_threads_for(M * V * 2);
#pragma omp parallel num_threads(nt) if (nt > 1) reduction(+ : total)
  {
    int64_t lo, hi;
    ip_split(M, NTH, TID, &lo, &hi);
    float *e = ip_scratch(2, (size_t)V);
    for (int64_t i = lo; i < hi; i++) {
      const float *x = logits + i * V;
      const int32_t y = targets[i];
      if (y < 0) {
        losses[i] = 0.0f;
        if (dlogits) memset(dlogits + i * V, 0, (size_t)V * sizeof(float));
        continue;
      }
      float mx = x[0];
#pragma omp simd reduction(max : mx)
      for (int64_t j = 1; j < V; j++) mx = x[j] > mx ? x[j] : mx;
      float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < V; j++) {
        const float ej = ip_expf(x[j] - mx);
        e[j] = ej;
        sum += ej;
      }
      const double lse = (double)mx + log((double)sum);
      const double loss = lse - (double)x[y];
      losses[i] = (float)loss;
      total += loss;
      if (dlogits) {
        float *d = dlogits + i * V; /* may be x itself: each element is read before written */
        const float k = grad_scale / sum;
#pragma omp simd
        for (int64_t j = 0; j < V; j++) d[j] = e[j] * k;
        d[y] -= grad_scale;
      }
    }
  }
  return total;
}

/* ---- vector ops and the optimiser ---------------------------------------------------------------- */

void k_add(float *out, const float *a, const float *b, int64_t n) {
  const int nt IP_MAYBE_UNUSED = ip_threads_for(n / 2);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int64_t lo, hi;
    ip_split(n, NTH, TID, &lo, &hi);
#pragma omp simd
    for (int64_t i = lo; i < hi; i++) out[i] = a[i] + b[i];
  }
}

void k_scale(float *x, int64_t n, float s) {
  const int nt IP_MAYBE_UNUSED = ip_threads_for(n / 2);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int64_t lo, hi;
    ip_split(n, NTH, TID, &lo, &hi);
#pragma omp simd
    for (int64_t i = lo; i < hi; i++) x[i] *= s;
  }
}

/* x[i, :] *= w[i] for the M rows of x[M, N] (per-token weights of a policy-gradient loss). */
void k_scale_rows(float *x, const float *w, int64_t M, int64_t N) {
  const int nt IP_MAYBE_UNUSED = ip_threads_for(M * N / 2);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int64_t lo, hi;
    ip_split(M, NTH, TID, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
      const float s = w[i];
      float *r = x + i * N;
#pragma omp simd
      for (int64_t j = 0; j < N; j++) r[j] *= s;
    }
  }
}

/* tokens[r] = a draw from softmax(logits[r, :]·invT) by inverse CDF at u[r]·sum (u in [0, 1)), or the
 * argmax (first of equals) when invT is 0: the sampler's plain path (no top-k or top-p), one row per
 * active sequence. Exponentials in float32, sums in float64. */
void k_draw_rows(int32_t *tokens, const float *logits, const double *u, int64_t L, int64_t V, float invT) {
  const int nt IP_MAYBE_UNUSED = ip_threads_for(L * V / 4);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int64_t lo, hi;
    ip_split(L, NTH, TID, &lo, &hi);
    float *p = ip_scratch(2, (size_t)V); /* thread-local */
    for (int64_t r = lo; r < hi; r++) {
      const float *x = logits + r * V;
      int64_t best = 0;
      for (int64_t j = 1; j < V; j++)
        if (x[j] > x[best]) best = j;
      if (invT == 0.0f) {
        tokens[r] = (int32_t)best;
        continue;
      }
      const float mx = x[best];
      double sum = 0.0;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < V; j++) {
        p[j] = ip_expf((x[j] - mx) * invT);
        sum += (double)p[j];
      }
      double t = u[r] * sum;
      int64_t pick = -1;
      for (int64_t j = 0; j < V; j++) {
        t -= (double)p[j];
        if (t < 0.0) {
          pick = j;
          break;
        }
      }
      if (pick < 0) /* rounding left t a hair above 0: the last token with mass */
        for (pick = V - 1; pick > 0 && p[pick] == 0.0f; pick--) {
        }
      tokens[r] = (int32_t)pick;
    }
  }
}

double k_sum_squares(const float *x, int64_t n) {
  double total = 0.0;
  const int nt IP_MAYBE_UNUSED = ip_threads_for(n / 2);
#pragma omp parallel num_threads(nt) if (nt > 1) reduction(+ : total)
  {
    int64_t lo, hi;
    ip_split(n, NTH, TID, &lo, &hi);
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = lo; i < hi; i++) s += (double)x[i] * (double)x[i];
    total += s;
  }
  return total;
}

void k_adamw(float *p, const float *g, float *m, float *v, int64_t n, float lr, float beta1, float beta2, float eps,
             float wd, double t) {
  const float c1 = (float)(1.0 / (1.0 - pow((double)beta1, t)));
  const float c2 = (float)(1.0 / (1.0 - pow((double)beta2, t)));
  const float ob1 = 1.0f - beta1, ob2 = 1.0f - beta2;
  const int nt IP_MAYBE_UNUSED = ip_threads_for(n * 2);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int64_t lo, hi;
    ip_split(n, NTH, TID, &lo, &hi);
#pragma omp simd
    for (int64_t i = lo; i < hi; i++) {
      const float gi = g[i];
      const float mi = beta1 * m[i] + ob1 * gi;
      const float vi = beta2 * v[i] + ob2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      const float mh = mi * c1, vh = vi * c2;
      p[i] -= lr * (mh / (sqrtf(vh) + eps) + wd * p[i]);
    }
  }
}
