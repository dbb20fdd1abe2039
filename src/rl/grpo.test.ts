import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "../util/rng.js";
import {
  crossEntropyRowWeights,
  drGrpoAdvantages,
  groupAdvantages,
  groupStats,
  grpoPolicyLoss,
  k3,
  type PolicyLossInput,
  type PolicyLossOptions,
  zeroVarianceFraction,
} from "./grpo.js";

const close = (a: number, b: number, tol = 1e-9, msg = "") =>
  assert.ok(Math.abs(a - b) <= tol, `${msg} ${a} vs ${b} (tol ${tol})`);

describe("group advantages", () => {
  const rewards = [1, 0, 0, 0, 1, 1, 1, 1];

  test("sample std (default): mean 0.25, s² = 0.75/3, s = 0.5", () => {
    const { means, stds } = groupStats(rewards, 4);
    close(means[0], 0.25);
    close(stds[0], 0.5);
    close(stds[1], 0);
    const a = groupAdvantages(rewards, 4);
    close(a[0], 0.75 / (0.5 + 1e-6));
    close(a[1], -0.25 / (0.5 + 1e-6));
    for (let i = 4; i < 8; i++) assert.equal(a[i], 0);
  });

  test("population std: s² = 0.75/4", () => {
    const a = groupAdvantages(rewards, 4, { std: "population", eps: 0 });
    close(a[0], 0.75 / Math.sqrt(0.1875));
    close(a[0], Math.sqrt(3));
    close(a[1], -1 / Math.sqrt(3));
  });

  test("G = 2, rewards {0, 1}: ±0.707 (sample) and ±1 (population)", () => {
    const s = groupAdvantages([0, 1], 2, { eps: 0 });
    close(s[1], Math.SQRT1_2);
    const p = groupAdvantages([0, 1], 2, { eps: 0, std: "population" });
    close(p[0], -1);
  });

  test("Dr.GRPO: centred only", () => {
    const a = drGrpoAdvantages([0.2, 0.8, 0.5, 1, 1, 0], 3);
    close(a[0], -0.3);
    close(a[1], 0.3);
    close(a[2], 0);
    close(a[3], 1 / 3);
    close(a[5], -2 / 3);
  });

  test("advantages sum to zero in each group", () => {
    const rng = new Rng(3);
    const r = Array.from({ length: 24 }, () => rng.next());
    for (const a of [groupAdvantages(r, 6), drGrpoAdvantages(r, 6)]) {
      for (let g = 0; g < 4; g++) {
        let s = 0;
        for (let i = 0; i < 6; i++) s += a[g * 6 + i];
        close(s, 0, 1e-12);
      }
    }
  });

  test("group of one: A = r (mean 0, std 1)", () => {
    const a = groupAdvantages([0.5, 1], 1, { eps: 0 });
    assert.deepEqual([...a], [0.5, 1]);
  });

  test("zero-variance fraction", () => {
    assert.equal(zeroVarianceFraction(rewards, 4), 0.5);
    assert.equal(zeroVarianceFraction([1, 1, 0, 0, 0.5, 0.5], 2), 1);
    assert.equal(zeroVarianceFraction([1, 1.001, 0, 1], 2, 0.01), 0.5);
    assert.equal(zeroVarianceFraction([], 6), 0);
  });

  test("bad shapes throw", () => {
    assert.throws(() => groupAdvantages([1, 2, 3], 2), /groups of 2/);
    assert.throws(() => groupAdvantages([1, 2], 0), /positive integer/);
  });
});

describe("k3 KL estimator", () => {
  test("hand values and gradient", () => {
    // new = ln 0.5, ref = ln 0.25: d = ln 0.5, k3 = 0.5 − ln 0.5 − 1, ∂/∂new = 1 − 0.5.
    const r = k3(Math.log(0.5), Math.log(0.25));
    close(r.kl, 0.5 + Math.LN2 - 1, 1e-12);
    close(r.grad, 0.5, 1e-12);
    // new = ln 0.2, ref = ln 0.6: d = ln 3, k3 = 3 − ln 3 − 1, ∂/∂new = 1 − 3.
    const s = k3(Math.log(0.2), Math.log(0.6));
    close(s.kl, 2 - Math.log(3), 1e-12);
    close(s.grad, -2, 1e-12);
    assert.deepEqual(k3(-1.3, -1.3), { kl: 0, grad: 0 });
  });

  test("its expectation under π_new is KL(π_new ‖ π_ref)", () => {
    const pNew = [0.5, 0.3, 0.2];
    const pRef = [0.2, 0.2, 0.6];
    let est = 0;
    let kl = 0;
    for (let y = 0; y < 3; y++) {
      est += pNew[y] * k3(Math.log(pNew[y]), Math.log(pRef[y])).kl;
      kl += pNew[y] * Math.log(pNew[y] / pRef[y]);
    }
    close(est, kl, 1e-12);
  });

  test("clamped at 10 with no gradient", () => {
    const r = k3(0, 12);
    assert.equal(r.kl, 10);
    assert.equal(r.grad, 0);
  });
});

describe("clipped GRPO loss", () => {
  // One sequence, position 0 is the prompt (masked); ratios 1, 1.5, 0.5 on the response.
  const seq = (A: number, ratios = [1, 1.5, 0.5]): PolicyLossInput => ({
    logpNew: [0, ...ratios.map((r) => Math.log(r) - 1)],
    logpOld: [0, -1, -1, -1],
    mask: [0, 1, 1, 1],
    advantages: [A],
  });

  test("positive advantage: ρ = 1.5 is clipped, ρ = 0.5 is not", () => {
    const r = grpoPolicyLoss(seq(2), { klCoef: 0 });
    // pg = [−2·1, −2·1.2 (clipped), −2·0.5] → mean −1.8.
    close(r.loss, (-2 - 2.4 - 1) / 3);
    close(r.pgLoss, -1.8);
    assert.equal(r.klLoss, 0);
    // c = [0, −A·1, 0 (clipped), −A·0.5] / 3.
    close(r.coef[0], 0);
    close(r.coef[1], -2 / 3);
    close(r.coef[2], 0);
    close(r.coef[3], -1 / 3);
    close(r.clipFraction, 1 / 3);
    close(r.meanRatio, 1);
    close(r.ppoKl, -(Math.log(1.5) + Math.log(0.5)) / 3);
    assert.equal(r.tokens, 3);
  });

  test("negative advantage: ρ = 0.5 is clipped, ρ = 1.5 is not", () => {
    const r = grpoPolicyLoss(seq(-1), { klCoef: 0 });
    // pg = [1, 1.5, max(0.5, 0.8) = 0.8].
    close(r.loss, (1 + 1.5 + 0.8) / 3);
    close(r.coef[1], 1 / 3);
    close(r.coef[2], 1.5 / 3);
    close(r.coef[3], 0);
    close(r.clipFraction, 1 / 3);
  });

  test("zero advantage: only the KL term", () => {
    const input = { ...seq(0), logpRef: [0, -1.2, -0.8, -1] };
    const r = grpoPolicyLoss(input, { klCoef: 0.1 });
    let kl = 0;
    for (let t = 1; t < 4; t++) {
      const e = k3(input.logpNew[t], input.logpRef[t]);
      kl += e.kl;
      close(r.coef[t], (0.1 * e.grad) / 3);
    }
    close(r.klLoss, kl / 3);
    close(r.meanKl, kl / 3);
    close(r.loss, (0.1 * kl) / 3);
    assert.equal(r.clipFraction, 0);
  });

  test("KL term adds β·k3 to the loss and β·(1 − π_ref/π_new) to the coefficient", () => {
    const input = { ...seq(2), logpRef: [0, -1, -1, -1] };
    const r = grpoPolicyLoss(input); // β = 1e-3
    const kls = [1, 1.5, 0.5].map((rho) => k3(Math.log(rho) - 1, -1));
    const klMean = (kls[0].kl + kls[1].kl + kls[2].kl) / 3;
    close(r.loss, -1.8 + 1e-3 * klMean);
    // token 2 (ρ = 1.5): π_ref/π_new = 1/1.5, clipped pg → only the KL part.
    close(r.coef[2], (1e-3 * (1 - 1 / 1.5)) / 3);
    close(r.coef[3], (-1 + 1e-3 * (1 - 2)) / 3);
  });

  test("dual clip caps the loss of negative advantages at −A·c", () => {
    const r = grpoPolicyLoss(seq(-1, [1, 4, 1]), { klCoef: 0, dualClip: 3 });
    close(r.loss, (1 + 3 + 1) / 3);
    assert.equal(r.coef[2], 0);
    close(r.dualClipFraction, 1 / 3);
    const off = grpoPolicyLoss(seq(-1, [1, 4, 1]), { klCoef: 0 });
    close(off.loss, (1 + 4 + 1) / 3);
    close(off.coef[2], 4 / 3);
  });

  test("asymmetric clip (clip-higher)", () => {
    const r = grpoPolicyLoss(seq(1, [1, 1.25, 1]), { klCoef: 0, clipEpsHigh: 0.28 });
    close(r.coef[2], -1.25 / 3);
    assert.equal(r.clipFraction, 0);
  });

  test("token-mean over the mini-batch, and micro-batches with a shared normalizer add up", () => {
    const rng = new Rng(11);
    const input = randomInput(rng, 4, 6);
    const whole = grpoPolicyLoss(input, { klCoef: 0.01 });
    const N = whole.tokens;
    const half = (lo: number, hi: number): PolicyLossInput => ({
      logpNew: Array.from(input.logpNew).slice(lo * 6, hi * 6),
      logpOld: Array.from(input.logpOld).slice(lo * 6, hi * 6),
      logpRef: Array.from(input.logpRef!).slice(lo * 6, hi * 6),
      mask: Array.from(input.mask).slice(lo * 6, hi * 6),
      advantages: Array.from(input.advantages).slice(lo, hi),
    });
    const a = grpoPolicyLoss(half(0, 1), { klCoef: 0.01, tokenNormalizer: N });
    const b = grpoPolicyLoss(half(1, 4), { klCoef: 0.01, tokenNormalizer: N });
    close(a.loss + b.loss, whole.loss, 1e-12);
    const joined = [...a.coef, ...b.coef];
    for (let i = 0; i < joined.length; i++) close(joined[i], whole.coef[i], 1e-15);
    // Longer sequences weigh more: the loss is not a mean of per-sequence means.
    assert.equal(N, a.tokens + b.tokens);
  });

  test("coefficient matches central finite differences of the loss", () => {
    for (const seed of [1, 2, 3]) {
      const rng = new Rng(seed);
      const input = randomInput(rng, 3, 7);
      for (const opts of [{}, { klCoef: 0.05 }, { klCoef: 0.2, dualClip: 2 }] as PolicyLossOptions[]) {
        const { coef } = grpoPolicyLoss(input, opts);
        const h = 1e-6;
        for (let i = 0; i < coef.length; i++) {
          const plus = Array.from(input.logpNew);
          const minus = Array.from(input.logpNew);
          plus[i] += h;
          minus[i] -= h;
          const fd =
            (grpoPolicyLoss({ ...input, logpNew: plus }, opts).loss -
              grpoPolicyLoss({ ...input, logpNew: minus }, opts).loss) /
            (2 * h);
          close(coef[i], fd, 1e-8, `seed ${seed} token ${i}`);
        }
      }
    }
  });

  test("cross-entropy row weights are −c", () => {
    const w = crossEntropyRowWeights([0, 0.25, -0.5]);
    assert.deepEqual([...w], [0, -0.25, 0.5]);
  });

  test("bad inputs throw", () => {
    assert.throws(() => grpoPolicyLoss({ ...seq(1), advantages: [1, 2, 3] }), /split/);
    assert.throws(() => grpoPolicyLoss(seq(1)), /logpRef/);
    assert.throws(() => grpoPolicyLoss(seq(1), { klCoef: 0, dualClip: 0.5 }), /dualClip/);
    assert.throws(() => grpoPolicyLoss({ ...seq(1), mask: [0, 1, -1, 1] }, { klCoef: 0 }), /mask/);
  });
});

/** Random log-probs whose ratios stay 1e-3 away from the clip edges (the loss has kinks there). */
function randomInput(rng: Rng, B: number, T: number): PolicyLossInput {
  const n = B * T;
  const logpNew: number[] = [];
  const logpOld: number[] = [];
  const logpRef: number[] = [];
  const mask: number[] = [];
  for (let i = 0; i < n; i++) {
    const old = -0.1 - 3 * rng.next();
    let ratio: number;
    do ratio = 0.5 + 3 * rng.next();
    while ([0.8, 1.2, 2].some((e) => Math.abs(ratio - e) < 1e-3));
    logpOld.push(old);
    logpNew.push(old + Math.log(ratio));
    logpRef.push(old + (rng.next() - 0.5));
    mask.push(i % T === 0 || rng.chance(0.15) ? 0 : 1);
  }
  const advantages = Array.from({ length: B }, () => 2 * rng.next() - 1);
  return { logpNew, logpOld, logpRef, mask, advantages };
}

// ── A toy environment where GRPO must raise the reward ─────────────────────────────────────────
//
// Prompt k ∈ {0, 1, 2}; the policy writes three tokens a, b, c ∈ {0, 1, 2}; the verifiable
// reward is 1 iff c ≡ a + b + k (mod 3). The policy is tabular: one softmax over 3 tokens per
// (prompt, prefix), 13 contexts per prompt. A uniform policy scores exactly 1/3; the maximum is 1.

const V = 3;
const PROMPTS = 3;
const CTX_PER_PROMPT = 13;

const ctxOf = (k: number, prefix: number[]) =>
  k * CTX_PER_PROMPT +
  (prefix.length === 0 ? 0 : prefix.length === 1 ? 1 + prefix[0] : 4 + 3 * prefix[0] + prefix[1]);
const rewardOf = (k: number, toks: number[]) => ((toks[0] + toks[1] + k) % 3 === toks[2] ? 1 : 0);

function probs(theta: Float64Array, ctx: number): number[] {
  const z = [0, 1, 2].map((j) => theta[ctx * V + j]);
  const m = Math.max(...z);
  const e = z.map((x) => Math.exp(x - m));
  const s = e[0] + e[1] + e[2];
  return e.map((x) => x / s);
}

/** Exact expected reward over prompts (uniform) and all 27 completions. */
function expectedReward(theta: Float64Array): number {
  let total = 0;
  for (let k = 0; k < PROMPTS; k++)
    for (let a = 0; a < V; a++)
      for (let b = 0; b < V; b++)
        for (let c = 0; c < V; c++) {
          const p =
            probs(theta, ctxOf(k, []))[a] *
            probs(theta, ctxOf(k, [a]))[b] *
            probs(theta, ctxOf(k, [a, b]))[c];
          total += p * rewardOf(k, [a, b, c]);
        }
  return total / PROMPTS;
}

interface Rollout {
  k: number;
  toks: number[];
  ctxs: number[];
}

function sample(rng: Rng, theta: Float64Array, k: number): Rollout {
  const toks: number[] = [];
  const ctxs: number[] = [];
  for (let s = 0; s < 3; s++) {
    const ctx = ctxOf(k, toks);
    ctxs.push(ctx);
    toks.push(rng.weighted(probs(theta, ctx)));
  }
  return { k, toks, ctxs };
}

/** Per-token log-probs laid out [B, 4]: position 0 is the (masked) prompt, 1..3 the response. */
function logps(theta: Float64Array, rollouts: Rollout[]): number[] {
  const out: number[] = [];
  for (const r of rollouts) {
    out.push(0);
    for (let s = 0; s < 3; s++) out.push(Math.log(probs(theta, r.ctxs[s])[r.toks[s]]));
  }
  return out;
}

/** ∂loss/∂θ from the coefficients: Σ_t c_t · (onehot(y_t) − softmax(θ_ctx)). */
function thetaGrad(theta: Float64Array, rollouts: Rollout[], coef: ArrayLike<number>): Float64Array {
  const g = new Float64Array(theta.length);
  rollouts.forEach((r, b) => {
    for (let s = 0; s < 3; s++) {
      const c = coef[b * 4 + 1 + s];
      const p = probs(theta, r.ctxs[s]);
      for (let j = 0; j < V; j++) g[r.ctxs[s] * V + j] += c * ((j === r.toks[s] ? 1 : 0) - p[j]);
    }
  });
  return g;
}

interface RunOptions {
  seed: number;
  steps: number;
  group: number;
  epochs: number;
  lr: number;
  advantage: "grpo" | "drgrpo";
}

/** GRPO on the toy task; returns the exact expected reward before and after, and the stats seen. */
function runGrpo(o: RunOptions): { start: number; end: number; clipSeen: boolean; flatGroups: number } {
  const rng = new Rng(o.seed);
  const theta = new Float64Array(PROMPTS * CTX_PER_PROMPT * V);
  for (let i = 0; i < theta.length; i++) theta[i] = rng.next() - 0.5;
  const ref = theta.slice();
  const start = expectedReward(theta);
  let clipSeen = false;
  let flatGroups = 0;
  for (let step = 0; step < o.steps; step++) {
    const rollouts: Rollout[] = [];
    for (let k = 0; k < PROMPTS; k++) for (let g = 0; g < o.group; g++) rollouts.push(sample(rng, theta, k));
    const rewards = rollouts.map((r) => rewardOf(r.k, r.toks));
    flatGroups += zeroVarianceFraction(rewards, o.group);
    const advantages =
      o.advantage === "grpo" ? groupAdvantages(rewards, o.group) : drGrpoAdvantages(rewards, o.group);
    const logpOld = logps(theta, rollouts);
    const logpRef = logps(ref, rollouts);
    const mask = rollouts.flatMap(() => [0, 1, 1, 1]);
    for (let e = 0; e < o.epochs; e++) {
      const res = grpoPolicyLoss({ logpNew: logps(theta, rollouts), logpOld, logpRef, mask, advantages });
      if (res.clipFraction > 0) clipSeen = true;
      const g = thetaGrad(theta, rollouts, res.coef);
      for (let i = 0; i < theta.length; i++) theta[i] -= o.lr * g[i];
    }
  }
  return { start, end: expectedReward(theta), clipSeen, flatGroups };
}

describe("GRPO on a tabular policy with a verifiable reward", () => {
  test("θ-gradient through the softmax equals finite differences of the loss", () => {
    const rng = new Rng(5);
    const theta = new Float64Array(PROMPTS * CTX_PER_PROMPT * V);
    for (let i = 0; i < theta.length; i++) theta[i] = rng.next() - 0.5;
    const rollouts: Rollout[] = [];
    for (let k = 0; k < PROMPTS; k++) for (let g = 0; g < 4; g++) rollouts.push(sample(rng, theta, k));
    const advantages = groupAdvantages(
      rollouts.map((r) => rewardOf(r.k, r.toks)),
      4,
    );
    const old = theta.map((x) => x + 0.3 * (rng.next() - 0.5));
    const refTheta = theta.map((x) => x + 0.3 * (rng.next() - 0.5));
    const base = {
      logpOld: logps(old, rollouts),
      logpRef: logps(refTheta, rollouts),
      mask: rollouts.flatMap(() => [0, 1, 1, 1]),
      advantages,
    };
    const lossAt = (th: Float64Array) =>
      grpoPolicyLoss({ ...base, logpNew: logps(th, rollouts) }, { klCoef: 0.1 });
    const g = thetaGrad(theta, rollouts, lossAt(theta).coef);
    const h = 1e-6;
    for (let i = 0; i < theta.length; i++) {
      const p = theta.slice();
      const m = theta.slice();
      p[i] += h;
      m[i] -= h;
      close(g[i], (lossAt(p).loss - lossAt(m).loss) / (2 * h), 1e-7, `θ[${i}]`);
    }
  });

  const base: Omit<RunOptions, "seed" | "advantage"> = { steps: 40, group: 6, epochs: 2, lr: 4 };

  test("GRPO raises the expected reward (seed 1)", () => {
    const r = runGrpo({ ...base, seed: 1, advantage: "grpo" });
    close(r.start, 1 / 3, 0.1, "start near the uniform 1/3");
    assert.ok(r.end > 0.8, `expected reward ${r.start.toFixed(3)} → ${r.end.toFixed(3)}`);
    assert.ok(r.clipSeen, "the second epoch should clip some tokens");
    assert.ok(r.flatGroups > 0, "groups that all succeed appear as the policy converges");
  });

  test("GRPO raises the expected reward across seeds", () => {
    for (const seed of [2, 3, 4, 5, 6]) {
      const r = runGrpo({ ...base, seed, advantage: "grpo" });
      assert.ok(r.end > r.start + 0.4, `seed ${seed}: ${r.start.toFixed(3)} → ${r.end.toFixed(3)}`);
    }
  });

  test("Dr.GRPO raises the expected reward across seeds", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      // Without the std division the steps are smaller (|A| ≤ 1 here), hence a larger step size.
      const r = runGrpo({ ...base, lr: 8, seed, advantage: "drgrpo" });
      assert.ok(r.end > r.start + 0.4, `seed ${seed}: ${r.start.toFixed(3)} → ${r.end.toFixed(3)}`);
    }
  });

  test("with the learning rate at zero nothing moves (the gain is the update's doing)", () => {
    const r = runGrpo({ ...base, lr: 0, seed: 1, advantage: "grpo" });
    close(r.end, r.start, 1e-15);
  });
});
