/**
 * The run loop both trainers share (pre-/mid-training in ./trainer.ts, GRPO in ../rl/trainer.ts):
 * resolve-or-resume, the run folder, checkpoint and resume, the deadline, the save cadence, the
 * gradient-norm guard and clipping, and metrics.jsonl. A trainer brings its config, one step and
 * its validation; everything a run folder promises (exact resume, no lost or repeated metrics
 * line, atomic files) lives here once.
 */

import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Kernels } from "../engine/kernels.js";
import type { ModelConfig } from "../model/config.js";
import type { Model } from "../model/model.js";
import { WorldTokenizer } from "../model/tokenizer.js";
import { writeRunReport } from "../report/run-report.js";
import { writeFileAtomic } from "../util/atomic.js";
import { IntegrityError } from "../util/checksum.js";
import { readJsonlSync } from "../util/jsonl.js";
import { nextTurn } from "../util/turn.js";
import { resolveMixture } from "../world/mixture.js";
import {
  type ResumePoint,
  resumeCheckpoint,
  runFileTable,
  saveCheckpoint,
  type TrainState,
} from "./checkpoint.js";

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

/**
 * A new run's config (`fresh`), or a resumed run's (`resumed` gets the saved config.json); a new
 * run refuses a folder that holds one. Nothing is written here.
 */
export function resolveOrResume<C>(
  out: string,
  resume: boolean | undefined,
  fresh: () => C,
  resumed: (saved: C, path: string) => C,
): C {
  const path = join(out, "config.json");
  if (resume) {
    if (!existsSync(path)) throw new Error(`--resume: ${out} has no config.json (nothing to resume)`);
    return resumed(readRunConfig<C>(path), path);
  }
  if (existsSync(path))
    throw new Error(`${out} already holds a run; pass --resume to continue it, or choose another --out`);
  return fresh();
}

/** A flag given with --resume beside the value the run saved. */
export interface GivenFlag {
  flag: string;
  given: unknown;
  saved: unknown;
  /** Equality of the two (default: same JSON). */
  same?: (given: unknown, saved: unknown) => boolean;
  /** How the saved value reads in a message (default: as a string, or its JSON). */
  shown?: string;
}

/** Refuses option keys a trainer does not know (a typo would otherwise be ignored silently), naming them. */
export function checkOptionKeys(options: object | undefined, known: readonly string[], what: string): void {
  const unknown = Object.keys(options ?? {}).filter((k) => !known.includes(k));
  if (unknown.length)
    throw new Error(
      `unknown ${what} option${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")} (known: ${known.join(", ")})`,
    );
}

/** The CLI spelling of a config key (`seqLen` → `--seq-len`). */
export const flagOf = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Same JSON, or both paths naming one place, or a mixture name or file that resolves to a saved mixture. */
export const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
export const sameMixture = (a: unknown, b: unknown) => sameJson(resolveMixture(a as string), b);
export const samePath = (a: unknown, b: unknown) =>
  typeof a === "string" && typeof b === "string" && resolve(a) === resolve(b);

/**
 * Refuses a resume whose flags change the run: each given flag must equal the saved value, else
 * the error names the flag, both values and what a resume may change (`grows`).
 */
export function refuseChanges(path: string, flags: GivenFlag[], grows: string): void {
  for (const f of flags) {
    if (f.given === undefined) continue;
    if ((f.same ?? sameJson)(f.given, f.saved)) continue;
    const show = (x: unknown) => (typeof x === "string" ? x : JSON.stringify(x));
    throw new Error(
      `--resume: ${f.flag}${typeof f.given === "boolean" ? "" : ` ${show(f.given)}`} differs from the run's ${f.shown ?? show(f.saved)} (${path}); a resumed run keeps its config (only ${grows} may grow): drop ${f.flag}, or start a new run in another --out`,
    );
  }
}

/** A run length given with --resume: at least the saved one (equal is a no-op); a shorter one is refused. */
export function growTo(path: string, flag: string, given: number | undefined, saved: number): number {
  if (given === undefined || given === saved) return saved;
  if (!(given > saved))
    throw new Error(
      `--resume: ${flag} ${given} is less than the run's ${saved} (${path}); a resumed run can only be extended`,
    );
  return given;
}

/** The world tokenizer of a run, checked against its model's vocabulary. */
export function runTokenizer(digits: boolean, model: ModelConfig): WorldTokenizer {
  const tok = new WorldTokenizer({ digits });
  if (tok.vocabSize !== model.vocabSize)
    throw new Error(`tokenizer has ${tok.vocabSize} tokens, the model ${model.vocabSize}`);
  return tok;
}

/** Where a run's notices go by default. */
export const stderrLog = (msg: string) => console.error(msg);

/**
 * A checkpoint's training state; `target` is the run length a resume extended it to (tokens for
 * pre-/mid-training, steps for RL), kept here rather than in config.json, whose checksum every
 * checkpoint records. Absent: the config's.
 */
export type RunState = TrainState & { target?: number };

/** A run's optimizer moments beside its model. */
export interface Moments {
  m: Float32Array;
  v: Float32Array;
}

/** What {@link openRun} needs to know of a run. */
export interface RunFiles {
  out: string;
  resume?: boolean;
  config: unknown;
  tok: WorldTokenizer;
  /** The checkpoint a resume continues from (null: a new run, or a resumed one that never saved). */
  ck: ResumePoint | null;
}

/**
 * Sets up a run's folder, state and AdamW moments, after every input has been verified: on resume
 * from the checkpoint (params, moments and state restored, metrics.jsonl trimmed to its step);
 * else (a new run, or a resumed one that never saved) config.json and the tokenizer files are
 * written for a new run, metrics.jsonl is emptied and `init` sets the params.
 */
export function openRun<S extends TrainState>(
  r: RunFiles,
  model: Model,
  init: () => void,
): { state: S; moments: Moments } {
  mkdirSync(r.out, { recursive: true });
  if (r.resume) removePartialCheckpoints(r.out);
  const metrics = join(r.out, "metrics.jsonl");
  const moments = { m: model.kernels.alloc(model.size), v: model.kernels.alloc(model.size) };
  if (r.ck) {
    model.params.flat.set(r.ck.tensors.params);
    moments.m.set(r.ck.tensors.m);
    moments.v.set(r.ck.tensors.v);
    trimMetrics(metrics, r.ck.state.step);
    return { state: r.ck.state as S, moments };
  }
  if (!r.resume) {
    writeFileAtomic(join(r.out, "config.json"), `${JSON.stringify(r.config, null, 2)}\n`);
    writeFileAtomic(join(r.out, "tokenizer.json"), JSON.stringify(r.tok.toHuggingFace()));
    writeFileAtomic(
      join(r.out, "tokenizer_config.json"),
      `${JSON.stringify(r.tok.toHuggingFaceConfig(), null, 2)}\n`,
    );
  }
  trimMetrics(metrics, 0);
  init();
  const state = { step: 0, tokens: 0, cursor: { index: 0, offset: 0 }, elapsedSeconds: 0 } as S;
  return { state, moments };
}

/**
 * Removes the temporary folders of checkpoints a killed process left half written
 * (`checkpoints/.tmp-step-…`): never read, and a resume rewrites those steps. Damaged checkpoints
 * moved to `corrupt-…` are kept for inspection.
 */
function removePartialCheckpoints(out: string): void {
  const root = join(out, "checkpoints");
  if (!existsSync(root)) return;
  for (const d of readdirSync(root))
    if (d.startsWith(".tmp-")) rmSync(join(root, d), { recursive: true, force: true });
}

/** The newest intact checkpoint of a run being resumed (null for a new run, or one that never saved). */
export function resumePoint(
  out: string,
  resume: boolean | undefined,
  model: ModelConfig,
  log: (m: string) => void,
) {
  return resume ? resumeCheckpoint(out, model, log) : null;
}

/** The checkpoint writer of a run: the run files are hashed once, as verified or just written. */
export function checkpointer(out: string, model: Model, moments: Moments) {
  const runFiles = runFileTable(out);
  return <S extends TrainState>(state: S) =>
    saveCheckpoint(out, model.config, { params: model.params.flat, ...moments }, state, { runFiles });
}

/**
 * The gradient norm of the model's accumulated gradients, clipped to `max` in place; a norm that is
 * not finite stops the run (optimizer step `step`, 1-based) before it reaches the weights.
 */
export function clipGradients(model: Model, k: Kernels, max: number, step: number): number {
  const norm = model.gradNorm();
  if (!Number.isFinite(norm))
    throw new Error(`step ${step}: gradient norm is ${norm} (training diverged); lower --lr`);
  if (norm > max) k.scale(model.grads.flat, model.size, max / norm);
  return norm;
}

/** What the loop needs from a trainer. */
export interface LoopSpec<M extends { step: number }> {
  out: string;
  /** Steps the run trains for; `from` is the step it starts at (0, or the resumed checkpoint's). */
  total: number;
  from: number;
  evalEvery: number;
  ckptEvery: number;
  /** Stop, with a checkpoint, after this many minutes of this call. */
  minutes?: number;
  /** The run's own end before `total` (a compute budget reached): checked before and after each step; its last step is validated and saved as the final one. */
  done?: () => boolean;
  /** Runs the next step and returns its metrics line (step counted from 1). */
  step: () => M | Promise<M>;
  /** Adds validation figures to a line, at every `evalEvery`-th step, the last, and on time-out. */
  validate: (line: M) => void;
  /** Saves a checkpoint, at every `ckptEvery`-th step, the last, and on time-out. */
  save: () => void;
  onStep?: (line: M, total: number) => void;
}

/** How a loop ended; `last` is the newest metrics line (read back when a finished run is resumed). */
export interface LoopResult<M> {
  steps: number;
  last: M | null;
  stoppedEarly: boolean;
}

/** Runs steps to the total or the deadline: validation, metrics.jsonl (a line per step) and checkpoints on cadence. */
export async function runLoop<M extends { step: number }>(s: LoopSpec<M>): Promise<LoopResult<M>> {
  const metrics = join(s.out, "metrics.jsonl");
  const deadline =
    s.minutes !== undefined ? performance.now() + s.minutes * 60_000 : Number.POSITIVE_INFINITY;
  let step = s.from;
  let last: M | null = null;
  let stoppedEarly = false;
  while (step < s.total && !s.done?.()) {
    await nextTurn(); // let finalizers of dropped native buffers run (src/util/turn.ts)
    const line = await s.step();
    step = line.step;
    const end = step === s.total || (s.done?.() ?? false);
    const timeUp = performance.now() > deadline;
    if (step % s.evalEvery === 0 || end || timeUp) s.validate(line);
    appendFileSync(metrics, `${JSON.stringify(line)}\n`);
    last = line;
    s.onStep?.(line, s.total);
    if (step % s.ckptEvery === 0 || end || timeUp) {
      s.save();
      runReport(s.out);
    }
    if (timeUp && !end) {
      stoppedEarly = true;
      break;
    }
  }
  return { steps: step, last: last ?? lastMetrics<M>(metrics), stoppedEarly };
}

/** Rewrites the run's report.html (a page that fails to render is a warning, never a failed run). */
function runReport(out: string): void {
  try {
    writeRunReport(out);
  } catch (e) {
    console.error(`warning: ${out}/report.html not written: ${(e as Error).message}`);
  }
}

/** The metrics lines of a run that parse (a line cut by a kill does not). */
function metricsLines(path: string): { text: string; step: number }[] {
  if (!existsSync(path)) return [];
  return readJsonlSync(path, { bad: "skip" }).map((l) => ({
    text: l.text,
    step: (l.value as { step?: number } | null)?.step ?? Number.NaN,
  }));
}

/** The newest metrics line of a run, or null. */
export function lastMetrics<M>(path: string): M | null {
  const lines = existsSync(path) ? readJsonlSync(path, { bad: "skip" }) : [];
  return lines.length ? (lines[lines.length - 1].value as M) : null;
}

/**
 * Truncates metrics.jsonl (or any JSONL of lines with a `step`) to the steps a checkpoint has, so a
 * resumed run neither loses nor repeats lines.
 */
export function trimMetrics(path: string, upTo: number): void {
  if (!existsSync(path)) return;
  const keep = metricsLines(path)
    .filter((l) => l.step <= upTo)
    .map((l) => l.text);
  writeFileAtomic(path, keep.length ? `${keep.join("\n")}\n` : "");
}
