/**
 * The decode-path kernels (ropeRows, kvWrite, attentionCached) against the float64 reference, and
 * against the training kernels they must agree with: rotating row r at pos[r] equals `rope` at that
 * position, and cached attention over a full prefix equals causal `attentionForward`.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { toHalf } from "./half.js";
import { bf16PackedSize } from "./kernels.js";
import { native } from "./native.js";
import { reference as ref } from "./reference.js";
import { close, FWD_TOL, rand, rng } from "./testutil.test.js";

const shapes: [number, number, number][] = [
  [1, 1, 2],
  [4, 2, 8],
  [6, 2, 6],
  [3, 3, 32],
  [8, 1, 64],
];

describe("ropeRows", () => {
  test("equals rope at each row's position; native matches reference", () => {
    const r = rng(3);
    for (const [H, Hkv, hd] of shapes) {
      const N = 7;
      const D = (H + 2 * Hkv) * hd;
      const x = rand(r, N * D);
      const pos = Int32Array.from({ length: N }, () => Math.floor(r() * 300));
      const want = x.slice();
      for (let i = 0; i < N; i++)
        ref.rope(want.subarray(i * D, (i + 1) * D), 1, 1, H, Hkv, hd, 1e4, pos[i], false);
      const a = x.slice();
      ref.ropeRows(a, pos, N, H, Hkv, hd, 1e4);
      close(a, want, 1e-12, `reference H=${H} Hkv=${Hkv} hd=${hd}`);
      const b = x.slice();
      native.ropeRows(b, pos, N, H, Hkv, hd, 1e4);
      close(b, want, FWD_TOL, `native H=${H} Hkv=${Hkv} hd=${hd}`);
    }
  });
});

describe("kvWrite + attentionCached", () => {
  test("random rows over random caches: native matches reference", () => {
    const r = rng(5);
    for (const [H, Hkv, hd] of shapes) {
      const S = 3;
      const Tmax = 37;
      const N = 9;
      const D = (H + 2 * Hkv) * hd;
      const kc = rand(r, S * Hkv * Tmax * hd);
      const vc = rand(r, S * Hkv * Tmax * hd);
      const qkv = rand(r, N * D);
      const slot = Int32Array.from({ length: N }, () => Math.floor(r() * S));
      const pos = Int32Array.from({ length: N }, (_, i) => (i === 0 ? Tmax - 1 : Math.floor(r() * Tmax)));
      const [k1, v1, k2, v2] = [kc.slice(), vc.slice(), kc.slice(), vc.slice()];
      ref.kvWrite(k1, v1, qkv, slot, pos, N, H, Hkv, hd, Tmax, S);
      native.kvWrite(k2, v2, qkv, slot, pos, N, H, Hkv, hd, Tmax, S);
      assert.deepEqual(k2, k1);
      assert.deepEqual(v2, v1);
      const want = new Float32Array(N * H * hd);
      const got = new Float32Array(N * H * hd);
      ref.attentionCached(want, qkv, k1, v1, slot, pos, N, H, Hkv, hd, Tmax, S);
      native.attentionCached(got, qkv, k1, v1, slot, pos, N, H, Hkv, hd, Tmax, S);
      close(got, want, FWD_TOL, `H=${H} Hkv=${Hkv} hd=${hd}`);
    }
  });

  test("a prefill of T rows equals causal attentionForward", () => {
    const r = rng(8);
    for (const [H, Hkv, hd] of shapes) {
      const T = 23;
      const D = (H + 2 * Hkv) * hd;
      const qkv = rand(r, T * D);
      const want = new Float32Array(T * H * hd);
      ref.attentionForward(want, new Float32Array(H * T * T), qkv, 1, T, H, Hkv, hd);
      const S = 2;
      const kc = native.alloc(S * Hkv * T * hd);
      const vc = native.alloc(S * Hkv * T * hd);
      const slot = new Int32Array(T).fill(1);
      const pos = Int32Array.from({ length: T }, (_, i) => i);
      native.kvWrite(kc, vc, qkv, slot, pos, T, H, Hkv, hd, T, S);
      const got = new Float32Array(T * H * hd);
      native.attentionCached(got, qkv, kc, vc, slot, pos, T, H, Hkv, hd, T, S);
      close(got, want, FWD_TOL, `H=${H} Hkv=${Hkv} hd=${hd}`);
    }
  });

  test("a half-precision cache: native writes the reference's bits and attends as the reference does", () => {
    const r = rng(11);
    for (const [H, Hkv, hd] of shapes) {
      const [S, Tmax, N] = [2, 29, 8];
      const D = (H + 2 * Hkv) * hd;
      const qkv = rand(r, N * D);
      const slot = Int32Array.from({ length: N }, () => Math.floor(r() * S));
      const pos = Int32Array.from({ length: N }, (_, i) => (i === 0 ? Tmax - 1 : Math.floor(r() * Tmax)));
      const bits = Uint16Array.from({ length: S * Hkv * Tmax * hd }, () => toHalf(r() * 2 - 1));
      const [k1, v1, k2, v2] = [bits.slice(), bits.slice().reverse(), bits.slice(), bits.slice().reverse()];
      ref.kvWrite(k1, v1, qkv, slot, pos, N, H, Hkv, hd, Tmax, S);
      native.kvWrite(k2, v2, qkv, slot, pos, N, H, Hkv, hd, Tmax, S);
      assert.deepEqual(k2, k1);
      assert.deepEqual(v2, v1);
      const want = new Float32Array(N * H * hd);
      const got = new Float32Array(N * H * hd);
      ref.attentionCached(want, qkv, k1, v1, slot, pos, N, H, Hkv, hd, Tmax, S);
      native.attentionCached(got, qkv, k1, v1, slot, pos, N, H, Hkv, hd, Tmax, S);
      close(got, want, FWD_TOL, `f16 H=${H} Hkv=${Hkv} hd=${hd}`);
    }
    const f = new Float32Array(4 * 8 * 8);
    const h = new Uint16Array(4 * 8 * 8);
    const args = [new Float32Array(8), Int32Array.of(0), Int32Array.of(0), 1, 1, 1, 2, 8, 4] as const;
    for (const k of [native, ref])
      assert.throws(() => k.kvWrite(f, h, ...args), TypeError, "mixed element types");
  });

  test("rows outside the cache throw a RangeError in both backends", () => {
    const [H, Hkv, hd, S, Tmax] = [2, 1, 4, 2, 5];
    const kc = new Float32Array(S * Hkv * Tmax * hd);
    const qkv = new Float32Array((H + 2 * Hkv) * hd);
    const out = new Float32Array(H * hd);
    for (const [s, p] of [
      [2, 0],
      [0, 5],
      [-1, 0],
      [0, -1],
    ]) {
      const slot = Int32Array.of(s);
      const pos = Int32Array.of(p);
      for (const k of [native, ref]) {
        assert.throws(() => k.kvWrite(kc, kc, qkv, slot, pos, 1, H, Hkv, hd, Tmax, S), RangeError);
        assert.throws(
          () => k.attentionCached(out, qkv, kc, kc, slot, pos, 1, H, Hkv, hd, Tmax, S),
          RangeError,
        );
      }
    }
  });
});

describe("drawRows", () => {
  test("native draws the reference's tokens (greedy always; sampled except at float32 rounding edges)", () => {
    const r = rng(13);
    const [L, V] = [400, 97];
    const logits = rand(r, L * V, 4);
    const u = Float64Array.from({ length: L }, () => r());
    for (const invT of [0, 1 / 0.7, 1, 3]) {
      const want = new Int32Array(L);
      const got = new Int32Array(L).fill(-1);
      ref.drawRows(want, logits, u, L, V, invT);
      native.drawRows(got, logits, u, L, V, invT);
      let same = 0;
      for (let i = 0; i < L; i++) {
        assert.ok(got[i] >= 0 && got[i] < V);
        if (got[i] === want[i]) same++;
      }
      if (invT === 0) assert.equal(same, L, "greedy picks the argmax");
      else assert.ok(same >= L - 2, `invT ${invT}: ${same} of ${L} draws agree`);
    }
    // u near 1 picks the last token with mass; u = 0 the first.
    const row = Float32Array.of(0, 1, 2, -1e30);
    for (const k of [native, ref]) {
      const out = new Int32Array(1);
      k.drawRows(out, row, Float64Array.of(0.999999999), 1, 4, 1);
      assert.equal(out[0], 2);
      k.drawRows(out, row, Float64Array.of(0), 1, 4, 1);
      assert.equal(out[0], 0);
      assert.throws(() => k.drawRows(out, row, Float64Array.of(0), 1, 4, -1), RangeError);
    }
  });
});

describe("bf16 products", () => {
  test("native packs the reference's bits and multiplies as the reference does (odd sizes)", () => {
    const r = rng(17);
    for (const [M, N, K] of [
      [1, 1, 1],
      [3, 17, 5],
      [8, 32, 64],
      [13, 40, 33],
      [64, 70, 256],
    ]) {
      const w = rand(r, N * K);
      const a = rand(r, M * K, 3);
      const want = new Uint16Array(bf16PackedSize(N, K));
      const got = new Uint16Array(bf16PackedSize(N, K)).fill(7);
      ref.packBf16(want, w, N, K);
      native.packBf16(got, w, N, K);
      assert.deepEqual(got, want, `pack ${N}×${K}`);
      const cw = new Float32Array(M * N);
      const cg = new Float32Array(M * N).fill(Number.NaN);
      ref.matmulBf16(cw, a, want, M, N, K);
      native.matmulBf16(cg, a, got, M, N, K);
      close(cg, cw, FWD_TOL, `bf16 ${M}×${N}×${K}`);
      // And it is the float32 product to bf16 accuracy (8 bits of mantissa per input).
      const exact = new Float32Array(M * N);
      ref.matmul(exact, a, w, M, N, K, false, true, 1, 0);
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < M * N; i++) {
        worst = Math.max(worst, Math.abs(cg[i] - exact[i]));
        scale = Math.max(scale, Math.abs(exact[i]));
      }
      assert.ok(worst <= 0.02 * Math.max(scale, 1e-3) + 1e-6, `bf16 vs f32 ${worst} (scale ${scale})`);
    }
    assert.throws(
      () => native.matmulBf16(new Float32Array(4), new Float32Array(4), new Uint16Array(3), 2, 2, 2),
      RangeError,
    );
  });
});
