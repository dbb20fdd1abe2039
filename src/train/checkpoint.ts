/**
 * Checkpoints of a run: RUN/checkpoints/step-NNNNNNN/{model.safetensors, optimizer.safetensors,
 * state.json, manifest.json}, written into a temporary folder and renamed into place, then `latest`
 * updated atomically — a kill at any moment leaves the previous checkpoint intact.
 *
 * manifest.json (written last, sealed by its own SHA-256) records the size and SHA-256 of every file
 * of the checkpoint, of the run files a load reads (config.json, tokenizer.json,
 * tokenizer_config.json) and of the prefix of metrics.jsonl up to the checkpoint's step. Every load
 * verifies what it reads; a mismatch is an {@link IntegrityError} naming the file with the expected
 * and the actual hash. {@link resumeCheckpoint} falls back past corrupt checkpoints to the newest
 * intact one and says so; every other reader refuses. Checkpoints written before manifests existed
 * load with a warning that they are unverified.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { decodeSafetensors, encodeSafetensors } from "../hf/safetensors.js";
import type { ModelConfig } from "../model/config.js";
import { tensorSpecs } from "../model/params.js";
import { writeFileAtomic } from "../util/atomic.js";
import {
  checkTable,
  entryOf,
  type FileEntry,
  type FileTable,
  hashFile,
  IntegrityError,
  openSealed,
  readVerified,
  sealJson,
  verifyFile,
} from "../util/checksum.js";
import type { Cursor } from "./data.js";

/** What a checkpoint restores besides the tensors. */
export interface TrainState {
  step: number;
  tokens: number;
  cursor: Cursor;
  elapsedSeconds: number;
}

/** Tensors of a checkpoint. */
export interface CheckpointTensors {
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/** The manifest of a checkpoint folder. */
export interface CheckpointManifest {
  format: "interplay-checkpoint";
  version: 1;
  algorithm: "sha256";
  step: number;
  /** The checkpoint's own files. */
  files: FileTable;
  /** Files of the run folder (two levels up) as they were when the checkpoint was written. */
  run: FileTable;
  /** Append-only run files: the entry covers their first `bytes` bytes (metrics.jsonl up to `step`). */
  prefixes: FileTable;
}

/** Name of the manifest inside a checkpoint folder. */
export const MANIFEST = "manifest.json";
/** Run files a checkpoint records (the ones that exist). */
export const RUN_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json"] as const;
/** Marker in state.json: the checkpoint was written with a manifest (so a missing one is damage). */
const MARKER = "checksums";

const name = (step: number) => `step-${String(step).padStart(7, "0")}`;
const stderr = (m: string) => console.error(m);

/** Entries of a run's recorded files as they are on disk now (call right after writing them). */
export function runFileTable(run: string): FileTable {
  const t: FileTable = {};
  for (const f of RUN_FILES) if (existsSync(join(run, f))) t[f] = hashFile(join(run, f));
  return t;
}

/** Options of {@link saveCheckpoint}. */
export interface SaveOptions {
  /** Checkpoints to keep (the newest). */
  keep?: number;
  /** Entries of the run files (default: hashed from disk now). */
  runFiles?: FileTable;
}

/** Saves a checkpoint and points `latest` at it; keeps the newest `keep` checkpoints. */
export function saveCheckpoint(
  run: string,
  config: ModelConfig,
  t: CheckpointTensors,
  state: TrainState,
  opts: SaveOptions = {},
): string {
  const keep = opts.keep ?? 2;
  const root = join(run, "checkpoints");
  mkdirSync(root, { recursive: true });
  const final = join(root, name(state.step));
  const tmp = join(root, `.tmp-${name(state.step)}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const specs = tensorSpecs(config);
  const views = (flat: Float32Array, prefix = "") =>
    specs.map((s) => ({
      name: prefix + s.name,
      shape: s.shape,
      data: flat.subarray(s.offset, s.offset + s.size),
    }));
  const files: FileTable = {};
  const put = (file: string, data: Uint8Array | string) => {
    writeFileAtomic(join(tmp, file), data);
    files[file] = entryOf(data);
  };
  put("model.safetensors", encodeSafetensors(views(t.params)));
  put("optimizer.safetensors", encodeSafetensors([...views(t.m, "m."), ...views(t.v, "v.")]));
  put("state.json", `${JSON.stringify({ ...state, [MARKER]: MANIFEST }, null, 2)}\n`);
  const metrics = join(run, "metrics.jsonl");
  const manifest: CheckpointManifest = {
    format: "interplay-checkpoint",
    version: 1,
    algorithm: "sha256",
    step: state.step,
    files,
    run: opts.runFiles ?? runFileTable(run),
    prefixes: existsSync(metrics) ? { "metrics.jsonl": hashFile(metrics) } : {},
  };
  // The manifest comes last: a folder without it was never completed (or was damaged).
  writeFileAtomic(join(tmp, MANIFEST), sealJson(manifest as unknown as Record<string, unknown>));
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  writeFileAtomic(join(root, "latest"), `${name(state.step)}\n`);
  const all = readdirSync(root)
    .filter((d) => d.startsWith("step-"))
    .sort();
  for (const d of all.slice(0, Math.max(0, all.length - keep)))
    rmSync(join(root, d), { recursive: true, force: true });
  return final;
}

/** The folder of the latest checkpoint of a run, or null when there is none. */
export function latestCheckpoint(run: string): string | null {
  const p = join(run, "checkpoints", "latest");
  if (!existsSync(p)) return null;
  const dir = join(run, "checkpoints", readFileSync(p, "utf8").trim());
  if (!existsSync(dir)) throw new Error(`${p} points at ${dir}, which does not exist`);
  return dir;
}

/** Reads and checks a checkpoint's manifest; null when the folder has none. */
export function readCheckpointManifest(dir: string): CheckpointManifest | null {
  const p = join(dir, MANIFEST);
  if (!existsSync(p)) return null;
  const { record, sealed } = openSealed<CheckpointManifest>(p, readFileSync(p, "utf8"));
  if (!sealed) throw new IntegrityError(p, `${p} is corrupt: it has no checksum of its own`);
  if (record.format !== "interplay-checkpoint" || record.version !== 1 || record.algorithm !== "sha256")
    throw new IntegrityError(p, `${p}: not a version-1 sha256 checkpoint manifest`);
  if (!Number.isInteger(record.step)) throw new IntegrityError(p, `${p}: "step" is not an integer`);
  checkTable(record.files, p);
  checkTable(record.run ?? {}, p);
  checkTable(record.prefixes ?? {}, p);
  return record;
}

/** Options of {@link loadCheckpoint}. */
export interface LoadOptions {
  /** Where warnings go (unverified old checkpoints, unexpected files); default stderr. */
  warn?: (msg: string) => void;
}

/** A loaded checkpoint. */
export interface LoadedCheckpoint {
  tensors: CheckpointTensors;
  state: TrainState;
  /** False for a checkpoint written before manifests (loaded unverified, with a warning). */
  verified: boolean;
}

/**
 * Loads a checkpoint folder, verifying every file it reads against the manifest; every
 * inconsistency is an error naming the file. `withOptimizer` (resume) also reads the AdamW moments
 * and checks the run's metrics.jsonl up to the checkpoint's step; without it (weights only) the
 * optimizer file is only checked to be there at its recorded size, with a warning if not.
 */
export function loadCheckpoint(
  dir: string,
  config: ModelConfig,
  withOptimizer = true,
  opts: LoadOptions = {},
): LoadedCheckpoint {
  const warn = opts.warn ?? stderr;
  const manifest = readCheckpointManifest(dir);
  const run = dirname(dirname(dir));
  let read: (file: string) => Buffer;
  if (manifest) {
    for (const f of ["model.safetensors", "state.json", "optimizer.safetensors"])
      if (!manifest.files[f])
        throw new IntegrityError(join(dir, MANIFEST), `${join(dir, MANIFEST)} does not list ${f}`);
    const extra = readdirSync(dir).filter((f) => f !== MANIFEST && !(f in manifest.files));
    if (extra.length)
      warn(`warning: ${dir} holds ${extra.join(", ")}, which its manifest does not list (ignored)`);
    for (const [f, e] of Object.entries(manifest.run ?? {})) verifyFile(join(run, f), e);
    if (withOptimizer)
      for (const [f, e] of Object.entries(manifest.prefixes ?? {})) verifyPrefix(join(run, f), e, dir);
    else {
      const p = join(dir, "optimizer.safetensors");
      const e = manifest.files["optimizer.safetensors"];
      if (!existsSync(p) || statSync(p).size !== e.bytes)
        warn(`warning: ${p} is missing or has the wrong size (not read here; --resume would refuse it)`);
    }
    read = (file) => readVerified(join(dir, file), manifest.files[file]);
  } else {
    const sp = join(dir, "state.json");
    let marked = false;
    try {
      marked = MARKER in JSON.parse(readFileSync(sp, "utf8"));
    } catch {
      // reported below, where state.json is read
    }
    if (marked)
      throw new IntegrityError(
        join(dir, MANIFEST),
        `${join(dir, MANIFEST)} is missing (state.json says the checkpoint was written with one)`,
      );
    warn(`warning: ${dir} has no ${MANIFEST} (written before checksums): its files are not verified`);
    read = (file) => {
      const p = join(dir, file);
      if (!existsSync(p)) throw new Error(`checkpoint file ${p} is missing`);
      return readFileSync(p);
    };
  }
  // state.json first: it is small, and a checkpoint of another step is caught before the tensors.
  let state: TrainState;
  try {
    const { [MARKER]: _, ...s } = JSON.parse(read("state.json").toString("utf8"));
    state = s as TrainState;
  } catch (e) {
    if (e instanceof IntegrityError) throw e;
    throw new Error(`${join(dir, "state.json")}: ${(e as Error).message}`);
  }
  if (!Number.isInteger(state?.step) || !state.cursor || !Number.isInteger(state.cursor.index)) {
    throw new Error(`${join(dir, "state.json")}: not a training state`);
  }
  if (manifest && manifest.step !== state.step)
    throw new IntegrityError(
      join(dir, "state.json"),
      `${join(dir, "state.json")} records step ${state.step}, its manifest step ${manifest.step}`,
    );
  const m = /^step-(\d+)$/.exec(basename(dir));
  if (m && Number(m[1]) !== state.step)
    throw new IntegrityError(
      join(dir, "state.json"),
      `${dir} holds the files of step ${state.step}, not of its own step ${Number(m[1])} (a copy of another checkpoint?)`,
    );
  const specs = tensorSpecs(config);
  const n = specs[specs.length - 1].offset + specs[specs.length - 1].size;
  const tensorsOf = (file: string, prefix: string, st: ReturnType<typeof decodeSafetensors>) => {
    const flat = new Float32Array(n);
    for (const s of specs) {
      const t = st.tensors.get(prefix + s.name);
      if (!t) throw new Error(`${join(dir, file)}: tensor ${prefix + s.name} is missing`);
      if (t.data.length !== s.size)
        throw new Error(
          `${join(dir, file)}: ${prefix + s.name} has ${t.data.length} values, the run's config needs ${s.size}`,
        );
      flat.set(t.data, s.offset);
    }
    return flat;
  };
  const load = (file: string) => decodeSafetensors(read(file), join(dir, file));
  const params = tensorsOf("model.safetensors", "", load("model.safetensors"));
  let mo = new Float32Array(n);
  let v = new Float32Array(n);
  if (withOptimizer) {
    const opt = load("optimizer.safetensors");
    mo = tensorsOf("optimizer.safetensors", "m.", opt);
    v = tensorsOf("optimizer.safetensors", "v.", opt);
  }
  return { tensors: { params, m: mo, v }, state, verified: manifest !== null };
}

/** Checks the first `e.bytes` bytes of an append-only run file. */
function verifyPrefix(path: string, e: FileEntry, ck: string): void {
  if (!existsSync(path))
    throw new IntegrityError(
      path,
      `${path} is missing (checkpoint ${basename(ck)} records its first ${e.bytes} bytes)`,
    );
  const got = hashFile(path, e.bytes);
  if (got.bytes < e.bytes)
    throw new IntegrityError(
      path,
      `${path} is truncated: ${got.bytes} bytes, checkpoint ${basename(ck)} records its first ${e.bytes}`,
    );
  if (got.sha256 !== e.sha256)
    throw new IntegrityError(
      path,
      `${path} fails its checksum up to checkpoint ${basename(ck)}: sha256 ${got.sha256} of its first ${e.bytes} bytes, the manifest records ${e.sha256}`,
    );
}

/** A checkpoint chosen for resuming. */
export interface ResumePoint extends LoadedCheckpoint {
  dir: string;
}

/**
 * The checkpoint a resume continues from: the one `latest` names if it verifies, otherwise the
 * newest older one that does. Checkpoints that fail are moved aside to `checkpoints/corrupt-…`,
 * `latest` is pointed at the one chosen, and `log` says which file failed and where the run
 * resumes (the caller trims metrics.jsonl to that step, so no step is lost or repeated). Null when
 * the run has no checkpoint; an IntegrityError listing every failure when none is intact.
 */
export function resumeCheckpoint(
  run: string,
  config: ModelConfig,
  log: (msg: string) => void = stderr,
): ResumePoint | null {
  const root = join(run, "checkpoints");
  const steps = existsSync(root)
    ? readdirSync(root)
        .filter((d) => /^step-\d+$/.test(d))
        .sort()
    : [];
  const latestPath = join(root, "latest");
  let latest: string | null = null;
  let problem = "";
  if (existsSync(latestPath)) {
    const named = readFileSync(latestPath, "utf8").trim();
    if (steps.includes(named)) latest = named;
    else
      problem = `${latestPath} names ${JSON.stringify(named.slice(0, 40))}, which is not a checkpoint folder`;
  } else if (steps.length) problem = `${latestPath} is missing`;
  if (!latest && steps.length === 0) {
    if (problem)
      throw new IntegrityError(latestPath, `cannot resume ${run}: ${problem}, and no checkpoint is left`);
    return null;
  }
  const candidates = (latest ? steps.filter((d) => d <= (latest as string)) : steps).reverse();
  const failures: { dir: string; why: string }[] = [];
  let chosen: ResumePoint | null = null;
  for (const d of candidates) {
    const dir = join(root, d);
    try {
      chosen = { dir, ...loadCheckpoint(dir, config, true, { warn: log }) };
      break;
    } catch (e) {
      failures.push({ dir, why: (e as Error).message });
    }
  }
  if (!chosen)
    throw new IntegrityError(
      failures[0]?.dir ?? root,
      `cannot resume ${run}: no intact checkpoint (${failures.map((f) => `${basename(f.dir)}: ${f.why}`).join("; ")})`,
    );
  if (failures.length || problem) {
    const moved = failures.map((f) => {
      let to = join(root, `corrupt-${basename(f.dir)}`);
      for (let i = 1; existsSync(to); i++) to = join(root, `corrupt-${basename(f.dir)}-${i}`);
      renameSync(f.dir, to);
      return `checkpoint ${basename(f.dir)} is corrupt (${f.why}); moved it to ${to}`;
    });
    writeFileAtomic(latestPath, `${basename(chosen.dir)}\n`);
    log(
      `resume: ${[...(problem ? [problem] : []), ...moved].join("; ")}; falling back to ${basename(chosen.dir)}, the newest intact checkpoint (step ${chosen.state.step}; metrics.jsonl is trimmed to it and the steps after it are redone)`,
    );
  }
  return chosen;
}
