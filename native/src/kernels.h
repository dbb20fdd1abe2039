/* The kernels of the engine (see src/engine/kernels.ts for the contract). Arguments are
 * validated by the caller (addon.c); these functions trust their sizes. */
#ifndef INTERPLAY_KERNELS_H
#define INTERPLAY_KERNELS_H
#include <stdint.h>

void k_add_bias(float *out, const float *bias, int64_t M, int64_t N);
void k_bias_backward(float *dbias, const float *dout, int64_t M, int64_t N);
void k_embedding_forward(float *out, const int32_t *tokens, const float *wte, int64_t T, int64_t C);
void k_embedding_backward(float *dwte, const float *dout, const int32_t *tokens, int64_t T, int64_t C);
void k_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int64_t M, int64_t C, float eps);
void k_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w, const float *rstd,
                        int64_t M, int64_t C);
void k_rope(float *qkv, int64_t B, int64_t T, int64_t H, int64_t Hkv, int64_t hd, double theta, int64_t pos0,
            int inverse);
void k_attention_forward(float *out, float *probs, const float *qkv, int64_t B, int64_t T, int64_t H, int64_t Hkv,
                         int64_t hd, const int32_t *start);
void k_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *probs, int64_t B, int64_t T,
                          int64_t H, int64_t Hkv, int64_t hd, const int32_t *start);
void k_rope_rows(float *qkv, const int32_t *pos, int64_t N, int64_t H, int64_t Hkv, int64_t hd, double theta);
void k_kv_write(float *kc, float *vc, const float *qkv, const int32_t *slot, const int32_t *pos, int64_t N, int64_t H,
                int64_t Hkv, int64_t hd, int64_t Tmax);
void k_attention_cached(float *out, const float *qkv, const float *kc, const float *vc, const int32_t *slot,
                        const int32_t *pos, int64_t N, int64_t H, int64_t Hkv, int64_t hd, int64_t Tmax);
/* The same on a half-precision cache (IEEE binary16 bits). */
void k_kv_write_f16(uint16_t *kc, uint16_t *vc, const float *qkv, const int32_t *slot, const int32_t *pos, int64_t N,
                    int64_t H, int64_t Hkv, int64_t hd, int64_t Tmax);
void k_attention_cached_f16(float *out, const float *qkv, const uint16_t *kc, const uint16_t *vc, const int32_t *slot,
                            const int32_t *pos, int64_t N, int64_t H, int64_t Hkv, int64_t hd, int64_t Tmax);
/* bf16 products (bf16.c): P[N,K] packed into 16-column panels of k pairs (trans: W holds Pᵀ [K,N]);
 * C[M,N] = A·Pᵀ + beta·C. The general product k_matmul_mixed is declared in gemm.h. */
int64_t k_bf16_packed_size(int64_t N, int64_t K);
void k_pack_bf16(uint16_t *dst, const float *W, int64_t N, int64_t K, int trans);
void k_matmul_bf16(float *C, const float *A, const uint16_t *Wp, int64_t M, int64_t N, int64_t K, float beta);
/* Peak rates (peak.c): GFLOP/s of `iters` rounds of register-only FMAs (kind 0) or vdpbf16ps
 * (kind 1; -1 without AVX512_BF16), summed over the threads of the pool, each over its CPU time. */
double k_peak_flops(int kind, int64_t iters);
void k_draw_rows(int32_t *tokens, const float *logits, const double *u, int64_t L, int64_t V, float invT);
void k_swiglu_forward(float *out, const float *gu, int64_t M, int64_t F);
void k_swiglu_backward(float *dgu, const float *dout, const float *gu, int64_t M, int64_t F);
double k_cross_entropy(float *dlogits, float *losses, const float *logits, const int32_t *targets, int64_t M,
                       int64_t V, float grad_scale);
void k_add(float *out, const float *a, const float *b, int64_t n);
void k_scale(float *x, int64_t n, float s);
void k_scale_rows(float *x, const float *w, int64_t M, int64_t N);
double k_sum_squares(const float *x, int64_t n);
void k_adamw(float *p, const float *g, float *m, float *v, int64_t n, float lr, float beta1, float beta2, float eps,
             float wd, double t);

#endif
