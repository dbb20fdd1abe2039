/**
 * This machine as the engine sees it: the CPU model, its SIMD and AMX flags, and a measured sgemm
 * rate (the practical FMA peak the engine reaches), so reports and plans use this machine's numbers
 * instead of a fixed one.
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import type { Kernels } from "./kernels.js";
import { peakFlops } from "./native.js";

/** The CPU flags that matter to the engine's kernels, in the order they are printed. */
export const CPU_FLAGS = [
  "avx2",
  "avx512f",
  "avx512_bf16",
  "avx512_fp16",
  "amx_tile",
  "amx_bf16",
  "amx_int8",
] as const;
export type CpuFlag = (typeof CPU_FLAGS)[number];

/** The CPU: its model name, logical cores, and which of {@link CPU_FLAGS} it has. */
export interface CpuInfo {
  model: string;
  logicalCores: number;
  /** The flags of CPU_FLAGS present; undefined when the flags could not be read (no /proc/cpuinfo). */
  flags?: CpuFlag[];
}

/** The value of the first `key : value` line of a /proc/cpuinfo text. */
function field(text: string, key: string): string | undefined {
  const m = new RegExp(`^${key}\\s*:\\s*(.*)$`, "m").exec(text);
  return m?.[1].trim();
}

/** /proc/cpuinfo, or null where there is none (macOS, Windows). */
function readCpuinfo(): string | null {
  try {
    return readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return null;
  }
}

/** This machine's CPU, from /proc/cpuinfo (Linux; null: none) or os.cpus(); `cpuinfo` is for tests. */
export function cpuInfo(cpuinfo: string | null = readCpuinfo()): CpuInfo {
  const list = cpus();
  const model = (cpuinfo && field(cpuinfo, "model name")) || list[0]?.model.trim() || "unknown CPU";
  const flagLine = cpuinfo && field(cpuinfo, "flags");
  const present = flagLine ? new Set(flagLine.split(/\s+/)) : undefined;
  return {
    model,
    logicalCores: list.length,
    ...(present ? { flags: CPU_FLAGS.filter((f) => present.has(f)) } : {}),
  };
}

/** Options of {@link measureSgemm}. */
export interface SgemmOptions {
  /** Matrix size n of the n×n×n product; default 1024. */
  n?: number;
  /** Seconds to keep repeating the product after one warm-up; default 0.5. */
  seconds?: number;
}

/** A measured sgemm rate. */
export interface SgemmRate {
  /** GFLOP/s of the fastest product (2·n³ FLOPs). */
  gflops: number;
  n: number;
  /** Timed products. */
  runs: number;
  /** Threads of the backend during the measurement. */
  threads: number;
}

/** Operands of an n×n×n product benchmark (deterministic values in [−0.5, 0.5)) and its time budget in ns. */
function squareOperands(kernels: Kernels, opts: SgemmOptions) {
  const n = opts.n ?? 1024;
  const a = kernels.alloc(n * n);
  const b = kernels.alloc(n * n);
  const c = kernels.alloc(n * n);
  let s = 0x9e3779b9;
  for (let i = 0; i < n * n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
    b[i] = ((s >>> 7) % 1000) / 1000 - 0.5;
  }
  return { n, budget: (opts.seconds ?? 0.5) * 1e9, a, b, c };
}

/** The rate of an n×n×n `product`: one untimed warm-up, then the fastest of the runs timed in `budget` ns (at least three). */
function timeProduct(n: number, budget: number, kernels: Kernels, product: () => void): SgemmRate {
  product();
  const start = process.hrtime.bigint();
  let best = Number.POSITIVE_INFINITY;
  let runs = 0;
  while (runs < 3 || Number(process.hrtime.bigint() - start) < budget) {
    const t0 = process.hrtime.bigint();
    product();
    best = Math.min(best, Number(process.hrtime.bigint() - t0));
    runs++;
  }
  return { gflops: (2 * n * n * n) / best, n, runs, threads: kernels.info().threads };
}

/**
 * The rate of an n×n×n sgemm on `kernels` (the live path and its default threads): the fastest of
 * the products timed in about `seconds` (at least three), after one untimed warm-up.
 */
export function measureSgemm(kernels: Kernels, opts: SgemmOptions = {}): SgemmRate {
  const { n, budget, a, b, c } = squareOperands(kernels, opts);
  return timeProduct(n, budget, kernels, () => kernels.matmul(c, a, b, n, n, n, false, false, 1, 0));
}

/**
 * The arithmetic peak of this machine's cores as the native engine measures it: a register-only
 * loop of float32 FMAs ("fma") or of AVX512_BF16 dot products ("bf16"), on every thread over its
 * own CPU time, the fastest of a few rounds (≈ `seconds` in all). GFLOP/s, or null where the CPU
 * lacks the unit.
 */
export function measurePeak(kind: "fma" | "bf16", seconds = 0.2): number | null {
  if (peakFlops(kind, 1000) < 0) return null;
  const iters = 1_000_000;
  let best = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < 3 || Number(process.hrtime.bigint() - start) < seconds * 1e9; i++)
    best = Math.max(best, peakFlops(kind, iters));
  return best;
}

/** A measured bf16 product rate: C = A·Pᵀ with P packed (`packBf16` + `matmulBf16`), n×n×n. */
export function measureBf16Gemm(kernels: Kernels, opts: SgemmOptions = {}): SgemmRate {
  const { n, budget, a, b: w, c } = squareOperands(kernels, opts);
  const wp = new Uint16Array(Math.ceil(n / 16) * 16 * Math.ceil(n / 2) * 2);
  kernels.packBf16(wp, w, n, n);
  return timeProduct(n, budget, kernels, () => kernels.matmulBf16(c, a, wp, n, n, n));
}
