import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { native } from "../engine/native.js";
import { checkConfig, type ModelConfig } from "../model/config.js";
import { greedy } from "../model/greedy.js";
import { Model } from "../model/model.js";
import { Rng } from "../util/rng.js";
import { drawToken, sampleBatched, sampleOptions } from "./sampler.js";

const cfg: ModelConfig = checkConfig({
  vocabSize: 13,
  hidden: 32,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  mlp: 24,
  context: 48,
  ropeTheta: 10000,
  rmsEps: 1e-6,
});

function model(seed: number, std = 0.3): Model {
  const m = new Model(native, cfg);
  const rng = new Rng(seed);
  m.init(() => rng.next(), std);
  return m;
}

/** Upper 0.999 quantile of chi-square with `df` degrees of freedom (Wilson–Hilferty). */
function chi2Crit(df: number): number {
  const z = 3.09;
  return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
}

describe("sampler", () => {
  it("temperature 0 equals greedy decoding", () => {
    const m = model(1);
    const prompts = [[1, 2, 3], [4, 5, 6, 7, 8], [9]];
    const { completions } = sampleBatched(
      m,
      prompts.map((prompt) => ({ prompt, n: 2 })),
      { temperature: 0, maxNew: 20, batch: 4 },
    );
    for (const c of completions) assert.deepEqual(c.tokens, greedy(m, prompts[c.request], { maxNew: 20 }));
  });

  it("seeds reproduce exactly, whatever the batch size; other seeds differ", () => {
    const m = model(2);
    const reqs = [
      { prompt: [1, 2, 3], n: 5 },
      { prompt: [7, 7], n: 3 },
    ];
    const a = sampleBatched(m, reqs, { temperature: 1, maxNew: 16, seed: 9, batch: 8 }).completions;
    const b = sampleBatched(m, reqs, { temperature: 1, maxNew: 16, seed: 9, batch: 3 }).completions;
    const c = sampleBatched(m, reqs, { temperature: 1, maxNew: 16, seed: 10, batch: 8 }).completions;
    assert.deepEqual(
      a.map((x) => x.tokens),
      b.map((x) => x.tokens),
    );
    assert.notDeepEqual(
      a.map((x) => x.tokens),
      c.map((x) => x.tokens),
    );
  });

  it("stops on a stop token and at max new tokens; finished rows free their slot", () => {
    const m = model(3);
    const { completions, stats } = sampleBatched(m, [{ prompt: [1, 2], n: 40 }], {
      temperature: 1,
      maxNew: 12,
      stop: [0, 5],
      batch: 7,
    });
    assert.equal(completions.length, 40);
    for (const c of completions) {
      const stopAt = c.tokens.findIndex((t) => t === 0 || t === 5);
      if (c.finish === "stop") assert.equal(stopAt, c.tokens.length - 1);
      else {
        assert.equal(stopAt, -1);
        assert.equal(c.tokens.length, 12);
      }
    }
    assert.ok(completions.some((c) => c.finish === "stop") && completions.some((c) => c.finish === "length"));
    assert.equal(
      stats.generatedTokens,
      completions.reduce((s, c) => s + c.tokens.length, 0),
    );
  });

  it("first tokens follow the model's distribution at T = 0.8 (chi-square, 6000 draws)", () => {
    const m = model(4, 0.5);
    const prompt = [3, 1, 4, 1, 5];
    const T = 0.8;
    m.forward(Int32Array.from(prompt), 1, prompt.length);
    const V = cfg.vocabSize;
    const row = m.logits().slice((prompt.length - 1) * V, prompt.length * V);
    const mx = Math.max(...row);
    const w = Array.from(row, (x) => Math.exp((x - mx) / T));
    const z = w.reduce((s, x) => s + x, 0);
    const n = 6000;
    const { completions } = sampleBatched(m, [{ prompt, n }], {
      temperature: T,
      maxNew: 1,
      seed: 1,
      batch: 64,
    });
    const counts = new Array(V).fill(0);
    for (const c of completions) counts[c.tokens[0]]++;
    let chi2 = 0;
    for (let j = 0; j < V; j++) {
      const e = (n * w[j]) / z;
      chi2 += (counts[j] - e) ** 2 / e;
    }
    assert.ok(chi2 < chi2Crit(V - 1), `chi-square ${chi2.toFixed(1)} >= ${chi2Crit(V - 1).toFixed(1)}`);
    // And a wrong temperature is rejected by the same test: the test has power.
    let chi2Wrong = 0;
    const w2 = Array.from(row, (x) => Math.exp(x - mx));
    const z2 = w2.reduce((s, x) => s + x, 0);
    for (let j = 0; j < V; j++) chi2Wrong += (counts[j] - (n * w2[j]) / z2) ** 2 / ((n * w2[j]) / z2);
    assert.ok(chi2Wrong > chi2, "T = 1 fits the T = 0.8 draws worse");
  });

  it("top-k and top-p keep only the head of the distribution", () => {
    const logits = Float32Array.from([0, 3, 1, 2.5, -1]);
    const rng = new Rng(1);
    const seen = new Set<number>();
    const o = sampleOptions({ temperature: 1, topK: 2 });
    for (let i = 0; i < 500; i++) seen.add(drawToken(logits, o, rng));
    assert.deepEqual([...seen].sort(), [1, 3]);
    // p ∝ e^[0,3,1,2.5,-1]: token 1 holds 0.55 of the mass, with token 3 0.88.
    const seenP = new Set<number>();
    const op = sampleOptions({ temperature: 1, topP: 0.8 });
    for (let i = 0; i < 500; i++) seenP.add(drawToken(logits, op, rng));
    assert.deepEqual([...seenP].sort(), [1, 3]);
    const seen1 = new Set<number>();
    for (let i = 0; i < 100; i++) seen1.add(drawToken(logits, sampleOptions({ topP: 0.5 }), rng));
    assert.deepEqual([...seen1], [1]);
  });

  it("bad options and prompts are clear errors", () => {
    const m = model(5);
    assert.throws(() => sampleOptions({ temperature: -1 }), /temperature/);
    assert.throws(() => sampleOptions({ topP: 0 }), /top-p/);
    assert.throws(() => sampleOptions({ topK: 1.5 }), /top-k/);
    assert.throws(() => sampleOptions({ maxNew: 0 }), /max new/);
    assert.throws(() => sampleBatched(m, [{ prompt: [1], n: 0 }]), /samples must be a positive integer/);
    assert.throws(() => sampleBatched(m, [{ prompt: [], n: 1 }]), /empty prompt/);
    assert.throws(() => sampleBatched(m, [{ prompt: [99], n: 1 }]), /vocabulary/);
    assert.throws(() => sampleBatched(m, [{ prompt: new Array(48).fill(1), n: 1 }]), /context/);
  });
});
