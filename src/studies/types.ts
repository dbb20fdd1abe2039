/**
 * The types of a declarative study (training.md §4): its stages, what each stage passes to its
 * trainer or evaluator, and what a finished stage records. A module of its own so that the runner
 * (study.ts) and the report (report.ts) both read them without importing each other.
 */
import type { EdgeReport } from "../eval/edge-run.js";
import type { RlMetrics, RlOptions } from "../rl/config.js";
import type { Band } from "../stats/summary.js";
import type { TrainOptions } from "../train/trainer.js";
import type { FileTable } from "../util/checksum.js";
import type { MixtureSpec } from "../world/mixture.js";
import type { Mode } from "../world/types.js";

/** A mixture by preset name, or inline (written to the stage folder as a file). */
export type MixtureRef = string | MixtureSpec;

/** RL prompts: a mixture, or `{ edge: stageId, fallback }` (the ops of the band an edge stage measured). */
export type RlPrompts = MixtureRef | { edge: string; fallback: string };

/** Trainer options of a pretrain or midtrain stage: the trainer's `overrides` (tokens, seed and preset are the stage's own fields). */
export type StageTrainOptions = NonNullable<TrainOptions["overrides"]>;

/** RL options of an rl stage: the RL trainer's `overrides` (steps and seed are the stage's own fields). */
export type StageRlOptions = NonNullable<RlOptions["overrides"]>;

/** A problem grid with sampling settings. */
export interface EvalGrid {
  ops: number[];
  perOp: number;
  samples: number;
  temperature?: number;
  maxNew: number;
  contexts?: string[];
  modes?: Mode[];
}

/** A pre-training stage: a preset trained from scratch on a mixture. */
export interface PretrainStage {
  id: string;
  kind: "pretrain";
  preset: string;
  mixture: MixtureRef;
  /** Tokens of the schedule; give this or `minutes`. */
  tokens?: number;
  /** A wall-clock budget instead of `tokens`: the schedule is sized from the throughput measured on the machine that runs it. */
  minutes?: number;
  train?: StageTrainOptions;
}

/** A mid-training stage: the model of `from` trained further on a mixture. */
export interface MidtrainStage {
  id: string;
  kind: "midtrain";
  from: string;
  mixture: MixtureRef;
  /** Tokens of the schedule; give this or `minutes`. */
  tokens?: number;
  /** A wall-clock budget instead of `tokens` (see {@link PretrainStage.minutes}). */
  minutes?: number;
  train?: StageTrainOptions;
}

/** An RL stage: GRPO from the model of `from` for `steps` steps. */
export interface RlStage {
  id: string;
  kind: "rl";
  from: string;
  prompts: RlPrompts;
  steps: number;
  rl?: StageRlOptions;
  /** Seed of the RL run (default: the study's); further seeds of an arm are copies of it with their own. */
  seed?: number;
}

/** An evaluation of the model of `from` on a grid. */
export interface EvalStage {
  id: string;
  kind: "eval";
  from: string;
  grid: EvalGrid;
}

/** An edge-of-competence measurement of the model of `from` (optionally selecting RL prompts). */
export interface EdgeStage {
  id: string;
  kind: "edge";
  from: string;
  grid: EvalGrid;
  selectPerOp?: number;
}

/** One stage of a study. */
export type StageSpec = PretrainStage | MidtrainStage | RlStage | EvalStage | EdgeStage;

/** The kind of a stage. */
export type StageKind = StageSpec["kind"];

/** A claim of the paper on a comparison: how after − before should move on a band, fixed before the runs. */
export interface Claim {
  /** Band name of the study's bands ("OOD-edge"). */
  band: string;
  /** pass@1, or pass@k at the largest k of the evaluations. */
  metric: "pass1" | "passK";
  expect: "up" | "flat" | "down";
  /** The paper's words for it. */
  text: string;
}

/** A before/after pair the report compares. */
export interface Comparison {
  label: string;
  before: string;
  after: string;
  /** The paper's claims on this pair; the report judges each from the difference's CI. */
  claims?: Claim[];
  /**
   * Evaluations of the same arms run with further RL seeds, on the same problems: `after`'s (and
   * `before`'s, when it is an RL arm too) in seed order. The report pools them over seeds.
   */
  seeds?: { before: string[]; after: string[] };
}

/** A study: stages, comparisons, and what the paper found. */
export interface Study {
  name: string;
  scale: string;
  description: string;
  finding: string;
  seed: number;
  /** Op bands of the summaries (default: the paper's). */
  bands?: Band[];
  stages: StageSpec[];
  compare: Comparison[];
}

/** What a pretrain or midtrain stage records: steps and final training and validation loss. */
export interface TrainStageResult {
  steps: number;
  finalLoss: number;
  finalValLoss: number;
  /** Tokens the schedule spanned (a `minutes` stage: as sized on the machine that ran it; absent in records older than the field). */
  tokens?: number;
  /** A `minutes` stage: the budget and the throughput its schedule was sized from. */
  budget?: { minutes: number; tokensPerSec: number };
}

/** What an rl stage records: the prompts it trained on, its steps, and the last step's metrics. */
export interface RlStageResult {
  prompts: string;
  steps: number;
  last: RlMetrics | null;
}

/** What an edge stage records: the measured band, the per-op rows, and the selected prompts (or null). */
export interface EdgeStageResult {
  band: EdgeReport["band"];
  perOp: EdgeReport["perOp"];
  selected: NonNullable<EdgeReport["selected"]> | null;
}

/** What an eval stage records: pass@1 and pass@k (the largest k) per band. */
export interface EvalStageResult {
  bands: Record<string, { pass1: number; passK: number }>;
}

/** The result of each kind of stage. */
export interface StageResults {
  pretrain: TrainStageResult;
  midtrain: TrainStageResult;
  rl: RlStageResult;
  edge: EdgeStageResult;
  eval: EvalStageResult;
}

/** What a finished stage of kind `K` records (stage.json; a type literal, so it is a JSON record). */
export type StageRecordOf<K extends StageKind> = {
  id: string;
  kind: K;
  hash: string;
  dir: string;
  seconds: number;
  result: StageResults[K];
  /**
   * Size and SHA-256 of the stage's files at completion, by path in the stage folder (all but
   * stage.json and checkpoints other than the latest); absent in records written before checksums.
   */
  files?: FileTable;
};

/** What a finished stage records (stage.json), by kind. */
export type StageRecord = { [K in StageKind]: StageRecordOf<K> }[StageKind];
