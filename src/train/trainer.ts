/**
 * Pre-training and mid-training (training.md §2): a run folder with the resolved config, the
 * tokenizer, metrics.jsonl (one line per optimizer step, flushed per line), periodic validation
 * loss and atomic checkpoints; `resume` continues from the latest checkpoint and reproduces the
 * losses of an uninterrupted run.
 */
import { join } from "node:path";
import { type BackendChoice, loadKernels } from "../engine/backend.js";
import { bf16IsFast, type Kernels } from "../engine/kernels.js";
import { type ModelConfig, presetConfig } from "../model/config.js";
import { Model, PRECISIONS, type Precision } from "../model/model.js";
import { WorldTokenizer } from "../model/tokenizer.js";
import { readJsonFile } from "../util/jsonl.js";
import { Rng } from "../util/rng.js";
import { type Mixture, resolveMixture } from "../world/mixture.js";
import { latestCheckpoint } from "./checkpoint.js";
import {
  documentStarts,
  LOSS_TARGETS,
  type LossTargets,
  PACKINGS,
  type Packing,
  splitSeed,
  TokenStream,
} from "./data.js";
import { loadVerified } from "./load.js";
import {
  checkOptionKeys,
  checkpointer,
  clipGradients,
  flagOf,
  type GivenFlag,
  growTo,
  openRun,
  type RunState,
  refuseChanges,
  resolveOrResume,
  resumePoint,
  runLoop,
  runTokenizer,
  sameMixture,
  samePath,
  stderrLog,
} from "./loop.js";
import { adamwStep } from "./optimizer.js";
import { lrAt } from "./schedule.js";

/** A training stage. */
export type Stage = "pretrain" | "midtrain";

/** Everything that defines a run; saved resolved as RUN/config.json. */
export interface TrainConfig {
  stage: Stage;
  preset: string;
  model: ModelConfig;
  digits: boolean;
  mixture: Mixture;
  seed: number;
  /** Supervised tokens to train on (the schedule spans them). */
  tokens: number;
  batch: number;
  seqLen: number;
  /** How problems fill rows (older runs without the field used "stream"). */
  packing: Packing;
  /**
   * Document-masked attention: a packed problem attends only to itself, as when it is evaluated
   * alone (older runs without the field trained without it).
   */
  docMask?: boolean;
  accum: number;
  /** Matrix products of forward and backward (absent: fp32, as every run before the key existed). */
  precision?: Precision;
  /** Targets of the loss (absent: all tokens, as every run before the key existed). */
  lossOn?: LossTargets;
  lr: number;
  minLr: number;
  /** Warmup as a fraction of the steps. */
  warmup: number;
  weightDecay: number;
  clip: number;
  beta1: number;
  beta2: number;
  eps: number;
  evalEvery: number;
  evalBatches: number;
  ckptEvery: number;
  /** Mid-training: the run (and its checkpoint) it starts from. */
  from?: { run: string; checkpoint: string };
  /**
   * A time-budgeted run (`--minutes` without `--tokens`): `tokens` was sized from the throughput
   * measured on this machine before the first step, so the schedule reaches its floor in `minutes`.
   */
  budget?: { minutes: number; tokensPerSec: number };
}

/**
 * Options a user gives; the rest comes from stage defaults. A new run needs `mixture` and
 * `tokens` (and `from` for mid-training); a resumed one takes them from its config.json, and every
 * option given with `resume` must agree with it, except `tokens`, which may grow (see
 * {@link resolveConfig}).
 */
export interface TrainOptions {
  stage: Stage;
  out: string;
  mixture?: string;
  tokens?: number;
  /** Default 1. */
  seed?: number;
  /** Default "tiny" (pre-training). */
  preset?: string;
  from?: string;
  minutes?: number;
  /** Whether `minutes` also stops the run when it runs out (default true); false: it only sizes the schedule, which then runs to its end. */
  minutesStop?: boolean;
  resume?: boolean;
  backend?: BackendChoice;
  /** Training settings; the run's identity (stage, model, mixture, source, tokens, seed, preset) comes from the fields above. */
  overrides?: Partial<
    Omit<TrainConfig, "stage" | "model" | "mixture" | "from" | "tokens" | "seed" | "preset">
  >;
  /** Called after every step with its metrics line. */
  onStep?: (m: StepMetrics, total: number) => void;
  /** Where checkpoint notices go (a fallback past a corrupt checkpoint, unverified old ones); default stderr. */
  log?: (msg: string) => void;
}

/** One line of metrics.jsonl. */
export interface StepMetrics {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  tokensPerSec: number;
  elapsed: number;
  valLoss?: number;
}

/** Pre-training defaults for CPU-scale runs (the paper's values are for 512k-token batches). */
const PRETRAIN_DEFAULTS = {
  digits: false,
  batch: 16,
  seqLen: 256,
  packing: "aligned" as Packing,
  docMask: true,
  accum: 1,
  lr: 2e-3,
  minLr: 1e-4,
  warmup: 0.05,
  weightDecay: 0.1,
  clip: 1.0,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  evalEvery: 50,
  evalBatches: 4,
  ckptEvery: 100,
};

/** Defaults per stage, for CPU-scale runs (the paper's values are for 512k-token batches). */
export const STAGE_DEFAULTS: Record<Stage, typeof PRETRAIN_DEFAULTS> = {
  pretrain: PRETRAIN_DEFAULTS,
  midtrain: { ...PRETRAIN_DEFAULTS, lr: 1e-3, warmup: 0.15 },
};

/** The keys a training stage's `overrides` may set (the stage defaults' keys). */
export const TRAIN_OPTION_KEYS: readonly string[] = [
  ...Object.keys(PRETRAIN_DEFAULTS),
  "precision",
  "lossOn",
];

/** Steps a config trains for. */
export const totalSteps = (c: TrainConfig) =>
  Math.max(1, Math.ceil(c.tokens / (c.batch * c.seqLen * c.accum)));

/**
 * The config of a new run (validated), or a resumed run's config.json as read: {@link train}
 * checks it once its checkpoint has verified the file ({@link resumedConfig}). Errors never touch
 * the folder.
 */
export function resolveConfig(o: TrainOptions, precision: Precision = "fp32"): TrainConfig {
  return resolveOrResume<TrainConfig>(
    o.out,
    o.resume,
    () => checkConfig(freshConfig(o, precision)),
    (saved, path) => {
      if (saved?.stage !== o.stage)
        throw new Error(
          `--resume: ${path} is a ${JSON.stringify(saved?.stage)} run, not ${o.stage}; resume it with its own command`,
        );
      return saved;
    },
  );
}

/**
 * A resumed run's config: config.json validated again, every option given beside `resume` checked
 * against it (a different value is refused, naming the flag and both values), and `tokens`, which
 * may grow past the run's length so far (`target`, when an earlier resume extended it).
 */
export function resumedConfig(o: TrainOptions, saved: TrainConfig, target?: number): TrainConfig {
  const path = join(o.out, "config.json");
  const c = checkConfig(saved);
  const given: GivenFlag[] = [
    { flag: "--preset", given: o.preset, saved: c.preset },
    { flag: "--seed", given: o.seed, saved: c.seed },
    { flag: "--from", given: o.from, saved: c.from?.run, same: samePath },
    { flag: "--mixture", given: o.mixture, saved: c.mixture, same: sameMixture, shown: c.mixture.name },
  ];
  for (const [key, value] of Object.entries(o.overrides ?? {}))
    given.push({
      flag: key === "docMask" && value === false ? "--no-doc-mask" : flagOf(key),
      given: value,
      saved:
        key in OLD_RUN_VALUES
          ? (c[key as keyof TrainConfig] ?? OLD_RUN_VALUES[key])
          : c[key as keyof TrainConfig],
      shown: key === "docMask" ? `docMask ${c.docMask ?? false}` : undefined,
    });
  refuseChanges(path, given, "--tokens");
  return { ...c, tokens: growTo(path, "--tokens", o.tokens, target ?? c.tokens) };
}

/** What a config without the key ran with (older runs). */
const OLD_RUN_VALUES: Record<string, unknown> = {
  packing: "stream",
  docMask: false,
  precision: "fp32",
  lossOn: "all",
};

/** A new run's config from the options and the stage's defaults (`precision` when none is given). */
function freshConfig(o: TrainOptions, precision: Precision): TrainConfig {
  if (o.mixture === undefined) throw new Error(`a new ${o.stage} run needs --mixture`);
  if (o.tokens === undefined && o.minutes === undefined)
    throw new Error(
      `a new ${o.stage} run needs --tokens, or --minutes to size its schedule to a time budget`,
    );
  if (o.tokens !== undefined && (!Number.isFinite(o.tokens) || o.tokens <= 0))
    throw new Error(`--tokens must be positive, got ${o.tokens}`);
  if (o.tokens === undefined && !((o.minutes as number) > 0))
    throw new Error(`--minutes must be positive to size a run, got ${o.minutes}`);
  checkOptionKeys(o.overrides, TRAIN_OPTION_KEYS, "training");
  const mixture = resolveMixture(o.mixture);
  const d = { ...STAGE_DEFAULTS[o.stage], ...(o.overrides ?? {}) };
  let model: ModelConfig;
  let preset: string;
  let from: TrainConfig["from"];
  if (o.stage === "midtrain") {
    if (!o.from) throw new Error("midtrain needs --from RUN_DIR");
    const src = readJsonFile<TrainConfig>(join(o.from, "config.json"));
    const ck = latestCheckpoint(o.from);
    if (!ck) throw new Error(`--from ${o.from}: the run has no checkpoint`);
    model = src.model;
    preset = src.preset;
    d.digits = src.digits;
    from = { run: o.from, checkpoint: ck };
  } else {
    preset = o.preset ?? "tiny";
    model = presetConfig(preset, new WorldTokenizer({ digits: d.digits }).vocabSize);
  }
  // fp32 is recorded as an absent key, so that a run's identity (and a study's stage hash) is the
  // same whether fp32 was asked for or not.
  d.precision ??= precision;
  if (d.precision === "fp32") delete d.precision;
  if (d.lossOn === "all") delete d.lossOn;
  // Without --tokens, `train` sizes the run from a throughput probe; 1 token stands in until then.
  const budget = o.tokens === undefined ? { minutes: o.minutes as number, tokensPerSec: 0 } : undefined;
  return {
    stage: o.stage,
    preset,
    model,
    mixture,
    seed: o.seed ?? 1,
    tokens: o.tokens ?? 1,
    from,
    ...d,
    ...(budget ? { budget } : {}),
  };
}

/** Checks a config, new or read back from a run folder; returns it. */
export function checkConfig(c: TrainConfig): TrainConfig {
  if (!c.model || typeof c.model.context !== "number") throw new Error("the config has no model");
  if (!Number.isFinite(c.tokens) || c.tokens <= 0)
    throw new Error(`tokens must be positive, got ${c.tokens}`);
  if (!Number.isInteger(c.seed) || c.seed < 0)
    throw new Error(`seed must be a natural number, got ${c.seed}`);
  if (c.seqLen > c.model.context)
    throw new Error(`--seq-len ${c.seqLen} exceeds the model context ${c.model.context}`);
  for (const k of ["batch", "seqLen", "accum", "evalEvery", "evalBatches", "ckptEvery"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`${k} must be a positive integer, got ${c[k]}`);
  }
  if (!(c.lr > 0) || !(c.minLr >= 0) || c.minLr > c.lr)
    throw new Error(`learning rates must satisfy 0 <= minLr <= lr, lr > 0`);
  if (c.packing !== undefined && !PACKINGS.includes(c.packing))
    throw new Error(`packing must be one of ${PACKINGS.join(", ")}, got ${JSON.stringify(c.packing)}`);
  if (!(c.warmup >= 0 && c.warmup < 1))
    throw new Error(`warmup must be a fraction in [0, 1), got ${c.warmup}`);
  if (c.precision !== undefined && !PRECISIONS.includes(c.precision))
    throw new Error(`precision must be one of ${PRECISIONS.join(", ")}, got ${JSON.stringify(c.precision)}`);
  if (c.lossOn !== undefined && !LOSS_TARGETS.includes(c.lossOn))
    throw new Error(`lossOn must be one of ${LOSS_TARGETS.join(", ")}, got ${JSON.stringify(c.lossOn)}`);
  if (c.lossOn === "solution" && (c.packing ?? "stream") === "stream")
    throw new Error("a solution-only loss (--loss-on solution) needs --packing aligned or fit");
  if (c.docMask !== undefined && typeof c.docMask !== "boolean")
    throw new Error(`docMask must be true or false, got ${JSON.stringify(c.docMask)}`);
  if (c.budget !== undefined && !(c.budget.minutes > 0 && c.budget.tokensPerSec >= 0))
    throw new Error(`budget must hold minutes > 0 and tokensPerSec >= 0, got ${JSON.stringify(c.budget)}`);
  for (const k of ["weightDecay", "clip", "beta1", "beta2", "eps"] as const)
    if (!(typeof c[k] === "number" && c[k] >= 0)) throw new Error(`${k} must be a number >= 0, got ${c[k]}`);
  return c;
}

/** Result of a run. */
export interface TrainResult {
  config: TrainConfig;
  steps: number;
  finalLoss: number;
  finalValLoss: number;
  stoppedEarly: boolean;
}

/** Validation loss over fixed held-out batches. */
function validate(
  model: Model,
  batches: { tokens: Int32Array; targets: Int32Array; start?: Int32Array }[],
  B: number,
  T: number,
): number {
  let s = 0;
  for (const b of batches) s += model.forward(b.tokens, B, T, b.targets, b.start).loss;
  return s / batches.length;
}

/** The buffers of one micro-batch (and its document starts when the run masks documents). */
function stepBatch(c: TrainConfig, eosId: number) {
  const n = c.batch * c.seqLen;
  return {
    tokens: new Int32Array(n),
    targets: new Int32Array(n),
    start: c.docMask ? new Int32Array(n) : undefined,
    eosId,
  };
}

/**
 * One optimizer step: `accum` micro-batches from `stream` (forward, backward), gradient clipping,
 * AdamW at `lr` as update `t`; returns the mean loss and the gradient norm before clipping.
 */
function optimizerStep(
  model: Model,
  k: Kernels,
  c: TrainConfig,
  stream: TokenStream,
  x: ReturnType<typeof stepBatch>,
  moments: { m: Float32Array; v: Float32Array },
  lr: number,
  t: number,
): { loss: number; gradNorm: number } {
  const [B, T] = [c.batch, c.seqLen];
  model.zeroGrad();
  let loss = 0;
  for (let a = 0; a < c.accum; a++) {
    stream.nextBatch(B, T, x.tokens, x.targets);
    const start = x.start ? documentStarts(x.tokens, B, T, x.eosId, x.start) : undefined;
    loss += model.forward(x.tokens, B, T, x.targets, start).loss / c.accum;
    model.backward(1 / c.accum);
  }
  const gradNorm = clipGradients(model, k, c.clip, t);
  adamwStep(model, moments.m, moments.v, { ...c, lr }, t);
  return { loss, gradNorm };
}

/** Steps the throughput probe times (after as many warm-up steps). */
const PROBE_STEPS = 4;
/** Share of a budget the schedule is sized to: validation, checkpoints and noise take the rest. */
const BUDGET_SHARE = 0.93;

/**
 * A time-budgeted config: trains a scratch copy of the model for a few steps on validation-stream
 * batches (the training stream and the run's model are untouched) to measure tokens/s on this
 * machine, and sizes `tokens` so that the schedule ends on its floor within `budget.minutes`.
 */
function sizeToBudget(c: TrainConfig, k: Kernels, log: (msg: string) => void): TrainConfig {
  const t0 = performance.now();
  const tok = runTokenizer(c.digits, c.model);
  const model = new Model(k, c.model);
  model.precision = c.precision ?? "fp32";
  const rng = new Rng(c.seed);
  model.init(() => rng.next());
  const m = k.alloc(model.size);
  const v = k.alloc(model.size);
  const stream = new TokenStream(
    tok,
    c.mixture,
    splitSeed(c.seed, "val"),
    undefined,
    c.packing ?? "stream",
    c.lossOn ?? "all",
  );
  const times: number[] = [];
  const batch = stepBatch(c, tok.eosId);
  for (let s = 0; s < 2 * PROBE_STEPS; s++) {
    const s0 = performance.now();
    optimizerStep(model, k, c, stream, batch, { m, v }, c.lr, s + 1);
    if (s >= PROBE_STEPS) times.push((performance.now() - s0) / 1000);
  }
  times.sort((a, b) => a - b);
  const perStep = c.batch * c.seqLen * c.accum;
  const tokensPerSec = perStep / times[Math.floor(times.length / 2)];
  const left = c.budget!.minutes * 60 - (performance.now() - t0) / 1000;
  const steps = Math.floor((tokensPerSec * left * BUDGET_SHARE) / perStep);
  if (steps < 1)
    throw new Error(
      `--minutes ${c.budget!.minutes}: too short for one step at the measured ${Math.round(tokensPerSec)} tokens/s`,
    );
  log(
    `--minutes ${c.budget!.minutes} without --tokens: measured ${Math.round(tokensPerSec)} tokens/s, so the schedule spans ${steps} steps (${steps * perStep} tokens)`,
  );
  return {
    ...c,
    tokens: steps * perStep,
    budget: { minutes: c.budget!.minutes, tokensPerSec: Math.round(tokensPerSec) },
  };
}

/** Runs (or resumes) a training stage. */
export async function train(o: TrainOptions, kernels?: Kernels): Promise<TrainResult> {
  const k = kernels ?? (await loadKernels(o.backend));
  const started = performance.now();
  // A new run's products default to bf16 where the backend runs them at hardware speed.
  let saved = resolveConfig(o, bf16IsFast(k) ? "bf16" : "fp32");
  const log = o.log ?? stderrLog;
  if (!o.resume && saved.budget) saved = sizeToBudget(saved, k, log);
  // Everything read is verified before anything is written: the newest intact checkpoint of this
  // run (resume), or the checkpoint a mid-training run starts from (refused if it fails).
  const ck = resumePoint(o.out, o.resume, saved.model, log);
  const fromParams =
    !ck && saved.from ? loadVerified(saved.from.checkpoint, saved.model, { warn: log }).tensors.params : null;
  // A length given with --resume may extend the run: recorded in the checkpoints' state (`target`),
  // since every checkpoint records config.json's checksum.
  const target = (ck?.state as RunState | undefined)?.target;
  const cfg = o.resume ? resumedConfig(o, saved, target) : saved;
  const tokens = cfg.tokens;
  if (tokens !== (target ?? saved.tokens))
    log(
      `--resume: --tokens ${tokens} extends the run from ${target ?? saved.tokens}; the LR schedule keeps its span (${saved.tokens} tokens) and the steps past it run at the floor LR ${saved.minLr}`,
    );
  const tok = runTokenizer(cfg.digits, cfg.model);
  const model = new Model(k, cfg.model);
  model.precision = cfg.precision ?? "fp32";
  const { state, moments } = openRun<RunState>(
    { out: o.out, resume: o.resume, config: cfg, tok, ck },
    model,
    () => {
      if (fromParams) model.params.flat.set(fromParams);
      else {
        const rng = new Rng(cfg.seed);
        model.init(() => rng.next());
      }
    },
  );
  if (tokens !== saved.tokens) state.target = tokens;
  const B = cfg.batch;
  const T = cfg.seqLen;
  const packing = cfg.packing ?? "stream";
  const lossOn = cfg.lossOn ?? "all";
  const stream = new TokenStream(
    tok,
    cfg.mixture,
    splitSeed(cfg.seed, "train"),
    state.cursor,
    packing,
    lossOn,
  );
  const valStream = new TokenStream(tok, cfg.mixture, splitSeed(cfg.seed, "val"), undefined, packing, lossOn);
  const starts = (x: Int32Array) =>
    cfg.docMask ? documentStarts(x, B, T, tok.eosId, new Int32Array(B * T)) : undefined;
  const valBatches = Array.from({ length: cfg.evalBatches }, () => {
    const b = { tokens: new Int32Array(B * T), targets: new Int32Array(B * T) };
    valStream.nextBatch(B, T, b.tokens, b.targets);
    return { ...b, start: starts(b.tokens) };
  });
  const batch = stepBatch(cfg, tok.eosId);
  // The cosine spans the config's tokens; an extension's steps past it run at the floor.
  const schedule = { peak: cfg.lr, floor: cfg.minLr, warmup: cfg.warmup, steps: totalSteps(saved) };
  const save = checkpointer(o.out, model, moments);
  const r = await runLoop<StepMetrics>({
    out: o.out,
    total: totalSteps(cfg),
    from: state.step,
    evalEvery: cfg.evalEvery,
    ckptEvery: cfg.ckptEvery,
    // A budgeted run's minutes include its throughput probe.
    minutes:
      o.minutes === undefined || o.minutesStop === false
        ? undefined
        : o.minutes - (performance.now() - started) / 60_000,
    step: () => {
      const t0 = performance.now();
      const lr = lrAt(state.step, schedule);
      const { loss, gradNorm } = optimizerStep(model, k, cfg, stream, batch, moments, lr, state.step + 1);
      state.step++;
      state.tokens += B * T * cfg.accum;
      const dt = (performance.now() - t0) / 1000;
      state.elapsedSeconds += dt;
      return {
        step: state.step,
        loss,
        lr,
        gradNorm,
        tokens: state.tokens,
        tokensPerSec: (B * T * cfg.accum) / dt,
        elapsed: state.elapsedSeconds,
      };
    },
    validate: (line) => {
      line.valLoss = validate(model, valBatches, B, T);
    },
    save: () => save({ ...state, cursor: { ...stream.cursor } }),
    onStep: o.onStep,
  });
  return {
    config: cfg,
    steps: r.steps,
    finalLoss: r.last?.loss ?? Number.NaN,
    finalValLoss: r.last?.valLoss ?? Number.NaN,
    stoppedEarly: r.stoppedEarly,
  };
}
