import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkConfig, type ModelConfig, presetConfig } from "./config.js";
import {
  attentionFlops,
  backwardFlops,
  forwardFlops,
  forwardFlopsPerToken,
  matmulParams,
  supervisedTokenFlops,
  trainFlops,
} from "./flops.js";
import { paramCount } from "./params.js";

const close = (a: number, b: number, tol = 1e-9) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

// hidden 4, 2 heads of dim 2, 1 KV head, MLP 6, vocab 10, one layer.
const TINY: ModelConfig = checkConfig({
  vocabSize: 10,
  hidden: 4,
  layers: 1,
  heads: 2,
  kvHeads: 1,
  mlp: 6,
  context: 8,
  ropeTheta: 10000,
  rmsEps: 1e-6,
});

describe("FLOP counter", () => {
  test("matmul weights by hand", () => {
    // q 4×4 + k 2×4 + v 2×4 = 32, o 4×4 = 16, gate+up 2·6×4 = 48, down 4×6 = 24, head 10×4 = 40.
    assert.equal(matmulParams(TINY), 32 + 16 + 48 + 24 + 40);
    // paramCount adds q/k/v biases (4 + 2 + 2) and three norms of 4.
    assert.equal(paramCount(TINY), 160 + 8 + 12);
  });

  test("forward of 3 tokens by hand", () => {
    // Matmuls: 2 · 160 · 3 = 960.
    // Causal attention: pairs (t, s ≤ t) = 1 + 2 + 3 = 6 per head; Q·Kᵀ 2·hd = 4 and P·V 4 FLOPs
    // per pair → 48 per head, 96 for two heads.
    assert.equal(attentionFlops(TINY, 3), 96);
    assert.equal(forwardFlops(TINY, 3), 1056);
    // Full attention: 9 pairs per head → 144.
    assert.equal(forwardFlops(TINY, 3, { attention: "full" }), 960 + 144);
    assert.equal(forwardFlops(TINY, 3, { attention: "none" }), 960);
    assert.equal(backwardFlops(TINY, 3), 2112);
    assert.equal(trainFlops(TINY, 3), 3168);
    assert.equal(forwardFlopsPerToken(TINY, 3), 352);
  });

  test("the causal forward equals a KV-cached generation of the same tokens", () => {
    // Decoding position p (1-based) costs 2·N_mm plus 2·(2·hd)·p per head for p keys.
    const c = presetConfig("micro", 300);
    let decode = 0;
    for (let p = 1; p <= 37; p++)
      decode += 2 * matmulParams(c) + c.layers * c.heads * 2 * (2 * (c.hidden / c.heads)) * p;
    close(forwardFlops(c, 37), decode);
  });

  test("the paper preset: ≈103M parameters, 2N per token plus attention", () => {
    const c = presetConfig("paper", 2200);
    const N = paramCount(c);
    assert.ok(N > 102e6 && N < 104e6, `${N}`);
    const perTok = forwardFlopsPerToken(c, 2048);
    // Attention adds 2·H·hd·(L + 1)·layers = 2·768·2049·12 per token on top of 2·N_mm.
    close(perTok, 2 * matmulParams(c) + 2 * 768 * 2049 * 12);
    close(supervisedTokenFlops(c), 6 * N);
    close(supervisedTokenFlops(c, "measured", 2048), 3 * perTok);
  });
});
