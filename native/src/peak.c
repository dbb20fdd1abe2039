/* Peak arithmetic rates: register-only loops of independent float32 FMAs (the SIMD width the build
 * targets) and of AVX512_BF16 dot products (vdpbf16ps), on every thread of the pool. They bound
 * what any product can reach on this machine; `doctor` and the benchmarks divide by them. */
#include <time.h>

#include "common.h"
#include "gemm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86 1
#endif

#define ACC 12 /* independent accumulators: covers FMA latency × issue width */

static volatile float sink;

/* FLOPs of iters × ACC FMAs of IP_VL lanes. */
static double fma_loop(int64_t iters) {
  vf acc[ACC];
  vf x, y;
  for (int i = 0; i < IP_VL; i++) x[i] = 1.0f + 1e-7f * (float)i, y[i] = 0.999999f;
  for (int a = 0; a < ACC; a++) acc[a] = x * (float)(a + 1);
  for (int64_t t = 0; t < iters; t++) {
#pragma GCC unroll 12
    for (int a = 0; a < ACC; a++) acc[a] = acc[a] * y + x;
    __asm__ volatile("" : "+v"(y)); /* keep the loop from being folded */
  }
  float s = 0.0f;
  for (int a = 0; a < ACC; a++) s += acc[a][0];
  sink = s;
  return (double)iters * ACC * IP_VL * 2.0;
}

#ifdef HAVE_X86
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) static double dp_loop(int64_t iters) {
  __m512 acc[ACC];
  const __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80), y = (__m512bh)_mm512_set1_epi32(0x3f7f3f7f);
  for (int a = 0; a < ACC; a++) acc[a] = _mm512_set1_ps((float)a);
  for (int64_t t = 0; t < iters; t++) {
#pragma GCC unroll 12
    for (int a = 0; a < ACC; a++) acc[a] = _mm512_dpbf16_ps(acc[a], x, y);
  }
  float s = 0.0f;
  for (int a = 0; a < ACC; a++) s += _mm512_reduce_add_ps(acc[a]);
  sink = s;
  return (double)iters * ACC * 16 * 4.0; /* 16 lanes × 2 pairs × (multiply + add) */
}
#endif

static double thread_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

double k_peak_flops(int kind, int64_t iters) {
  if (kind == 1 && !ip_bf16_supported(IP_BF16_AVX512)) return -1.0;
  double total = 0.0;
#pragma omp parallel num_threads(ip_threads) reduction(+ : total)
  {
    /* Each thread's rate over its own CPU time: a core shared with another process lowers the
     * wall-clock rate but not this one, so the figure is the cores' peak, not the machine's load. */
    const double t0 = thread_ns();
    double flops;
#ifdef HAVE_X86
    if (kind == 1)
      flops = dp_loop(iters);
    else
#endif
      flops = fma_loop(iters);
    total += flops / (thread_ns() - t0);
  }
  return total;
}
