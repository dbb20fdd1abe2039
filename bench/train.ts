/**
 * W1 (benchmarks.md): one training step — forward, backward, clipping, AdamW — of the
 * 3.3M-parameter Qwen2-style benchmark model on 16 × 256 tokens; tokens/s as the median of ≥5
 * steps after 2 warm-ups, with the PyTorch CPU anchor run side by side in the same command when
 * `import torch` works (2 threads, OpenBLAS-openmp when installed), in fp32 and under bf16
 * autocast. Ours runs with fp32 products and with bf16 products (`Model.precision`); `best` is
 * the faster, and every ratio is against the anchor at its best.
 *
 *   node dist/bench/train.js [--json] [--steps N] [--portable]
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadKernels } from "../src/engine/backend.js";
import type { Kernels } from "../src/engine/kernels.js";
import { native, setMatmulPath } from "../src/engine/native.js";
import { cpuInfo, measurePeak, measureSgemm } from "../src/engine/peak.js";
import { type ModelConfig, presetConfig } from "../src/model/config.js";
import { Model, type Precision } from "../src/model/model.js";
import { adamwStep } from "../src/train/optimizer.js";
import { Rng } from "../src/util/rng.js";

/** Matrix-product FLOPs of one W1 step (forward + backward), for the fraction-of-peak figure. */
function stepFlops(c: ReturnType<typeof presetConfig>, B: number, T: number): number {
  const M = B * T;
  const hd = c.hidden / c.heads;
  const D = (c.heads + 2 * c.kvHeads) * hd;
  const perLayer = 2 * M * c.hidden * (D + c.heads * hd + 3 * c.mlp) + 2 * 2 * B * c.heads * T * T * hd;
  const head = 2 * M * c.hidden * c.vocabSize;
  return 3 * (c.layers * perLayer + head);
}

/** A PyTorch anchor's figure. */
export interface AnchorRun {
  name: string;
  tokensPerSec: number;
  config: string;
}

/**
 * The PyTorch anchor at its best on this machine: the workload in fp32 and under bf16 autocast,
 * the faster returned (its name says which; `runs` has both). Null when no Python has torch.
 */
export function runAnchor(
  workload: "train" | "sample" | "pretrain",
  args: string[] = [],
): (AnchorRun & { runs: AnchorRun[] }) | null {
  const runs = ["fp32", "bf16"]
    .map((d) => runAnchorWith([workload, ...args, d]))
    .filter((a): a is AnchorRun => a !== null);
  if (runs.length === 0) return null;
  const best = runs.reduce((x, a) => (a.tokensPerSec > x.tokensPerSec ? a : x));
  return { ...best, runs };
}

/** The anchor's part of a bench's JSON: its best run, and every run it made. */
export function anchorJson(a: ReturnType<typeof runAnchor>) {
  if (!a) return null;
  const round = (r: AnchorRun) => ({
    name: r.name,
    tokensPerSec: Math.round(r.tokensPerSec),
    config: r.config,
  });
  return { ...round(a), runs: a.runs.map(round) };
}

/** Prints the anchor's runs (or why there is none), best marked. */
export function printAnchor(a: ReturnType<typeof runAnchor>, unit: string): void {
  if (!a) {
    console.log("  anchor: PyTorch not available (python3 -c 'import torch' fails)");
    return;
  }
  for (const r of a.runs)
    console.log(
      `  ${r.name} (${r.config}): ${Math.round(r.tokensPerSec)} ${unit}${r.name === a.name ? " (the anchor at its best)" : ""}`,
    );
}

/** Runs bench/anchor_torch.py with these arguments (2 threads, OpenBLAS-openmp when installed); null without torch. */
export function runAnchorWith(args: string[]): AnchorRun | null {
  const script = fileURLToPath(new URL("../../bench/anchor_torch.py", import.meta.url));
  const omp = "/usr/lib/x86_64-linux-gnu/openblas-openmp";
  for (const py of ["python3", "/usr/bin/python3"]) {
    const probe = spawnSync(py, ["-c", "import torch"], { encoding: "utf8" });
    if (probe.status !== 0) continue;
    const env = { ...process.env };
    if (existsSync(omp)) env.LD_LIBRARY_PATH = omp;
    const r = spawnSync(py, [script, ...args], { encoding: "utf8", env, timeout: 600_000 });
    if (r.status !== 0) throw new Error(`anchor failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split("\n").pop()!);
  }
  return null;
}

/** One of our measured configurations beside the anchor. */
export interface EngineRow {
  precision: Precision;
  tokensPerSec: number;
}

/** Our rows with their ratios to the anchor at its best, and the fastest of them (`best`). */
export function rowsJson(rows: EngineRow[], anchor: ReturnType<typeof runAnchor>) {
  const ratio = (t: number) => (anchor ? +(t / anchor.tokensPerSec).toFixed(3) : null);
  const out = rows.map((r) => ({
    precision: r.precision,
    tokensPerSec: Math.round(r.tokensPerSec),
    ratio: ratio(r.tokensPerSec),
  }));
  return { rows: out, best: out.reduce((a, b) => (b.tokensPerSec > a.tokensPerSec ? b : a)) };
}

/** Prints our rows and the ratio of each to the anchor at its best. */
export function printRows(rows: ReturnType<typeof rowsJson>, label: string, unit: string): void {
  for (const r of rows.rows)
    console.log(
      `  ${label}, ${r.precision} products: ${r.tokensPerSec} ${unit}${r.ratio === null ? "" : ` = ${r.ratio.toFixed(2)}× the anchor at its best`}${r === rows.best ? " (best)" : ""}`,
    );
}

/** A benchmark's model (initialised from `seed`, products in `precision`), its AdamW moments and the generator. */
export function benchModel(k: Kernels, c: ModelConfig, precision: Precision, seed: number) {
  const model = new Model(k, c);
  model.precision = precision;
  const rng = new Rng(seed);
  model.init(() => rng.next());
  return { model, m: k.alloc(model.size), v: k.alloc(model.size), rng };
}

/** Median seconds of `steps` W1 steps (after 2 warm-ups) with the products in `precision`. */
function measureStep(k: Kernels, precision: Precision, steps: number, B: number, T: number) {
  const c = presetConfig("bench", 512);
  const { model, m, v, rng } = benchModel(k, c, precision, 0);
  const tokens = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) {
    tokens[i] = rng.int(0, c.vocabSize - 1);
    targets[i] = rng.int(0, c.vocabSize - 1);
  }
  const times: number[] = [];
  for (let s = 0; s < 2 + steps; s++) {
    const t0 = performance.now();
    model.zeroGrad();
    model.forward(tokens, B, T, targets);
    model.backward();
    const norm = model.gradNorm();
    if (norm > 1) k.scale(model.grads.flat, model.size, 1 / norm);
    adamwStep(model, m, v, { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 }, s + 1);
    if (s >= 2) times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], params: model.size, config: c };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes("--json");
  const si = args.indexOf("--steps");
  const steps = si >= 0 ? Number(args[si + 1]) : 7;
  const k = await loadKernels("native");
  if (args.includes("--portable")) setMatmulPath("portable");
  const info = k.info();
  const B = 16;
  const T = 256;
  const fp32 = measureStep(k, "fp32", steps, B, T);
  const bf16 = measureStep(k, "bf16", steps, B, T);
  const flops = stepFlops(fp32.config, B, T);
  const peaks = {
    sgemm: measureSgemm(native, { n: 1024 }).gflops,
    fma: measurePeak("fma"),
    bf16: measurePeak("bf16"),
  };
  const anchor = runAnchor("train");
  const rows = rowsJson(
    [
      { precision: "fp32", tokensPerSec: (B * T) / fp32.median },
      { precision: "bf16", tokensPerSec: (B * T) / bf16.median },
    ],
    anchor,
  );
  const gf = (median: number) => +(flops / median / 1e9).toFixed(1);
  const frac = (g: number, peak: number | null) => (peak ? +(g / peak).toFixed(3) : null);
  const out = {
    cpu: cpuInfo().model,
    ...rows,
    anchor: anchorJson(anchor),
    engine: { path: info.path, threads: info.threads, simd: info.simd, bf16: info.bf16 },
    // Matrix-product and attention FLOPs of the step per second, and as a fraction of the peak of
    // the unit each precision runs on (register-loop peaks measured in this run).
    stepGflops: { fp32: gf(fp32.median), bf16: gf(bf16.median) },
    peakGflops: {
      fmaLoop: peaks.fma && +peaks.fma.toFixed(1),
      bf16Loop: peaks.bf16 && +peaks.bf16.toFixed(1),
      sgemm1024: +peaks.sgemm.toFixed(1),
    },
    fractionOfPeak: { fp32: frac(gf(fp32.median), peaks.fma), bf16: frac(gf(bf16.median), peaks.bf16) },
  };
  if (json) console.log(JSON.stringify(out));
  else {
    console.log(
      `W1 train step (bench model ${(fp32.params / 1e6).toFixed(2)}M params, ${B}×${T} tokens, median of ${steps}) on ${out.cpu}`,
    );
    printRows(rows, `interplay (${info.path}, ${info.threads} threads)`, "tokens/s");
    console.log(
      `  step GFLOP/s: fp32 ${out.stepGflops.fp32} (${((out.fractionOfPeak.fp32 ?? 0) * 100).toFixed(0)}% of the ${out.peakGflops.fmaLoop} GFLOP/s FMA loop), bf16 ${out.stepGflops.bf16}` +
        (out.fractionOfPeak.bf16 === null
          ? " (no bf16 unit)"
          : ` (${(out.fractionOfPeak.bf16 * 100).toFixed(0)}% of the ${out.peakGflops.bf16Loop} GFLOP/s bf16 loop)`),
    );
    printAnchor(anchor, "tokens/s");
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
