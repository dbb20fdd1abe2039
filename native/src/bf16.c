/* bf16 matrix products with float32 accumulation (mixed precision): C = alpha·op(A)·op(B) + beta·C
 * where both operands are rounded to bfloat16 (round to nearest even, denormals to zero, as the
 * hardware conversion does) and every product is accumulated in float32.
 *
 * Operands are converted once per call (or once per optimizer step, for weights: k_pack_bf16) into
 * 32-bit words holding a pair of bf16 along the reduction dimension k, the operand layout of
 * AVX512_BF16's vdpbf16ps (one instruction: 16 lanes × 2 products, twice the float32 FMA rate):
 *   A, rows      [M][K2]  pair (m, k2) at m·K2 + k2      (op(A) = A, A stored [M,K])
 *   A, pairs     [K2][Mp] pair (m, k2) at k2·Mp + m      (op(A) = Aᵀ, A stored [K,M]: rows 2k2, 2k2+1 interleaved)
 *   B, panels    [N/16][K2][16]: 16 columns of one k2 contiguous   (op(B) = Wᵀ, W stored [N,K]: k_pack_bf16)
 *   B, pairs     [K2][Np]  16 columns of one k2 contiguous         (op(B) = B, B stored [K,N])
 * The micro-kernel reads 16 pairs of B per vector and broadcasts one pair of A per row, so both B
 * layouts and both A layouts are the same loop with different strides; no other repacking is done.
 *
 * Paths (ip_bf16_path): AVX512_BF16 (compiled with a target attribute, chosen at run time from the
 * CPU's flags) and a portable C loop (same rounding, slow: correctness only). INTERPLAY_MATMUL
 * forces one (`avx512bf16`, `portable`; `amx` is named but not built yet and is refused). */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "gemm.h"
#include "kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define IP_X86_BF16 1
#include <immintrin.h>
#define AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#endif

int ip_bf16_path = IP_BF16_PORTABLE;

const char *ip_bf16_path_name(int path) {
  return path == IP_BF16_AMX ? "amx" : path == IP_BF16_AVX512 ? "avx512bf16" : "portable";
}

int ip_bf16_supported(int path) {
  if (path == IP_BF16_PORTABLE) return 1;
#ifdef IP_X86_BF16
  __builtin_cpu_init();
  if (path == IP_BF16_AVX512) return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw");
#endif
  return 0; /* AMX kernels are not built yet */
}

int ip_bf16_cpu_has_amx(void) {
#ifdef IP_X86_BF16
  __builtin_cpu_init();
  return __builtin_cpu_supports("amx-bf16");
#else
  return 0;
#endif
}

const char *ip_bf16_init(void) {
  ip_bf16_path = ip_bf16_supported(IP_BF16_AVX512) ? IP_BF16_AVX512 : IP_BF16_PORTABLE;
  const char *e = getenv("INTERPLAY_MATMUL");
  if (!e || !*e) return NULL;
  if (strcmp(e, "avx512bf16") == 0) {
    if (!ip_bf16_supported(IP_BF16_AVX512)) return "INTERPLAY_MATMUL=avx512bf16: this CPU has no AVX512_BF16";
    ip_bf16_path = IP_BF16_AVX512;
  } else if (strcmp(e, "portable") == 0 || strcmp(e, "fp32") == 0) {
    ip_bf16_path = IP_BF16_PORTABLE;
  } else if (strcmp(e, "amx") == 0) {
    return ip_bf16_cpu_has_amx() ? "INTERPLAY_MATMUL=amx: this build has no AMX kernels yet (use avx512bf16)"
                                 : "INTERPLAY_MATMUL=amx: this CPU has no AMX (amx_bf16)";
  } else {
    return "INTERPLAY_MATMUL must be one of amx, avx512bf16, portable, fp32";
  }
  return NULL;
}

/* ---- rounding ----------------------------------------------------------------------------------- */

/* bfloat16 bits of f: round to nearest even; denormals to signed zero; NaN stays a quiet NaN. */
static inline uint16_t f2bf(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  if ((b & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((b >> 16) | 0x40u);
  if ((b & 0x7f800000u) == 0) return (uint16_t)((b >> 16) & 0x8000u);
  b += 0x7fffu + ((b >> 16) & 1u);
  return (uint16_t)(b >> 16);
}

static inline float bf2f(uint16_t h) {
  const uint32_t b = (uint32_t)h << 16;
  float f;
  memcpy(&f, &b, 4);
  return f;
}

static inline uint32_t pair(float lo, float hi) { return (uint32_t)f2bf(lo) | (uint32_t)f2bf(hi) << 16; }

#ifdef IP_X86_BF16
/* 16 pairs (x[j], y[j]) of two float rows, as 16 words. */
AVX512BF16 static inline __m512i pairs16(__m512 x, __m512 y) {
  const __m512i h = (__m512i)_mm512_cvtne2ps_pbh(y, x); /* bf16 x0..x15, y0..y15 */
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21,
                                       5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(idx, h);
}

static inline __mmask16 mask16(int64_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u); }
#endif

#ifdef IP_X86_BF16
static void row_avx512(uint32_t *d, const float *s, int64_t K);
#endif

/* Rows: dst[r][K2] = pairs of src row r (src[r·ld + k]); K odd pads the last pair with 0. */
static void row(uint32_t *d, const float *s, int64_t K) {
    int64_t k = 0;
#ifdef IP_X86_BF16
    if (ip_bf16_path != IP_BF16_PORTABLE) {
      row_avx512(d, s, K);
      k = K;
    }
#endif
    for (; k + 1 < K; k += 2) d[k / 2] = pair(s[k], s[k + 1]);
    if (k < K) d[k / 2] = pair(s[k], 0.0f);
}

static void to_rows_serial(uint32_t *dst, const float *src, int64_t R, int64_t K, int64_t ld) {
  for (int64_t r = 0; r < R; r++) row(dst + r * ((K + 1) / 2), src + r * ld, K);
}

static void to_rows(uint32_t *dst, const float *src, int64_t R, int64_t K, int64_t ld) {
  const int64_t K2 = (K + 1) / 2;
  const int nt IP_MAYBE_UNUSED = ip_threads_for(R * K);
#pragma omp parallel for num_threads(nt) if (nt > 1)
  for (int64_t r = 0; r < R; r++) row(dst + r * K2, src + r * ld, K);
}

#ifdef IP_X86_BF16
AVX512BF16 static void row_avx512(uint32_t *d, const float *s, int64_t K) {
  int64_t k = 0;
  for (; k + 32 <= K; k += 32)
    _mm512_storeu_si512((void *)(d + k / 2),
                        (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(s + k + 16), _mm512_loadu_ps(s + k)));
  if (k < K) { /* masked tail: loads past K read as 0, so an odd K pads its last pair with 0 */
    const int64_t n = K - k;
    const __m512 lo = _mm512_maskz_loadu_ps(mask16(n), s + k);
    const __m512 hi = _mm512_maskz_loadu_ps(mask16(n > 16 ? n - 16 : 0), s + k + 16);
    _mm512_mask_storeu_epi32((void *)(d + k / 2), mask16((n + 1) / 2), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
  }
}

/* One k2 row of the pair layout: dst[n] = (s0[n], s1[n]) for n < N, 0 up to Np; s1 NULL = zeros. */
AVX512BF16 static void pair_row_avx512(uint32_t *d, const float *s0, const float *s1, int64_t N, int64_t Np) {
  for (int64_t n = 0; n < Np; n += 16) {
    const __mmask16 m = mask16(N - n > 0 ? N - n : 0);
    const __m512 x = _mm512_maskz_loadu_ps(m, s0 + n);
    const __m512 y = s1 ? _mm512_maskz_loadu_ps(m, s1 + n) : _mm512_setzero_ps();
    _mm512_storeu_si512((void *)(d + n), pairs16(x, y));
  }
}
#endif

/* Pairs: dst[k2][Np] = (src[2k2][n], src[2k2+1][n]) (src row stride ld), padded with 0 to Np columns. */
static void to_pairs(uint32_t *dst, const float *src, int64_t K, int64_t N, int64_t ld, int64_t Np) {
  const int64_t K2 = (K + 1) / 2;
  const int nt IP_MAYBE_UNUSED = ip_threads_for(K * N);
#pragma omp parallel for num_threads(nt) if (nt > 1)
  for (int64_t k2 = 0; k2 < K2; k2++) {
    const float *s0 = src + 2 * k2 * ld, *s1 = 2 * k2 + 1 < K ? s0 + ld : NULL;
    uint32_t *d = dst + k2 * Np;
#ifdef IP_X86_BF16
    if (ip_bf16_path != IP_BF16_PORTABLE) {
      pair_row_avx512(d, s0, s1, N, Np);
      continue;
    }
#endif
    for (int64_t n = 0; n < Np; n++) d[n] = n < N ? pair(s0[n], s1 ? s1[n] : 0.0f) : 0;
  }
}

/* ---- packed weights ----------------------------------------------------------------------------- */

int64_t k_bf16_packed_size(int64_t N, int64_t K) { return (N + 15) / 16 * 16 * ((K + 1) / 2 * 2); }

void k_pack_bf16(uint16_t *dst16, const float *W, int64_t N, int64_t K, int trans) {
  uint32_t *dst = (uint32_t *)dst16;
  const int64_t K2 = (K + 1) / 2, np = (N + 15) / 16;
  const int nt IP_MAYBE_UNUSED = ip_threads_for(N * K);
  if (trans) {
    /* W holds Pᵀ [K,N]: panel p, row k2 = pairs of W rows 2k2, 2k2+1 at columns p·16.. (pair layout per panel). */
#pragma omp parallel for num_threads(nt) if (nt > 1)
    for (int64_t k2 = 0; k2 < K2; k2++) {
      const float *s0 = W + 2 * k2 * N, *s1 = 2 * k2 + 1 < K ? s0 + N : NULL;
      for (int64_t p = 0; p < np; p++) {
        uint32_t *d = dst + (p * K2 + k2) * 16;
#ifdef IP_X86_BF16
        if (ip_bf16_path != IP_BF16_PORTABLE) {
          pair_row_avx512(d, s0 + p * 16, s1 ? s1 + p * 16 : NULL, N - p * 16, 16);
          continue;
        }
#endif
        for (int64_t j = 0; j < 16; j++) {
          const int64_t n = p * 16 + j;
          d[j] = n < N ? pair(s0[n], s1 ? s1[n] : 0.0f) : 0;
        }
      }
    }
    return;
  }
  /* W holds P [N,K]: rows to pairs, then each panel's 16 rows interleaved per k2. */
#pragma omp parallel for num_threads(nt) if (nt > 1)
  for (int64_t p = 0; p < np; p++) {
    uint32_t *rows = (uint32_t *)malloc((size_t)(16 * K2 + 16) * 4);
    if (!rows) abort();
    const int64_t nr = N - p * 16 < 16 ? N - p * 16 : 16;
    to_rows_serial(rows, W + p * 16 * K, nr, K, K);
    memset(rows + nr * K2, 0, (size_t)((16 - nr) * K2) * 4);
    uint32_t *panel = dst + p * K2 * 16;
    for (int64_t k2 = 0; k2 < K2; k2++)
      for (int64_t j = 0; j < 16; j++) panel[k2 * 16 + j] = rows[j * K2 + k2];
    free(rows);
  }
}

/* ---- the product -------------------------------------------------------------------------------- */

/* A pair (m, k2) at a[m·sm + k2·sk]; B's 16 pairs of panel q at b[q·bq + k2·bk]. */
typedef struct {
  const uint32_t *a;
  int64_t sm, sk;
  const uint32_t *b;
  int64_t bq, bk;
  float *C;
  int64_t ldc, M, N, K2;
  float alpha, beta;
} Prod;

#define MR 8       /* rows per micro-tile */
#define MB 64      /* rows per task */
#define NB 64      /* columns per task (4 panels) */
#define KB 128     /* pairs per k block (256 products deep) */

/* C tile rows m0..m0+mr, columns n0..n0+16·nv (nv ≤ 2), pairs k0..k0+kc; beta as given. */
static void tile_portable(const Prod *p, int64_t m0, int mr, int64_t n0, int nv, int64_t k0, int64_t kc, float beta) {
  for (int r = 0; r < mr; r++)
    for (int64_t j = 0; j < 16 * nv; j++) {
      const int64_t n = n0 + j;
      if (n >= p->N) break;
      const uint32_t *bcol = p->b + (n / 16) * p->bq + (n % 16);
      float s = 0.0f;
      for (int64_t k2 = k0; k2 < k0 + kc; k2++) {
        const uint32_t x = p->a[(m0 + r) * p->sm + k2 * p->sk], y = bcol[k2 * p->bk];
        s += bf2f((uint16_t)x) * bf2f((uint16_t)y) + bf2f((uint16_t)(x >> 16)) * bf2f((uint16_t)(y >> 16));
      }
      float *c = p->C + (m0 + r) * p->ldc + n;
      *c = p->alpha * s + (beta == 0.0f ? 0.0f : beta * *c);
    }
}

#ifdef IP_X86_BF16
AVX512BF16 static inline void store_tile(const Prod *p, __m512 acc[MR][2], int64_t m0, int mr, int64_t n0, int nv,
                                         float beta) {
  const __m512 va = _mm512_set1_ps(p->alpha), vb = _mm512_set1_ps(beta);
  for (int r = 0; r < mr; r++)
    for (int q = 0; q < nv; q++) {
      const int64_t n = n0 + 16 * q;
      const __mmask16 m = mask16(p->N - n);
      float *c = p->C + (m0 + r) * p->ldc + n;
      __m512 v = _mm512_mul_ps(va, acc[r][q]);
      if (beta != 0.0f) v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, c), v);
      _mm512_mask_storeu_ps(c, m, v);
    }
}

AVX512BF16 static void tile_avx512(const Prod *p, int64_t m0, int mr, int64_t n0, int nv, int64_t k0, int64_t kc,
                                   float beta) {
  __m512 acc[MR][2];
  for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  const uint32_t *a = p->a + m0 * p->sm + k0 * p->sk;
  const uint32_t *b0 = p->b + (n0 / 16) * p->bq + k0 * p->bk, *b1 = b0 + p->bq;
  const int64_t sm = p->sm, sk = p->sk, bk = p->bk;
  if (mr == MR && nv == 2) {
    for (int64_t k = 0; k < kc; k++) {
      const __m512bh w0 = (__m512bh)_mm512_loadu_si512((const void *)(b0 + k * bk));
      const __m512bh w1 = (__m512bh)_mm512_loadu_si512((const void *)(b1 + k * bk));
      const uint32_t *ak = a + k * sk;
#pragma GCC unroll 8
      for (int r = 0; r < MR; r++) {
        const __m512bh x = (__m512bh)_mm512_set1_epi32((int)ak[r * sm]);
        acc[r][0] = _mm512_dpbf16_ps(acc[r][0], x, w0);
        acc[r][1] = _mm512_dpbf16_ps(acc[r][1], x, w1);
      }
    }
  } else {
    for (int64_t k = 0; k < kc; k++) {
      const __m512bh w0 = (__m512bh)_mm512_loadu_si512((const void *)(b0 + k * bk));
      const __m512bh w1 = nv > 1 ? (__m512bh)_mm512_loadu_si512((const void *)(b1 + k * bk)) : w0;
      const uint32_t *ak = a + k * sk;
      for (int r = 0; r < mr; r++) {
        const __m512bh x = (__m512bh)_mm512_set1_epi32((int)ak[r * sm]);
        acc[r][0] = _mm512_dpbf16_ps(acc[r][0], x, w0);
        acc[r][1] = _mm512_dpbf16_ps(acc[r][1], x, w1);
      }
    }
  }
  store_tile(p, acc, m0, mr, n0, nv, beta);
}
#endif

/* One task: rows [m0, m1), columns [n0, n1), all of K in blocks of KB pairs. */
static void task(const Prod *p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  for (int64_t k0 = 0; k0 < p->K2; k0 += KB) {
    const int64_t kc = p->K2 - k0 < KB ? p->K2 - k0 : KB;
    const float beta = k0 == 0 ? p->beta : 1.0f;
    for (int64_t n = n0; n < n1; n += 32) {
      const int nv = n1 - n > 16 ? 2 : 1;
      for (int64_t m = m0; m < m1; m += MR) {
        const int mr = m1 - m < MR ? (int)(m1 - m) : MR;
#ifdef IP_X86_BF16
        if (ip_bf16_path != IP_BF16_PORTABLE) {
          tile_avx512(p, m, mr, n, nv, k0, kc, beta);
          continue;
        }
#endif
        tile_portable(p, m, mr, n, nv, k0, kc, beta);
      }
    }
  }
}

static void run(const Prod *p) {
  if (p->M == 0 || p->N == 0) return;
  if (p->K2 == 0) { /* empty reduction: C = beta·C */
    for (int64_t i = 0; i < p->M; i++)
      for (int64_t j = 0; j < p->N; j++) p->C[i * p->ldc + j] = p->beta == 0.0f ? 0.0f : p->beta * p->C[i * p->ldc + j];
    return;
  }
  const int64_t mt = (p->M + MB - 1) / MB, ntk = (p->N + NB - 1) / NB, tasks = mt * ntk;
  const int threads IP_MAYBE_UNUSED = ip_threads_for(p->M * p->N * p->K2 / 4);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1 && tasks > 1)
  for (int64_t t = 0; t < tasks; t++) {
    const int64_t ni = t / mt, mi = t % mt; /* consecutive tasks share a column block of B */
    const int64_t m0 = mi * MB, n0 = ni * NB;
    task(p, m0, m0 + MB < p->M ? m0 + MB : p->M, n0, n0 + NB < p->N ? n0 + NB : p->N);
  }
}

/* Conversion buffers (main thread only: N-API calls arrive there). */
static uint32_t *buf[2];
static size_t cap[2];
static uint32_t *buffer(int i, size_t words) {
  if (words > cap[i]) {
    ip_aligned_free(buf[i]);
    cap[i] = words + words / 4 + 1024;
    buf[i] = (uint32_t *)ip_aligned_alloc(cap[i] * 4);
    if (!buf[i]) abort();
  }
  return buf[i];
}

/* A's view: rows (op(A) = A) or pairs (op(A) = Aᵀ), converted into buffer 0. */
static void view_a(Prod *p, const float *A, int64_t lda, int transA, int64_t M, int64_t K) {
  const int64_t K2 = (K + 1) / 2;
  if (!transA) {
    uint32_t *d = buffer(0, (size_t)(M * K2 + 16));
    to_rows(d, A, M, K, lda);
    p->a = d, p->sm = K2, p->sk = 1;
  } else {
    const int64_t Mp = (M + 15) / 16 * 16;
    uint32_t *d = buffer(0, (size_t)(K2 * Mp + 16));
    to_pairs(d, A, K, M, lda, Mp);
    p->a = d, p->sm = 1, p->sk = Mp;
  }
}

void k_matmul_bf16(float *C, const float *A, const uint16_t *Wp, int64_t M, int64_t N, int64_t K, float beta) {
  const int64_t K2 = (K + 1) / 2;
  Prod p = {0};
  view_a(&p, A, K, 0, M, K);
  p.b = (const uint32_t *)Wp, p.bq = K2 * 16, p.bk = 16;
  p.C = C, p.ldc = N, p.M = M, p.N = N, p.K2 = K2, p.alpha = 1.0f, p.beta = beta;
  run(&p);
}

void k_matmul_mixed(const ip_gemm_args *g) {
  const int64_t K2 = (g->K + 1) / 2;
  Prod p = {0};
  view_a(&p, g->A, g->lda, g->transA, g->M, g->K);
  if (g->transB) { /* B stored [N,K]: panels */
    uint32_t *d = buffer(1, (size_t)((g->N + 15) / 16 * 16 * K2 + 16));
    k_pack_bf16((uint16_t *)d, g->B, g->N, g->K, 0); /* the addon passes contiguous operands (ldb == K) */
    p.b = d, p.bq = K2 * 16, p.bk = 16;
  } else { /* B stored [K,N]: pairs of rows */
    const int64_t Np = (g->N + 15) / 16 * 16;
    uint32_t *d = buffer(1, (size_t)(K2 * Np + 16));
    to_pairs(d, g->B, g->K, g->N, g->ldb, Np);
    p.b = d, p.bq = 16, p.bk = Np;
  }
  p.C = g->C, p.ldc = g->ldc, p.M = g->M, p.N = g->N, p.K2 = K2, p.alpha = g->alpha, p.beta = g->beta;
  run(&p);
}
