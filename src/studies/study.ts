/**
 * Declarative studies (training.md §4): a study is a list of stages — pretrain, midtrain, rl, edge,
 * eval — each naming the stage whose model it starts from. A stage's folder is named by the hash of
 * its config and of everything upstream, in a cache shared between studies: a finished stage (one
 * with stage.json) is never redone, an unfinished one resumes from its checkpoint or its last
 * sample. stage.json records the size and SHA-256 of the stage's files (and seals itself): a cached
 * stage is reused only if they verify, and one that fails is redone from the start, with the reason
 * logged. The study ends with a report setting before/after evaluations beside the paper's finding.
 */

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { basename, join, relative, resolve, sep } from "node:path";
import { type BackendChoice, loadKernels } from "../engine/backend.js";
import { bf16IsFast, type Kernels } from "../engine/kernels.js";
import { measureEdge } from "../eval/edge-run.js";
import { explorerUnavailable, writeCompareExplorer, writeEvalPages } from "../eval/explore.js";
import { gridProblems, runEvaluation } from "../eval/runner.js";
import { PRESETS, type PresetName, presetConfig } from "../model/config.js";
import { forwardFlops, trainFlops } from "../model/flops.js";
import { Model } from "../model/model.js";
import { paramCount } from "../model/params.js";
import { WorldTokenizer } from "../model/tokenizer.js";
import { paperRlTokens, rlSequenceLength } from "../rl/compute.js";
import {
  RL_BASE_DEFAULTS,
  RL_DEFAULTS,
  RL_OPTION_KEYS,
  type RlConfig,
  resolveRlOptions,
} from "../rl/config.js";
import { trainRl } from "../rl/trainer.js";
import { buildEvalSummary } from "../stats/evaluation.js";
import { PAPER_BANDS } from "../stats/summary.js";
import { latestCheckpoint } from "../train/checkpoint.js";
import { loadAnyModel } from "../train/load.js";
import { checkOptionKeys } from "../train/loop.js";
import { STAGE_DEFAULTS, TRAIN_OPTION_KEYS, train } from "../train/trainer.js";
import { writeFileAtomic } from "../util/atomic.js";
import {
  checkTable,
  type FileTable,
  hashFile,
  IntegrityError,
  openSealed,
  sealJson,
  verifyFile,
} from "../util/checksum.js";
import { describeName } from "../util/lookup.js";
import { nextTurn } from "../util/turn.js";
import { DEFAULT_VERIFY_OPTIONS, VERIFIER_VERSION } from "../verify/compare.js";
import { WORLD_VERSION } from "../world/graph.js";
import { compareTracesFile, studyReport } from "./report.js";
import type {
  EdgeStage,
  EdgeStageResult,
  EvalStage,
  EvalStageResult,
  MidtrainStage,
  MixtureRef,
  PretrainStage,
  RlStage,
  RlStageResult,
  StageKind,
  StageRecord,
  StageRecordOf,
  StageSpec,
  Study,
  TrainStageResult,
} from "./types.js";

/** The kinds of stage a study may hold. */
export const STAGE_KINDS: readonly StageKind[] = ["pretrain", "midtrain", "rl", "eval", "edge"];

/** A stage's kind and result: what {@link runStage} hands back for the stage's record. */
type StageOutcome = { [K in StageKind]: Pick<StageRecordOf<K>, "kind" | "result"> }[StageKind];

/** The files a finished stage is reused by: all but stage.json, temporary files and older checkpoints. */
export function stageFiles(dir: string): FileTable {
  const out: FileTable = {};
  const latestPath = join(dir, "checkpoints", "latest");
  const latest = existsSync(latestPath) ? readFileSync(latestPath, "utf8").trim() : null;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      const rel = relative(dir, p).split(sep).join("/");
      if (rel === "stage.json" || e.name.includes(".tmp-")) continue;
      if (
        rel.startsWith("checkpoints/") &&
        rel.split("/").length === 2 &&
        e.isDirectory() &&
        e.name !== latest
      )
        continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out[rel] = hashFile(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * Reads a finished stage's record and verifies it: the seal of stage.json, the stage's hash, and
 * every recorded file. Returns the record and whether it could be verified (records written before
 * checksums cannot); throws an IntegrityError naming the first file that fails.
 */
export function verifyStage(dir: string, hash: string): { rec: StageRecord; verified: boolean } {
  const p = join(dir, "stage.json");
  const { record: rec, sealed } = openSealed<StageRecord>(p, readFileSync(p, "utf8"));
  if (rec.hash !== hash)
    throw new IntegrityError(p, `${p} records stage hash ${rec.hash}, the folder is ${hash}`);
  if (!sealed) return { rec, verified: false };
  if (rec.files === undefined) throw new IntegrityError(p, `${p} lists no files`);
  checkTable(rec.files, p);
  for (const [rel, e] of Object.entries(rec.files)) verifyFile(join(dir, ...rel.split("/")), e);
  return { rec, verified: true };
}

/** The defaults a stage kind resolves its options against (part of its cache key). */
function stageDefaults(kind: StageKind): { defaults?: unknown } {
  if (kind === "pretrain" || kind === "midtrain") return { defaults: STAGE_DEFAULTS[kind] };
  // The verifier (its revision and default policy) judges rewards and evaluations: a change redoes them.
  const verify = { ...DEFAULT_VERIFY_OPTIONS, version: VERIFIER_VERSION };
  if (kind === "rl") return { defaults: { base: RL_BASE_DEFAULTS, presets: RL_DEFAULTS, verify } };
  return { defaults: { verify } };
}

const hashOf = (x: unknown) => createHash("sha256").update(JSON.stringify(x)).digest("hex").slice(0, 12);

/**
 * The cache key of every stage of a study, by stage id: a hash of the stage's config, of the stages
 * it starts from, of the study's seed and of the world's revision; an evaluation's also of the
 * study's bands (its summary depends on them), a training stage's also of the defaults its options
 * are merged into (a changed default must not reuse an old model), including the default precision
 * of its products on these kernels (`fastBf16`).
 */
export function stageHashes(s: Study, fastBf16 = false): Map<string, string> {
  const hashes = new Map<string, string>();
  for (const st of s.stages) {
    const upstream = [
      "from" in st ? hashes.get(st.from) : null,
      st.kind === "rl" && typeof st.prompts === "object" && "edge" in st.prompts
        ? hashes.get(st.prompts.edge)
        : null,
    ];
    const { id: _id, ...body } = st;
    const hash = hashOf({
      body,
      upstream,
      seed: s.seed,
      world: WORLD_VERSION,
      ...(st.kind === "eval" ? { bands: s.bands ?? null } : {}),
      ...stageDefaults(st.kind),
      // Training stages default to bf16 products where they run at hardware speed: a stage trained
      // in fp32 elsewhere is not reused (fp32 machines keep the hashes they had before the option).
      ...(fastBf16 && st.kind !== "eval" && st.kind !== "edge" ? { precision: "bf16" } : {}),
    });
    hashes.set(st.id, hash);
  }
  return hashes;
}

/** Checks references between stages (each `from` names an earlier stage of a fitting kind). */
export function validateStudy(s: Study): void {
  const seen = new Map<string, StageKind>();
  if (!Array.isArray(s.stages)) throw new Error("a study needs stages: [...]");
  for (const st of s.stages) {
    if (!st || typeof st !== "object" || typeof st.id !== "string")
      throw new Error("every stage is an object with a string id");
    if (!STAGE_KINDS.includes(st.kind))
      throw new Error(
        `stage "${st.id}": kind must be one of ${STAGE_KINDS.join(", ")}, got ${describeName(st.kind)}`,
      );
    if (!/^[a-z0-9][a-z0-9._-]*$/i.test(st.id))
      throw new Error(`stage id "${st.id}": letters, digits, ., - and _ only`);
    if (seen.has(st.id)) throw new Error(`stage id "${st.id}" is used twice`);
    if ("from" in st) {
      const k = seen.get(st.from);
      if (!k) throw new Error(`stage "${st.id}": from "${st.from}" is not an earlier stage`);
      if (k === "eval" || k === "edge")
        throw new Error(`stage "${st.id}": "${st.from}" is an evaluation, not a model`);
    }
    if (st.kind === "rl" && typeof st.prompts === "object" && "edge" in st.prompts) {
      if (seen.get(st.prompts.edge) !== "edge")
        throw new Error(`stage "${st.id}": "${st.prompts.edge}" is not an earlier edge stage`);
    }
    if (st.kind === "pretrain" || st.kind === "midtrain") checkBudget(st);
    // A typo in a late stage's options is refused now, not after the stages before it have run.
    try {
      if (st.kind === "pretrain" || st.kind === "midtrain")
        checkOptionKeys(st.train, TRAIN_OPTION_KEYS, "training");
      if (st.kind === "rl") checkOptionKeys(st.rl, RL_OPTION_KEYS, "RL");
    } catch (e) {
      throw new Error(`stage "${st.id}": ${(e as Error).message}`);
    }
    if (st.kind === "rl" && !(Number.isInteger(st.steps) && st.steps >= 1))
      throw new Error(`stage "${st.id}": steps must be a positive integer`);
    if (st.kind === "rl" && st.seed !== undefined && !(Number.isInteger(st.seed) && st.seed >= 0))
      throw new Error(`stage "${st.id}": seed must be a natural number`);
    seen.set(st.id, st.kind);
  }
  if (!Array.isArray(s.compare)) throw new Error("a study needs compare: [...] (may be empty)");
  const bands = (s.bands ?? PAPER_BANDS).map((b) => b.name);
  for (const c of s.compare) {
    for (const id of [c.before, c.after, ...(c.seeds?.before ?? []), ...(c.seeds?.after ?? [])])
      if (seen.get(id) !== "eval") throw new Error(`comparison "${c.label}": "${id}" is not an eval stage`);
    if (c.seeds && c.seeds.before.length > 0 && c.seeds.before.length !== c.seeds.after.length)
      throw new Error(
        `comparison "${c.label}": seeds pair ${c.seeds.before.length} before with ${c.seeds.after.length} after`,
      );
    for (const claim of c.claims ?? []) {
      if (!bands.includes(claim.band))
        throw new Error(
          `comparison "${c.label}": claim band "${claim.band}" is not one of ${bands.join(", ")}`,
        );
      if (claim.metric !== "pass1" && claim.metric !== "passK")
        throw new Error(
          `comparison "${c.label}": claim metric must be pass1 or passK, got ${describeName(claim.metric)}`,
        );
      if (!["up", "flat", "down"].includes(claim.expect))
        throw new Error(
          `comparison "${c.label}": claim expect must be up, flat or down, got ${describeName(claim.expect)}`,
        );
    }
  }
}

/** A training stage has exactly one budget: `tokens` or `minutes`, positive. */
function checkBudget(st: PretrainStage | MidtrainStage): void {
  const { tokens, minutes } = st;
  if ((tokens === undefined) === (minutes === undefined))
    throw new Error(`stage "${st.id}": give tokens or minutes (exactly one)`);
  if (tokens !== undefined && !(typeof tokens === "number" && tokens > 0 && Number.isFinite(tokens)))
    throw new Error(`stage "${st.id}": tokens must be positive, got ${JSON.stringify(tokens)}`);
  if (minutes !== undefined && !(typeof minutes === "number" && minutes > 0 && Number.isFinite(minutes)))
    throw new Error(`stage "${st.id}": minutes must be positive, got ${JSON.stringify(minutes)}`);
}

/**
 * Supervised-token equivalents of one RL step by the paper's 5/3 rule, priced with the options the
 * stage resolves to (its own, then the preset's defaults, then the base defaults).
 */
export function rlStepTokens(preset: string, rl: Partial<RlConfig> = {}): number {
  return resolvedStepTokens(preset, resolveRlOptions(preset, rl));
}

/** {@link rlStepTokens} of options already resolved by `resolveRlOptions`. */
function resolvedStepTokens(preset: string, c: ReturnType<typeof resolveRlOptions>): number {
  const L = rlSequenceLength(PRESETS[preset as PresetName].context, c.maxNew);
  return paperRlTokens(c.promptsPerStep, c.rollouts, L, c.rlConstant);
}

/** The compute plan of a study: per stage, tokens (supervised-token equivalents for RL) and FLOPs. */
export function studyPlan(s: Study): {
  rows: (string | number)[][];
  totalFlops: number;
  /** The part of totalFlops in training stages (pretrain, midtrain, rl): their products default to bf16 where it is fast. */
  trainingFlops: number;
  tokens: Map<string, number>;
  /** Minutes of the time-budgeted training stages (their FLOPs are not in the totals: they depend on the machine). */
  minutes: number;
} {
  const rows: (string | number)[][] = [];
  const tokens = new Map<string, number>();
  let total = 0;
  let minutes = 0;
  let training = 0;
  const presets = new Map<string, string>();
  const vocab = new WorldTokenizer().vocabSize;
  for (const st of s.stages) {
    const preset = st.kind === "pretrain" ? st.preset : (presets.get("from" in st ? st.from : "") ?? "tiny");
    presets.set(st.id, preset);
    const c = presetConfig(preset, vocab);
    const L = Math.min(c.context, 1024);
    let flops = 0;
    let what = "";
    if ((st.kind === "pretrain" || st.kind === "midtrain") && st.tokens === undefined) {
      minutes += st.minutes ?? 0;
      rows.push([st.id, st.kind, preset, `${st.minutes} minutes (tokens sized on the machine)`, "—"]);
      continue;
    } else if (st.kind === "pretrain" || st.kind === "midtrain") {
      const n = st.tokens as number;
      const seq = st.train?.seqLen ?? Math.min(c.context, 512);
      flops = (n / seq) * trainFlops(c, seq);
      tokens.set(st.id, n);
      what = `${n.toExponential(2)} tokens`;
    } else if (st.kind === "rl") {
      const rc = resolveRlOptions(preset, st.rl);
      const budget = rc.computeBudget;
      const eq = budget ?? resolvedStepTokens(preset, rc) * st.steps;
      tokens.set(st.id, eq);
      flops = eq * 6 * paramCount(c);
      what =
        budget === undefined
          ? `${st.steps} steps × ${rc.promptsPerStep}×${rc.rollouts} rollouts ≈ ${eq.toExponential(2)} supervised-token equivalents`
          : `steps of ${rc.promptsPerStep}×${rc.rollouts} rollouts until ${eq.toExponential(2)} supervised-token equivalents by measured FLOPs (at most ${st.steps})`;
    } else {
      const n =
        st.grid.ops.length * st.grid.perOp * st.grid.samples * (st.kind === "edge" && st.selectPerOp ? 2 : 1);
      flops = n * forwardFlops(c, L);
      what = `${n.toLocaleString("en")} sampled traces`;
    }
    total += flops;
    if (st.kind !== "eval" && st.kind !== "edge") training += flops;
    rows.push([st.id, st.kind, preset, what, flops.toExponential(2)]);
  }
  return { rows, totalFlops: total, trainingFlops: training, tokens, minutes };
}

/** Options of {@link runStudy}. */
export interface RunStudyOptions {
  out: string;
  /** Stage cache shared between studies (default: OUT/../.stage-cache). */
  cache?: string;
  backend?: BackendChoice;
  log?: (msg: string) => void;
}

/** Runs (or resumes) a study; returns the stage records and writes OUT/report.html. */
export async function runStudy(s: Study, o: RunStudyOptions, kernels?: Kernels): Promise<StageRecord[]> {
  validateStudy(s);
  const k = kernels ?? (await loadKernels(o.backend));
  const log = o.log ?? (() => {});
  const out = resolve(o.out);
  const cache = resolve(o.cache ?? join(out, "..", ".stage-cache"));
  mkdirSync(out, { recursive: true });
  mkdirSync(cache, { recursive: true });
  writeFileAtomic(join(out, "study.json"), `${JSON.stringify(s, null, 2)}\n`);
  const records = new Map<string, StageRecord>();
  const hashes = stageHashes(s, bf16IsFast(k));
  for (const st of s.stages) {
    const hash = hashes.get(st.id) as string;
    const dir = join(cache, `${st.kind}-${hash}`);
    const donePath = join(dir, "stage.json");
    if (existsSync(donePath)) {
      let cached: ReturnType<typeof verifyStage> | null = null;
      try {
        cached = verifyStage(dir, hash);
      } catch (e) {
        if (!(e instanceof IntegrityError)) throw e;
        log(`${st.id}: cached ${dir} is not trusted: ${e.message}; redoing the stage from the start`);
        rmSync(dir, { recursive: true, force: true });
      }
      if (cached) {
        records.set(st.id, { ...cached.rec, id: st.id, dir });
        log(
          `${st.id}: done (cached ${dir}${cached.verified ? "" : "; recorded before checksums, not verified"})`,
        );
        continue;
      }
    }
    log(`${st.id}: ${st.kind} → ${dir}`);
    mkdirSync(dir, { recursive: true });
    await nextTurn(); // free the previous stage's native buffers (src/util/turn.ts)
    const t0 = performance.now();
    let outcome: StageOutcome;
    try {
      outcome = await runStage(st, dir, s, records, k, log);
    } catch (e) {
      // A killed stage whose own files fail their checksums (no intact checkpoint) starts over.
      if (!(e instanceof IntegrityError) || !resolve(e.file).startsWith(dir + sep)) throw e;
      log(`${st.id}: ${e.message}; redoing the stage from the start`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      outcome = await runStage(st, dir, s, records, k, log);
    }
    // The outcome's kind overwrites the head's in place: stage.json keeps its key order.
    const head = { id: st.id, kind: st.kind, hash, dir, seconds: (performance.now() - t0) / 1000 };
    const rec: StageRecord = { ...head, ...outcome, files: stageFiles(dir) };
    writeFileAtomic(donePath, sealJson(rec));
    records.set(st.id, rec);
  }
  const list = s.stages.map((st) => records.get(st.id) as StageRecord);
  writeFileAtomic(join(out, "stages.json"), `${JSON.stringify(list, null, 2)}\n`);
  // Each comparison's changed verdicts, traces side by side (the report links the pages written).
  s.compare.forEach((c, i) => {
    const [before, after] = [c.before, c.after].map((id) => records.get(id)?.dir);
    const file = join(out, compareTracesFile(i));
    if (before && after && explorerUnavailable(before) === null && explorerUnavailable(after) === null)
      writeCompareExplorer(before, after, file, {
        beforeLabel: c.before,
        afterLabel: c.after,
        title: `${c.label}: changed verdicts, ${c.before} → ${c.after}`,
        reportHref: "report.html",
      });
    else rmSync(file, { force: true });
  });
  writeFileAtomic(join(out, "report.html"), studyReport(s, list, out));
  return list;
}

/** A mixture reference as a preset name or a file in the stage folder. */
function mixtureArg(m: MixtureRef, dir: string): string {
  if (typeof m === "string") return m;
  const p = join(dir, "mixture.json");
  writeFileAtomic(p, `${JSON.stringify(m, null, 2)}\n`);
  return p;
}

/** The record of an earlier stage (validateStudy makes sure there is one). */
function recordOf(done: Map<string, StageRecord>, id: string): StageRecord {
  const r = done.get(id);
  if (!r) throw new Error(`stage "${id}" has no record`);
  return r;
}

/** Runs one stage in its folder (resuming an earlier attempt there) and returns its outcome. */
async function runStage(
  st: StageSpec,
  dir: string,
  study: Study,
  done: Map<string, StageRecord>,
  k: Kernels,
  log: (m: string) => void,
): Promise<StageOutcome> {
  const fromDir = "from" in st ? recordOf(done, st.from).dir : "";
  const resume = existsSync(join(dir, "config.json"));
  if (resume && st.kind !== "eval" && st.kind !== "edge") {
    let ck: string | null = null;
    try {
      ck = latestCheckpoint(dir);
    } catch {
      // the resume below finds the newest intact checkpoint and says so
    }
    log(`  ${st.id}: an earlier attempt stopped; resuming ${ck ? `from ${basename(ck)}` : "from the start"}`);
  }
  const run: StageRun = {
    dir,
    fromDir,
    resume,
    seed: st.kind === "rl" ? (st.seed ?? study.seed) : study.seed,
    k,
    log,
    ckLog: (m) => log(`  ${st.id}: ${m}`),
  };
  if (st.kind === "pretrain" || st.kind === "midtrain")
    return { kind: st.kind, result: await runTrainStage(st, run) };
  if (st.kind === "rl") return { kind: st.kind, result: await runRlStage(st, run, done) };
  if (st.kind === "edge") return { kind: st.kind, result: runEdgeStage(st, run) };
  return { kind: st.kind, result: runEvalStage(st, run, study) };
}

/** What every stage runner is given: its folder, the model it starts from, the seed, and loggers. */
interface StageRun {
  dir: string;
  /** Folder of the stage named by `from` ("" for pretrain). */
  fromDir: string;
  /** An earlier attempt left a config.json in the folder. */
  resume: boolean;
  seed: number;
  k: Kernels;
  log: (m: string) => void;
  /** Logs a line prefixed with the stage's id. */
  ckLog: (m: string) => void;
}

/** A step callback that logs every `n`-th step and the last. */
function everySteps(id: string, n: number, log: (m: string) => void) {
  return (m: { step: number }, total: number) => {
    if (m.step % n === 0 || m.step === total) log(`  ${id}: step ${m.step}/${total}`);
  };
}

/** Pre-trains or mid-trains. */
async function runTrainStage(st: PretrainStage | MidtrainStage, r: StageRun): Promise<TrainStageResult> {
  const t = await train(
    {
      stage: st.kind,
      out: r.dir,
      preset: st.kind === "pretrain" ? st.preset : undefined,
      from: st.kind === "midtrain" ? r.fromDir : undefined,
      mixture: mixtureArg(st.mixture, r.dir),
      tokens: st.tokens,
      // A budgeted stage is sized once, on its first attempt, and always runs its whole schedule
      // (a stage that stopped part-way would not be the stage its record names).
      minutes: r.resume ? undefined : st.minutes,
      minutesStop: false,
      seed: r.seed,
      resume: r.resume,
      overrides: st.train,
      onStep: everySteps(st.id, 200, r.log),
      log: r.ckLog,
    },
    r.k,
  );
  const { tokens, budget } = t.config;
  return {
    steps: t.steps,
    finalLoss: t.finalLoss,
    finalValLoss: t.finalValLoss,
    tokens,
    ...(budget ? { budget } : {}),
  };
}

/** The prompts of an RL stage: its mixture, or the band its edge stage measured (else the fallback). */
function rlPrompts(st: RlStage, r: StageRun, done: Map<string, StageRecord>): string {
  if (!(typeof st.prompts === "object" && "edge" in st.prompts)) return mixtureArg(st.prompts, r.dir);
  const edge = recordOf(done, st.prompts.edge);
  const band = edge.kind === "edge" ? edge.result.band : null;
  const prompts = band ? `op${band.lo}-${band.hi}_forward` : st.prompts.fallback;
  r.log(
    `  ${st.id}: prompts ${prompts}${band ? " (the measured edge band)" : " (no edge band measured: fallback)"}`,
  );
  return prompts;
}

/** Runs GRPO. */
async function runRlStage(st: RlStage, r: StageRun, done: Map<string, StageRecord>): Promise<RlStageResult> {
  const prompts = rlPrompts(st, r, done);
  const t = await trainRl(
    {
      from: r.fromDir,
      prompts,
      out: r.dir,
      steps: st.steps,
      seed: r.seed,
      resume: r.resume,
      overrides: st.rl,
      onStep: everySteps(st.id, 10, r.log),
      log: r.ckLog,
    },
    r.k,
  );
  return { prompts, steps: t.steps, last: t.last };
}

/** The model a stage evaluates (the latest checkpoint of `from`). */
function loadStageModel(r: StageRun) {
  const loaded = loadAnyModel(r.fromDir, { warn: r.ckLog });
  return { model: new Model(r.k, loaded.config, loaded.flat), tokenizer: loaded.tokenizer };
}

/** Measures the edge of competence (and selects RL prompts when asked). */
function runEdgeStage(st: EdgeStage, r: StageRun): EdgeStageResult {
  const { model, tokenizer } = loadStageModel(r);
  const g = st.grid;
  const e = measureEdge({
    model,
    tokenizer,
    modelName: r.fromDir,
    ops: g.ops,
    perOp: g.perOp,
    samples: g.samples,
    temperature: g.temperature ?? 0.7,
    maxNew: g.maxNew,
    seed: r.seed + 101,
    contexts: g.contexts,
    modes: g.modes ?? ["forward"],
    out: r.dir,
    selectPerOp: st.selectPerOp,
  });
  r.log(`  ${st.id}: edge band ${e.band ? `op ${e.band.lo}–${e.band.hi}` : "none"}`);
  return { band: e.band, perOp: e.perOp, selected: e.selected ?? null };
}

/** Evaluates on the grid and writes the summary and report; returns pass@1 and pass@k per band. */
function runEvalStage(st: EvalStage, r: StageRun, study: Study): EvalStageResult {
  const { model, tokenizer } = loadStageModel(r);
  const g = st.grid;
  const problems = gridProblems({
    ops: g.ops,
    perOp: g.perOp,
    seed: r.seed + 202,
    contexts: g.contexts,
    modes: g.modes ?? ["forward"],
  });
  const settings = {
    model: r.fromDir,
    problems: `grid ops ${g.ops.join(",")} × ${g.perOp}`,
    samples: g.samples,
    temperature: g.temperature ?? 0.7,
    topP: 1,
    topK: 0,
    maxNew: g.maxNew,
    seed: r.seed + 202,
  };
  const { results } = runEvaluation({ model, tokenizer, problems, out: r.dir, settings });
  const summary = buildEvalSummary(
    results.map((x) => ({ ...x, problemId: x.id })),
    { seed: 0, bands: study.bands, meta: { ...settings, stage: st.id } },
  );
  writeEvalPages(r.dir, summary, { title: `Evaluation ${st.id}` });
  const bands = Object.fromEntries(
    summary.perBand.map((b) => [
      b.key,
      { pass1: b.passAtK[1].mean, passK: b.passAtK[b.ks[b.ks.length - 1]].mean },
    ]),
  );
  return { bands };
}
