/**
 * The mixed-precision products (`matmulMixed`, `packBf16` + `matmulBf16`) on every bf16 path the
 * native engine has here, against float64 references, on random and odd shapes (sizes that are not
 * multiples of the 8-row tile, the 16-column panel, the 2-deep pair or the 64×64 task, K odd, K
 * across the 256-deep block). Two bounds, both stated per element over Σ_k |a_ik·b_kj| (= S):
 *
 *  - against the float64 product of the bf16-ROUNDED operands, only float32 accumulation differs:
 *    |err| ≤ (K + 2)·2⁻²⁴·S (recursive summation's γ_K bound, plus alpha and beta);
 *  - against the float64 product of the float32 operands, bf16 rounding adds at most
 *    (2·2⁻⁸ + 2⁻¹⁶)·S (each operand carries a relative error ≤ 2⁻⁸, half an ulp of 8 significant bits).
 *
 * The AMX path is tested where the CPU has AMX and the build has its kernels; elsewhere the test
 * skips and says which is missing.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fromBf16, toBf16Ftz } from "./half.js";
import { bf16PackedSize } from "./kernels.js";
import { native, nativeInfo, setBf16Path } from "./native.js";
import { reference as ref } from "./reference.js";
import { rand, rng } from "./testutil.test.js";

const info = nativeInfo();
const u32 = 2 ** -24;
const ROUNDING = 2 * 2 ** -8 + 2 ** -16;
const bf = (x: number) => fromBf16(toBf16Ftz(x));

/** Paths to test here, and why any is skipped. */
const PATHS: { path: "avx512bf16" | "portable" | "amx"; skip: string | false }[] = [
  { path: "portable", skip: false },
  { path: "avx512bf16", skip: info.avx512bf16 ? false : "this CPU has no AVX512_BF16" },
  {
    path: "amx",
    skip: info.amx
      ? "no AMX kernels are built yet (AVX512-BF16 runs on this AMX CPU)"
      : "this CPU has no AMX (amx_bf16)",
  },
];

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [8, 16, 2],
  [9, 17, 3],
  [13, 33, 31],
  [64, 64, 256],
  [65, 70, 257],
  [130, 31, 300],
  [7, 129, 513],
];

/** Worst |c − want| / S over the elements, against two references (rounded and unrounded operands). */
function errors(
  c: Float32Array,
  c0: Float32Array,
  a: Float32Array,
  b: Float32Array,
  d: { M: number; N: number; K: number; ta: boolean; tb: boolean; alpha: number; beta: number },
): { rounded: number; exact: number } {
  const { M, N, K, ta, tb, alpha, beta } = d;
  let rounded = 0;
  let exact = 0;
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let sr = 0;
      let se = 0;
      let S = 0;
      for (let k = 0; k < K; k++) {
        const x = ta ? a[k * M + i] : a[i * K + k];
        const y = tb ? b[j * K + k] : b[k * N + j];
        sr += bf(x) * bf(y);
        se += x * y;
        S += Math.abs(x * y);
      }
      const scale = Math.abs(alpha) * S + Math.abs(beta * c0[i * N + j]) + 1e-30;
      const base = beta === 0 ? 0 : beta * c0[i * N + j];
      rounded = Math.max(rounded, Math.abs(c[i * N + j] - (alpha * sr + base)) / scale);
      exact = Math.max(exact, Math.abs(c[i * N + j] - (alpha * se + base)) / scale);
    }
  return { rounded, exact };
}

for (const { path, skip } of PATHS)
  describe(`bf16 products, ${path} path`, { skip }, () => {
    const use = () => setBf16Path(path as "avx512bf16" | "portable");
    const restore = () => setBf16Path(info.bf16 as "avx512bf16" | "portable");

    test("matmulMixed: every transpose, alpha and beta, within the stated bounds", () => {
      use();
      try {
        const r = rng(11);
        for (const [M, N, K] of SHAPES)
          for (const ta of [false, true])
            for (const tb of [false, true]) {
              const alpha = ta ? 0.5 : 1;
              const beta = tb ? 1 : 0;
              const a = rand(r, M * K);
              const b = rand(r, K * N, 3);
              const c0 = rand(r, M * N);
              const c = c0.slice();
              native.matmulMixed(c, a, b, M, N, K, ta, tb, alpha, beta);
              const e = errors(c, c0, a, b, { M, N, K, ta, tb, alpha, beta });
              const label = `${M}×${N}×${K} ${ta ? "T" : "N"}${tb ? "T" : "N"}`;
              assert.ok(e.rounded <= (K + 2) * u32, `${label}: ${e.rounded} vs rounded operands`);
              assert.ok(e.exact <= ROUNDING + (K + 2) * u32, `${label}: ${e.exact} vs float32 operands`);
            }
      } finally {
        restore();
      }
    });

    test("packBf16 (both layouts) + matmulBf16 equal the reference's packs and products", () => {
      use();
      try {
        const r = rng(12);
        for (const [M, N, K] of SHAPES)
          for (const trans of [false, true]) {
            const w = rand(r, N * K, 2); // P [N,K], or Pᵀ [K,N] with trans
            const want = new Uint16Array(bf16PackedSize(N, K));
            const got = new Uint16Array(bf16PackedSize(N, K)).fill(7);
            ref.packBf16(want, w, N, K, trans);
            native.packBf16(got, w, N, K, trans);
            assert.deepEqual(got, want, `pack ${N}×${K} trans=${trans}`);
            const a = rand(r, M * K);
            const c0 = rand(r, M * N);
            const c = c0.slice();
            native.matmulBf16(c, a, got, M, N, K, trans ? 1 : 0);
            // matmulBf16 is matmulMixed with B = P (transB) or B = Pᵀ stored [K,N] (no transB).
            const e = errors(c, c0, a, w, { M, N, K, ta: false, tb: !trans, alpha: 1, beta: trans ? 1 : 0 });
            assert.ok(e.rounded <= (K + 2) * u32, `${M}×${N}×${K} trans=${trans}: ${e.rounded}`);
          }
      } finally {
        restore();
      }
    });
  });

describe("bf16 paths", () => {
  test("the reference backend's matmulMixed meets the rounded-operand bound exactly (float64 sums)", () => {
    const r = rng(13);
    const [M, N, K] = [5, 19, 33];
    const a = rand(r, K * M);
    const b = rand(r, N * K);
    const c0 = rand(r, M * N);
    const c = c0.slice();
    ref.matmulMixed(c, a, b, M, N, K, true, true, 2, -1);
    const e = errors(c, c0, a, b, { M, N, K, ta: true, tb: true, alpha: 2, beta: -1 });
    assert.ok(e.rounded < 1e-7, `reference ${e.rounded}`); // float32 storage of C only
  });

  test("the live path is the fastest the CPU has, and an unavailable path is refused by name", () => {
    assert.equal(
      native.info().bf16,
      process.env.INTERPLAY_MATMUL ? info.bf16 : info.avx512bf16 ? "avx512bf16" : "portable",
    );
    if (!info.avx512bf16) assert.throws(() => setBf16Path("avx512bf16"), /avx512bf16 path is not available/);
    assert.throws(() => setBf16Path("amx"), /amx path is not available here/);
    assert.throws(() => setBf16Path("fast" as "amx"), /must be "amx", "avx512bf16" or "portable"/);
  });

  test("bad sizes are refused before anything is written", () => {
    const c = new Float32Array(4).fill(5);
    assert.throws(
      () => native.matmulMixed(c, new Float32Array(3), new Float32Array(4), 2, 2, 2, false, false, 1, 0),
      /a/,
    );
    assert.deepEqual([...c], [5, 5, 5, 5]);
    assert.throws(() => native.packBf16(new Uint16Array(10), new Float32Array(4), 2, 2, true), /dst/);
  });
});
