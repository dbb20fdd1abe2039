/**
 * The native kernels against the float64 reference: every kernel, odd shapes, both matrix-product
 * paths (BLAS when built in, and portable), accumulation semantics and subarray views.
 * Relative error = max|native − reference| / max(1e-6, max|reference|); forward < 1e-5,
 * backward < 1e-4.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { native, nativeHasBlas, setMatmulPath } from "./native.js";
import { reference as ref } from "./reference.js";
import { BWD_TOL, close, FWD_TOL, rand, relErr, rng } from "./testutil.test.js";

const startPath = native.info().path as "blas" | "portable";
const paths: ("blas" | "portable")[] = nativeHasBlas() ? ["blas", "portable"] : ["portable"];
after(() => setMatmulPath(startPath));

describe("matmul", () => {
  const sizes = [1, 7, 33, 65, 130];
  const r = rng(11);
  for (const path of paths) {
    test(`${path}: all shapes in {1,7,33,65,130}³, all transposes, alpha/beta`, () => {
      setMatmulPath(path);
      let n = 0;
      for (const M of sizes)
        for (const N of sizes)
          for (const K of sizes)
            for (const transA of [false, true])
              for (const transB of [false, true]) {
                const a = rand(r, M * K);
                const b = rand(r, K * N);
                const alpha = [1, 0.75, -1.5][n % 3];
                const beta = [0, 1, -0.5, 0][n % 4];
                n++;
                const c0 = rand(r, M * N);
                if (beta === 0) c0.fill(Number.NaN); // beta = 0 must not read c
                const want = c0.slice();
                const got = c0.slice();
                ref.matmul(want, a, b, M, N, K, transA, transB, alpha, beta);
                native.matmul(got, a, b, M, N, K, transA, transB, alpha, beta);
                const label = `${path} M=${M} N=${N} K=${K} tA=${transA} tB=${transB} a=${alpha} b=${beta}`;
                close(got, want, FWD_TOL, label);
              }
    });

    test(`${path}: shapes crossing the cache blocks (K > 256, K > 2048, N > 512, M > 3584)`, () => {
      setMatmulPath(path);
      const shapes: [number, number, number][] = [
        [40, 530, 600],
        [3700, 20, 9],
        [17, 1100, 70],
        [20, 45, 2100], // K >= 2048: deeper packed blocks
        [3, 530, 600], // few rows: the unpacked path, threaded
      ];
      for (const [M, N, K] of shapes)
        for (const [transA, transB] of [
          [false, false],
          [true, true],
        ]) {
          const a = rand(r, M * K);
          const b = rand(r, K * N);
          const want = rand(r, M * N);
          const got = want.slice();
          ref.matmul(want, a, b, M, N, K, transA, transB, 0.5, 1);
          native.matmul(got, a, b, M, N, K, transA, transB, 0.5, 1);
          close(got, want, FWD_TOL, `${path} ${M}x${N}x${K}`);
        }
    });
  }

  test("K = 0 scales c by beta; M or N = 0 is a no-op", () => {
    const c = new Float32Array([1, 2, 3, 4]);
    native.matmul(c, new Float32Array(0), new Float32Array(0), 2, 2, 0, false, false, 1, 0.5);
    assert.deepEqual([...c], [0.5, 1, 1.5, 2]);
    native.matmul(c, new Float32Array(0), new Float32Array(0), 2, 2, 0, false, false, 1, 0);
    assert.deepEqual([...c], [0, 0, 0, 0]);
    native.matmul(new Float32Array(0), new Float32Array(0), new Float32Array(5), 0, 5, 1, false, false, 1, 0);
  });

  test("the BLAS and portable paths agree", { skip: !nativeHasBlas() && "built without BLAS" }, () => {
    for (const [M, N, K] of [
      [130, 65, 300],
      [512, 260, 96],
    ]) {
      for (const [transA, transB] of [
        [false, true],
        [true, false],
      ]) {
        const a = rand(r, M * K);
        const b = rand(r, K * N);
        const c1 = new Float32Array(M * N);
        const c2 = new Float32Array(M * N);
        setMatmulPath("blas");
        native.matmul(c1, a, b, M, N, K, transA, transB, 1, 0);
        setMatmulPath("portable");
        native.matmul(c2, a, b, M, N, K, transA, transB, 1, 0);
        close(c2, c1, FWD_TOL, `blas vs portable ${M}x${N}x${K}`);
      }
    }
  });
});

describe("bias", () => {
  const r = rng(12);
  for (const [M, N] of [
    [1, 1],
    [7, 33],
    [300, 256],
  ]) {
    test(`addBias / biasBackward M=${M} N=${N}`, () => {
      const out = rand(r, M * N);
      const bias = rand(r, N);
      const want = out.slice();
      ref.addBias(want, bias, M, N);
      native.addBias(out, bias, M, N);
      close(out, want, FWD_TOL, "addBias");

      const dout = rand(r, M * N);
      const db0 = rand(r, N);
      const dwant = db0.slice();
      ref.biasBackward(dwant, dout, M, N);
      const dgot = db0.slice();
      native.biasBackward(dgot, dout, M, N);
      close(dgot, dwant, BWD_TOL, "biasBackward");
    });
  }
});

describe("embedding", () => {
  const r = rng(13);
  for (const [T, C, V] of [
    [1, 8, 3],
    [17, 33, 5],
    [300, 256, 40],
    [33_000, 256, 50], // large enough for the threaded backward
  ]) {
    test(`forward / backward T=${T} C=${C} (repeated tokens)`, () => {
      const tokens = new Int32Array(T).map(() => Math.floor(r() * V));
      const wte = rand(r, V * C);
      const want = new Float32Array(T * C);
      const got = new Float32Array(T * C);
      ref.embeddingForward(want, tokens, wte, T, C);
      native.embeddingForward(got, tokens, wte, T, C);
      close(got, want, FWD_TOL, "embeddingForward");

      const dout = rand(r, T * C);
      const dw0 = rand(r, V * C);
      const dwant = dw0.slice();
      ref.embeddingBackward(dwant, dout, tokens, T, C);
      const dgot = dw0.slice();
      native.embeddingBackward(dgot, dout, tokens, T, C);
      close(dgot, dwant, BWD_TOL, "embeddingBackward");
    });
  }

  test("tokens outside the table throw a RangeError", () => {
    const wte = new Float32Array(4 * 3);
    assert.throws(
      () => native.embeddingForward(new Float32Array(6), new Int32Array([0, 4]), wte, 2, 3),
      RangeError,
    );
    assert.throws(
      () => native.embeddingBackward(wte, new Float32Array(6), new Int32Array([-1, 0]), 2, 3),
      RangeError,
    );
  });
});

describe("rmsnorm", () => {
  const r = rng(14);
  for (const [M, C] of [
    [1, 7],
    [5, 64],
    [33, 33],
    [300, 256],
  ]) {
    test(`forward / backward M=${M} C=${C}`, () => {
      const x = rand(r, M * C, 2);
      const w = rand(r, C);
      const want = new Float32Array(M * C);
      const rsw = new Float32Array(M);
      const got = new Float32Array(M * C);
      const rsg = new Float32Array(M);
      ref.rmsnormForward(want, rsw, x, w, M, C, 1e-6);
      native.rmsnormForward(got, rsg, x, w, M, C, 1e-6);
      close(got, want, FWD_TOL, "rmsnorm out");
      close(rsg, rsw, FWD_TOL, "rmsnorm rstd");

      const dout = rand(r, M * C);
      const dx0 = rand(r, M * C);
      const dw0 = rand(r, C);
      const dxw = dx0.slice();
      const dww = dw0.slice();
      ref.rmsnormBackward(dxw, dww, dout, x, w, rsw, M, C);
      const dxg = dx0.slice();
      const dwg = dw0.slice();
      native.rmsnormBackward(dxg, dwg, dout, x, w, rsw, M, C);
      close(dxg, dxw, BWD_TOL, "rmsnorm dx");
      close(dwg, dww, BWD_TOL, "rmsnorm dw");
    });
  }
});

const headConfigs: [number, number][] = [
  [4, 4],
  [4, 2],
  [6, 2],
];

describe("rope", () => {
  const r = rng(15);
  test("all shapes, pos0, inverse; inverse undoes forward", () => {
    for (const [H, Hkv] of headConfigs)
      for (const hd of [2, 8, 64])
        for (const T of [1, 5, 17])
          for (const B of [1, 2])
            for (const pos0 of [0, 3])
              for (const inverse of [false, true]) {
                const n = B * T * (H + 2 * Hkv) * hd;
                const x = rand(r, n);
                const want = x.slice();
                const got = x.slice();
                ref.rope(want, B, T, H, Hkv, hd, 10000, pos0, inverse);
                native.rope(got, B, T, H, Hkv, hd, 10000, pos0, inverse);
                close(
                  got,
                  want,
                  FWD_TOL,
                  `rope H=${H}/${Hkv} hd=${hd} T=${T} B=${B} pos0=${pos0} inv=${inverse}`,
                );
                native.rope(got, B, T, H, Hkv, hd, 10000, pos0, !inverse);
                close(got, x, FWD_TOL, "rope round trip");
              }
  });

  test("large positions and theta 1e6 (table regrowth)", () => {
    const [B, T, H, Hkv, hd] = [1, 40, 2, 1, 16];
    for (const [theta, pos0] of [
      [1e6, 2000],
      [10000, 5000],
      [1e6, 0],
    ]) {
      const x = rand(r, B * T * (H + 2 * Hkv) * hd);
      const want = x.slice();
      const got = x.slice();
      ref.rope(want, B, T, H, Hkv, hd, theta, pos0, false);
      native.rope(got, B, T, H, Hkv, hd, theta, pos0, false);
      close(got, want, FWD_TOL, `rope theta=${theta} pos0=${pos0}`);
    }
  });
});

describe("attention", () => {
  const r = rng(16);
  const cases: [number, number, number, number, number][] = [];
  for (const [H, Hkv] of headConfigs)
    for (const hd of [2, 8, 64]) for (const T of [1, 5, 17]) cases.push([T === 5 ? 2 : 1, T, H, Hkv, hd]);
  cases.push([2, 130, 4, 2, 16]); // crosses the 64-row causal blocks
  cases.push([1, 70, 6, 2, 64]);
  for (const path of paths) {
    test(`${path}: forward and backward vs reference`, () => {
      setMatmulPath(path);
      for (const [B, T, H, Hkv, hd] of cases) {
        const label = `${path} B=${B} T=${T} H=${H}/${Hkv} hd=${hd}`;
        const D = (H + 2 * Hkv) * hd;
        const qkv = rand(r, B * T * D, 1.5);
        const outW = new Float32Array(B * T * H * hd);
        const probsW = new Float32Array(B * H * T * T);
        ref.attentionForward(outW, probsW, qkv, B, T, H, Hkv, hd);
        const outG = new Float32Array(B * T * H * hd).fill(7);
        const probsG = new Float32Array(B * H * T * T).fill(7);
        native.attentionForward(outG, probsG, qkv, B, T, H, Hkv, hd);
        close(outG, outW, FWD_TOL, `${label} out`);
        close(probsG, probsW, FWD_TOL, `${label} probs`);

        const dout = rand(r, B * T * H * hd);
        const d0 = rand(r, B * T * D);
        const dW = d0.slice();
        ref.attentionBackward(dW, dout, qkv, probsW, B, T, H, Hkv, hd);
        const dG = d0.slice();
        native.attentionBackward(dG, dout, qkv, probsW, B, T, H, Hkv, hd);
        close(dG, dW, BWD_TOL, `${label} dqkv`);
        const dN = d0.slice(); // from the native forward's own probabilities
        native.attentionBackward(dN, dout, qkv, probsG, B, T, H, Hkv, hd);
        close(dN, dW, BWD_TOL, `${label} dqkv from native probs`);
      }
    });
  }
});

describe("document-masked attention", () => {
  test("native matches reference; each document equals attention over it alone", () => {
    const r = rng(21);
    const [B, T, H, Hkv, hd] = [2, 77, 4, 2, 16];
    const D = (H + 2 * Hkv) * hd;
    const qkv = rand(r, B * T * D, 1.5);
    // Row 0: documents [0,30), [30,31), [31,77); row 1: one document.
    const start = Int32Array.from({ length: B * T }, (_, i) => {
      const t = i % T;
      return i >= T ? 0 : t < 30 ? 0 : t < 31 ? 30 : 31;
    });
    const outW = new Float32Array(B * T * H * hd);
    const probsW = new Float32Array(B * H * T * T);
    ref.attentionForward(outW, probsW, qkv, B, T, H, Hkv, hd, start);
    const outG = new Float32Array(B * T * H * hd).fill(7);
    const probsG = new Float32Array(B * H * T * T).fill(7);
    native.attentionForward(outG, probsG, qkv, B, T, H, Hkv, hd, start);
    close(outG, outW, FWD_TOL, "out");
    close(probsG, probsW, FWD_TOL, "probs");
    // The third document of row 0 on its own (positions 31..76) gives the same outputs.
    const L = T - 31;
    const alone = new Float32Array(L * H * hd);
    native.attentionForward(alone, new Float32Array(H * L * L), qkv.slice(31 * D, T * D), 1, L, H, Hkv, hd);
    close(outG.subarray(31 * H * hd, T * H * hd), alone, FWD_TOL, "a document alone");
    // Row 1 (no mask inside) equals the unmasked kernel.
    const plain = new Float32Array(B * T * H * hd);
    native.attentionForward(plain, new Float32Array(B * H * T * T), qkv, B, T, H, Hkv, hd);
    close(outG.subarray(T * H * hd), plain.subarray(T * H * hd), FWD_TOL, "unmasked row");
    // Backward through masked probabilities matches the reference.
    const dout = rand(r, B * T * H * hd);
    const dW = new Float32Array(B * T * D);
    const dG = new Float32Array(B * T * D);
    ref.attentionBackward(dW, dout, qkv, probsW, B, T, H, Hkv, hd);
    native.attentionBackward(dG, dout, qkv, probsG, B, T, H, Hkv, hd, start);
    close(dG, dW, BWD_TOL, "dqkv (masked tiles skipped)");
    // Many short documents (tiles skipped on both sides of the block boundaries).
    const T2 = 150;
    const q2 = rand(r, T2 * D, 1.5);
    const st2 = Int32Array.from({ length: T2 }, (_, t) => t - (t % 23));
    const [o2w, p2w, o2g, p2g] = [T2 * H * hd, H * T2 * T2, T2 * H * hd, H * T2 * T2].map(
      (n) => new Float32Array(n),
    );
    ref.attentionForward(o2w, p2w, q2, 1, T2, H, Hkv, hd, st2);
    native.attentionForward(o2g, p2g, q2, 1, T2, H, Hkv, hd, st2);
    close(o2g, o2w, FWD_TOL, "short documents out");
    const d2 = rand(r, T2 * H * hd);
    const [g2w, g2g] = [new Float32Array(T2 * D), new Float32Array(T2 * D)];
    ref.attentionBackward(g2w, d2, q2, p2w, 1, T2, H, Hkv, hd, st2);
    native.attentionBackward(g2g, d2, q2, p2g, 1, T2, H, Hkv, hd, st2);
    close(g2g, g2w, BWD_TOL, "short documents dqkv");
    const bad = start.slice();
    bad[5] = 6;
    for (const k of [native, ref])
      assert.throws(() => k.attentionForward(outG, probsG, qkv, B, T, H, Hkv, hd, bad), RangeError);
  });
});

describe("swiglu", () => {
  const r = rng(17);
  for (const [M, F] of [
    [1, 1],
    [7, 33],
    [300, 200],
  ]) {
    test(`forward / backward M=${M} F=${F}`, () => {
      const gu = rand(r, M * 2 * F, 6);
      const want = new Float32Array(M * F);
      const got = new Float32Array(M * F);
      ref.swigluForward(want, gu, M, F);
      native.swigluForward(got, gu, M, F);
      close(got, want, FWD_TOL, "swiglu out");
      const dout = rand(r, M * F);
      const d0 = rand(r, M * 2 * F);
      const dW = d0.slice();
      const dG = d0.slice();
      ref.swigluBackward(dW, dout, gu, M, F);
      native.swigluBackward(dG, dout, gu, M, F);
      close(dG, dW, BWD_TOL, "swiglu dgu");
    });
  }

  test("saturates without NaN for large |gate|", () => {
    const gu = new Float32Array([-200, 100, 300, 0.5, 2, 3]);
    const out = new Float32Array(3);
    native.swigluForward(out, gu, 1, 3);
    const want = new Float32Array(3);
    ref.swigluForward(want, gu, 1, 3);
    close(out, want, FWD_TOL, "saturated swiglu");
    const dgu = new Float32Array(6);
    native.swigluBackward(dgu, new Float32Array([1, 1, 1]), gu, 1, 3);
    assert.ok(dgu.every((v) => Number.isFinite(v)));
  });
});

describe("crossEntropy", () => {
  const r = rng(18);
  for (const [M, V] of [
    [1, 2],
    [17, 33],
    [200, 300],
  ]) {
    test(`loss and gradient M=${M} V=${V}, ignored targets, in place`, () => {
      const logits = rand(r, M * V, 4);
      const targets = new Int32Array(M).map((_, i) => (i % 5 === 3 ? -1 : Math.floor(r() * V)));
      const lw = new Float32Array(M);
      const dw = new Float32Array(M * V);
      const totalW = ref.crossEntropy(dw, lw, logits, targets, M, V, 0.25);

      const lg = new Float32Array(M).fill(9);
      const dg = new Float32Array(M * V).fill(9);
      const totalG = native.crossEntropy(dg, lg, logits, targets, M, V, 0.25);
      close(lg, lw, FWD_TOL, "losses");
      close(dg, dw, BWD_TOL, "dlogits");
      assert.ok(
        Math.abs(totalG - totalW) <= 1e-5 * Math.max(1, Math.abs(totalW)),
        `total ${totalG} vs ${totalW}`,
      );

      const inPlace = logits.slice();
      const lp = new Float32Array(M);
      native.crossEntropy(inPlace, lp, inPlace, targets, M, V, 0.25);
      close(inPlace, dw, BWD_TOL, "dlogits in place");
      close(lp, lw, FWD_TOL, "losses in place");

      const ln = new Float32Array(M);
      const totalN = native.crossEntropy(null, ln, logits, targets, M, V, 1);
      close(ln, lw, FWD_TOL, "losses without gradient");
      assert.ok(Math.abs(totalN - totalW) <= 1e-5 * Math.max(1, Math.abs(totalW)));
    });
  }

  test("stable for huge logits; targets >= V throw", () => {
    const logits = new Float32Array([1000, -1000, 0, 999]);
    const l = new Float32Array(1);
    const d = new Float32Array(4);
    const total = native.crossEntropy(d, l, logits, new Int32Array([3]), 1, 4, 1);
    assert.ok(Math.abs(total - (1000 + Math.log(1 + Math.exp(-1)) - 999)) < 1e-4);
    assert.ok(d.every((v) => Number.isFinite(v)));
    assert.throws(() => native.crossEntropy(d, l, logits, new Int32Array([4]), 1, 4, 1), RangeError);
  });
});

describe("vector ops and adamw", () => {
  const r = rng(19);
  for (const n of [1, 33, 100_003]) {
    test(`add / scale / sumSquares / adamw n=${n}`, () => {
      const a = rand(r, n);
      const b = rand(r, n);
      const want = new Float32Array(n);
      ref.add(want, a, b, n);
      const got = new Float32Array(n);
      native.add(got, a, b, n);
      close(got, want, FWD_TOL, "add");
      const alias = a.slice();
      native.add(alias, alias, b, n);
      close(alias, want, FWD_TOL, "add aliased");

      const x = a.slice();
      const xw = a.slice();
      ref.scale(xw, n, -0.3);
      native.scale(x, n, -0.3);
      close(x, xw, FWD_TOL, "scale");

      const ss = native.sumSquares(a, n);
      const ssw = ref.sumSquares(a, n);
      assert.ok(Math.abs(ss - ssw) <= 1e-10 * ssw, `sumSquares ${ss} vs ${ssw}`);

      const p = rand(r, n);
      const m = new Float32Array(n);
      const v = new Float32Array(n);
      const pw = p.slice();
      const mw = m.slice();
      const vw = v.slice();
      for (let t = 1; t <= 3; t++) {
        const g = rand(r, n);
        ref.adamw(pw, g, mw, vw, n, 1e-2, 0.9, 0.95, 1e-8, 0.1, t);
        native.adamw(p, g, m, v, n, 1e-2, 0.9, 0.95, 1e-8, 0.1, t);
      }
      close(p, pw, FWD_TOL, "adamw p");
      close(m, mw, FWD_TOL, "adamw m");
      close(v, vw, FWD_TOL, "adamw v");
    });
  }
});

describe("accumulation semantics", () => {
  const r = rng(20);
  const twice = (label: string, n: number, run: (grads: Float32Array[]) => void, count: number) => {
    const once = Array.from({ length: count }, () => new Float32Array(n));
    run(once);
    const two = Array.from({ length: count }, () => new Float32Array(n));
    run(two);
    run(two);
    for (let i = 0; i < count; i++) {
      const doubled = once[i].map((v) => 2 * v);
      assert.ok(relErr(two[i], doubled) < 1e-6, `${label}: gradient ${i} not doubled`);
    }
  };

  test("calling each backward twice doubles every gradient", () => {
    const [M, C, F, V] = [9, 16, 12, 7];
    const x = rand(r, M * C);
    const w = rand(r, C);
    const rstd = new Float32Array(M);
    native.rmsnormForward(new Float32Array(M * C), rstd, x, w, M, C, 1e-6);
    const dout = rand(r, M * C);
    // Buffers big enough for every kernel below; each run writes into grads[i] slices.
    twice("rmsnorm", M * C, (g) => native.rmsnormBackward(g[0], g[1], dout, x, w, rstd, M, C), 2);
    twice("bias", C, (g) => native.biasBackward(g[0], dout, M, C), 1);
    const tokens = new Int32Array(M).map(() => Math.floor(r() * V));
    twice("embedding", V * C, (g) => native.embeddingBackward(g[0], dout, tokens, M, C), 1);
    const gu = rand(r, M * 2 * F);
    const dh = rand(r, M * F);
    twice("swiglu", M * 2 * F, (g) => native.swigluBackward(g[0], dh, gu, M, F), 1);

    const [B, T, H, Hkv, hd] = [2, 9, 4, 2, 8];
    const qkv = rand(r, B * T * (H + 2 * Hkv) * hd);
    const probs = new Float32Array(B * H * T * T);
    native.attentionForward(new Float32Array(B * T * H * hd), probs, qkv, B, T, H, Hkv, hd);
    const da = rand(r, B * T * H * hd);
    twice(
      "attention",
      B * T * (H + 2 * Hkv) * hd,
      (g) => native.attentionBackward(g[0], da, qkv, probs, B, T, H, Hkv, hd),
      1,
    );
  });
});

describe("subarray views", () => {
  const r = rng(21);
  // An odd float offset: views are neither 64-byte aligned nor at the start of their buffer.
  const view = (src: Float32Array, off = 3) => {
    const big = rand(r, src.length + off + 5);
    big.set(src, off);
    return big.subarray(off, off + src.length);
  };

  test("matmul, rmsnorm, attention and crossEntropy on views", () => {
    for (const path of paths) {
      setMatmulPath(path);
      const [M, N, K] = [33, 65, 40];
      const a = rand(r, M * K);
      const b = rand(r, K * N);
      const want = new Float32Array(M * N);
      ref.matmul(want, a, b, M, N, K, false, true, 1, 0);
      const c = view(new Float32Array(M * N));
      const guard = c.buffer.byteLength / 4;
      const before = new Float32Array(c.buffer).slice(0, c.byteOffset / 4);
      native.matmul(c, view(a, 5), view(b, 1), M, N, K, false, true, 1, 0);
      close(c, want, FWD_TOL, `${path} matmul view`);
      assert.deepEqual(
        new Float32Array(c.buffer).slice(0, c.byteOffset / 4),
        before,
        "wrote before the view",
      );
      assert.equal(guard, c.buffer.byteLength / 4);
    }

    const [Mx, C] = [6, 20];
    const x = rand(r, Mx * C);
    const w = rand(r, C);
    const ow = new Float32Array(Mx * C);
    const rw = new Float32Array(Mx);
    ref.rmsnormForward(ow, rw, x, w, Mx, C, 1e-6);
    const og = view(new Float32Array(Mx * C), 7);
    const rg = view(new Float32Array(Mx), 2);
    native.rmsnormForward(og, rg, view(x), view(w, 1), Mx, C, 1e-6);
    close(og, ow, FWD_TOL, "rmsnorm view");

    const [B, T, H, Hkv, hd] = [2, 7, 4, 2, 8];
    const qkv = rand(r, B * T * (H + 2 * Hkv) * hd);
    const outW = new Float32Array(B * T * H * hd);
    const pW = new Float32Array(B * H * T * T);
    ref.attentionForward(outW, pW, qkv, B, T, H, Hkv, hd);
    const outG = view(new Float32Array(B * T * H * hd), 1);
    const pG = view(new Float32Array(B * H * T * T), 9);
    native.attentionForward(outG, pG, view(qkv, 11), B, T, H, Hkv, hd);
    close(outG, outW, FWD_TOL, "attention view");
    close(pG, pW, FWD_TOL, "attention probs view");

    const [Mc, V] = [5, 9];
    const logits = rand(r, Mc * V, 3);
    const targets = new Int32Array([1, 2, -1, 8, 0]);
    const lw = new Float32Array(Mc);
    const dw = new Float32Array(Mc * V);
    ref.crossEntropy(dw, lw, logits, targets, Mc, V, 1);
    const tbig = new Int32Array(8);
    tbig.set(targets, 3);
    const lg = view(new Float32Array(Mc), 1);
    const dg = view(new Float32Array(Mc * V), 4);
    native.crossEntropy(dg, lg, view(logits, 2), tbig.subarray(3, 8), Mc, V, 1);
    close(lg, lw, FWD_TOL, "crossEntropy losses view");
    close(dg, dw, BWD_TOL, "crossEntropy grad view");
  });
});

describe("scaleRows", () => {
  test("native matches reference on odd shapes; short weights throw", () => {
    const r = rng(21);
    for (const [M, N] of [
      [1, 1],
      [7, 33],
      [130, 2401],
    ]) {
      const x = rand(r, M * N);
      const w = rand(r, M, 3);
      const want = x.slice();
      const got = x.slice();
      ref.scaleRows(want, w, M, N);
      native.scaleRows(got, w, M, N);
      close(got, want, FWD_TOL, `M=${M} N=${N}`);
    }
    assert.throws(() => native.scaleRows(new Float32Array(6), new Float32Array(2), 3, 2), RangeError);
    assert.throws(() => ref.scaleRows(new Float32Array(6), new Float32Array(2), 3, 2), RangeError);
  });
});
