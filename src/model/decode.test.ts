import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { native } from "../engine/native.js";
import { relErr } from "../engine/testutil.test.js";
import { Rng } from "../util/rng.js";
import { checkConfig, type ModelConfig } from "./config.js";
import { KVDecoder } from "./decode.js";
import { Model } from "./model.js";

const cfg: ModelConfig = checkConfig({
  vocabSize: 37,
  hidden: 32,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  mlp: 24,
  context: 64,
  ropeTheta: 10000,
  rmsEps: 1e-6,
});

function model(seed: number): Model {
  const m = new Model(native, cfg);
  const rng = new Rng(seed);
  m.init(() => rng.next(), 0.2);
  return m;
}

const seq = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.int(0, cfg.vocabSize - 1));

/** Full-sequence logits [T, V] of `ids`. */
function fullLogits(m: Model, ids: number[]): Float32Array {
  m.forward(Int32Array.from(ids), 1, ids.length);
  return m.logits().slice(0, ids.length * cfg.vocabSize);
}

describe("KVDecoder", () => {
  it("prefill + one-token steps equal the full forward at every position (two interleaved slots)", () => {
    const m = model(1);
    const rng = new Rng(2);
    const V = cfg.vocabSize;
    const a = seq(rng, 40);
    const b = seq(rng, 29);
    const wantA = fullLogits(m, a);
    const wantB = fullLogits(m, b);
    const dec = new KVDecoder(m, 3, 48);
    // Prefill the first 10 tokens of a in slot 2 (logits of every row), then step a and b together.
    const pre = dec.forward(
      a.slice(0, 10).map((token, pos) => ({ token, slot: 2, pos })),
      Array.from({ length: 10 }, (_, i) => i),
    );
    assert.ok(relErr(pre, wantA.subarray(0, 10 * V)) < 1e-4, "prefill logits");
    let worst = 0;
    for (let t = 0; t < 40; t++) {
      const rows = [];
      if (t >= 10) rows.push({ token: a[t], slot: 2, pos: t });
      if (t < b.length) rows.push({ token: b[t], slot: 0, pos: t });
      const got = dec.forward(
        rows,
        rows.map((_, i) => i),
      );
      let i = 0;
      if (t >= 10)
        worst = Math.max(worst, relErr(got.subarray(V * i++, V * i), wantA.subarray(t * V, (t + 1) * V)));
      if (t < b.length)
        worst = Math.max(worst, relErr(got.subarray(V * i, V * (i + 1)), wantB.subarray(t * V, (t + 1) * V)));
    }
    assert.ok(worst < 1e-4, `decode logits relative error ${worst}`);
  });

  it("a half-precision cache stays close to the full forward and keeps the greedy tokens", () => {
    const m = model(4);
    const rng = new Rng(5);
    const V = cfg.vocabSize;
    const a = seq(rng, 40);
    const want = fullLogits(m, a);
    const dec = new KVDecoder(m, 2, 48, "f16");
    let worst = 0;
    let agree = 0;
    for (let t = 0; t < a.length; t++) {
      const got = dec.forward([{ token: a[t], slot: 1, pos: t }], [0]);
      const w = want.subarray(t * V, (t + 1) * V);
      worst = Math.max(worst, relErr(got, w));
      const argmax = (x: Float32Array) => x.indexOf(Math.max(...x));
      if (argmax(got) === argmax(w)) agree++;
    }
    assert.ok(worst < 1e-2, `f16 cache logits relative error ${worst}`);
    assert.ok(worst > 1e-7, "the half-precision cache is really used");
    assert.ok(agree >= a.length - 1, `greedy tokens agree at ${agree} of ${a.length} positions`);
  });

  it("bf16 products stay close to the full forward, and follow the weights after refreshWeights()", () => {
    const m = model(6);
    const rng = new Rng(7);
    const V = cfg.vocabSize;
    const a = seq(rng, 30);
    const want = fullLogits(m, a);
    const dec = new KVDecoder(m, 1, 32, "f16", "bf16");
    let worst = 0;
    for (let t = 0; t < a.length; t++) {
      const got = dec.forward([{ token: a[t], slot: 0, pos: t }], [0]);
      worst = Math.max(worst, relErr(got, want.subarray(t * V, (t + 1) * V)));
    }
    assert.ok(worst < 5e-2 && worst > 1e-6, `bf16 logits relative error ${worst}`);
    // Change the weights: the packed copy is stale until refreshed.
    for (let i = 0; i < m.params.flat.length; i++) m.params.flat[i] *= -1;
    const flipped = fullLogits(m, a.slice(0, 1));
    dec.refreshWeights();
    const got = dec.forward([{ token: a[0], slot: 0, pos: 0 }], [0]);
    assert.ok(relErr(got, flipped) < 5e-2, "refreshed weights are used");
  });

  it("copySlot shares a prefill: continuing from a copy equals continuing the original", () => {
    const m = model(3);
    const rng = new Rng(4);
    const V = cfg.vocabSize;
    const p = seq(rng, 12);
    const next = seq(rng, 1)[0];
    const dec = new KVDecoder(m, 4, 32);
    dec.forward(
      p.map((token, pos) => ({ token, slot: 0, pos })),
      [],
    );
    dec.copySlot(3, 0, p.length);
    const got = dec.forward(
      [
        { token: next, slot: 0, pos: 12 },
        { token: next, slot: 3, pos: 12 },
      ],
      [0, 1],
    );
    assert.deepEqual(got.subarray(0, V), got.subarray(V, 2 * V));
    const want = fullLogits(m, [...p, next]).subarray(12 * V, 13 * V);
    assert.ok(relErr(got.subarray(0, V), want) < 1e-4);
  });

  it("bad sizes and tokens are clear errors", () => {
    const m = model(5);
    assert.throws(() => new KVDecoder(m, 0, 8), /slots/);
    assert.throws(() => new KVDecoder(m, 1, 65), /maxLen/);
    const dec = new KVDecoder(m, 1, 8);
    assert.throws(() => dec.forward([{ token: 99, slot: 0, pos: 0 }], [0]), /vocabulary/);
    assert.throws(() => dec.forward([{ token: 1, slot: 0, pos: 8 }], [0]), /pos/);
    assert.throws(() => dec.forward([{ token: 1, slot: 0, pos: 0 }], [1]), /logit row/);
  });
});
