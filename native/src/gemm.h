/* Matrix products: one entry point, two paths (CBLAS when built in, portable blocked SGEMM). */
#ifndef INTERPLAY_GEMM_H
#define INTERPLAY_GEMM_H
#include <stdint.h>

/* Row-major C[M,N] = alpha·op(A)·op(B) + beta·C with leading dimensions (beta == 0: C not read). */
typedef struct {
  int transA, transB;
  int64_t M, N, K;
  float alpha, beta;
  const float *A;
  int64_t lda;
  const float *B;
  int64_t ldb;
  float *C;
  int64_t ldc;
} ip_gemm_args;

extern int ip_use_blas;       /* live path: 1 = CBLAS, 0 = portable */
extern const int ip_has_blas; /* 1 when compiled with INTERPLAY_CBLAS */
extern const char *ip_blas_name;

void ip_gemm_init(void);
/* Threaded over the pool (ip_threads); call from the main thread. */
void ip_gemm(const ip_gemm_args *g);
/* Single-threaded; safe to call from inside a parallel region. */
void ip_gemm_serial(const ip_gemm_args *g);
/* The portable path, explicitly (nt threads; 1 = serial, safe inside a parallel region). */
void ip_gemm_portable(const ip_gemm_args *g, int nt);

#endif
