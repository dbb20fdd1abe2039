/* The decode path of the sampler: a key/value cache laid out [slot, kv head, position, hd], a write
 * of N new rows into it, and attention of N query rows, each over positions 0..pos[r] of its own
 * slot. Prefill (many rows of one slot) and decode (one row per slot) are the same call. The cache
 * holds float32 or, to halve the memory traffic that bounds decoding, IEEE half precision (rounded
 * to nearest even on write, converted back to float32 for the arithmetic): both variants are one
 * template over three row helpers (put, dot, axpy). */
#include "common.h"
#include "kernels.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#ifdef _OPENMP
#include <omp.h>
#define TID omp_get_thread_num()
#define NTH omp_get_num_threads()
#else
#define TID 0
#define NTH 1
#endif

/* ---- half precision: scalar conversions (round to nearest even), also the vector loops' tails -- */

static inline uint16_t ip_f2h(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  const uint32_t sign = (b >> 16) & 0x8000u, e = (b >> 23) & 0xffu;
  uint32_t m = b & 0x7fffffu;
  if (e == 0xffu) return (uint16_t)(sign | 0x7c00u | (m ? 0x200u : 0u));
  const int32_t ex = (int32_t)e - 112;
  if (ex >= 31) return (uint16_t)(sign | 0x7c00u);
  if (ex <= 0) {
    if (ex < -10) return (uint16_t)sign;
    m |= 0x800000u;
    const uint32_t shift = (uint32_t)(14 - ex), rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    uint32_t h = m >> shift;
    if (rem > half || (rem == half && (h & 1u))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = ((uint32_t)ex << 10) | (m >> 13);
  const uint32_t rem = m & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
  return (uint16_t)(sign | h);
}

static inline float ip_h2f(uint16_t h) {
  const uint32_t sign = ((uint32_t)h & 0x8000u) << 16, e = ((uint32_t)h >> 10) & 0x1fu, m = (uint32_t)h & 0x3ffu;
  uint32_t b;
  if (e == 0x1fu) b = sign | 0x7f800000u | (m << 13);
  else if (e != 0) b = sign | ((e + 112u) << 23) | (m << 13);
  else if (m == 0) b = sign;
  else {
    float f = (float)m * 5.9604644775390625e-8f; /* m · 2^-24 */
    memcpy(&b, &f, 4);
    b |= sign;
  }
  float f;
  memcpy(&f, &b, 4);
  return f;
}

/* ---- row helpers: dst[0:n] = src; q·k over n; o[0:n] += w·v ---------------------------------- */

static inline void put_f32(float *dst, const float *src, int64_t n) { memcpy(dst, src, (size_t)n * sizeof(float)); }

static inline float dot_f32(const float *q, const float *k, int64_t n) {
  float d = 0.0f;
#pragma omp simd reduction(+ : d)
  for (int64_t i = 0; i < n; i++) d += q[i] * k[i];
  return d;
}

static inline void axpy_f32(float *o, float w, const float *v, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) o[i] += w * v[i];
}

static inline void put_f16(uint16_t *dst, const float *src, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256((__m256i *)(dst + i),
                        _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#endif
  for (; i < n; i++) dst[i] = ip_f2h(src[i]);
}

static inline float dot_f16(const float *q, const uint16_t *k, int64_t n) {
  int64_t i = 0;
  float d = 0.0f;
#if defined(__AVX512F__)
  __m512 acc = _mm512_setzero_ps();
  for (; i + 16 <= n; i += 16)
    acc = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(k + i))), acc);
  d = _mm512_reduce_add_ps(acc);
#endif
  for (; i < n; i++) d += q[i] * ip_h2f(k[i]);
  return d;
}

static inline void axpy_f16(float *o, float w, const uint16_t *v, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  const __m512 ww = _mm512_set1_ps(w);
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(o + i, _mm512_fmadd_ps(ww, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(v + i))),
                                            _mm512_loadu_ps(o + i)));
#endif
  for (; i < n; i++) o[i] += w * ip_h2f(v[i]);
}

#define DECODE_KERNELS(SUF, T) \
/* kc/vc[slot[r], g, pos[r], :] = the k/v of head g of packed row r of qkv [N, (H + 2·Hkv)·hd]. */ \
static inline void kv_write_##SUF(T *kc, T *vc, const float *qkv, const int32_t *slot, const int32_t *pos, int64_t N, int64_t H, \
                int64_t Hkv, int64_t hd, int64_t Tmax) { \
  const int64_t stride = (H + 2 * Hkv) * hd; \
  for (int64_t r = 0; r < N; r++) { \
    const float *k = qkv + r * stride + H * hd, *v = k + Hkv * hd; \
    for (int64_t g = 0; g < Hkv; g++) { \
      const int64_t at = (((int64_t)slot[r] * Hkv + g) * Tmax + pos[r]) * hd; \
      put_##SUF(kc + at, k + g * hd, hd); \
      put_##SUF(vc + at, v + g * hd, hd); \
    } \
  } \
} \
 \
/* out[r, h·hd:(h+1)·hd] = softmax(q·Kᵀ/√hd) V over positions 0..pos[r] of slot[r], kv head h/(H/Hkv). \
 * One task per (row, kv head): the keys and values of the group are read once for all of its query \
 * heads (decoding is bound by reading the cache). Scores of the G heads go to a scratch block, then \
 * a stable softmax per head, then the weighted sum of values into a local accumulator. */ \
static inline void attention_cached_##SUF(float *out, const float *qkv, const T *kc, const T *vc, const int32_t *slot, \
                        const int32_t *pos, int64_t N, int64_t H, int64_t Hkv, int64_t hd, int64_t Tmax) { \
  if (N == 0 || H == 0) return; \
  const int64_t stride = (H + 2 * Hkv) * hd, G = H / Hkv, ntask = N * Hkv; \
  const float scale = (float)(1.0 / sqrt((double)hd)); \
  double work = 0.0; \
  for (int64_t r = 0; r < N; r++) work += (double)(pos[r] + 1) * hd * H; \
  int nt = ip_threads; \
  if (ntask < 2 || work < 65536.0) nt = 1; \
  const int64_t ld = (Tmax + 15) / 16 * 16, per = G * ld + G * hd; \
  float *scratch = ip_scratch(0, (size_t)(nt > 0 ? nt : 1) * (size_t)per); \
_Pragma("omp parallel num_threads(nt) if (nt > 1)") \
  { \
    float *sc = scratch + (int64_t)TID * per; \
    float *acc = sc + G * ld; \
    int64_t lo, hi; \
    ip_split(ntask, NTH, TID, &lo, &hi); \
    for (int64_t task = lo; task < hi; task++) { \
      const int64_t r = task / Hkv, g = task % Hkv, n = (int64_t)pos[r] + 1; \
      const float *q0 = qkv + r * stride + g * G * hd; \
      const T *K = kc + ((int64_t)slot[r] * Hkv + g) * Tmax * hd; \
      const T *V = vc + ((int64_t)slot[r] * Hkv + g) * Tmax * hd; \
      for (int64_t s = 0; s < n; s++) { \
        const T *k = K + s * hd; \
        for (int64_t j = 0; j < G; j++) { \
          sc[j * ld + s] = dot_##SUF(q0 + j * hd, k, hd) * scale; \
        } \
      } \
      for (int64_t j = 0; j < G; j++) { \
        float *row = sc + j * ld; \
        float mx = row[0]; \
        for (int64_t s = 1; s < n; s++) mx = row[s] > mx ? row[s] : mx; \
        float sum = 0.0f; \
        for (int64_t s = 0; s < n; s++) { \
          const float e = ip_expf(row[s] - mx); \
          row[s] = e; \
          sum += e; \
        } \
        const float inv = 1.0f / sum; \
        for (int64_t s = 0; s < n; s++) row[s] *= inv; \
        for (int64_t i = 0; i < hd; i++) acc[j * hd + i] = 0.0f; \
      } \
      for (int64_t s = 0; s < n; s++) { \
        const T *v = V + s * hd; \
        for (int64_t j = 0; j < G; j++) { \
          axpy_##SUF(acc + j * hd, sc[j * ld + s], v, hd); \
        } \
      } \
      for (int64_t j = 0; j < G; j++) \
        for (int64_t i = 0; i < hd; i++) out[r * H * hd + (g * G + j) * hd + i] = acc[j * hd + i]; \
    } \
  } \
}

DECODE_KERNELS(f32, float)
DECODE_KERNELS(f16, uint16_t)

void k_kv_write(float *kc, float *vc, const float *qkv, const int32_t *slot, const int32_t *pos, int64_t N, int64_t H,
                int64_t Hkv, int64_t hd, int64_t Tmax) {
  kv_write_f32(kc, vc, qkv, slot, pos, N, H, Hkv, hd, Tmax);
}
void k_kv_write_f16(uint16_t *kc, uint16_t *vc, const float *qkv, const int32_t *slot, const int32_t *pos, int64_t N,
                    int64_t H, int64_t Hkv, int64_t hd, int64_t Tmax) {
  kv_write_f16(kc, vc, qkv, slot, pos, N, H, Hkv, hd, Tmax);
}
void k_attention_cached(float *out, const float *qkv, const float *kc, const float *vc, const int32_t *slot,
                        const int32_t *pos, int64_t N, int64_t H, int64_t Hkv, int64_t hd, int64_t Tmax) {
  attention_cached_f32(out, qkv, kc, vc, slot, pos, N, H, Hkv, hd, Tmax);
}
void k_attention_cached_f16(float *out, const float *qkv, const uint16_t *kc, const uint16_t *vc, const int32_t *slot,
                            const int32_t *pos, int64_t N, int64_t H, int64_t Hkv, int64_t hd, int64_t Tmax) {
  attention_cached_f16(out, qkv, kc, vc, slot, pos, N, H, Hkv, hd, Tmax);
}
