/**
 * Matrix-product throughput of the native engine on the W1 training shapes (benchmarks.md:
 * 4096 tokens, hidden 256, qkv 768, MLP 688 (gate|up 1376), vocab 512) and on 1024³, in fp32 and
 * with bf16 products as training runs them (weights packed once, `matmulBf16`; weight gradients
 * `matmulMixed`), each against the peak of its unit measured in this run (register loops of FMAs
 * and of vdpbf16ps), and side by side with PyTorch's fp32 products when `python3 -c "import torch"`
 * works (OpenMP OpenBLAS, 2 threads: the anchor's configuration).
 *
 * Then the sampler's decode shapes (64 rows) with float32 and with bf16 products (`matmulBf16`,
 * AVX512_BF16; the `products: "bf16"` option of the sampler) side by side.
 *
 *   node dist/bench/matmul.js [--reps N] [--no-torch] [--no-portable]
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { bf16PackedSize } from "../src/engine/kernels.js";
import { native, nativeHasBlas, setMatmulPath } from "../src/engine/native.js";
import { measurePeak } from "../src/engine/peak.js";

/** Measured peaks of this machine (GFLOP/s): the FMA loop, and the bf16 dot-product loop (null: no unit). */
const PEAK = measurePeak("fma", 0.3) as number;
const BF16_PEAK = measurePeak("bf16", 0.3);

interface Shape {
  name: string;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** How many times one W1 step runs this product (4 layers; the head once). */
  perStep: number;
}

/** Linear layer y = x·Wᵀ with W [out, in]: forward (NT), input gradient (NN), weight gradient (TN). */
function linear(name: string, tokens: number, inF: number, outF: number, count: number): Shape[] {
  return [
    { name: `${name} fwd`, M: tokens, N: outF, K: inF, transA: false, transB: true, perStep: count },
    { name: `${name} dx`, M: tokens, N: inF, K: outF, transA: false, transB: false, perStep: count },
    { name: `${name} dW`, M: outF, N: inF, K: tokens, transA: true, transB: false, perStep: count },
  ];
}

const TOKENS = 4096;
const SHAPES: Shape[] = [
  { name: "square 1024³", M: 1024, N: 1024, K: 1024, transA: false, transB: false, perStep: 0 },
  ...linear("qkv", TOKENS, 256, 768, 4),
  ...linear("o", TOKENS, 256, 256, 4),
  ...linear("gate|up", TOKENS, 256, 1376, 4),
  ...linear("down", TOKENS, 688, 256, 4),
  ...linear("head", TOKENS, 256, 512, 1),
];

const flops = (s: Shape) => 2 * s.M * s.N * s.K;
const label = (s: Shape) => `${s.M}×${s.N}×${s.K} ${s.transA ? "T" : "N"}${s.transB ? "T" : "N"}`;

function args() {
  const a = process.argv.slice(2);
  const i = a.indexOf("--reps");
  return {
    reps: i >= 0 ? Number(a[i + 1]) : 7,
    torch: !a.includes("--no-torch"),
    portable: !a.includes("--no-portable"),
  };
}

/** Operands of a shape filled with fixed pseudo-random values in [-0.5, 0.5). */
function operands(s: Shape) {
  const a = native.alloc(s.M * s.K);
  const b = native.alloc(s.K * s.N);
  const c = native.alloc(s.M * s.N);
  let x = 12345;
  for (const buf of [a, b])
    for (let i = 0; i < buf.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      buf[i] = x / 2 ** 32 - 0.5;
    }
  return { a, b, c };
}

/** Best seconds of `reps` runs of `run` after one warm-up. */
function best(run: () => void, reps: number): number {
  run();
  let t = Number.POSITIVE_INFINITY;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    run();
    t = Math.min(t, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return t;
}

/** Best seconds of the float32 product of a shape. */
function timeNative(s: Shape, reps: number): number {
  const { a, b, c } = operands(s);
  return best(() => native.matmul(c, a, b, s.M, s.N, s.K, s.transA, s.transB, 1, 0), reps);
}

/** Best seconds of a shape's product in bf16 as the model runs it in training. */
function timeBf16(s: Shape, reps: number): number {
  const { a, b, c } = operands(s);
  if (s.transA) return best(() => native.matmulMixed(c, a, b, s.M, s.N, s.K, true, s.transB, 1, 0), reps);
  // x·Wᵀ (b = W [N,K]) or dY·W (b = W [K,N]): the weight packed once, as per forward.
  const wp = new Uint16Array(bf16PackedSize(s.N, s.K));
  native.packBf16(wp, b, s.N, s.K, !s.transB);
  return best(() => native.matmulBf16(c, a, wp, s.M, s.N, s.K), reps);
}

/** The sampler's decode products: 64 rows against each weight of the W2 model ([N,K], used as x·Wᵀ). */
const DECODE: Shape[] = [
  ["qkv", 768, 256],
  ["o", 256, 256],
  ["gate|up", 1376, 256],
  ["down", 256, 688],
  ["head", 512, 256],
].map(([name, N, K]) => ({
  name: `${name} decode`,
  M: 64,
  N: +N,
  K: +K,
  transA: false,
  transB: true,
  perStep: 0,
}));

/** Float32 and bf16 seconds of one decode shape (the bf16 weights packed once, as the sampler does). */
function timeDecode(s: Shape, reps: number): [number, number] {
  const { a, b, c } = operands(s);
  const wp = new Uint16Array(bf16PackedSize(s.N, s.K));
  native.packBf16(wp, b, s.N, s.K);
  reps *= 20; // microseconds each: more runs for a stable best
  return [
    best(() => native.matmul(c, a, b, s.M, s.N, s.K, false, true, 1, 0), reps),
    best(() => native.matmulBf16(c, a, wp, s.M, s.N, s.K), reps),
  ];
}

const TORCH_SCRIPT = `
import json, sys, time, os
import torch
torch.set_num_threads(2)
shapes = json.loads(sys.stdin.read())
reps = shapes.pop()
blas = "?"
try:
    with open("/proc/self/maps") as f:
        libs = {l.split()[-1] for l in f if "openblas" in l}
    blas = ", ".join(sorted(libs)) or "no OpenBLAS mapped"
except Exception:
    pass
out = []
for M, N, K, ta, tb in shapes:
    a = torch.rand(K, M) if ta else torch.rand(M, K)
    b = torch.rand(N, K) if tb else torch.rand(K, N)
    A = a.t() if ta else a
    B = b.t() if tb else b
    c = torch.empty(M, N)
    torch.matmul(A, B, out=c)
    best = 1e9
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.matmul(A, B, out=c)
        best = min(best, time.perf_counter() - t0)
    out.append(best)
print(json.dumps({"times": out, "config": "torch %s, %s, threads=%d, %s" % (torch.__version__, sys.executable, torch.get_num_threads(), blas)}))
`;

/** PyTorch's times for the same shapes, or why it could not run. */
function timeTorch(reps: number): { times: number[]; config: string } | string {
  const env = { ...process.env };
  const omp = "/usr/lib/x86_64-linux-gnu/openblas-openmp";
  if (existsSync(omp)) env.LD_LIBRARY_PATH = env.LD_LIBRARY_PATH ? `${omp}:${env.LD_LIBRARY_PATH}` : omp;
  let why = "python3 not found";
  for (const py of ["python3", "/usr/bin/python3"]) {
    const probe = spawnSync(py, ["-c", "import torch"], { env, encoding: "utf8" });
    if (probe.error) continue;
    if (probe.status !== 0) {
      why = `${py}: cannot import torch`;
      continue;
    }
    const input = JSON.stringify([...SHAPES.map((s) => [s.M, s.N, s.K, s.transA, s.transB]), reps]);
    const r = spawnSync(py, ["-c", TORCH_SCRIPT], { env, input, encoding: "utf8", maxBuffer: 1 << 20 });
    if (r.status !== 0) return `${py} failed: ${r.stderr.trim().split("\n").pop()}`;
    return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
  }
  return why;
}

function main() {
  const opt = args();
  const info = native.info();
  const live = info.path as "blas" | "portable";
  console.log(
    `native engine: path=${live}, threads=${info.threads}, simd=${info.simd}, bf16=${info.bf16}; measured peaks: FMA loop ${PEAK.toFixed(0)} GFLOP/s, bf16 loop ${BF16_PEAK === null ? "none" : `${BF16_PEAK.toFixed(0)} GFLOP/s`}`,
  );
  const liveT = SHAPES.map((s) => timeNative(s, opt.reps));
  const bfT = SHAPES.map((s) => timeBf16(s, opt.reps));
  const bfPeak = BF16_PEAK ?? PEAK;
  let portT: number[] | undefined;
  if (opt.portable && live === "blas" && nativeHasBlas()) {
    setMatmulPath("portable");
    portT = SHAPES.map((s) => timeNative(s, opt.reps));
    setMatmulPath(live);
  }
  const torch = opt.torch ? timeTorch(opt.reps) : "disabled (--no-torch)";
  const torchT = typeof torch === "string" ? undefined : torch.times;

  const gf = (s: Shape, t: number) => flops(s) / t / 1e9;
  const cols = ["product", "shape", `${live} GF/s`, "% peak"];
  if (portT) cols.push("portable GF/s", "% peak");
  cols.push("bf16 GF/s", "% bf16 peak");
  if (torchT) cols.push("torch GF/s", `${live}/torch`);
  const rows = SHAPES.map((s, i) => {
    const row = [
      s.name,
      label(s),
      gf(s, liveT[i]).toFixed(1),
      `${((100 * gf(s, liveT[i])) / PEAK).toFixed(0)}%`,
    ];
    if (portT) row.push(gf(s, portT[i]).toFixed(1), `${((100 * gf(s, portT[i])) / PEAK).toFixed(0)}%`);
    row.push(gf(s, bfT[i]).toFixed(1), `${((100 * gf(s, bfT[i])) / bfPeak).toFixed(0)}%`);
    if (torchT) row.push(gf(s, torchT[i]).toFixed(1), (torchT[i] / liveT[i]).toFixed(2));
    return row;
  });
  // One W1 step's dense products (attention excluded): total time and the tokens/s it bounds.
  const step = (t: number[]) => SHAPES.reduce((acc, s, i) => acc + s.perStep * t[i], 0);
  const stepFlops = SHAPES.reduce((acc, s) => acc + s.perStep * flops(s), 0);
  const sum = ["W1 step (dense)", `${(stepFlops / 1e9).toFixed(1)} GFLOP`];
  const cell = (t: number[], peak = PEAK) => [
    (stepFlops / step(t) / 1e9).toFixed(1),
    `${((100 * stepFlops) / step(t) / 1e9 / peak).toFixed(0)}%`,
  ];
  sum.push(...cell(liveT));
  if (portT) sum.push(...cell(portT));
  sum.push(...cell(bfT, bfPeak));
  if (torchT) sum.push((stepFlops / step(torchT) / 1e9).toFixed(1), (step(torchT) / step(liveT)).toFixed(2));
  rows.push(sum);

  const widths = cols.map((c, j) => Math.max(c.length, ...rows.map((r) => r[j].length)));
  const fmt = (r: string[]) =>
    r.map((v, j) => (j < 2 ? v.padEnd(widths[j]) : v.padStart(widths[j]))).join("  ");
  console.log(fmt(cols));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  rows.forEach((r, i) => {
    if (i === rows.length - 1) console.log(widths.map((w) => "-".repeat(w)).join("  "));
    console.log(fmt(r));
  });
  const ms = (t: number[]) => `${(step(t) * 1e3).toFixed(0)} ms → ≤ ${Math.round(TOKENS / step(t))} tokens/s`;
  console.log(
    `\nW1 step dense products on ${live}: ${ms(liveT)}${portT ? `; portable: ${ms(portT)}` : ""}; bf16 (${info.bf16}): ${ms(bfT)}`,
  );
  if (torchT) console.log(`PyTorch: ${ms(torchT)}`);
  console.log(
    typeof torch === "string"
      ? `PyTorch anchor: not run (${torch})`
      : `PyTorch anchor config: ${torch.config}`,
  );
  console.log(
    `\nDecode products (64 rows; bf16 ${info.simd.includes("bf16") ? "on vdpbf16ps" : "in plain C"}):`,
  );
  for (const s of DECODE) {
    const [f32, bf16] = timeDecode(s, opt.reps);
    console.log(
      `  ${s.name.padEnd(15)} ${label(s).padEnd(14)} f32 ${gf(s, f32).toFixed(0).padStart(4)} GF/s  bf16 ${gf(s, bf16).toFixed(0).padStart(4)} GF/s  ×${(f32 / bf16).toFixed(2)}`,
    );
  }
}

main();
