/**
 * GRPO (training.md §2, "RL" row): group-relative advantages and the clipped, KL-regularised
 * per-token policy loss with its gradient coefficient. Pure arithmetic on arrays: no engine, no
 * model. The engine turns the coefficient into a backward pass (see {@link grpoPolicyLoss}).
 *
 * ── Advantages ────────────────────────────────────────────────────────────────────────────────
 * Rollouts come in groups of G consecutive entries (group g = rewards[g·G .. g·G + G − 1], the G
 * rollouts of one prompt). With m_g the group mean and s_g the group standard deviation:
 *
 *   GRPO      A_i = (r_i − m_g) / (s_g + eps)       eps = 1e-6
 *   Dr.GRPO   A_i =  r_i − m_g                      (no division by the std)
 *
 * s_g defaults to the SAMPLE standard deviation, s² = Σ(r − m)² / (G − 1) (Bessel-corrected,
 * what `torch.std` returns and what the reference's verl-based GRPO divides by); the population
 * std, s² = Σ(r − m)² / G, is an option. For G = 2 and rewards {0, 1} the two give ±0.707 and ±1.
 * A group of size 1 uses m = 0 and s = 1 (the reference's convention), so A = r.
 * A group whose rewards are all equal has A = 0 for every rollout: it carries no policy-gradient
 * signal (only the KL term acts on it); {@link zeroVarianceFraction} counts such groups.
 *
 * ── Per-token loss ────────────────────────────────────────────────────────────────────────────
 * For a response token t of sequence i (mask w_t = 1), with log-probabilities of the sampled
 * token under the policy being trained (new), the policy that sampled (old) and the frozen
 * reference (ref), all at temperature 1:
 *
 *   ρ_t   = exp(new_t − old_t)                                     (importance ratio)
 *   ℓ1_t  = −A_i · ρ_t
 *   ℓ2_t  = −A_i · clip(ρ_t, 1 − ε_low, 1 + ε_high)                ε = 0.2
 *   pg_t  = max(ℓ1_t, ℓ2_t)                                        (PPO's pessimistic bound)
 *           [optional dual clip, A_i < 0 only: pg_t = min(pg_t, −A_i · c), c > 1]
 *   d_t   = ref_t − new_t
 *   kl_t  = exp(d_t) − d_t − 1                                     (Schulman's "k3"; ≥ 0,
 *                                                                    unbiased for KL(new‖ref))
 *   loss  = Σ_t w_t (pg_t + β · kl_t) / Σ_t w_t                     β = 1e-3 ("token-mean")
 *
 * Gradient coefficient c_t = ∂loss/∂new_t:
 *
 *   ∂pg_t/∂new_t = 0            if the clipped branch is active (ℓ2_t > ℓ1_t: ρ left the trust
 *                               region in the direction the advantage pushes) or the dual clip is;
 *                = −A_i · ρ_t    otherwise
 *   ∂kl_t/∂new_t = 1 − exp(ref_t − new_t)  (= 1 − π_ref/π_new)
 *   c_t = w_t · (∂pg_t/∂new_t + β · ∂kl_t/∂new_t) / Σ_s w_s
 *
 * Backward through a softmax: new_t = z_t[y_t] − logsumexp(z_t) for logits z_t and sampled token
 * y_t, so ∂new_t/∂z_t = onehot(y_t) − softmax(z_t) and
 *
 *   ∂loss/∂z_t = c_t · (onehot(y_t) − softmax(z_t)) = (−c_t) · (softmax(z_t) − onehot(y_t)),
 *
 * i.e. the ordinary cross-entropy gradient row (softmax − onehot) scaled by w_t = −c_t
 * ({@link crossEntropyRowWeights}). Numerical guards as in the reference: new − old and ref − new
 * are clamped to ±20 before exp, kl_t is clamped to at most 10; a clamped quantity passes no
 * gradient (as torch.clamp does).
 */

/** Which standard deviation normalises the centred rewards of a group. */
export type GroupStd = "sample" | "population";

/** Options of {@link groupAdvantages}. */
export interface AdvantageOptions {
  /** "std" divides by the group std (GRPO, default), "none" only centres (Dr.GRPO). */
  normalize?: "std" | "none";
  /** Sample (n − 1, the reference's torch.std; default) or population (n) std. */
  std?: GroupStd;
  /** Added to the std before dividing (default 1e-6). */
  eps?: number;
}

/** Group means and standard deviations of rewards laid out in consecutive groups of `groupSize`. */
export function groupStats(
  rewards: ArrayLike<number>,
  groupSize: number,
  std: GroupStd = "sample",
): { means: Float64Array; stds: Float64Array } {
  const groups = checkGroups(rewards.length, groupSize);
  const means = new Float64Array(groups);
  const stds = new Float64Array(groups);
  for (let g = 0; g < groups; g++) {
    const o = g * groupSize;
    if (groupSize === 1) {
      means[g] = 0;
      stds[g] = 1;
      continue;
    }
    let sum = 0;
    for (let i = 0; i < groupSize; i++) sum += rewards[o + i];
    const m = sum / groupSize;
    let ss = 0;
    for (let i = 0; i < groupSize; i++) ss += (rewards[o + i] - m) ** 2;
    means[g] = m;
    stds[g] = Math.sqrt(ss / (std === "sample" ? groupSize - 1 : groupSize));
  }
  return { means, stds };
}

/** Per-rollout advantages: (r − mean)/(std + eps) per group (GRPO) or r − mean (normalize "none"). */
export function groupAdvantages(
  rewards: ArrayLike<number>,
  groupSize: number,
  opts: AdvantageOptions = {},
): Float64Array {
  const normalize = opts.normalize ?? "std";
  const eps = opts.eps ?? 1e-6;
  const { means, stds } = groupStats(rewards, groupSize, opts.std ?? "sample");
  const out = new Float64Array(rewards.length);
  for (let i = 0; i < rewards.length; i++) {
    const g = Math.floor(i / groupSize);
    const centred = rewards[i] - means[g];
    out[i] = normalize === "std" ? centred / (stds[g] + eps) : centred;
  }
  return out;
}

/** Dr.GRPO advantages: r − group mean, without the std division. */
export function drGrpoAdvantages(rewards: ArrayLike<number>, groupSize: number): Float64Array {
  return groupAdvantages(rewards, groupSize, { normalize: "none" });
}

/** Fraction of groups whose rewards all lie within `tol` of each other (no policy-gradient signal). */
export function zeroVarianceFraction(rewards: ArrayLike<number>, groupSize: number, tol = 0): number {
  const groups = checkGroups(rewards.length, groupSize);
  if (groups === 0) return 0;
  let flat = 0;
  for (let g = 0; g < groups; g++) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < groupSize; i++) {
      const r = rewards[g * groupSize + i];
      if (r < lo) lo = r;
      if (r > hi) hi = r;
    }
    if (hi - lo <= tol) flat++;
  }
  return flat / groups;
}

/** Inputs of {@link grpoPolicyLoss}: B sequences × T positions, row-major, plus B advantages. */
export interface PolicyLossInput {
  /** log π_θ(y_t | y_<t) of the sampled token under the policy being trained, [B·T]. */
  logpNew: ArrayLike<number>;
  /** Same under the policy that sampled the rollouts, [B·T]. */
  logpOld: ArrayLike<number>;
  /** Same under the frozen reference model, [B·T]; may be omitted when klCoef is 0. */
  logpRef?: ArrayLike<number>;
  /** Response mask (1 on response tokens, 0 on prompt and padding), [B·T]; non-negative weights. */
  mask: ArrayLike<number>;
  /** One advantage per sequence, [B]; T is inferred as logpNew.length / B. */
  advantages: ArrayLike<number>;
}

/** Options of {@link grpoPolicyLoss}; defaults are the reference's. */
export interface PolicyLossOptions {
  /** Lower clip ε: ρ is clipped below at 1 − clipEps (default 0.2). */
  clipEps?: number;
  /** Upper clip ε (default: clipEps; a larger value is DAPO's "clip-higher"). */
  clipEpsHigh?: number;
  /** β, the weight of the k3 KL-to-reference loss (default 1e-3; 0 switches it off). */
  klCoef?: number;
  /** Dual-clip constant c > 1 for negative advantages (off by default; verl's clip_ratio_c is 3). */
  dualClip?: number;
  /**
   * Token count the sums are divided by. Default: Σ mask of this call. When a mini-batch is split
   * into micro-batches whose gradients are accumulated, pass the mini-batch's Σ mask so the sum
   * of the micro-batch losses (and coefficients) equals the mini-batch's token-mean.
   */
  tokenNormalizer?: number;
}

/** Result of {@link grpoPolicyLoss}. */
export interface PolicyLossResult {
  /** pgLoss + β · klLoss. */
  loss: number;
  /** Σ w·pg / normalizer. */
  pgLoss: number;
  /** Σ w·kl / normalizer (before β). */
  klLoss: number;
  /** c_t = ∂loss/∂logpNew_t, [B·T], zero off the mask. The engine scales the CE gradient row by −c_t. */
  coef: Float64Array;
  /** Σ mask of this call. */
  tokens: number;
  /** Fraction of response tokens where the clipped branch is active (ℓ2 > ℓ1). */
  clipFraction: number;
  /** Fraction of response tokens where the dual clip is active (0 when off). */
  dualClipFraction: number;
  /** Token mean of the k3 estimate of KL(π_θ ‖ π_ref). */
  meanKl: number;
  /** Token mean of ρ = π_θ / π_old. */
  meanRatio: number;
  /** Token mean of old − new, the usual first-order KL(π_old ‖ π_θ) estimate ("ppo_kl"). */
  ppoKl: number;
}

const LOG_CLAMP = 20;
const KL_CLAMP = 10;

/** k3 estimate of KL(π_new ‖ π_ref) for one token, exp(d) − d − 1 with d = ref − new, and its ∂/∂new. */
export function k3(logpNew: number, logpRef: number): { kl: number; grad: number } {
  const raw = logpRef - logpNew;
  const d = Math.min(LOG_CLAMP, Math.max(-LOG_CLAMP, raw));
  const e = Math.exp(d);
  const kl = e - d - 1;
  if (kl > KL_CLAMP || d !== raw) return { kl: Math.min(kl, KL_CLAMP), grad: 0 };
  return { kl, grad: 1 - e };
}

/** GRPO token-mean loss (clipped surrogate + β·k3 KL), its per-token coefficient ∂loss/∂logpNew and stats. */
export function grpoPolicyLoss(input: PolicyLossInput, opts: PolicyLossOptions = {}): PolicyLossResult {
  const { logpNew, logpOld, logpRef, mask, advantages } = input;
  const B = advantages.length;
  const n = logpNew.length;
  if (B === 0 || n % B !== 0)
    throw new Error(`grpoPolicyLoss: ${n} token log-probs do not split into ${B} sequences`);
  const T = n / B;
  if (logpOld.length !== n)
    throw new Error(`grpoPolicyLoss: logpOld has ${logpOld.length} entries, want ${n}`);
  if (mask.length !== n) throw new Error(`grpoPolicyLoss: mask has ${mask.length} entries, want ${n}`);
  const epsLo = opts.clipEps ?? 0.2;
  const epsHi = opts.clipEpsHigh ?? epsLo;
  const beta = opts.klCoef ?? 1e-3;
  const dual = opts.dualClip;
  if (!(epsLo >= 0 && epsLo < 1) || !(epsHi >= 0))
    throw new Error("grpoPolicyLoss: clip ε must be in [0, 1)");
  if (dual !== undefined && !(dual > 1))
    throw new Error(`grpoPolicyLoss: dualClip must exceed 1, got ${dual}`);
  if (beta !== 0 && (!logpRef || logpRef.length !== n))
    throw new Error("grpoPolicyLoss: logpRef of the same length is required when klCoef ≠ 0");

  let tokens = 0;
  for (let i = 0; i < n; i++) {
    if (!(mask[i] >= 0))
      throw new Error(`grpoPolicyLoss: mask[${i}] = ${mask[i]} is not a non-negative weight`);
    tokens += mask[i];
  }
  const norm = opts.tokenNormalizer ?? tokens;
  const coef = new Float64Array(n);
  let pgSum = 0;
  let klSum = 0;
  let clipped = 0;
  let dualClipped = 0;
  let ratioSum = 0;
  let ppoKlSum = 0;
  for (let b = 0; b < B; b++) {
    const A = advantages[b];
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      const w = mask[i];
      if (w === 0) continue;
      const rawLog = logpNew[i] - logpOld[i];
      const logRatio = Math.min(LOG_CLAMP, Math.max(-LOG_CLAMP, rawLog));
      const ratio = Math.exp(logRatio);
      const l1 = -A * ratio;
      const l2 = -A * Math.min(1 + epsHi, Math.max(1 - epsLo, ratio));
      let pg = l1;
      let g = logRatio === rawLog ? -A * ratio : 0;
      if (l2 > l1) {
        pg = l2;
        g = 0;
        clipped += w;
      }
      if (dual !== undefined && A < 0) {
        const l3 = -A * dual;
        if (l3 < pg) {
          pg = l3;
          g = 0;
          dualClipped += w;
        }
      }
      let gk = 0;
      if (beta !== 0) {
        const { kl, grad } = k3(logpNew[i], logpRef![i]);
        klSum += w * kl;
        gk = grad;
      }
      pgSum += w * pg;
      ratioSum += w * ratio;
      ppoKlSum += w * (logpOld[i] - logpNew[i]);
      coef[i] = norm > 0 ? (w * (g + beta * gk)) / norm : 0;
    }
  }
  const pgLoss = norm > 0 ? pgSum / norm : 0;
  const klLoss = norm > 0 ? klSum / norm : 0;
  const mean = (s: number) => (tokens > 0 ? s / tokens : 0);
  return {
    loss: pgLoss + beta * klLoss,
    pgLoss,
    klLoss,
    coef,
    tokens,
    clipFraction: mean(clipped),
    dualClipFraction: mean(dualClipped),
    meanKl: mean(klSum),
    meanRatio: mean(ratioSum),
    ppoKl: mean(ppoKlSum),
  };
}

/** The weights w_t = −c_t by which the engine scales each cross-entropy gradient row (softmax − onehot). */
export function crossEntropyRowWeights(coef: ArrayLike<number>): Float32Array {
  const out = new Float32Array(coef.length);
  for (let i = 0; i < coef.length; i++) out[i] = coef[i] === 0 ? 0 : -coef[i];
  return out;
}

function checkGroups(n: number, groupSize: number): number {
  if (!Number.isInteger(groupSize) || groupSize < 1)
    throw new Error(`group size must be a positive integer, got ${groupSize}`);
  if (n % groupSize !== 0) throw new Error(`${n} rewards do not split into groups of ${groupSize}`);
  return n / groupSize;
}
