/* Matrix products. The portable path is a packed, blocked SGEMM (Goto/BLIS loop order) whose
 * micro-kernel is written with GCC vector extensions so that -O3 -march=native turns it into
 * broadcast + FMA register blocking; the BLAS path calls cblas_sgemm single-threaded per thread
 * of the pool, splitting C into row or column blocks. */
#include <stdlib.h>

#include "common.h"
#include "gemm.h"

#ifdef INTERPLAY_CBLAS
#ifdef __APPLE__
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif
const int ip_has_blas = 1;
#ifdef __APPLE__
const char *ip_blas_name = "accelerate";
#else
const char *ip_blas_name = "openblas";
#endif
#else
const int ip_has_blas = 0;
const char *ip_blas_name = "none";
#endif

int ip_use_blas = 0;

#include "ukernel.h"

/* ---- driver --------------------------------------------------------------------------------- */

static void scale_c(const ip_gemm_args *g, int64_t r0, int64_t r1) {
  for (int64_t i = r0; i < r1; i++) {
    float *c = g->C + i * g->ldc;
    if (g->beta == 0.0f)
      memset(c, 0, (size_t)g->N * sizeof(float));
    else if (g->beta != 1.0f)
      for (int64_t j = 0; j < g->N; j++) c[j] *= g->beta;
  }
}

#define BARRIER()                          \
  do {                                     \
    if (nth > 1) {                         \
      _Pragma("omp barrier")               \
    }                                      \
  } while (0)

/* Depth of a packed block: deeper for long reductions (weight gradients, K = tokens), where the
 * per-block packing and barriers would otherwise weigh on small M × N outputs (measured). */
static inline int64_t depth_block(int64_t K) { return K >= 2048 ? 2 * KC : KC; }

/* The body run by each of `nth` threads (tid = 0..nth-1) with shared packing buffers. */
static void gemm_body(const ip_gemm_args *g, int tid, int nth, float *Ap, float *Bp, int64_t *next) {
  const int64_t M = g->M, N = g->N, K = g->K, kcb = depth_block(K);
  int64_t lo, hi;
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = min64(NC, N - jc);
    const int64_t npn = ceil_div(nc, NR);
    for (int64_t pc = 0; pc < K; pc += kcb) {
      const int64_t kc = min64(kcb, K - pc);
      const float beta = pc == 0 ? g->beta : 1.0f;
      ip_split(npn, nth, tid, &lo, &hi);
      for (int64_t jp = lo; jp < hi; jp++)
        pack_b_panel(g->B, g->ldb, g->transB, jc + jp * NR, min64(NR, nc - jp * NR), pc, kc, Bp + jp * kc * NR);
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = min64(MC, M - ic);
        const int64_t npm = ceil_div(mc, MR);
        ip_split(npm, nth, tid, &lo, &hi);
        for (int64_t ip = lo; ip < hi; ip++)
          pack_a_panel(g->A, g->lda, g->transA, ic + ip * MR, min64(MR, mc - ip * MR), pc, kc, Ap + ip * kc * MR);
        if (tid == 0) *next = 0;
        BARRIER();
        /* Tasks: (A micro-panel, group of B micro-panels), A-major so a thread keeps its A panel
         * in L1 while sweeping the B block held in L2. Groups only when A panels are too few.
         * Threads claim tasks dynamically, so a core shared with another process slows the
         * product down in proportion instead of stalling everyone at the barrier. */
        int64_t groups = 1;
        if (nth > 1 && npm < 16 * nth) groups = min64(npn, ceil_div(16 * nth, npm));
        const int64_t ntask = npm * groups;
        for (;;) {
          const int64_t task = nth > 1 ? __atomic_fetch_add(next, 1, __ATOMIC_RELAXED) : (*next)++;
          if (task >= ntask) break;
          const int64_t ip = task / groups, gi = task % groups;
          const int64_t j0 = npn * gi / groups, j1 = npn * (gi + 1) / groups;
          const float *a = Ap + ip * kc * MR;
          const int64_t mr = min64(MR, mc - ip * MR);
          float *crow = g->C + (ic + ip * MR) * g->ldc + jc;
          for (int64_t jp = j0; jp < j1; jp++)
            ukernel(kc, a, Bp + jp * kc * NR, crow + jp * NR, g->ldc, g->alpha, beta, mr,
                    min64(NR, nc - jp * NR));
        }
        BARRIER();
      }
    }
  }
}

/* ---- few rows: no packing -------------------------------------------------------------------- */

/* Rows of C when M is tiny (decoding one or a few sequences): packing B would cost more than the
 * product, so each C row is a set of dot products (transB) or a sum of scaled B rows (!transB),
 * vectorised along K or N. Columns [j0, j1); A is row-major here (transA is copied first). */
#define SMALL_M 4
static void gemm_small_m(const ip_gemm_args *g, const float *A, int64_t lda, int64_t j0, int64_t j1, float *acc) {
  const int64_t M = g->M, K = g->K;
  for (int64_t i = 0; i < M; i++) {
    const float *a = A + i * lda;
    float *c = g->C + i * g->ldc;
    if (g->transB) {
      for (int64_t j = j0; j < j1; j++) {
        const float *b = g->B + j * g->ldb;
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (int64_t k = 0; k < K; k++) s += a[k] * b[k];
        acc[j - j0] = s;
      }
    } else {
      const int64_t w = j1 - j0;
      for (int64_t j = 0; j < w; j++) acc[j] = 0.0f;
      for (int64_t k = 0; k < K; k++) {
        const float ak = a[k];
        const float *b = g->B + k * g->ldb + j0;
#pragma omp simd
        for (int64_t j = 0; j < w; j++) acc[j] += ak * b[j];
      }
    }
    if (g->beta == 0.0f)
      for (int64_t j = j0; j < j1; j++) c[j] = g->alpha * acc[j - j0];
    else
      for (int64_t j = j0; j < j1; j++) c[j] = g->alpha * acc[j - j0] + g->beta * c[j];
  }
}

static void gemm_small_m_run(const ip_gemm_args *g, int nt) {
  const float *A = g->A;
  int64_t lda = g->lda;
  if (g->transA) { /* gather op(A) rows once: M·K floats */
    float *t = ip_scratch(1, (size_t)(g->M * g->K));
    for (int64_t k = 0; k < g->K; k++)
      for (int64_t i = 0; i < g->M; i++) t[i * g->K + k] = g->A[k * g->lda + i];
    A = t;
    lda = g->K;
  }
  if ((double)g->M * g->N * g->K < 1 << 17) nt = 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
#ifdef _OPENMP
    const int tid = omp_get_thread_num(), nth = omp_get_num_threads();
#else
    const int tid = 0, nth = 1;
#endif
    int64_t lo, hi;
    ip_split(ceil_div(g->N, 16), nth, tid, &lo, &hi);
    lo *= 16;
    hi = min64(hi * 16, g->N);
    float *acc = ip_scratch(3, 512);
    for (int64_t j = lo; j < hi; j += 512) gemm_small_m(g, A, lda, j, min64(j + 512, hi), acc);
  }
}

void ip_gemm_portable(const ip_gemm_args *g, int nt) {
  if (g->M <= 0 || g->N <= 0) return;
  if (g->K <= 0 || g->alpha == 0.0f) {
    scale_c(g, 0, g->M);
    return;
  }
  if (g->M <= SMALL_M) {
    gemm_small_m_run(g, nt);
    return;
  }
  const int64_t kcm = min64(depth_block(g->K), g->K);
  const int64_t ncm = min64(NC, ceil_div(g->N, NR) * NR);
  const int64_t mcm = min64(MC, ceil_div(g->M, MR) * MR);
  float *Bp = ip_scratch(0, (size_t)(kcm * ncm));
  float *Ap = ip_scratch(1, (size_t)(kcm * mcm));
  /* Small products are not worth waking the pool. */
  if (nt > 1 && (double)g->M * (double)g->N * (double)g->K < 64.0 * 64.0 * 64.0) nt = 1;
  int64_t next = 0;
  if (nt <= 1) {
    gemm_body(g, 0, 1, Ap, Bp, &next);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
#ifdef _OPENMP
    gemm_body(g, omp_get_thread_num(), omp_get_num_threads(), Ap, Bp, &next);
#else
    gemm_body(g, 0, 1, Ap, Bp, &next);
#endif
  }
}

/* ---- BLAS path -------------------------------------------------------------------------- */

#ifdef INTERPLAY_CBLAS
static void blas_call(const ip_gemm_args *g) {
  cblas_sgemm(CblasRowMajor, g->transA ? CblasTrans : CblasNoTrans, g->transB ? CblasTrans : CblasNoTrans,
              (int)g->M, (int)g->N, (int)g->K, g->alpha, g->A, (int)g->lda, g->B, (int)g->ldb, g->beta, g->C,
              (int)g->ldc);
}

/* Part `tid` of `nth` of the product: a block of rows (or of columns when C is wide). */
static void blas_part(const ip_gemm_args *g, int tid, int nth) {
  ip_gemm_args p = *g;
  int64_t lo, hi;
  if (g->M >= g->N) {
    const int64_t blocks = ceil_div(g->M, 16);
    ip_split(blocks, nth, tid, &lo, &hi);
    lo *= 16;
    hi = min64(hi * 16, g->M);
    if (hi <= lo) return;
    p.M = hi - lo;
    p.A = g->transA ? g->A + lo : g->A + lo * g->lda;
    p.C = g->C + lo * g->ldc;
  } else {
    const int64_t blocks = ceil_div(g->N, 16);
    ip_split(blocks, nth, tid, &lo, &hi);
    lo *= 16;
    hi = min64(hi * 16, g->N);
    if (hi <= lo) return;
    p.N = hi - lo;
    p.B = g->transB ? g->B + lo * g->ldb : g->B + lo;
    p.C = g->C + lo;
  }
  blas_call(&p);
}
#endif

void ip_gemm(const ip_gemm_args *g) {
#ifdef INTERPLAY_CBLAS
  if (ip_use_blas) {
    if (g->M <= 0 || g->N <= 0) return;
    if (g->K <= 0 || g->alpha == 0.0f) {
      scale_c(g, 0, g->M);
      return;
    }
    int nt = ip_threads;
    if ((double)g->M * (double)g->N * (double)g->K < 64.0 * 64.0 * 64.0) nt = 1;
    if (nt <= 1) {
      blas_call(g);
      return;
    }
#pragma omp parallel num_threads(nt)
    {
#ifdef _OPENMP
      blas_part(g, omp_get_thread_num(), omp_get_num_threads());
#else
      blas_part(g, 0, 1);
#endif
    }
    return;
  }
#endif
  ip_gemm_portable(g, ip_threads);
}

void ip_gemm_serial(const ip_gemm_args *g) {
#ifdef INTERPLAY_CBLAS
  if (ip_use_blas) {
    if (g->M <= 0 || g->N <= 0) return;
    if (g->K <= 0 || g->alpha == 0.0f) {
      scale_c(g, 0, g->M);
      return;
    }
    blas_call(g);
    return;
  }
#endif
  ip_gemm_portable(g, 1);
}

#if defined(INTERPLAY_CBLAS) && !defined(__APPLE__)
void openblas_set_num_threads(int);
#endif

void ip_gemm_init(void) {
#ifdef INTERPLAY_CBLAS
  ip_use_blas = 1;
#ifndef __APPLE__
  /* One pool: OpenBLAS runs single-threaded inside the threads of ours. */
  openblas_set_num_threads(1);
#endif
#endif
  const char *e = getenv("INTERPLAY_PORTABLE");
  if (e && e[0] && strcmp(e, "0") != 0) ip_use_blas = 0;
}
