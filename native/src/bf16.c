/* bf16 matrix products for decoding: C[M,N] = A[M,K]·W[N,K]ᵀ with A and W rounded to bfloat16
 * (round to nearest even) and float32 accumulation. W is packed once (per sampling call) into
 * panels of 16 output columns holding pairs of k: Wp[N/16][K/2][16][2], the operand layout of
 * AVX512_BF16's vdpbf16ps (32 multiply-adds per instruction, twice the float32 FMA rate). A is
 * rounded per call into a scratch block [M][K/2][2]. Without AVX512_BF16 the same arithmetic runs
 * in plain C (slow, for correctness only). */
#include "common.h"
#include "kernels.h"

#if defined(__AVX512BF16__)
#include <immintrin.h>
#endif

#ifdef _OPENMP
#include <omp.h>
#endif

/* bfloat16 bits of f, rounded to nearest even (NaN stays a quiet NaN). */
static inline uint16_t f2bf(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  if ((b & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((b >> 16) | 0x40u);
  b += 0x7fffu + ((b >> 16) & 1u);
  return (uint16_t)(b >> 16);
}

static inline float bf2f(uint16_t h) {
  const uint32_t b = (uint32_t)h << 16;
  float f;
  memcpy(&f, &b, 4);
  return f;
}

int64_t k_bf16_packed_size(int64_t N, int64_t K) { return (N + 15) / 16 * 16 * ((K + 1) / 2 * 2); }

void k_pack_bf16(uint16_t *dst, const float *W, int64_t N, int64_t K) {
  const int64_t K2 = (K + 1) / 2, np = (N + 15) / 16;
#pragma omp parallel for num_threads(ip_threads) if (N * K > 65536)
  for (int64_t p = 0; p < np; p++) {
    uint16_t *panel = dst + p * K2 * 32;
    for (int64_t k2 = 0; k2 < K2; k2++)
      for (int64_t j = 0; j < 16; j++)
        for (int64_t e = 0; e < 2; e++) {
          const int64_t n = p * 16 + j, k = 2 * k2 + e;
          panel[(k2 * 16 + j) * 2 + e] = n < N && k < K ? f2bf(W[n * K + k]) : 0;
        }
  }
}

/* Rows of A rounded to bf16 pairs: dst[m][k2][2], K padded to even with 0. */
static void round_rows(uint16_t *dst, const float *A, int64_t M, int64_t K) {
  const int64_t Ke = (K + 1) / 2 * 2;
  for (int64_t m = 0; m < M; m++) {
    int64_t k = 0;
#if defined(__AVX512BF16__)
    for (; k + 32 <= K; k += 32) {
      const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(A + m * K + k + 16), _mm512_loadu_ps(A + m * K + k));
      _mm512_storeu_si512((void *)(dst + m * Ke + k), (__m512i)v);
    }
#endif
    for (; k < K; k++) dst[m * Ke + k] = f2bf(A[m * K + k]);
    if (Ke > K) dst[m * Ke + K] = 0;
  }
}

#define BF_MR 8 /* rows per tile */
#define BF_NP 2 /* 16-column panels per tile */

/* One tile: rows m0..m0+mr of C, panels p0..p0+np. */
static inline void tile(float *C, const uint16_t *Ab, const uint16_t *Wp, int64_t N, int64_t K2, int64_t m0, int64_t mr,
                        int64_t p0, int64_t np) {
#if defined(__AVX512BF16__)
  __m512 acc[BF_MR][BF_NP];
  for (int64_t r = 0; r < BF_MR; r++)
    for (int64_t q = 0; q < BF_NP; q++) acc[r][q] = _mm512_setzero_ps();
  const uint32_t *a32 = (const uint32_t *)Ab; /* one bf16 pair = 32 bits */
  if (mr == BF_MR && np == BF_NP) {
    for (int64_t k2 = 0; k2 < K2; k2++) {
      const __m512bh w0 = (__m512bh)_mm512_loadu_si512((const void *)(Wp + ((p0 + 0) * K2 + k2) * 32));
      const __m512bh w1 = (__m512bh)_mm512_loadu_si512((const void *)(Wp + ((p0 + 1) * K2 + k2) * 32));
      for (int64_t r = 0; r < BF_MR; r++) {
        const __m512bh a = (__m512bh)_mm512_set1_epi32((int)a32[(m0 + r) * K2 + k2]);
        acc[r][0] = _mm512_dpbf16_ps(acc[r][0], a, w0);
        acc[r][1] = _mm512_dpbf16_ps(acc[r][1], a, w1);
      }
    }
  } else {
    for (int64_t k2 = 0; k2 < K2; k2++)
      for (int64_t q = 0; q < np; q++) {
        const __m512bh w = (__m512bh)_mm512_loadu_si512((const void *)(Wp + ((p0 + q) * K2 + k2) * 32));
        for (int64_t r = 0; r < mr; r++)
          acc[r][q] = _mm512_dpbf16_ps(acc[r][q], (__m512bh)_mm512_set1_epi32((int)a32[(m0 + r) * K2 + k2]), w);
      }
  }
  for (int64_t r = 0; r < mr; r++)
    for (int64_t q = 0; q < np; q++) {
      const int64_t n0 = (p0 + q) * 16, w = N - n0 < 16 ? N - n0 : 16;
      _mm512_mask_storeu_ps(C + (m0 + r) * N + n0, (__mmask16)((1u << w) - 1u), acc[r][q]);
    }
#else
  for (int64_t r = 0; r < mr; r++)
    for (int64_t q = 0; q < np; q++)
      for (int64_t j = 0; j < 16; j++) {
        const int64_t n = (p0 + q) * 16 + j;
        if (n >= N) break;
        float s = 0.0f;
        for (int64_t k2 = 0; k2 < K2; k2++)
          for (int64_t e = 0; e < 2; e++)
            s += bf2f(Ab[((m0 + r) * K2 + k2) * 2 + e]) * bf2f(Wp[(((p0 + q) * K2 + k2) * 16 + j) * 2 + e]);
        C[(m0 + r) * N + n] = s;
      }
#endif
}

void k_matmul_bf16(float *C, const float *A, const uint16_t *Wp, int64_t M, int64_t N, int64_t K) {
  if (M == 0 || N == 0) return;
  const int64_t K2 = (K + 1) / 2, np = (N + 15) / 16;
  uint16_t *Ab = (uint16_t *)ip_scratch(1, (size_t)(M * K2 + 16));
  round_rows(Ab, A, M, K);
  const int64_t mt = (M + BF_MR - 1) / BF_MR, nt = (np + BF_NP - 1) / BF_NP, tiles = mt * nt;
  const int threads IP_MAYBE_UNUSED = ip_threads_for(M * N * K / 8);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (int64_t t = 0; t < tiles; t++) {
    const int64_t pi = t / mt, mi = t % mt; /* column-major over tiles: a panel stays hot across row blocks */
    const int64_t m0 = mi * BF_MR, p0 = pi * BF_NP;
    tile(C, Ab, Wp, N, K2, m0, M - m0 < BF_MR ? M - m0 : BF_MR, p0, np - p0 < BF_NP ? np - p0 : BF_NP);
  }
}
