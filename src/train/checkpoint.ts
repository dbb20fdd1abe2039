/**
 * Checkpoints of a run: RUN/checkpoints/step-NNNNNNN/{model.safetensors, optimizer.safetensors,
 * state.json}, written into a temporary folder and renamed into place, then `latest` updated
 * atomically — a kill at any moment leaves the previous checkpoint intact.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { decodeSafetensors, encodeSafetensors } from "../hf/safetensors.js";
import type { ModelConfig } from "../model/config.js";
import { tensorSpecs } from "../model/params.js";
import { writeFileAtomic } from "../util/atomic.js";
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

const name = (step: number) => `step-${String(step).padStart(7, "0")}`;

/** Saves a checkpoint and points `latest` at it; keeps the newest `keep` checkpoints. */
export function saveCheckpoint(
  run: string,
  config: ModelConfig,
  t: CheckpointTensors,
  state: TrainState,
  keep = 2,
): string {
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
  writeFileAtomic(join(tmp, "model.safetensors"), encodeSafetensors(views(t.params)));
  writeFileAtomic(
    join(tmp, "optimizer.safetensors"),
    encodeSafetensors([...views(t.m, "m."), ...views(t.v, "v.")]),
  );
  writeFileAtomic(join(tmp, "state.json"), `${JSON.stringify(state, null, 2)}\n`);
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

/** Loads a checkpoint folder; every inconsistency is an error naming the file. */
export function loadCheckpoint(
  dir: string,
  config: ModelConfig,
  withOptimizer = true,
): { tensors: CheckpointTensors; state: TrainState } {
  const specs = tensorSpecs(config);
  const n = specs[specs.length - 1].offset + specs[specs.length - 1].size;
  const read = (file: string, prefix: string, st: ReturnType<typeof decodeSafetensors>) => {
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
  const load = (file: string) => {
    const p = join(dir, file);
    if (!existsSync(p)) throw new Error(`checkpoint file ${p} is missing`);
    return decodeSafetensors(readFileSync(p), p);
  };
  const params = read("model.safetensors", "", load("model.safetensors"));
  let m = new Float32Array(n);
  let v = new Float32Array(n);
  if (withOptimizer) {
    const opt = load("optimizer.safetensors");
    m = read("optimizer.safetensors", "m.", opt);
    v = read("optimizer.safetensors", "v.", opt);
  }
  let state: TrainState;
  try {
    state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
  } catch (e) {
    throw new Error(`${join(dir, "state.json")}: ${(e as Error).message}`);
  }
  if (!Number.isInteger(state?.step) || !state.cursor || !Number.isInteger(state.cursor.index)) {
    throw new Error(`${join(dir, "state.json")}: not a training state`);
  }
  return { tensors: { params, m, v }, state };
}
