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

/* Mixed precision (bf16.c): the same contract with both operands rounded to bf16, float32 sums. */
void k_matmul_mixed(const ip_gemm_args *g);

/* bf16 paths: the live one (ip_bf16_path), chosen by ip_bf16_init from the CPU and INTERPLAY_MATMUL
 * (returns an error message for a bad or unsupported value, else NULL). */
enum { IP_BF16_PORTABLE = 0, IP_BF16_AVX512 = 1, IP_BF16_AMX = 2 };
extern int ip_bf16_path;
const char *ip_bf16_init(void);
int ip_bf16_supported(int path);
int ip_bf16_cpu_has_amx(void);
const char *ip_bf16_path_name(int path);

#endif
