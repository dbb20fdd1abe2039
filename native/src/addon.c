/* Node-API bindings of the native engine: argument checks (a short buffer throws a RangeError
 * before any kernel runs), zero-copy typed-array access, aligned external allocations. */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "gemm.h"
#include "kernels.h"

int ip_threads = 1;

/* ---- argument helpers -------------------------------------------------------------------- */

#define MAXARGS 12

typedef struct {
  napi_env env;
  const char *fn;
  napi_value argv[MAXARGS];
  size_t argc;
} Ctx;

static int ctx_init(Ctx *c, napi_env env, napi_callback_info info, const char *fn, size_t want) {
  c->env = env;
  c->fn = fn;
  c->argc = MAXARGS;
  if (napi_get_cb_info(env, info, &c->argc, c->argv, NULL, NULL) != napi_ok) return 0;
  if (c->argc < want) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s: expected %zu arguments, got %zu", c->fn, want, c->argc);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  return 1;
}

static int throw_range(Ctx *c, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", c->fn, what);
  napi_throw_range_error(c->env, NULL, msg);
  return 0;
}

static int throw_type(Ctx *c, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", c->fn, what);
  napi_throw_type_error(c->env, NULL, msg);
  return 0;
}

/* A typed array of the given type with at least `need` elements (need computed in double so
 * that huge dimension products cannot wrap around). */
static const char *type_name(napi_typedarray_type t) {
  return t == napi_int32_array     ? "Int32Array"
         : t == napi_float64_array ? "Float64Array"
         : t == napi_uint16_array  ? "Uint16Array"
                                   : "Float32Array";
}

static int arg_array(Ctx *c, size_t i, const char *name, napi_typedarray_type want, double need, void **out,
                     size_t *len_out) {
  napi_value v = c->argv[i];
  bool is = false;
  napi_is_typedarray(c->env, v, &is);
  char msg[200];
  if (!is) {
    snprintf(msg, sizeof msg, "%s must be a %s", name, type_name(want));
    return throw_type(c, msg);
  }
  napi_typedarray_type type;
  size_t len;
  void *data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(c->env, v, &type, &len, &data, &ab, &off) != napi_ok) return 0;
  if (type != want) {
    snprintf(msg, sizeof msg, "%s must be a %s", name, type_name(want));
    return throw_type(c, msg);
  }
  if ((double)len < need) {
    snprintf(msg, sizeof msg, "%s has %zu elements, needs %.0f", name, len, need);
    return throw_range(c, msg);
  }
  if (len > 0 && data == NULL) return throw_range(c, "detached buffer");
  *out = data;
  if (len_out) *len_out = len;
  return 1;
}

static int arg_f32(Ctx *c, size_t i, const char *name, double need, float **out) {
  return arg_array(c, i, name, napi_float32_array, need, (void **)out, NULL);
}

static int arg_f32_or_null(Ctx *c, size_t i, const char *name, double need, float **out) {
  napi_valuetype t;
  napi_typeof(c->env, c->argv[i], &t);
  if (t == napi_null || t == napi_undefined) {
    *out = NULL;
    return 1;
  }
  return arg_f32(c, i, name, need, out);
}

/* A key/value cache: a Float32Array or a Uint16Array (half precision); *half says which. */
static int arg_cache(Ctx *c, size_t i, const char *name, double need, void **out, int *half) {
  napi_typedarray_type type;
  size_t len;
  void *data;
  napi_value ab;
  size_t off;
  bool is = false;
  napi_is_typedarray(c->env, c->argv[i], &is);
  if (!is || napi_get_typedarray_info(c->env, c->argv[i], &type, &len, &data, &ab, &off) != napi_ok ||
      (type != napi_float32_array && type != napi_uint16_array)) {
    char msg[200];
    snprintf(msg, sizeof msg, "%s must be a Float32Array or a Uint16Array (half precision)", name);
    return throw_type(c, msg);
  }
  *half = type == napi_uint16_array;
  return arg_array(c, i, name, type, need, out, NULL);
}

static int arg_i32(Ctx *c, size_t i, const char *name, double need, int32_t **out) {
  return arg_array(c, i, name, napi_int32_array, need, (void **)out, NULL);
}

static int arg_num(Ctx *c, size_t i, const char *name, double *out) {
  if (napi_get_value_double(c->env, c->argv[i], out) != napi_ok) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a number", name);
    return throw_type(c, msg);
  }
  return 1;
}

/* A non-negative integer dimension (at most 2^40). */
static int arg_dim(Ctx *c, size_t i, const char *name, int64_t *out) {
  double d;
  if (!arg_num(c, i, name, &d)) return 0;
  if (!(d >= 0.0) || d != (double)(int64_t)d || d > 1099511627776.0) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be a non-negative integer, got %g", name, d);
    return throw_range(c, msg);
  }
  *out = (int64_t)d;
  return 1;
}

static int arg_bool(Ctx *c, size_t i, bool *out) {
  napi_value b;
  if (napi_coerce_to_bool(c->env, c->argv[i], &b) != napi_ok) return 0;
  return napi_get_value_bool(c->env, b, out) == napi_ok;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static napi_value number(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

/* ---- info, threads, path, memory ------------------------------------------------------- */

static const char *bf16_error = NULL; /* a bad INTERPLAY_MATMUL, reported by info() */

static napi_value js_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o, v;
  napi_create_object(env, &o);
  napi_create_string_utf8(env, "native", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "name", v);
  napi_create_string_utf8(env, ip_use_blas ? "blas" : "portable", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "path", v);
  napi_create_int32(env, ip_threads, &v);
  napi_set_named_property(env, o, "threads", v);
  napi_create_string_utf8(env, IP_SIMD, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "simd", v);
  napi_create_string_utf8(env, ip_blas_name, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "blas", v);
  napi_create_string_utf8(env, ip_bf16_path_name(ip_bf16_path), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "bf16", v);
  if (bf16_error)
    napi_create_string_utf8(env, bf16_error, NAPI_AUTO_LENGTH, &v);
  else
    napi_get_null(env, &v);
  napi_set_named_property(env, o, "bf16Error", v);
  napi_get_boolean(env, ip_bf16_supported(IP_BF16_AVX512) != 0, &v);
  napi_set_named_property(env, o, "avx512bf16", v);
  napi_get_boolean(env, ip_bf16_cpu_has_amx() != 0, &v);
  napi_set_named_property(env, o, "amx", v);
#ifdef _OPENMP
  napi_get_boolean(env, true, &v);
#else
  napi_get_boolean(env, false, &v);
#endif
  napi_set_named_property(env, o, "openmp", v);
  return o;
}

static napi_value js_set_threads(napi_env env, napi_callback_info info) {
  Ctx c;
  int64_t n;
  if (!ctx_init(&c, env, info, "setThreads", 1) || !arg_dim(&c, 0, "n", &n)) return NULL;
  if (n < 1) return throw_range(&c, "n must be >= 1"), NULL;
  ip_threads = n > 1024 ? 1024 : (int)n;
#ifndef _OPENMP
  ip_threads = 1;
#endif
  return number(env, ip_threads);
}

static napi_value js_set_path(napi_env env, napi_callback_info info) {
  Ctx c;
  if (!ctx_init(&c, env, info, "setPath", 1)) return NULL;
  char s[16] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(env, c.argv[0], s, sizeof s, &len) != napi_ok)
    return throw_type(&c, "path must be a string"), NULL;
  if (strcmp(s, "blas") == 0) {
    if (!ip_has_blas) return throw_range(&c, "this build has no BLAS"), NULL;
    ip_use_blas = 1;
  } else if (strcmp(s, "portable") == 0) {
    ip_use_blas = 0;
  } else {
    return throw_range(&c, "path must be \"blas\" or \"portable\""), NULL;
  }
  return undefined(env);
}

static napi_value js_has_blas(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_get_boolean(env, ip_has_blas != 0, &v);
  return v;
}

/* Frees an alloc() buffer; the hint carries its size, so that V8's external-memory count (which
 * paces garbage collection) goes back down. */
static void free_external(napi_env env, void *data, void *hint) {
  int64_t unused;
  napi_adjust_external_memory(env, -(int64_t)(uintptr_t)hint, &unused);
  ip_aligned_free(data);
}

static napi_value js_alloc(napi_env env, napi_callback_info info) {
  Ctx c;
  int64_t n;
  if (!ctx_init(&c, env, info, "alloc", 1) || !arg_dim(&c, 0, "n", &n)) return NULL;
  if (n > ((int64_t)1 << 32)) return throw_range(&c, "n too large"), NULL;
  size_t bytes = (size_t)n * sizeof(float);
  void *p = ip_aligned_alloc(bytes);
  if (!p) return throw_range(&c, "out of memory"), NULL;
  memset(p, 0, bytes);
  napi_value ab, ta;
  if (napi_create_external_arraybuffer(env, p, bytes, free_external, (void *)(uintptr_t)bytes, &ab) != napi_ok) {
    ip_aligned_free(p);
    return NULL;
  }
  int64_t unused;
  napi_adjust_external_memory(env, (int64_t)bytes, &unused);
  if (napi_create_typedarray(env, napi_float32_array, (size_t)n, ab, 0, &ta) != napi_ok) return NULL;
  return ta;
}

/* ---- kernels ---------------------------------------------------------------------------------- */

static napi_value js_matmul(napi_env env, napi_callback_info info) {
  Ctx c;
  float *C, *A, *B;
  int64_t M, N, K;
  bool ta, tb;
  double alpha, beta;
  if (!ctx_init(&c, env, info, "matmul", 10) || !arg_dim(&c, 3, "M", &M) || !arg_dim(&c, 4, "N", &N) ||
      !arg_dim(&c, 5, "K", &K) || !arg_bool(&c, 6, &ta) || !arg_bool(&c, 7, &tb) || !arg_num(&c, 8, "alpha", &alpha) ||
      !arg_num(&c, 9, "beta", &beta) || !arg_f32(&c, 0, "c", (double)M * N, &C) ||
      !arg_f32(&c, 1, "a", (double)M * K, &A) || !arg_f32(&c, 2, "b", (double)K * N, &B))
    return NULL;
  if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX) return throw_range(&c, "dimension too large"), NULL;
  ip_gemm_args g = {ta, tb, M, N, K, (float)alpha, (float)beta, A, ta ? M : K, B, tb ? K : N, C, N};
  ip_gemm(&g);
  return undefined(env);
}

static napi_value js_add_bias(napi_env env, napi_callback_info info) {
  Ctx c;
  float *out, *bias;
  int64_t M, N;
  if (!ctx_init(&c, env, info, "addBias", 4) || !arg_dim(&c, 2, "M", &M) || !arg_dim(&c, 3, "N", &N) ||
      !arg_f32(&c, 0, "out", (double)M * N, &out) || !arg_f32(&c, 1, "bias", (double)N, &bias))
    return NULL;
  k_add_bias(out, bias, M, N);
  return undefined(env);
}

static napi_value js_bias_backward(napi_env env, napi_callback_info info) {
  Ctx c;
  float *dbias, *dout;
  int64_t M, N;
  if (!ctx_init(&c, env, info, "biasBackward", 4) || !arg_dim(&c, 2, "M", &M) || !arg_dim(&c, 3, "N", &N) ||
      !arg_f32(&c, 0, "dbias", (double)N, &dbias) || !arg_f32(&c, 1, "dout", (double)M * N, &dout))
    return NULL;
  k_bias_backward(dbias, dout, M, N);
  return undefined(env);
}

static int check_tokens(Ctx *c, const int32_t *tok, int64_t T, size_t table_len, int64_t C) {
  if (C == 0) return 1;
  const int64_t vocab = (int64_t)(table_len / (size_t)C);
  for (int64_t t = 0; t < T; t++)
    if (tok[t] < 0 || tok[t] >= vocab) {
      char msg[160];
      snprintf(msg, sizeof msg, "token %d at %lld is outside the table of %lld rows", tok[t], (long long)t,
               (long long)vocab);
      return throw_range(c, msg);
    }
  return 1;
}

static napi_value js_embedding_forward(napi_env env, napi_callback_info info) {
  Ctx c;
  float *out, *wte;
  int32_t *tok;
  int64_t T, C;
  size_t wlen;
  if (!ctx_init(&c, env, info, "embeddingForward", 5) || !arg_dim(&c, 3, "T", &T) || !arg_dim(&c, 4, "C", &C) ||
      !arg_f32(&c, 0, "out", (double)T * C, &out) || !arg_i32(&c, 1, "tokens", (double)T, &tok) ||
      !arg_array(&c, 2, "wte", napi_float32_array, 0, (void **)&wte, &wlen) || !check_tokens(&c, tok, T, wlen, C))
    return NULL;
  k_embedding_forward(out, tok, wte, T, C);
  return undefined(env);
}

static napi_value js_embedding_backward(napi_env env, napi_callback_info info) {
  Ctx c;
  float *dwte, *dout;
  int32_t *tok;
  int64_t T, C;
  size_t wlen;
  if (!ctx_init(&c, env, info, "embeddingBackward", 5) || !arg_dim(&c, 3, "T", &T) || !arg_dim(&c, 4, "C", &C) ||
      !arg_array(&c, 0, "dwte", napi_float32_array, 0, (void **)&dwte, &wlen) ||
      !arg_f32(&c, 1, "dout", (double)T * C, &dout) || !arg_i32(&c, 2, "tokens", (double)T, &tok) ||
      !check_tokens(&c, tok, T, wlen, C))
    return NULL;
  k_embedding_backward(dwte, dout, tok, T, C);
  return undefined(env);
}

static napi_value js_rmsnorm_forward(napi_env env, napi_callback_info info) {
  Ctx c;
  float *out, *rstd, *x, *w;
  int64_t M, C;
  double eps;
  if (!ctx_init(&c, env, info, "rmsnormForward", 7) || !arg_dim(&c, 4, "M", &M) || !arg_dim(&c, 5, "C", &C) ||
      !arg_num(&c, 6, "eps", &eps) || !arg_f32(&c, 0, "out", (double)M * C, &out) ||
      !arg_f32(&c, 1, "rstd", (double)M, &rstd) || !arg_f32(&c, 2, "x", (double)M * C, &x) ||
      !arg_f32(&c, 3, "w", (double)C, &w))
    return NULL;
  if (C == 0) return throw_range(&c, "C must be >= 1"), NULL;
  k_rmsnorm_forward(out, rstd, x, w, M, C, (float)eps);
  return undefined(env);
}

static napi_value js_rmsnorm_backward(napi_env env, napi_callback_info info) {
  Ctx c;
  float *dx, *dw, *dout, *x, *w, *rstd;
  int64_t M, C;
  if (!ctx_init(&c, env, info, "rmsnormBackward", 8) || !arg_dim(&c, 6, "M", &M) || !arg_dim(&c, 7, "C", &C) ||
      !arg_f32(&c, 0, "dx", (double)M * C, &dx) || !arg_f32(&c, 1, "dw", (double)C, &dw) ||
      !arg_f32(&c, 2, "dout", (double)M * C, &dout) || !arg_f32(&c, 3, "x", (double)M * C, &x) ||
      !arg_f32(&c, 4, "w", (double)C, &w) || !arg_f32(&c, 5, "rstd", (double)M, &rstd))
    return NULL;
  if (C == 0) return throw_range(&c, "C must be >= 1"), NULL;
  k_rmsnorm_backward(dx, dw, dout, x, w, rstd, M, C);
  return undefined(env);
}

static napi_value js_rope(napi_env env, napi_callback_info info) {
  Ctx c;
  float *qkv;
  int64_t B, T, H, Hkv, hd, pos0;
  double theta;
  bool inverse;
  if (!ctx_init(&c, env, info, "rope", 9) || !arg_dim(&c, 1, "B", &B) || !arg_dim(&c, 2, "T", &T) ||
      !arg_dim(&c, 3, "H", &H) || !arg_dim(&c, 4, "Hkv", &Hkv) || !arg_dim(&c, 5, "hd", &hd) ||
      !arg_num(&c, 6, "theta", &theta) || !arg_dim(&c, 7, "pos0", &pos0) || !arg_bool(&c, 8, &inverse) ||
      !arg_f32(&c, 0, "qkv", (double)B * T * (H + 2 * Hkv) * hd, &qkv))
    return NULL;
  if (hd % 2 != 0) return throw_range(&c, "hd must be even"), NULL;
  if (!(theta > 0.0)) return throw_range(&c, "theta must be > 0"), NULL;
  if (pos0 + T > ((int64_t)1 << 24)) return throw_range(&c, "position too large"), NULL;
  k_rope(qkv, B, T, H, Hkv, hd, theta, pos0, inverse);
  return undefined(env);
}

static int attn_dims(Ctx *c, size_t i, int64_t *B, int64_t *T, int64_t *H, int64_t *Hkv, int64_t *hd) {
  if (!arg_dim(c, i, "B", B) || !arg_dim(c, i + 1, "T", T) || !arg_dim(c, i + 2, "H", H) ||
      !arg_dim(c, i + 3, "Hkv", Hkv) || !arg_dim(c, i + 4, "hd", hd))
    return 0;
  if (*H > 0 && *Hkv == 0) return throw_range(c, "Hkv must be >= 1");
  return 1;
}

/* Optional document starts start[B·T] (null or absent: none); each in [0, t] and non-decreasing in t. */
static int arg_starts(Ctx *c, size_t i, int64_t B, int64_t T, int32_t **start) {
  *start = NULL;
  if (c->argc <= i) return 1;
  napi_valuetype t;
  napi_typeof(c->env, c->argv[i], &t);
  if (t == napi_null || t == napi_undefined) return 1;
  if (!arg_i32(c, i, "start", (double)B * T, start)) return 0;
  for (int64_t k = 0; k < B * T; k++) {
    const int64_t pos = k % T;
    if ((*start)[k] < 0 || (*start)[k] > pos || (pos > 0 && (*start)[k] < (*start)[k - 1]))
      return throw_range(c, "start[b·T+t] must be in [0, t] and non-decreasing in t");
  }
  return 1;
}

static napi_value js_attention_forward(napi_env env, napi_callback_info info) {
  Ctx c;
  float *out, *probs, *qkv;
  int32_t *start = NULL;
  int64_t B, T, H, Hkv, hd;
  if (!ctx_init(&c, env, info, "attentionForward", 8) || !attn_dims(&c, 3, &B, &T, &H, &Hkv, &hd) ||
      !arg_f32(&c, 0, "out", (double)B * T * H * hd, &out) ||
      !arg_f32(&c, 1, "probs", (double)B * H * T * T, &probs) ||
      !arg_f32(&c, 2, "qkv", (double)B * T * (H + 2 * Hkv) * hd, &qkv))
    return NULL;
  if (!arg_starts(&c, 8, B, T, &start)) return NULL;
  k_attention_forward(out, probs, qkv, B, T, H, Hkv, hd, start);
  return undefined(env);
}

static napi_value js_attention_backward(napi_env env, napi_callback_info info) {
  Ctx c;
  float *dqkv, *dout, *qkv, *probs;
  int32_t *start;
  int64_t B, T, H, Hkv, hd;
  if (!ctx_init(&c, env, info, "attentionBackward", 9) || !attn_dims(&c, 4, &B, &T, &H, &Hkv, &hd) ||
      !arg_f32(&c, 0, "dqkv", (double)B * T * (H + 2 * Hkv) * hd, &dqkv) ||
      !arg_f32(&c, 1, "dout", (double)B * T * H * hd, &dout) ||
      !arg_f32(&c, 2, "qkv", (double)B * T * (H + 2 * Hkv) * hd, &qkv) ||
      !arg_f32(&c, 3, "probs", (double)B * H * T * T, &probs) || !arg_starts(&c, 9, B, T, &start))
    return NULL;
  k_attention_backward(dqkv, dout, qkv, probs, B, T, H, Hkv, hd, start);
  return undefined(env);
}

/* Positions and slots of N decode rows, checked against the cache: 0 <= pos < Tmax, 0 <= slot < S. */
static int arg_rows(Ctx *c, size_t i_slot, size_t i_pos, int64_t N, int64_t S, int64_t Tmax, int32_t **slot,
                    int32_t **pos) {
  if (slot && !arg_i32(c, i_slot, "slot", (double)N, slot)) return 0;
  if (!arg_i32(c, i_pos, "pos", (double)N, pos)) return 0;
  for (int64_t r = 0; r < N; r++) {
    if ((*pos)[r] < 0 || (*pos)[r] >= Tmax) return throw_range(c, "pos out of range [0, Tmax)");
    if (slot && ((*slot)[r] < 0 || (*slot)[r] >= S)) return throw_range(c, "slot out of range [0, slots)");
  }
  return 1;
}

static napi_value js_rope_rows(napi_env env, napi_callback_info info) {
  Ctx c;
  float *qkv;
  int32_t *pos;
  int64_t N, H, Hkv, hd;
  double theta;
  if (!ctx_init(&c, env, info, "ropeRows", 7) || !arg_dim(&c, 2, "N", &N) || !arg_dim(&c, 3, "H", &H) ||
      !arg_dim(&c, 4, "Hkv", &Hkv) || !arg_dim(&c, 5, "hd", &hd) || !arg_num(&c, 6, "theta", &theta) ||
      !arg_f32(&c, 0, "qkv", (double)N * (H + 2 * Hkv) * hd, &qkv) ||
      !arg_rows(&c, 0, 1, N, 0, (int64_t)1 << 24, NULL, &pos))
    return NULL;
  if (hd % 2 != 0) return throw_range(&c, "hd must be even"), NULL;
  if (!(theta > 0.0)) return throw_range(&c, "theta must be > 0"), NULL;
  k_rope_rows(qkv, pos, N, H, Hkv, hd, theta);
  return undefined(env);
}

/* kvWrite(kc, vc, qkv, slot, pos, N, H, Hkv, hd, Tmax, S) */
static napi_value js_kv_write(napi_env env, napi_callback_info info) {
  Ctx c;
  void *kc, *vc;
  float *qkv;
  int32_t *slot, *pos;
  int64_t N, H, Hkv, hd, Tmax, S;
  int hk, hv;
  if (!ctx_init(&c, env, info, "kvWrite", 11) || !arg_dim(&c, 5, "N", &N) || !arg_dim(&c, 6, "H", &H) ||
      !arg_dim(&c, 7, "Hkv", &Hkv) || !arg_dim(&c, 8, "hd", &hd) || !arg_dim(&c, 9, "Tmax", &Tmax) ||
      !arg_dim(&c, 10, "slots", &S) || !arg_cache(&c, 0, "kc", (double)S * Hkv * Tmax * hd, &kc, &hk) ||
      !arg_cache(&c, 1, "vc", (double)S * Hkv * Tmax * hd, &vc, &hv) ||
      !arg_f32(&c, 2, "qkv", (double)N * (H + 2 * Hkv) * hd, &qkv) || !arg_rows(&c, 3, 4, N, S, Tmax, &slot, &pos))
    return NULL;
  if (hk != hv) return throw_type(&c, "kc and vc must have the same element type"), NULL;
  if (hk) k_kv_write_f16(kc, vc, qkv, slot, pos, N, H, Hkv, hd, Tmax);
  else k_kv_write(kc, vc, qkv, slot, pos, N, H, Hkv, hd, Tmax);
  return undefined(env);
}

/* attentionCached(out, qkv, kc, vc, slot, pos, N, H, Hkv, hd, Tmax, S) */
static napi_value js_attention_cached(napi_env env, napi_callback_info info) {
  Ctx c;
  float *out, *qkv;
  void *kc, *vc;
  int32_t *slot, *pos;
  int64_t N, H, Hkv, hd, Tmax, S;
  int hk, hv;
  if (!ctx_init(&c, env, info, "attentionCached", 12) || !arg_dim(&c, 6, "N", &N) || !arg_dim(&c, 7, "H", &H) ||
      !arg_dim(&c, 8, "Hkv", &Hkv) || !arg_dim(&c, 9, "hd", &hd) || !arg_dim(&c, 10, "Tmax", &Tmax) ||
      !arg_dim(&c, 11, "slots", &S) || !arg_f32(&c, 0, "out", (double)N * H * hd, &out) ||
      !arg_f32(&c, 1, "qkv", (double)N * (H + 2 * Hkv) * hd, &qkv) ||
      !arg_cache(&c, 2, "kc", (double)S * Hkv * Tmax * hd, &kc, &hk) ||
      !arg_cache(&c, 3, "vc", (double)S * Hkv * Tmax * hd, &vc, &hv) || !arg_rows(&c, 4, 5, N, S, Tmax, &slot, &pos))
    return NULL;
  if (hk != hv) return throw_type(&c, "kc and vc must have the same element type"), NULL;
  if (H > 0 && (Hkv == 0 || H % Hkv != 0)) return throw_range(&c, "H must be a multiple of Hkv"), NULL;
  if (hk) k_attention_cached_f16(out, qkv, kc, vc, slot, pos, N, H, Hkv, hd, Tmax);
  else k_attention_cached(out, qkv, kc, vc, slot, pos, N, H, Hkv, hd, Tmax);
  return undefined(env);
}

static napi_value js_swiglu_forward(napi_env env, napi_callback_info info) {
  Ctx c;
  float *out, *gu;
  int64_t M, F;
  if (!ctx_init(&c, env, info, "swigluForward", 4) || !arg_dim(&c, 2, "M", &M) || !arg_dim(&c, 3, "F", &F) ||
      !arg_f32(&c, 0, "out", (double)M * F, &out) || !arg_f32(&c, 1, "gu", (double)M * 2 * F, &gu))
    return NULL;
  k_swiglu_forward(out, gu, M, F);
  return undefined(env);
}

static napi_value js_swiglu_backward(napi_env env, napi_callback_info info) {
  Ctx c;
  float *dgu, *dout, *gu;
  int64_t M, F;
  if (!ctx_init(&c, env, info, "swigluBackward", 5) || !arg_dim(&c, 3, "M", &M) || !arg_dim(&c, 4, "F", &F) ||
      !arg_f32(&c, 0, "dgu", (double)M * 2 * F, &dgu) || !arg_f32(&c, 1, "dout", (double)M * F, &dout) ||
      !arg_f32(&c, 2, "gu", (double)M * 2 * F, &gu))
    return NULL;
  k_swiglu_backward(dgu, dout, gu, M, F);
  return undefined(env);
}

static napi_value js_cross_entropy(napi_env env, napi_callback_info info) {
  Ctx c;
  float *dlogits, *losses, *logits;
  int32_t *targets;
  int64_t M, V;
  double scale;
  if (!ctx_init(&c, env, info, "crossEntropy", 7) || !arg_dim(&c, 4, "M", &M) || !arg_dim(&c, 5, "V", &V) ||
      !arg_num(&c, 6, "gradScale", &scale) || !arg_f32_or_null(&c, 0, "dlogits", (double)M * V, &dlogits) ||
      !arg_f32(&c, 1, "losses", (double)M, &losses) || !arg_f32(&c, 2, "logits", (double)M * V, &logits) ||
      !arg_i32(&c, 3, "targets", (double)M, &targets))
    return NULL;
  for (int64_t i = 0; i < M; i++)
    if (targets[i] >= V) {
      char msg[128];
      snprintf(msg, sizeof msg, "target %d at row %lld is >= V = %lld", targets[i], (long long)i, (long long)V);
      return throw_range(&c, msg), NULL;
    }
  return number(env, k_cross_entropy(dlogits, losses, logits, targets, M, V, (float)scale));
}

static napi_value js_add(napi_env env, napi_callback_info info) {
  Ctx c;
  float *out, *a, *b;
  int64_t n;
  if (!ctx_init(&c, env, info, "add", 4) || !arg_dim(&c, 3, "n", &n) || !arg_f32(&c, 0, "out", (double)n, &out) ||
      !arg_f32(&c, 1, "a", (double)n, &a) || !arg_f32(&c, 2, "b", (double)n, &b))
    return NULL;
  k_add(out, a, b, n);
  return undefined(env);
}

static napi_value js_scale_rows(napi_env env, napi_callback_info info) {
  Ctx c;
  float *x, *w;
  int64_t M, N;
  if (!ctx_init(&c, env, info, "scaleRows", 4) || !arg_dim(&c, 2, "M", &M) || !arg_dim(&c, 3, "N", &N) ||
      !arg_f32(&c, 0, "x", (double)M * N, &x) || !arg_f32(&c, 1, "w", (double)M, &w))
    return NULL;
  k_scale_rows(x, w, M, N);
  return undefined(env);
}

static int arg_u16(Ctx *c, size_t i, const char *name, double need, uint16_t **out) {
  bool is = false;
  napi_is_typedarray(c->env, c->argv[i], &is);
  napi_typedarray_type type;
  size_t len;
  void *data;
  napi_value ab;
  size_t off;
  if (!is || napi_get_typedarray_info(c->env, c->argv[i], &type, &len, &data, &ab, &off) != napi_ok ||
      type != napi_uint16_array) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s must be a Uint16Array", name);
    return throw_type(c, msg);
  }
  return arg_array(c, i, name, napi_uint16_array, need, (void **)out, NULL);
}

/* packBf16(dst, W, N, K, trans?) */
static napi_value js_pack_bf16(napi_env env, napi_callback_info info) {
  Ctx c;
  uint16_t *dst;
  float *W;
  int64_t N, K;
  bool trans = false;
  if (!ctx_init(&c, env, info, "packBf16", 4) || !arg_dim(&c, 2, "N", &N) || !arg_dim(&c, 3, "K", &K) ||
      (c.argc > 4 && !arg_bool(&c, 4, &trans)) || !arg_f32(&c, 1, "w", (double)N * K, &W) ||
      !arg_u16(&c, 0, "dst", (double)k_bf16_packed_size(N, K), &dst))
    return NULL;
  k_pack_bf16(dst, W, N, K, trans);
  return undefined(env);
}

/* matmulBf16(C, A, Wp, M, N, K, beta?) */
static napi_value js_matmul_bf16(napi_env env, napi_callback_info info) {
  Ctx c;
  float *C, *A;
  uint16_t *Wp;
  int64_t M, N, K;
  double beta = 0.0;
  if (!ctx_init(&c, env, info, "matmulBf16", 6) || !arg_dim(&c, 3, "M", &M) || !arg_dim(&c, 4, "N", &N) ||
      !arg_dim(&c, 5, "K", &K) || (c.argc > 6 && !arg_num(&c, 6, "beta", &beta)) ||
      !arg_f32(&c, 0, "c", (double)M * N, &C) || !arg_f32(&c, 1, "a", (double)M * K, &A) ||
      !arg_u16(&c, 2, "wp", (double)k_bf16_packed_size(N, K), &Wp))
    return NULL;
  k_matmul_bf16(C, A, Wp, M, N, K, (float)beta);
  return undefined(env);
}

/* matmulMixed(c, a, b, M, N, K, transA, transB, alpha, beta): matmul with bf16-rounded operands */
static napi_value js_matmul_mixed(napi_env env, napi_callback_info info) {
  Ctx c;
  float *C, *A, *B;
  int64_t M, N, K;
  bool ta, tb;
  double alpha, beta;
  if (!ctx_init(&c, env, info, "matmulMixed", 10) || !arg_dim(&c, 3, "M", &M) || !arg_dim(&c, 4, "N", &N) ||
      !arg_dim(&c, 5, "K", &K) || !arg_bool(&c, 6, &ta) || !arg_bool(&c, 7, &tb) || !arg_num(&c, 8, "alpha", &alpha) ||
      !arg_num(&c, 9, "beta", &beta) || !arg_f32(&c, 0, "c", (double)M * N, &C) ||
      !arg_f32(&c, 1, "a", (double)M * K, &A) || !arg_f32(&c, 2, "b", (double)K * N, &B))
    return NULL;
  ip_gemm_args g = {ta, tb, M, N, K, (float)alpha, (float)beta, A, ta ? M : K, B, tb ? K : N, C, N};
  k_matmul_mixed(&g);
  return undefined(env);
}

/* peakFlops(kind: "fma" | "bf16", iters): GFLOP/s of the register loop over the threads (-1: no such unit) */
static napi_value js_peak_flops(napi_env env, napi_callback_info info) {
  Ctx c;
  int64_t iters;
  if (!ctx_init(&c, env, info, "peakFlops", 2) || !arg_dim(&c, 1, "iters", &iters)) return NULL;
  char s[8] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(env, c.argv[0], s, sizeof s, &len) != napi_ok ||
      (strcmp(s, "fma") != 0 && strcmp(s, "bf16") != 0))
    return throw_range(&c, "kind must be \"fma\" or \"bf16\""), NULL;
  return number(env, k_peak_flops(strcmp(s, "bf16") == 0, iters));
}

/* setBf16Path("avx512bf16" | "portable" | "amx") */
static napi_value js_set_bf16_path(napi_env env, napi_callback_info info) {
  Ctx c;
  if (!ctx_init(&c, env, info, "setBf16Path", 1)) return NULL;
  char s[16] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(env, c.argv[0], s, sizeof s, &len) != napi_ok)
    return throw_type(&c, "path must be a string"), NULL;
  int path = strcmp(s, "avx512bf16") == 0 ? IP_BF16_AVX512 : strcmp(s, "amx") == 0 ? IP_BF16_AMX
             : strcmp(s, "portable") == 0 ? IP_BF16_PORTABLE : -1;
  if (path < 0) return throw_range(&c, "path must be \"amx\", \"avx512bf16\" or \"portable\""), NULL;
  if (!ip_bf16_supported(path)) {
    char msg[160];
    snprintf(msg, sizeof msg, "the %s path is not available here (%s)", s,
             path == IP_BF16_AMX ? (ip_bf16_cpu_has_amx() ? "no AMX kernels in this build" : "this CPU has no AMX")
                                 : "this CPU has no AVX512_BF16");
    return throw_range(&c, msg), NULL;
  }
  ip_bf16_path = path;
  return undefined(env);
}

/* drawRows(tokens, logits, u, L, V, invT) */
static napi_value js_draw_rows(napi_env env, napi_callback_info info) {
  Ctx c;
  int32_t *tokens;
  float *logits;
  double *u, invT;
  int64_t L, V;
  if (!ctx_init(&c, env, info, "drawRows", 6) || !arg_dim(&c, 3, "L", &L) || !arg_dim(&c, 4, "V", &V) ||
      !arg_num(&c, 5, "invT", &invT) || !arg_i32(&c, 0, "tokens", (double)L, &tokens) ||
      !arg_f32(&c, 1, "logits", (double)L * V, &logits) ||
      !arg_array(&c, 2, "u", napi_float64_array, (double)L, (void **)&u, NULL))
    return NULL;
  if (V < 1) return throw_range(&c, "V must be positive"), NULL;
  if (!(invT >= 0.0) || !isfinite(invT)) return throw_range(&c, "invT must be finite and >= 0"), NULL;
  k_draw_rows(tokens, logits, u, L, V, (float)invT);
  return undefined(env);
}

static napi_value js_scale(napi_env env, napi_callback_info info) {
  Ctx c;
  float *x;
  int64_t n;
  double s;
  if (!ctx_init(&c, env, info, "scale", 3) || !arg_dim(&c, 1, "n", &n) || !arg_num(&c, 2, "s", &s) ||
      !arg_f32(&c, 0, "x", (double)n, &x))
    return NULL;
  k_scale(x, n, (float)s);
  return undefined(env);
}

static napi_value js_sum_squares(napi_env env, napi_callback_info info) {
  Ctx c;
  float *x;
  int64_t n;
  if (!ctx_init(&c, env, info, "sumSquares", 2) || !arg_dim(&c, 1, "n", &n) || !arg_f32(&c, 0, "x", (double)n, &x))
    return NULL;
  return number(env, k_sum_squares(x, n));
}

static napi_value js_adamw(napi_env env, napi_callback_info info) {
  Ctx c;
  float *p, *g, *m, *v;
  int64_t n;
  double lr, b1, b2, eps, wd, t;
  if (!ctx_init(&c, env, info, "adamw", 11) || !arg_dim(&c, 4, "n", &n) || !arg_num(&c, 5, "lr", &lr) ||
      !arg_num(&c, 6, "beta1", &b1) || !arg_num(&c, 7, "beta2", &b2) || !arg_num(&c, 8, "eps", &eps) ||
      !arg_num(&c, 9, "wd", &wd) || !arg_num(&c, 10, "t", &t) || !arg_f32(&c, 0, "p", (double)n, &p) ||
      !arg_f32(&c, 1, "g", (double)n, &g) || !arg_f32(&c, 2, "m", (double)n, &m) ||
      !arg_f32(&c, 3, "v", (double)n, &v))
    return NULL;
  if (!(t >= 1.0)) return throw_range(&c, "t must be >= 1"), NULL;
  k_adamw(p, g, m, v, n, (float)lr, (float)b1, (float)b2, (float)eps, (float)wd, t);
  return undefined(env);
}

/* ---- module ------------------------------------------------------------------------------------ */

static napi_value init(napi_env env, napi_value exports) {
  /* Once per process (the addon may be loaded by several worker threads): the default pool size
   * is read before OpenBLAS's openblas_set_num_threads(1), which lowers OpenMP's default. */
  static int initialised = 0;
  if (!initialised) {
#ifdef _OPENMP
    ip_threads = omp_get_max_threads();
    if (ip_threads < 1) ip_threads = 1;
#endif
    ip_gemm_init();
    bf16_error = ip_bf16_init();
    initialised = 1;
  }
  const napi_property_descriptor props[] = {
#define FN(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default, NULL}
      FN("info", js_info),
      FN("setThreads", js_set_threads),
      FN("setPath", js_set_path),
      FN("hasBlas", js_has_blas),
      FN("alloc", js_alloc),
      FN("matmul", js_matmul),
      FN("addBias", js_add_bias),
      FN("biasBackward", js_bias_backward),
      FN("embeddingForward", js_embedding_forward),
      FN("embeddingBackward", js_embedding_backward),
      FN("rmsnormForward", js_rmsnorm_forward),
      FN("rmsnormBackward", js_rmsnorm_backward),
      FN("rope", js_rope),
      FN("ropeRows", js_rope_rows),
      FN("kvWrite", js_kv_write),
      FN("attentionCached", js_attention_cached),
      FN("attentionForward", js_attention_forward),
      FN("attentionBackward", js_attention_backward),
      FN("swigluForward", js_swiglu_forward),
      FN("swigluBackward", js_swiglu_backward),
      FN("crossEntropy", js_cross_entropy),
      FN("add", js_add),
      FN("scale", js_scale),
      FN("scaleRows", js_scale_rows),
      FN("drawRows", js_draw_rows),
      FN("packBf16", js_pack_bf16),
      FN("matmulBf16", js_matmul_bf16),
      FN("matmulMixed", js_matmul_mixed),
      FN("setBf16Path", js_set_bf16_path),
      FN("peakFlops", js_peak_flops),
      FN("sumSquares", js_sum_squares),
      FN("adamw", js_adamw),
#undef FN
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
