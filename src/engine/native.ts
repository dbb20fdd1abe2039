/**
 * The native backend: an N-API addon (native/, built by `npm install` through native/build.mjs)
 * with CBLAS or portable blocked matrix products, fused attention and threaded elementwise kernels
 * on one OpenMP pool. The addon validates every buffer length (a short buffer throws a RangeError
 * before anything is written) and accepts subarray views.
 *
 * `alloc` memory is freed by a finalizer that Node runs on the event loop after a garbage
 * collection: preallocate buffers once (as the model does) rather than allocating per step inside
 * a long synchronous loop, where nothing can be freed until the loop yields.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BackendInfo, Bf16Path, Kernels } from "./kernels.js";

/** What the addon reports: the backend plus its build and the CPU's bf16 features. */
export interface NativeInfo extends BackendInfo {
  blas: string;
  openmp: boolean;
  /** A bad INTERPLAY_MATMUL value (the loader throws it). */
  bf16Error: string | null;
  /** The CPU has AVX512_BF16 (vdpbf16ps). */
  avx512bf16: boolean;
  /** The CPU has AMX-BF16 (no AMX kernels are built yet). */
  amx: boolean;
}

/** What the addon exports: the kernels plus its controls. */
interface Addon extends Kernels {
  info(): NativeInfo;
  setThreads(n: number): number;
  setPath(path: "blas" | "portable"): void;
  setBf16Path(path: Exclude<Bf16Path, "reference">): void;
  peakFlops(kind: "fma" | "bf16", iters: number): number;
  hasBlas(): boolean;
}

const ADDON = join("native", "build", "Release", "interplay_native.node");

/** A bad engine setting in the environment (INTERPLAY_THREADS, INTERPLAY_MATMUL). */
export class NativeSettingError extends Error {}

let addon: Addon | undefined;
let loadError: Error | undefined;

/** The addon's path: the first `native/build/Release/…` found walking up from this module. */
function findAddon(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, ADDON);
    if (existsSync(p)) return p;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

function load(): Addon {
  if (addon) return addon;
  if (loadError) throw loadError;
  const path = findAddon();
  if (!path) {
    loadError = new Error(
      "the native engine is not built (native/build/Release/interplay_native.node is missing): " +
        "run `npm install`, or `node native/build.mjs` (needs a C compiler, make and python3)",
    );
    throw loadError;
  }
  let loaded: Addon;
  try {
    loaded = createRequire(import.meta.url)(path) as Addon;
  } catch (e) {
    loadError = new Error(
      `the native engine at ${path} failed to load (${(e as Error).message}); rebuild it with \`node native/build.mjs\``,
    );
    throw loadError;
  }
  // Settings from the environment: a bad value is the user's to fix, never a silent fallback to
  // the (100× slower) reference kernels, so it is a NativeSettingError that "auto" does not catch.
  const env = process.env.INTERPLAY_THREADS;
  if (env !== undefined) {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1)
      loadError = new NativeSettingError(`INTERPLAY_THREADS must be a positive integer, got "${env}"`);
    else loaded.setThreads(n);
  }
  const bf16Error = loaded.info().bf16Error;
  if (!loadError && bf16Error) loadError = new NativeSettingError(bf16Error);
  if (loadError) throw loadError;
  addon = loaded;
  return addon;
}

/** Why the addon did not load (undefined: it loaded, or was not tried yet). */
export function nativeLoadError(): Error | undefined {
  return loadError;
}

/** True when the addon is built and loads. */
export function nativeAvailable(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}

/** True when the addon was built with a BLAS library (OpenBLAS or Accelerate). */
export function nativeHasBlas(): boolean {
  return load().hasBlas();
}

/** Sets the number of threads of the pool (default: all cores); returns the number in force. */
export function setThreads(n: number): number {
  return load().setThreads(n);
}

/**
 * Selects the matrix-product path ("portable" is always there; "blas" only when built in).
 * The environment variable INTERPLAY_PORTABLE=1 selects "portable" at load time.
 */
export function setMatmulPath(path: "blas" | "portable"): void {
  load().setPath(path);
}

/**
 * Selects the bf16 products' path ("avx512bf16" where the CPU has it, "portable" always; "amx" is
 * refused until its kernels exist). The environment variable INTERPLAY_MATMUL=amx|avx512bf16|portable
 * (or fp32, the same as portable) selects it at load time; the default is the fastest the CPU has.
 */
export function setBf16Path(path: Exclude<Bf16Path, "reference">): void {
  load().setBf16Path(path);
}

/**
 * GFLOP/s of `iters` rounds of a register-only loop on every thread of the pool, summed over the
 * threads, each over its own CPU time (so another process on the cores does not lower it): float32
 * FMAs at the build's SIMD width ("fma"), or AVX512_BF16 dot products ("bf16"; -1 without them).
 */
export function peakFlops(kind: "fma" | "bf16", iters: number): number {
  return load().peakFlops(kind, iters);
}

/** Everything the addon reports (build, BLAS, bf16 path and the CPU's bf16 features). */
export function nativeInfo(): NativeInfo {
  return load().info();
}

/**
 * FLOPs the native engine has executed since the process started: matrix products (2·M·N·K) and
 * attention (2·hd per query–key pair for scores and again for values; backward twice the forward).
 * Element-wise kernels are not counted. Read it before and after some work to measure that work.
 */
export const executedFlops = { matmul: 0, attention: 0 };

/** Total of {@link executedFlops}. */
export const flopsExecuted = () => executedFlops.matmul + executedFlops.attention;

/** The native kernels (the addon loads on first use; a missing build throws a clear Error). */
export const native: Kernels = {
  info: () => {
    const i = load().info();
    return { name: i.name, path: i.path, threads: i.threads, simd: i.simd, bf16: i.bf16 };
  },
  alloc: (n) => load().alloc(n),
  matmul: (c, a, b, M, N, K, transA, transB, alpha, beta) => {
    load().matmul(c, a, b, M, N, K, transA, transB, alpha, beta);
    executedFlops.matmul += 2 * M * N * K;
  },
  addBias: (out, bias, M, N) => load().addBias(out, bias, M, N),
  biasBackward: (dbias, dout, M, N) => load().biasBackward(dbias, dout, M, N),
  embeddingForward: (out, tokens, wte, T, C) => load().embeddingForward(out, tokens, wte, T, C),
  embeddingBackward: (dwte, dout, tokens, T, C) => load().embeddingBackward(dwte, dout, tokens, T, C),
  rmsnormForward: (out, rstd, x, w, M, C, eps) => load().rmsnormForward(out, rstd, x, w, M, C, eps),
  rmsnormBackward: (dx, dw, dout, x, w, rstd, M, C) => load().rmsnormBackward(dx, dw, dout, x, w, rstd, M, C),
  rope: (qkv, B, T, H, Hkv, hd, theta, pos0, inverse) =>
    load().rope(qkv, B, T, H, Hkv, hd, theta, pos0, inverse),
  attentionForward: (out, probs, qkv, B, T, H, Hkv, hd, start) => {
    load().attentionForward(out, probs, qkv, B, T, H, Hkv, hd, start ?? null);
    executedFlops.attention += 4 * hd * B * H * ((T * (T + 1)) / 2);
  },
  attentionBackward: (dqkv, dout, qkv, probs, B, T, H, Hkv, hd, start) => {
    load().attentionBackward(dqkv, dout, qkv, probs, B, T, H, Hkv, hd, start ?? null);
    executedFlops.attention += 8 * hd * B * H * ((T * (T + 1)) / 2);
  },
  ropeRows: (qkv, pos, N, H, Hkv, hd, theta) => load().ropeRows(qkv, pos, N, H, Hkv, hd, theta),
  kvWrite: (kc, vc, qkv, slot, pos, N, H, Hkv, hd, Tmax, S) =>
    load().kvWrite(kc, vc, qkv, slot, pos, N, H, Hkv, hd, Tmax, S),
  attentionCached: (out, qkv, kc, vc, slot, pos, N, H, Hkv, hd, Tmax, S) => {
    load().attentionCached(out, qkv, kc, vc, slot, pos, N, H, Hkv, hd, Tmax, S);
    let pairs = 0;
    for (let r = 0; r < N; r++) pairs += pos[r] + 1;
    executedFlops.attention += 4 * hd * H * pairs;
  },
  swigluForward: (out, gu, M, F) => load().swigluForward(out, gu, M, F),
  swigluBackward: (dgu, dout, gu, M, F) => load().swigluBackward(dgu, dout, gu, M, F),
  crossEntropy: (dlogits, losses, logits, targets, M, V, gradScale) =>
    load().crossEntropy(dlogits, losses, logits, targets, M, V, gradScale),
  add: (out, a, b, n) => load().add(out, a, b, n),
  scale: (x, n, s) => load().scale(x, n, s),
  scaleRows: (x, w, M, N) => load().scaleRows(x, w, M, N),
  drawRows: (tokens, logits, u, L, V, invT) => load().drawRows(tokens, logits, u, L, V, invT),
  packBf16: (wp, w, N, K, trans) => load().packBf16(wp, w, N, K, trans ?? false),
  matmulBf16: (c, a, wp, M, N, K, beta) => {
    load().matmulBf16(c, a, wp, M, N, K, beta ?? 0);
    executedFlops.matmul += 2 * M * N * K;
  },
  matmulMixed: (c, a, b, M, N, K, transA, transB, alpha, beta) => {
    load().matmulMixed(c, a, b, M, N, K, transA, transB, alpha, beta);
    executedFlops.matmul += 2 * M * N * K;
  },
  sumSquares: (x, n) => load().sumSquares(x, n),
  adamw: (p, g, m, v, n, lr, beta1, beta2, eps, wd, t) =>
    load().adamw(p, g, m, v, n, lr, beta1, beta2, eps, wd, t),
};
