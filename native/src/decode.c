/* The decode path of the sampler: a key/value cache laid out [slot, kv head, position, hd], a
 * write of N new rows into it, and attention of N query rows, each over positions 0..pos[r] of
 * its own slot. Prefill (many rows of one slot) and decode (one row per slot) are the same call. */
#include "common.h"
#include "kernels.h"

#ifdef _OPENMP
#include <omp.h>
#define TID omp_get_thread_num()
#define NTH omp_get_num_threads()
#else
#define TID 0
#define NTH 1
#endif

/* kc/vc[slot[r], g, pos[r], :] = the k/v of head g of packed row r of qkv [N, (H + 2·Hkv)·hd]. */
void k_kv_write(float *kc, float *vc, const float *qkv, const int32_t *slot, const int32_t *pos, int64_t N, int64_t H,
                int64_t Hkv, int64_t hd, int64_t Tmax) {
  const int64_t stride = (H + 2 * Hkv) * hd;
  for (int64_t r = 0; r < N; r++) {
    const float *k = qkv + r * stride + H * hd, *v = k + Hkv * hd;
    for (int64_t g = 0; g < Hkv; g++) {
      const int64_t at = (((int64_t)slot[r] * Hkv + g) * Tmax + pos[r]) * hd;
      for (int64_t i = 0; i < hd; i++) {
        kc[at + i] = k[g * hd + i];
        vc[at + i] = v[g * hd + i];
      }
    }
  }
}

/* out[r, h·hd:(h+1)·hd] = softmax(q·Kᵀ/√hd) V over positions 0..pos[r] of slot[r], kv head h/(H/Hkv).
 * One task per (row, kv head): the keys and values of the group are read once for all of its query
 * heads (decoding is bound by reading the cache). Two passes: scores into a scratch block, then a
 * stable softmax per head and the weighted sum of values. */
void k_attention_cached(float *out, const float *qkv, const float *kc, const float *vc, const int32_t *slot,
                        const int32_t *pos, int64_t N, int64_t H, int64_t Hkv, int64_t hd, int64_t Tmax) {
  if (N == 0 || H == 0) return;
  const int64_t stride = (H + 2 * Hkv) * hd, G = H / Hkv, ntask = N * Hkv;
  const float scale = (float)(1.0 / sqrt((double)hd));
  double work = 0.0;
  for (int64_t r = 0; r < N; r++) work += (double)(pos[r] + 1) * hd * H;
  int nt = ip_threads;
  if (ntask < 2 || work < 65536.0) nt = 1;
  const int64_t per = G * (Tmax + 16);
  float *scratch = ip_scratch(0, (size_t)(nt > 0 ? nt : 1) * (size_t)per);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    float *sc = scratch + (int64_t)TID * per;
    int64_t lo, hi;
    ip_split(ntask, NTH, TID, &lo, &hi);
    for (int64_t task = lo; task < hi; task++) {
      const int64_t r = task / Hkv, g = task % Hkv, n = (int64_t)pos[r] + 1;
      const float *q0 = qkv + r * stride + g * G * hd;
      const float *K = kc + ((int64_t)slot[r] * Hkv + g) * Tmax * hd;
      const float *V = vc + ((int64_t)slot[r] * Hkv + g) * Tmax * hd;
      for (int64_t s = 0; s < n; s++) {
        const float *k = K + s * hd;
        for (int64_t j = 0; j < G; j++) {
          const float *q = q0 + j * hd;
          float d = 0.0f;
#pragma omp simd reduction(+ : d)
          for (int64_t i = 0; i < hd; i++) d += q[i] * k[i];
          sc[j * (Tmax + 16) + s] = d * scale;
        }
      }
      for (int64_t j = 0; j < G; j++) {
        float *row = sc + j * (Tmax + 16);
        float mx = row[0];
        for (int64_t s = 1; s < n; s++) mx = row[s] > mx ? row[s] : mx;
        float sum = 0.0f;
        for (int64_t s = 0; s < n; s++) {
          const float e = ip_expf(row[s] - mx);
          row[s] = e;
          sum += e;
        }
        const float inv = 1.0f / sum;
        for (int64_t s = 0; s < n; s++) row[s] *= inv;
        float *o = out + r * H * hd + (g * G + j) * hd;
        for (int64_t i = 0; i < hd; i++) o[i] = 0.0f;
      }
      for (int64_t s = 0; s < n; s++) {
        const float *v = V + s * hd;
        for (int64_t j = 0; j < G; j++) {
          const float w = sc[j * (Tmax + 16) + s];
          float *o = out + r * H * hd + (g * G + j) * hd;
#pragma omp simd
          for (int64_t i = 0; i < hd; i++) o[i] += w * v[i];
        }
      }
    }
  }
}
