/**
 * GRPO with process-verified rewards (training.md §2, RL row): the run loop of ../train/loop.ts
 * around the step of ./step.ts, with greedy validation. The run folder is a training run
 * (config.json, metrics.jsonl, checkpoints/, tokenizer) that every other command (eval, edge,
 * export) reads; `resume` continues from the latest checkpoint.
 */

import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadKernels } from "../engine/backend.js";
import { bf16IsFast, type Kernels } from "../engine/kernels.js";
import { flopsExecuted } from "../engine/native.js";
import { writeExplorer } from "../eval/explore.js";
import { writeEvalProblems } from "../eval/problems-file.js";
import { Model } from "../model/model.js";
import type { WorldTokenizer } from "../model/tokenizer.js";
import { EVAL_FILES } from "../report/io.js";
import { sampleBatched } from "../sample/sampler.js";
import { loadVerified } from "../train/load.js";
import {
  checkpointer,
  openRun,
  resumePoint,
  runLoop,
  runTokenizer,
  stderrLog,
  trimMetrics,
} from "../train/loop.js";
import { verifySample } from "../verify/index.js";
import type { Problem } from "../world/types.js";
import {
  type RlConfig,
  type RlMetrics,
  type RlOptions,
  resolveRlRun,
  resumedRlConfig,
  rlVerifyOptions,
} from "./config.js";
import { zeroVarianceFraction } from "./grpo.js";
import { validationProblems } from "./prompts.js";
import {
  account,
  advantages,
  policyUpdate,
  type RlContext,
  type RlState,
  rollout,
  score,
  stepWork,
} from "./step.js";

/** Where a run keeps its validation traces: an evaluation-like folder with the step on every line. */
const VAL_DIR = "val";

/**
 * Greedy verified rate and mean reward on the validation problems; each trace and its verdict is
 * appended to val/samples.jsonl and val/results.jsonl with the step, and val/explorer.html rewritten.
 */
function validate(
  c: RlConfig,
  m: Model,
  tok: WorldTokenizer,
  val: Problem[],
  stop: number[],
  at: { dir: string; step: number },
) {
  const { completions } = sampleBatched(
    m,
    val.map((p) => ({ prompt: tok.encode(p.prompt), n: 1 })),
    { temperature: 0, maxNew: c.maxNew, stop, batch: 64 },
  );
  let ok = 0;
  let reward = 0;
  let samples = "";
  let results = "";
  for (const x of completions) {
    const p = val[x.request];
    const completion = tok.decode(x.tokens);
    const { breakdown: _, ...r } = verifySample(completion, p, rlVerifyOptions(c));
    if (r.verified) ok++;
    reward += r.rewards[c.reward];
    const tag = { id: p.id, sample: 0, step: at.step };
    samples += `${JSON.stringify({ ...tag, completion, finish: x.finish, tokens: x.tokens.length })}\n`;
    results += `${JSON.stringify({ ...tag, op: p.op, context: p.context, ...r })}\n`;
  }
  // Sample lines first: a kill between the two leaves a sample without a verdict, which the explorer skips.
  appendFileSync(join(at.dir, EVAL_FILES.samples), samples);
  appendFileSync(join(at.dir, EVAL_FILES.results), results);
  try {
    writeExplorer(at.dir, { title: "Greedy validation traces of the RL run", reportHref: "../report.html" });
  } catch (e) {
    console.error(`warning: ${at.dir}/explorer.html not written: ${(e as Error).message}`);
  }
  return { verified: ok / val.length, reward: reward / val.length };
}

/** The run's validation folder: its problems written, its traces trimmed to the resumed step. */
function openValidation(out: string, val: Problem[], step: number): string {
  const dir = join(out, VAL_DIR);
  mkdirSync(dir, { recursive: true });
  writeEvalProblems(dir, val);
  for (const f of [EVAL_FILES.samples, EVAL_FILES.results]) trimMetrics(join(dir, f), step);
  return dir;
}

/** Result of an RL run. */
export interface RlResult {
  config: RlConfig;
  steps: number;
  stoppedEarly: boolean;
  last: RlMetrics | null;
}

/** Runs (or resumes) GRPO: per step, rollout → score → advantages → policy update → accounting. */
export async function trainRl(o: RlOptions, kernels?: Kernels): Promise<RlResult> {
  const k = kernels ?? (await loadKernels(o.backend));
  const { config: saved, file } = await resolveRlRun(o, bf16IsFast(k));
  const log = o.log ?? stderrLog;
  // Verified before anything is written: the reference (refused if it fails its checksums) and, on
  // resume, the newest intact checkpoint of this run (older ones are fallen back to, and logged).
  const refParams = loadVerified(saved.from.checkpoint, saved.model, { warn: log }).tensors.params;
  const ck = resumePoint(o.out, o.resume, saved.model, log);
  const target = (ck?.state as RlState | undefined)?.target;
  const c = o.resume ? resumedRlConfig(o, saved, file, target) : saved;
  const steps = c.steps;
  if (steps !== (target ?? saved.steps))
    log(
      `--resume: --steps ${steps} extends the run from ${target ?? saved.steps} steps (the LR is constant)`,
    );
  const tok = runTokenizer(c.digits, c.model);
  const policy = new Model(k, c.model);
  const ref = new Model(k, c.model, refParams);
  policy.precision = ref.precision = c.precision ?? "fp32";
  // tokens counts generated + trained tokens; updates is AdamW's step counter.
  const { state, moments } = openRun<RlState>(
    { out: o.out, resume: o.resume, config: c, tok, ck },
    policy,
    () => policy.params.flat.set(ref.params.flat),
  );

  if (steps !== saved.steps) state.target = steps;
  const supervised = state.supervised ?? { measured: 0, rule6N: 0, paper: 0 };
  const stop = [tok.id(" </answer>"), tok.id("</answer>"), tok.eosId].filter(
    (x): x is number => x !== undefined && x >= 0,
  );
  const x: RlContext = { c, k, tok, policy, ref, moments, stop, file };
  const val = validationProblems(c, file);
  const valDir = openValidation(o.out, val, state.step);
  const save = checkpointer(o.out, policy, moments);
  const r = await runLoop<RlMetrics>({
    out: o.out,
    total: c.steps,
    from: state.step,
    evalEvery: c.evalEvery,
    ckptEvery: c.ckptEvery,
    minutes: o.minutes,
    done:
      c.computeBudget === undefined ? undefined : () => supervised.measured >= (c.computeBudget as number),
    step: () => {
      const t0 = performance.now();
      const f0 = flopsExecuted();
      const ro = rollout(x, state.step);
      const t1 = performance.now();
      const sc = score(x, ro);
      const ts = performance.now();
      const rollouts = advantages(x, ro, sc.rewards);
      const u = policyUpdate(x, rollouts, state);
      const t2 = performance.now();
      const flops = flopsExecuted() - f0;
      account(c, supervised, { flops, params: policy.size, work: stepWork(c, ro.stats, u), rollouts });
      state.step++;
      state.tokens += ro.stats.generatedTokens + u.trainTokens;
      const dt = (t2 - t0) / 1000;
      state.elapsedSeconds += dt;
      const { rewards } = sc;
      const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
      return {
        step: state.step,
        reward: mean,
        rewardStd: Math.sqrt(rewards.reduce((a, b) => a + (b - mean) ** 2, 0) / rewards.length),
        components: sc.components,
        zeroVarGroups: zeroVarianceFraction(rewards, c.rollouts),
        verified: sc.verified,
        answerCorrect: sc.answerCorrect,
        loss: u.loss,
        kl: u.kl,
        entropy: u.entropy,
        clipFraction: u.clipFraction,
        gradNorm: u.gradNorm,
        responseLength: ro.stats.generatedTokens / ro.completions.length,
        rolloutTokensPerSec: ro.stats.generatedTokens / Math.max(1e-9, (t1 - t0) / 1000),
        tokensPerSec: (ro.stats.generatedTokens + u.trainTokens) / dt,
        seconds: { rollout: (t1 - t0) / 1000, scoring: (ts - t1) / 1000, train: (t2 - ts) / 1000 },
        flops,
        supervisedTokens: { ...supervised },
        elapsed: state.elapsedSeconds,
      };
    },
    validate: (line) => {
      line.val = validate(c, policy, tok, val, stop, { dir: valDir, step: line.step });
    },
    save: () => save({ ...state, cursor: { index: state.step * c.promptsPerStep, offset: 0 }, supervised }),
    onStep: o.onStep,
  });
  return { config: c, steps: r.steps, stoppedEarly: r.stoppedEarly, last: r.last };
}
