import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Kernels } from "../engine/kernels.js";
import { native, nativeAvailable } from "../engine/native.js";
import { reference } from "../engine/reference.js";
import { Rng } from "../util/rng.js";
import { checkConfig, type ModelConfig, PRESETS, presetConfig } from "./config.js";
import { Model, type Precision } from "./model.js";
import { paramCount, tensorSpecs } from "./params.js";

/** The reference kernels on float64 buffers: exact enough for finite differences. */
const reference64: Kernels = { ...reference, alloc: (n) => new Float64Array(n) as unknown as Float32Array };

const micro: ModelConfig = checkConfig({
  vocabSize: 11,
  hidden: 8,
  layers: 2,
  heads: 2,
  kvHeads: 1,
  mlp: 6,
  context: 8,
  ropeTheta: 10000,
  rmsEps: 1e-6,
});

function batch(rng: Rng, n: number, V: number, ignore = false): { tokens: Int32Array; targets: Int32Array } {
  const tokens = new Int32Array(n);
  const targets = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    tokens[i] = rng.int(0, V - 1);
    targets[i] = ignore && i % 4 === 3 ? -1 : rng.int(0, V - 1);
  }
  return { tokens, targets };
}

describe("model", () => {
  it("parameter layout follows the HF names and presets print their sizes", () => {
    const specs = tensorSpecs(micro);
    assert.equal(specs[0].name, "model.embed_tokens.weight");
    assert.equal(specs[specs.length - 1].name, "model.norm.weight");
    assert.ok(!specs.some((s) => s.name === "lm_head.weight"), "tied head has no lm_head");
    const bench = presetConfig("bench", 512);
    const n = paramCount(bench);
    assert.ok(n > 3.2e6 && n < 3.4e6, `bench has ${n} parameters`);
    const tiny = paramCount(presetConfig("tiny", 2400));
    assert.ok(tiny >= 1e6 && tiny <= 3e6, `tiny has ${tiny}`);
    const compact = paramCount(presetConfig("compact", 2400));
    assert.ok(compact >= 4e6 && compact <= 6e6, `compact has ${compact}`);
    const small = paramCount(presetConfig("small", 2400));
    assert.ok(small >= 10e6 && small <= 20e6, `small has ${small}`);
    const paper = paramCount(presetConfig("paper", 2200));
    assert.ok(paper > 95e6 && paper < 110e6, `paper has ${paper}`);
    assert.throws(() => presetConfig("huge", 10), /unknown preset "huge"/);
    assert.ok(PRESETS.paper.kvHeads === 2);
  });

  for (const masked of [false, true])
    it(`whole-model gradients match central finite differences (float64 reference kernels${masked ? ", document mask" : ""})`, () => {
      const rng = new Rng(7);
      const m = new Model(reference64, micro);
      m.init(() => rng.next(), 0.3);
      // Perturb norms and biases too so their gradients are non-trivial.
      for (const s of m.params.specs) {
        if (!s.decay) {
          const v = m.params.byName.get(s.name)!;
          for (let i = 0; i < v.length; i++) v[i] += 0.2 * (rng.next() - 0.5);
        }
      }
      const B = 2;
      const T = 5;
      const { tokens, targets } = batch(rng, B * T, micro.vocabSize, true);
      const start = masked ? Int32Array.of(0, 0, 2, 2, 2, 0, 1, 1, 3, 3) : undefined;
      m.zeroGrad();
      m.forward(tokens, B, T, targets, start);
      m.backward();
      const grad = Float64Array.from(m.grads.flat);
      const p = m.params.flat;
      const h = 1e-5;
      let worst = 0;
      // Every parameter of this micro model.
      for (let i = 0; i < p.length; i++) {
        const old = p[i];
        p[i] = old + h;
        const up = m.forward(tokens, B, T, targets, start).loss;
        p[i] = old - h;
        const down = m.forward(tokens, B, T, targets, start).loss;
        p[i] = old;
        const fd = (up - down) / (2 * h);
        const err = Math.abs(fd - grad[i]) / Math.max(1e-4, Math.abs(fd) + Math.abs(grad[i]));
        worst = Math.max(worst, err);
        assert.ok(err < 1e-4, `param ${i}: analytic ${grad[i]} vs numeric ${fd}`);
      }
      assert.ok(worst < 1e-4);
    });

  it("row-weighted backward is the gradient of Σ w_t·(−log p_t) (finite differences, 60 parameters)", () => {
    const rng = new Rng(11);
    const m = new Model(reference64, micro);
    m.init(() => rng.next(), 0.3);
    const B = 2;
    const T = 4;
    const { tokens, targets } = batch(rng, B * T, micro.vocabSize, true);
    const w = new Float32Array(B * T);
    for (let i = 0; i < w.length; i++) w[i] = 2 * rng.next() - 1;
    const objective = () => {
      m.forward(tokens, B, T, targets);
      const l = m.tokenLosses();
      let s = 0;
      for (let i = 0; i < l.length; i++) if (targets[i] >= 0) s += w[i] * l[i];
      return s;
    };
    m.zeroGrad();
    objective();
    m.backward(1, w);
    const grad = Float64Array.from(m.grads.flat);
    const p = m.params.flat;
    const h = 1e-5;
    for (let j = 0; j < 60; j++) {
      const i = Math.floor((j * p.length) / 60);
      const old = p[i];
      p[i] = old + h;
      const up = objective();
      p[i] = old - h;
      const down = objective();
      p[i] = old;
      const fd = (up - down) / (2 * h);
      const err = Math.abs(fd - grad[i]) / Math.max(1e-4, Math.abs(fd) + Math.abs(grad[i]));
      assert.ok(err < 1e-4, `param ${i}: analytic ${grad[i]} vs numeric ${fd}`);
    }
  });

  it("gradient accumulation: two backward passes at scale ½ equal one at scale 1", () => {
    const rng = new Rng(3);
    const m = new Model(reference64, micro);
    m.init(() => rng.next(), 0.3);
    const { tokens, targets } = batch(rng, 8, micro.vocabSize);
    m.zeroGrad();
    m.forward(tokens, 2, 4, targets);
    m.backward(1);
    const once = Float64Array.from(m.grads.flat);
    m.zeroGrad();
    for (let r = 0; r < 2; r++) {
      m.forward(tokens, 2, 4, targets);
      m.backward(0.5);
    }
    for (let i = 0; i < once.length; i++) assert.ok(Math.abs(once[i] - m.grads.flat[i]) < 1e-12);
  });

  it("rejects out-of-vocabulary tokens and too-long sequences", () => {
    const m = new Model(reference64, micro);
    assert.throws(() => m.forward(new Int32Array([1, 99]), 1, 2), /token id 99/);
    assert.throws(() => m.forward(new Int32Array(9), 1, 9), /exceeds the model's context/);
    assert.throws(() => m.backward(), /backward needs a forward pass with targets/);
  });
});

describe("model in bf16 (mixed precision)", {
  skip: nativeAvailable() ? false : "native engine not built",
}, () => {
  // Every product rounds its operands to bf16 (relative error ≤ 2⁻⁸ each); a gradient passes
  // through up to 2·(layers + 1) = 8 rounded products here, so a linear worst case is 8·2⁻⁸ ≈ 3.1%
  // (errors of random sign add in quadrature: measured 0.3–1.1%). The loss sees the forward only.
  const c = checkConfig({ ...micro, vocabSize: 97, hidden: 64, layers: 3, heads: 4, mlp: 96, context: 64 });
  const B = 2;
  const T = 48;
  const rng = new Rng(3);
  const tokens = Int32Array.from({ length: B * T }, () => rng.int(0, 96));
  const targets = Int32Array.from({ length: B * T }, (_, i) => tokens[(i + 1) % (B * T)]);
  const start = Int32Array.from({ length: B * T }, (_, i) => (i % T < 20 ? 0 : 20));
  const run = (k: Kernels, precision: Precision) => {
    const m = new Model(k, c);
    const r = new Rng(5);
    m.init(() => r.next(), 0.05);
    m.precision = precision;
    m.zeroGrad();
    const { loss } = m.forward(tokens, B, T, targets, start);
    m.backward(1);
    return { loss, m };
  };
  /** Worst per-tensor relative L2 distance of two models' gradients. */
  const worst = (x: Model, y: Model) => {
    let w = 0;
    for (const s of x.grads.specs) {
      const a = x.grads.byName.get(s.name)!;
      const b = y.grads.byName.get(s.name)!;
      let d = 0;
      let n = 0;
      for (let i = 0; i < a.length; i++) {
        d += (a[i] - b[i]) ** 2;
        n += a[i] ** 2;
      }
      w = Math.max(w, Math.sqrt(d / n));
    }
    return w;
  };
  const fp32 = run(native, "fp32");
  const bf16 = run(native, "bf16");

  it("the loss is the fp32 loss within 2⁻⁸ and every gradient tensor within 8·2⁻⁸ (relative L2)", () => {
    assert.ok(Math.abs(bf16.loss - fp32.loss) / fp32.loss < 2 ** -8, `loss ${bf16.loss} vs ${fp32.loss}`);
    const w = worst(fp32.m, bf16.m);
    assert.ok(w < 8 * 2 ** -8, `worst gradient tensor differs by ${w}`);
    assert.ok(w > 1e-5, `bf16 gradients equal fp32 ones (${w}): the bf16 path is not running`);
  });

  it("the native engine's bf16 gradients match the reference kernels' bf16 gradients", () => {
    // Products agree to float32; a few activations near a bf16 rounding boundary still round to
    // neighbouring values (one bf16 ulp, 2⁻⁸), so the bound is 2·2⁻⁸ rather than float32's (measured 0.3%).
    const ref = run(reference, "bf16");
    assert.ok(Math.abs(ref.loss - bf16.loss) / bf16.loss < 1e-4, `loss ${ref.loss} vs ${bf16.loss}`);
    const w = worst(ref.m, bf16.m);
    assert.ok(w < 2 * 2 ** -8, `worst gradient tensor differs by ${w}`);
  });

  it("a forward after a weight update packs the new weights (the backward too)", () => {
    const m = run(native, "bf16").m;
    const before = m.forward(tokens, B, T, targets, start).loss;
    m.params.flat.set(fp32.m.params.flat.map((x) => x * 1.5));
    const after = m.forward(tokens, B, T, targets, start).loss;
    const check = new Model(native, c, m.params.flat);
    check.precision = "bf16";
    assert.notEqual(after, before);
    assert.equal(after, check.forward(tokens, B, T, targets, start).loss);
    m.zeroGrad();
    m.backward(1);
    check.zeroGrad();
    check.backward(1);
    assert.deepEqual(m.grads.flat, check.grads.flat);
  });
});
