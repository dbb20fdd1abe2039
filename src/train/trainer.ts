/**
 * Pre-training and mid-training (training.md §2): a run folder with the resolved config, the
 * tokenizer, metrics.jsonl (one line per optimizer step, flushed per line), periodic validation
 * loss and atomic checkpoints; `resume` continues from the latest checkpoint and reproduces the
 * losses of an uninterrupted run.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type BackendChoice, loadKernels } from "../engine/backend.js";
import type { Kernels } from "../engine/kernels.js";
import { type ModelConfig, presetConfig } from "../model/config.js";
import { Model } from "../model/model.js";
import { WorldTokenizer } from "../model/tokenizer.js";
import { writeFileAtomic } from "../util/atomic.js";
import { IntegrityError } from "../util/checksum.js";
import { Rng } from "../util/rng.js";
import { nextTurn } from "../util/turn.js";
import { type Mixture, resolveMixture } from "../world/mixture.js";
import {
  latestCheckpoint,
  resumeCheckpoint,
  runFileTable,
  saveCheckpoint,
  type TrainState,
} from "./checkpoint.js";
import { documentStarts, type Packing, splitSeed, TokenStream } from "./data.js";
import { loadVerified } from "./load.js";
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
}

/** Options a user gives; the rest comes from stage defaults. */
export interface TrainOptions {
  stage: Stage;
  out: string;
  mixture: string;
  tokens: number;
  seed: number;
  preset?: string;
  from?: string;
  minutes?: number;
  resume?: boolean;
  backend?: BackendChoice;
  overrides?: Partial<Omit<TrainConfig, "stage" | "model" | "mixture" | "from">>;
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

/** Steps a config trains for. */
export const totalSteps = (c: TrainConfig) =>
  Math.max(1, Math.ceil(c.tokens / (c.batch * c.seqLen * c.accum)));

/** Parses a JSON file; errors name the file. */
export function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** Reads a run's own config.json for a resume: one that does not parse is damage (an IntegrityError). */
export function readRunConfig<T>(path: string): T {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new IntegrityError(path, `${path} is corrupt (invalid JSON: ${(e as Error).message})`);
  }
}

/** Resolves the run config (new run) or reads it (resume); errors never touch the folder. */
export function resolveConfig(o: TrainOptions): TrainConfig {
  const cfgPath = join(o.out, "config.json");
  if (o.resume) {
    if (!existsSync(cfgPath)) throw new Error(`--resume: ${o.out} has no config.json (nothing to resume)`);
    return readRunConfig<TrainConfig>(cfgPath);
  }
  if (existsSync(cfgPath))
    throw new Error(`${o.out} already holds a run; pass --resume to continue it, or choose another --out`);
  if (!Number.isFinite(o.tokens) || o.tokens <= 0)
    throw new Error(`--tokens must be positive, got ${o.tokens}`);
  const mixture = resolveMixture(o.mixture);
  const d = { ...STAGE_DEFAULTS[o.stage], ...(o.overrides ?? {}) };
  let model: ModelConfig;
  let preset: string;
  let from: TrainConfig["from"];
  if (o.stage === "midtrain") {
    if (!o.from) throw new Error("midtrain needs --from RUN_DIR");
    const src = readJson<TrainConfig>(join(o.from, "config.json"));
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
  if (d.seqLen > model.context)
    throw new Error(`--seq-len ${d.seqLen} exceeds the model context ${model.context}`);
  for (const k of ["batch", "seqLen", "accum", "evalEvery", "evalBatches", "ckptEvery"] as const) {
    if (!Number.isInteger(d[k]) || d[k] < 1) throw new Error(`${k} must be a positive integer, got ${d[k]}`);
  }
  if (!(d.lr > 0) || !(d.minLr >= 0) || d.minLr > d.lr)
    throw new Error(`learning rates must satisfy 0 <= minLr <= lr, lr > 0`);
  if (d.packing !== "stream" && d.packing !== "aligned" && d.packing !== "fit")
    throw new Error(`packing must be "stream", "aligned" or "fit", got ${JSON.stringify(d.packing)}`);
  if (!(d.warmup >= 0 && d.warmup < 1))
    throw new Error(`warmup must be a fraction in [0, 1), got ${d.warmup}`);
  if (typeof d.docMask !== "boolean")
    throw new Error(`docMask must be true or false, got ${JSON.stringify(d.docMask)}`);
  return { stage: o.stage, preset, model, mixture, seed: o.seed, tokens: o.tokens, from, ...d };
}

/** Truncates metrics.jsonl to the steps a checkpoint has, so a resumed run neither loses nor repeats lines. */
export function trimMetrics(path: string, upTo: number): void {
  if (!existsSync(path)) return;
  const keep = readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => {
      if (!l.trim()) return false;
      try {
        return (JSON.parse(l) as StepMetrics).step <= upTo;
      } catch {
        return false; // a line cut by a kill
      }
    });
  writeFileAtomic(path, keep.length ? `${keep.join("\n")}\n` : "");
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

/** Runs (or resumes) a training stage. */
export async function train(o: TrainOptions, kernels?: Kernels): Promise<TrainResult> {
  const cfg = resolveConfig(o);
  const k = kernels ?? (await loadKernels(o.backend));
  const tok = new WorldTokenizer({ digits: cfg.digits });
  if (tok.vocabSize !== cfg.model.vocabSize)
    throw new Error(`tokenizer has ${tok.vocabSize} tokens, the model ${cfg.model.vocabSize}`);
  const log = o.log ?? ((msg: string) => console.error(msg));
  // Everything read is verified before anything is written: the newest intact checkpoint of this
  // run (resume), or the checkpoint a mid-training run starts from (refused if it fails).
  const ck = o.resume ? resumeCheckpoint(o.out, cfg.model, log) : null;
  const fromParams =
    !ck && cfg.from ? loadVerified(cfg.from.checkpoint, cfg.model, { warn: log }).tensors.params : null;
  mkdirSync(o.out, { recursive: true });
  const metricsPath = join(o.out, "metrics.jsonl");
  const model = new Model(k, cfg.model);
  const n = model.size;
  const m = k.alloc(n);
  const v = k.alloc(n);
  let state: TrainState = { step: 0, tokens: 0, cursor: { index: 0, offset: 0 }, elapsedSeconds: 0 };
  if (ck) {
    model.params.flat.set(ck.tensors.params);
    m.set(ck.tensors.m);
    v.set(ck.tensors.v);
    state = ck.state;
    trimMetrics(metricsPath, state.step);
  } else {
    if (!o.resume) {
      writeFileAtomic(join(o.out, "config.json"), `${JSON.stringify(cfg, null, 2)}\n`);
      writeFileAtomic(join(o.out, "tokenizer.json"), JSON.stringify(tok.toHuggingFace()));
      writeFileAtomic(
        join(o.out, "tokenizer_config.json"),
        `${JSON.stringify(tok.toHuggingFaceConfig(), null, 2)}\n`,
      );
    }
    trimMetrics(metricsPath, 0);
    if (fromParams) model.params.flat.set(fromParams);
    else {
      const rng = new Rng(cfg.seed);
      model.init(() => rng.next());
    }
  }
  const steps = totalSteps(cfg);
  const B = cfg.batch;
  const T = cfg.seqLen;
  const packing = cfg.packing ?? "stream";
  const stream = new TokenStream(tok, cfg.mixture, splitSeed(cfg.seed, "train"), state.cursor, packing);
  const valStream = new TokenStream(tok, cfg.mixture, splitSeed(cfg.seed, "val"), undefined, packing);
  const starts = (x: Int32Array) =>
    cfg.docMask ? documentStarts(x, B, T, tok.eosId, new Int32Array(B * T)) : undefined;
  const valBatches = Array.from({ length: cfg.evalBatches }, () => {
    const b = { tokens: new Int32Array(B * T), targets: new Int32Array(B * T) };
    valStream.nextBatch(B, T, b.tokens, b.targets);
    return { ...b, start: starts(b.tokens) };
  });
  const tokens = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const schedule = { peak: cfg.lr, floor: cfg.minLr, warmup: cfg.warmup, steps };
  const started = performance.now();
  const deadline = o.minutes !== undefined ? started + o.minutes * 60_000 : Number.POSITIVE_INFINITY;
  let last: StepMetrics | null = null;
  let lastVal = Number.NaN;
  let stoppedEarly = false;
  // The run files as verified (resume) or just written: every checkpoint records these entries.
  const runFiles = runFileTable(o.out);
  const save = () =>
    saveCheckpoint(
      o.out,
      cfg.model,
      { params: model.params.flat, m, v },
      { ...state, cursor: { ...stream.cursor } },
      { runFiles },
    );
  while (state.step < steps) {
    await nextTurn(); // let finalizers of dropped native buffers run (src/util/turn.ts)
    const t0 = performance.now();
    model.zeroGrad();
    let loss = 0;
    for (let a = 0; a < cfg.accum; a++) {
      stream.nextBatch(B, T, tokens, targets);
      loss += model.forward(tokens, B, T, targets, starts(tokens)).loss / cfg.accum;
      model.backward(1 / cfg.accum);
    }
    const gradNorm = model.gradNorm();
    if (!Number.isFinite(gradNorm))
      throw new Error(`step ${state.step + 1}: gradient norm is ${gradNorm} (training diverged); lower --lr`);
    if (gradNorm > cfg.clip) k.scale(model.grads.flat, n, cfg.clip / gradNorm);
    const lr = lrAt(state.step, schedule);
    adamwStep(model, m, v, { ...cfg, lr }, state.step + 1);
    state.step++;
    state.tokens += B * T * cfg.accum;
    const dt = (performance.now() - t0) / 1000;
    state.elapsedSeconds += dt;
    const line: StepMetrics = {
      step: state.step,
      loss,
      lr,
      gradNorm,
      tokens: state.tokens,
      tokensPerSec: (B * T * cfg.accum) / dt,
      elapsed: state.elapsedSeconds,
    };
    const timeUp = performance.now() > deadline;
    if (state.step % cfg.evalEvery === 0 || state.step === steps || timeUp) {
      lastVal = validate(model, valBatches, B, T);
      line.valLoss = lastVal;
    }
    appendFileSync(metricsPath, `${JSON.stringify(line)}\n`);
    last = line;
    o.onStep?.(line, steps);
    if (state.step % cfg.ckptEvery === 0 || state.step === steps || timeUp) save();
    if (timeUp && state.step < steps) {
      stoppedEarly = true;
      break;
    }
  }
  if (!last) {
    // Nothing left to do (resumed a finished run): report the saved figures.
    const lines = readFileSync(metricsPath, "utf8").trim().split("\n").filter(Boolean);
    last = lines.length ? JSON.parse(lines[lines.length - 1]) : null;
  }
  return {
    config: cfg,
    steps: state.step,
    finalLoss: last?.loss ?? Number.NaN,
    finalValLoss: lastVal,
    stoppedEarly,
  };
}
