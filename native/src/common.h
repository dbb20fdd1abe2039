/* Shared helpers of the interplay native engine: threads, SIMD vector type, workspaces, exp. */
#ifndef INTERPLAY_COMMON_H
#define INTERPLAY_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- threads ---------------------------------------------------------------------------- */

#define IP_MAYBE_UNUSED __attribute__((unused)) /* thread counts are unused without OpenMP */

extern int ip_threads; /* threads used by every parallel region (the one OpenMP pool) */

static inline int ip_thread_id(void) {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

/* Threads worth using for `work` units of cheap elementwise work (≈ 1 ns each). */
static inline int ip_threads_for(int64_t work) {
  if (ip_threads <= 1 || work < 32768) return 1;
  int64_t t = work / 16384;
  return t < ip_threads ? (int)t : ip_threads;
}

/* Split [0, n) into `parts` near-equal contiguous ranges; range of part `i`. */
static inline void ip_split(int64_t n, int parts, int i, int64_t *lo, int64_t *hi) {
  *lo = n * i / parts;
  *hi = n * (i + 1) / parts;
}

/* ---- SIMD vector type (GCC/Clang vector extensions) --------------------------------------- */

#if defined(__AVX512F__)
#define IP_VL 16
#if defined(__AVX512BF16__)
#define IP_SIMD "avx512+bf16" /* bf16 products (bf16.c) run on vdpbf16ps */
#else
#define IP_SIMD "avx512"
#endif
#elif defined(__AVX2__) && defined(__FMA__)
#define IP_VL 8
#define IP_SIMD "avx2"
#elif defined(__AVX__)
#define IP_VL 8
#define IP_SIMD "avx"
#elif defined(__ARM_NEON) || defined(__aarch64__)
#define IP_VL 4
#define IP_SIMD "neon"
#elif defined(__SSE2__)
#define IP_VL 4
#define IP_SIMD "sse2"
#else
#define IP_VL 4
#define IP_SIMD "generic"
#endif

typedef float vf __attribute__((vector_size(IP_VL * 4)));
/* Unaligned, aliasing-safe view of the same vector type (for loads/stores into user memory). */
typedef float vfu __attribute__((vector_size(IP_VL * 4), aligned(4), may_alias));

/* ---- memory --------------------------------------------------------------------------------- */

void *ip_aligned_alloc(size_t bytes); /* 64-byte aligned, NOT zeroed; NULL on failure */
void ip_aligned_free(void *p);

/* A per-thread growable scratch buffer (slot 0..3), 64-byte aligned; never shrinks. */
float *ip_scratch(int slot, size_t floats);

/* ---- math ----------------------------------------------------------------------------------- */

/* exp(x) for float, vectorisable (no calls, no branches); relative error ≈ 2e-7.
   Returns 0 for x < -87.3 (no denormals), +inf for x > 88.72, NaN for NaN. */
static inline float ip_expf(float x) {
  const float log2e = 1.44269504088896341f;
  const float ln2_hi = 0.693145751953125f;      /* 0x1.62e4p-1, exact in few bits */
  const float ln2_lo = 1.42860682030941723e-06f; /* ln2 - ln2_hi */
  float xc = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  /* round to nearest via the 1.5·2^23 trick (exact for |v| < 2^22) */
  float n = (xc * log2e + 12582912.0f) - 12582912.0f;
  float r = xc - n * ln2_hi;
  r = r - n * ln2_lo;
  /* Taylor series of e^r to degree 7 on |r| <= ln2/2 (truncation error < 6e-9). */
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t e = ((int32_t)n + 127) << 23;
  float s;
  memcpy(&s, &e, 4);
  float y = p * s;
  y = x < -87.3f ? 0.0f : y;
  y = x > 88.72f ? __builtin_inff() : y;
  y = x != x ? x : y;
  return y;
}

#endif
