/**
 * The native backend's own surface: info, alloc, threads, path selection, argument checks.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { nextTurn } from "../util/turn.js";
import { native, nativeAvailable, nativeHasBlas, setMatmulPath, setThreads } from "./native.js";
import { measureSgemm } from "./peak.js";
import { reference as ref } from "./reference.js";
import { close, FWD_TOL, rand, rng } from "./testutil.test.js";

describe("native backend", () => {
  test("dropped buffers are returned to the system when the event loop turns (nextTurn)", async () => {
    // 16 × 128 MB allocated and dropped, a full collection each time: Node runs the finalizers that
    // free them from the event loop, so the loop yields; without that the process grows by ~2 GB.
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    await nextTurn();
    const before = process.memoryUsage().rss;
    let peak = before;
    for (let i = 0; i < 16; i++) {
      gc();
      await nextTurn();
      const a = native.alloc(32 * 1024 * 1024);
      a.fill(1); // touch every page
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    assert.ok(peak - before < 1024 * 1024 * 1024, `grew by ${((peak - before) / 2 ** 20).toFixed(0)} MB`);
  });

  test("loads and reports itself (INTERPLAY_PORTABLE=1 selects the portable path)", () => {
    assert.equal(nativeAvailable(), true);
    const info = native.info();
    assert.equal(info.name, "native");
    const forced = (process.env.INTERPLAY_PORTABLE ?? "") !== "" && process.env.INTERPLAY_PORTABLE !== "0";
    assert.equal(info.path, forced || !nativeHasBlas() ? "portable" : "blas");
    assert.ok(info.threads >= 1);
    assert.equal(typeof info.simd, "string");
  });

  test("alloc returns zeroed native memory that JS can read and write", () => {
    for (const n of [0, 1, 17, 1 << 20]) {
      const a = native.alloc(n);
      assert.ok(a instanceof Float32Array);
      assert.equal(a.length, n);
      assert.equal(a.byteOffset, 0);
      assert.ok(a.every((v) => v === 0));
      if (n > 0) {
        a[n - 1] = 3.5;
        assert.equal(a[n - 1], 3.5);
      }
    }
    // Native buffers work as kernel arguments like any other.
    const x = native.alloc(8).fill(2);
    assert.equal(native.sumSquares(x, 8), 32);
  });

  test("setThreads changes the pool size and results do not depend on it", () => {
    const r = rng(5);
    const [M, N, K] = [200, 96, 130];
    const a = rand(r, M * K);
    const b = rand(r, K * N);
    const [B, T, H, Hkv, hd] = [2, 40, 4, 2, 16];
    const qkv = rand(r, B * T * (H + 2 * Hkv) * hd);
    const run = () => {
      const c = new Float32Array(M * N);
      native.matmul(c, a, b, M, N, K, true, false, 1, 0);
      const out = new Float32Array(B * T * H * hd);
      native.attentionForward(out, new Float32Array(B * H * T * T), qkv, B, T, H, Hkv, hd);
      return [c, out];
    };
    const before = native.info().threads;
    assert.equal(setThreads(1), 1);
    assert.equal(native.info().threads, 1);
    const one = run();
    setThreads(Math.max(2, before));
    const many = run();
    setThreads(before);
    close(many[0], one[0], 1e-6, "matmul 1 vs n threads");
    close(many[1], one[1], 1e-6, "attention 1 vs n threads");
    assert.throws(() => setThreads(0), RangeError);
  });

  test("setMatmulPath rejects unknown paths", () => {
    assert.throws(() => setMatmulPath("fast" as "blas"), RangeError);
    if (!nativeHasBlas()) assert.throws(() => setMatmulPath("blas"), RangeError);
  });

  test("measureSgemm on the native path returns a positive rate", () => {
    const g = measureSgemm(native, { n: 128, seconds: 0 }).gflops;
    assert.ok(g > 0 && Number.isFinite(g));
  });
});

describe("argument checks", () => {
  const f = (n: number) => new Float32Array(n);
  test("short buffers throw RangeError before writing", () => {
    const c = f(5).fill(1);
    // M=2, N=3, K=2: c needs 6, a needs 4, b needs 6.
    assert.throws(() => native.matmul(c, f(4), f(6), 2, 3, 2, false, false, 1, 0), RangeError);
    assert.deepEqual([...c], [1, 1, 1, 1, 1]);
    assert.throws(() => native.matmul(f(6), f(3), f(6), 2, 3, 2, false, false, 1, 0), RangeError);
    assert.throws(() => native.matmul(f(6), f(4), f(5), 2, 3, 2, true, true, 1, 0), RangeError);
    assert.throws(() => native.addBias(f(11), f(4), 3, 4), RangeError);
    assert.throws(() => native.biasBackward(f(3), f(12), 3, 4), RangeError);
    assert.throws(() => native.rmsnormForward(f(12), f(2), f(12), f(4), 3, 4, 1e-6), RangeError);
    assert.throws(() => native.rmsnormBackward(f(12), f(4), f(12), f(12), f(4), f(3), 3, 5), RangeError);
    assert.throws(() => native.rope(f(10), 1, 1, 1, 1, 4, 1e4, 0, false), RangeError);
    assert.throws(() => native.rope(f(9), 1, 1, 1, 1, 3, 1e4, 0, false), RangeError); // odd head dim
    assert.throws(() => native.attentionForward(f(8), f(3), f(24), 1, 2, 1, 1, 4), RangeError);
    assert.throws(() => native.attentionForward(f(7), f(4), f(24), 1, 2, 1, 1, 4), RangeError);
    assert.throws(() => native.attentionBackward(f(23), f(8), f(24), f(4), 1, 2, 1, 1, 4), RangeError);
    assert.throws(() => native.swigluForward(f(6), f(11), 2, 3), RangeError);
    assert.throws(() => native.swigluBackward(f(12), f(5), f(12), 2, 3), RangeError);
    assert.throws(() => native.crossEntropy(f(5), f(2), f(6), new Int32Array(2), 2, 3, 1), RangeError);
    assert.throws(() => native.crossEntropy(null, f(2), f(6), new Int32Array(1), 2, 3, 1), RangeError);
    assert.throws(() => native.add(f(4), f(3), f(4), 4), RangeError);
    assert.throws(() => native.scale(f(3), 4, 2), RangeError);
    assert.throws(() => native.sumSquares(f(3), 4), RangeError);
    assert.throws(() => native.adamw(f(4), f(4), f(4), f(3), 4, 1, 0.9, 0.9, 1e-8, 0, 1), RangeError);
    assert.throws(() => native.embeddingForward(f(6), new Int32Array(1), f(9), 2, 3), RangeError);
    // Views count their own length, not their buffer's.
    const big = f(100);
    assert.throws(() => native.scale(big.subarray(90), 11, 2), RangeError);
  });

  test("wrong types and bad dimensions throw", () => {
    assert.throws(() => native.scale(new Float64Array(4) as unknown as Float32Array, 4, 2), TypeError);
    assert.throws(
      () => native.embeddingForward(f(3), new Float32Array(1) as unknown as Int32Array, f(3), 1, 3),
      TypeError,
    );
    assert.throws(() => native.scale(f(4), -1, 2), RangeError);
    assert.throws(() => native.scale(f(4), 1.5, 2), RangeError);
    assert.throws(() => native.scale(f(4), Number.NaN, 2), RangeError);
  });

  test("a kernel on a native buffer matches the reference (sanity)", () => {
    const r = rng(9);
    const x = native.alloc(64);
    x.set(rand(r, 64));
    const ow = f(32);
    ref.swigluForward(ow, x, 2, 16);
    const og = native.alloc(32);
    native.swigluForward(og, x, 2, 16);
    close(og, ow, FWD_TOL, "swiglu on native memory");
  });
});
