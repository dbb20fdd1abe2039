/* The register-blocked micro-kernel and the panel packing shared by the portable SGEMM (gemm.c)
 * and the fused attention (attention.c). Packed formats:
 *   A panel: MR rows × kc depths, stored depth-major: a[k·MR + i]   (zero rows past mr)
 *   B panel: kc depths × NR columns, stored depth-major: b[k·NR + j] (zero columns past nr)
 * Internal header: include once per translation unit. */
#ifndef INTERPLAY_UKERNEL_H
#define INTERPLAY_UKERNEL_H

#include "common.h"

/* ---- blocking parameters ------------------------------------------------------------------ */

/* Micro-tile: MR rows × NV vectors (NR = NV·IP_VL columns) of accumulators in registers. */
#ifndef IP_MR
#if IP_VL == 16
#define IP_MR 14 /* 28 accumulators + 2 B vectors + 1 broadcast of the 32 zmm registers */
#define IP_NV 2
#elif IP_VL == 8
#define IP_MR 6
#define IP_NV 2
#elif defined(__aarch64__)
#define IP_MR 8
#define IP_NV 3
#else
#define IP_MR 4
#define IP_NV 2
#endif
#endif
#define MR IP_MR
#define NV IP_NV
#define NR (IP_NV * IP_VL)
#ifndef IP_KC
#define IP_KC 256
#endif
#ifndef IP_NC
#define IP_NC 512
#endif
#ifndef IP_MC
#define IP_MC (MR * 256)
#endif
#define KC IP_KC
#define NC ((IP_NC + NR - 1) / NR * NR)
#define MC IP_MC

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* ---- micro-kernel --------------------------------------------------------------------------- */

/* c[mr,nr] = alpha·(a·b) + beta·c for one packed A micro-panel (kc × MR) and B micro-panel
 * (kc × NR). beta == 0 never reads c. */
static inline __attribute__((always_inline)) void ukernel(int64_t kc, const float *restrict a,
                                                          const float *restrict b, float *c, int64_t ldc,
                                                          float alpha, float beta, int64_t mr, int64_t nr) {
  vf acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) acc[i][v] = (vf){0};

  for (int64_t k = 0; k < kc; k++) {
    vf bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) bv[v] = *(const vf *)(b + v * IP_VL);
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {
      const float ai = a[i];
#pragma GCC unroll 8
      for (int v = 0; v < NV; v++) acc[i][v] += bv[v] * ai;
    }
    a += MR;
    b += NR;
  }

  if (mr == MR && nr == NR) {
    if (beta == 0.0f) {
#pragma GCC unroll 32
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) *(vfu *)(c + i * ldc + v * IP_VL) = acc[i][v] * alpha;
    } else {
#pragma GCC unroll 32
      for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) {
          vfu *p = (vfu *)(c + i * ldc + v * IP_VL);
          *p = acc[i][v] * alpha + *p * beta;
        }
    }
  } else {
    float tile[MR * NR] __attribute__((aligned(64)));
    for (int i = 0; i < MR; i++)
      for (int v = 0; v < NV; v++) *(vf *)(tile + i * NR + v * IP_VL) = acc[i][v];
    for (int64_t i = 0; i < mr; i++) {
      float *ci = c + i * ldc;
      const float *ti = tile + i * NR;
      if (beta == 0.0f)
        for (int64_t j = 0; j < nr; j++) ci[j] = alpha * ti[j];
      else
        for (int64_t j = 0; j < nr; j++) ci[j] = alpha * ti[j] + beta * ci[j];
    }
  }
}

/* ---- packing -------------------------------------------------------------------------------- */

/* In-register transpose of an IP_VL × IP_VL block (GCC's two-input __builtin_shuffle: one
 * vpermt2ps each on AVX-512). Stage d swaps the off-diagonal d×d sub-blocks of every 2d×2d block;
 * after the stages d = VL/2 … 1 the block is transposed. */
#if defined(__GNUC__) && !defined(__clang__)
#define IP_HAVE_TRANSPOSE 1
typedef int32_t vi __attribute__((vector_size(IP_VL * 4)));
static inline __attribute__((always_inline)) void transpose_block(vf r[IP_VL]) {
#pragma GCC unroll 8
  for (int d = IP_VL / 2; d >= 1; d /= 2) {
    vi lo, hi;
#pragma GCC unroll 16
    for (int p = 0; p < IP_VL; p++) {
      lo[p] = (p & d) ? IP_VL + p - d : p;
      hi[p] = (p & d) ? IP_VL + p : p + d;
    }
#pragma GCC unroll 16
    for (int i = 0; i < IP_VL; i++) {
      if (i & d) continue;
      const vf a = r[i], b = r[i + d];
      r[i] = __builtin_shuffle(a, b, lo);
      r[i + d] = __builtin_shuffle(a, b, hi);
    }
  }
}
#endif

/* Packs rows [i0, i0+mr) × depth [p0, p0+kc) of op(A) into one MR micro-panel (zero padded). */
static inline void pack_a_panel(const float *A, int64_t lda, int transA, int64_t i0, int64_t mr, int64_t p0,
                                int64_t kc, float *dst) {
  if (!transA) {
    if (mr == MR) {
      const float *src = A + i0 * lda + p0;
      int64_t k = 0;
#if defined(IP_HAVE_TRANSPOSE) && MR <= IP_VL
      /* VL depths of MR rows at a time, transposed in registers. Each store writes a whole
       * vector (its tail is overwritten by the next depth's store) except the panel's last. */
      for (; k + IP_VL <= kc; k += IP_VL) {
        vf r[IP_VL];
#pragma GCC unroll 16
        for (int i = 0; i < IP_VL; i++) {
          if (i < MR)
            r[i] = *(const vfu *)(src + i * lda + k);
          else
            r[i] = (vf){0};
        }
        transpose_block(r);
#pragma GCC unroll 16
        for (int kk = 0; kk < IP_VL; kk++) {
          if (k + kk + 1 < kc)
            *(vfu *)(dst + (k + kk) * MR) = r[kk];
          else
            memcpy(dst + (k + kk) * MR, &r[kk], MR * sizeof(float));
        }
      }
#endif
      /* Depth-major gather for the rest: MR sequential read streams, contiguous writes. */
      for (; k < kc; k++) {
#pragma GCC unroll 32
        for (int i = 0; i < MR; i++) dst[k * MR + i] = src[i * lda + k];
      }
      return;
    }
    for (int64_t i = 0; i < mr; i++) {
      const float *src = A + (i0 + i) * lda + p0;
      for (int64_t k = 0; k < kc; k++) dst[k * MR + i] = src[k];
    }
    for (int64_t i = mr; i < MR; i++)
      for (int64_t k = 0; k < kc; k++) dst[k * MR + i] = 0.0f;
  } else {
    if (mr == MR) {
      for (int64_t k = 0; k < kc; k++) memcpy(dst + k * MR, A + (p0 + k) * lda + i0, MR * sizeof(float));
      return;
    }
    for (int64_t k = 0; k < kc; k++) {
      const float *src = A + (p0 + k) * lda + i0;
      float *d = dst + k * MR;
      int64_t i = 0;
      for (; i < mr; i++) d[i] = src[i];
      for (; i < MR; i++) d[i] = 0.0f;
    }
  }
}

/* Packs depth [p0, p0+kc) × columns [j0, j0+nr) of op(B) into one NR micro-panel (zero padded). */
static inline void pack_b_panel(const float *B, int64_t ldb, int transB, int64_t j0, int64_t nr, int64_t p0,
                                int64_t kc, float *dst) {
  if (!transB) {
    if (nr == NR) {
      for (int64_t k = 0; k < kc; k++) memcpy(dst + k * NR, B + (p0 + k) * ldb + j0, NR * sizeof(float));
      return;
    }
    for (int64_t k = 0; k < kc; k++) {
      const float *src = B + (p0 + k) * ldb + j0;
      float *d = dst + k * NR;
      int64_t j = 0;
      for (; j < nr; j++) d[j] = src[j];
      for (; j < NR; j++) d[j] = 0.0f;
    }
  } else {
    int64_t k0 = 0;
#ifdef IP_HAVE_TRANSPOSE
    /* VL × VL blocks transposed in registers (rows past nr read as zeros). */
    for (; k0 + IP_VL <= kc; k0 += IP_VL) {
#pragma GCC unroll 8
      for (int v = 0; v < NV; v++) {
        vf r[IP_VL];
#pragma GCC unroll 16
        for (int jj = 0; jj < IP_VL; jj++) {
          const int64_t j = v * IP_VL + jj;
          if (j < nr)
            r[jj] = *(const vfu *)(B + (j0 + j) * ldb + p0 + k0);
          else
            r[jj] = (vf){0};
        }
        transpose_block(r);
#pragma GCC unroll 16
        for (int kk = 0; kk < IP_VL; kk++) *(vf *)(dst + (k0 + kk) * NR + v * IP_VL) = r[kk];
      }
    }
    if (k0 == kc) return;
#endif
    for (int64_t j = 0; j < nr; j++) {
      const float *src = B + (j0 + j) * ldb + p0;
      for (int64_t k = k0; k < kc; k++) dst[k * NR + j] = src[k];
    }
    for (int64_t j = nr; j < NR; j++)
      for (int64_t k = k0; k < kc; k++) dst[k * NR + j] = 0.0f;
  }
}

#endif
