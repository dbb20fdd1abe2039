/** Loads a model from a run folder (its latest checkpoint) or a Hugging Face folder. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type LoadedModel, loadHfModel } from "../hf/model-io.js";
import type { ModelConfig } from "../model/config.js";
import { WorldTokenizer } from "../model/tokenizer.js";
import { IntegrityError } from "../util/checksum.js";
import { readJsonFile } from "../util/jsonl.js";
import { type LoadOptions, latestCheckpoint, loadCheckpoint } from "./checkpoint.js";

/** True when the folder is a training run (it has a run config and checkpoints). */
export function isRunFolder(dir: string): boolean {
  return existsSync(join(dir, "checkpoints")) && existsSync(join(dir, "config.json"));
}

/** What every run folder's config.json holds, whatever the stage (pre-, mid-training or RL). */
export interface RunConfigHead {
  stage: string;
  preset: string;
  model: ModelConfig;
  digits: boolean;
}

/**
 * Reads a run's model (latest checkpoint, verified against its manifest) with its tokenizer. A
 * checkpoint that fails verification is refused, never used: the error names the file, with the
 * expected and the actual hash.
 */
export function loadRunModel(
  run: string,
  opts: LoadOptions = {},
): LoadedModel & { checkpoint: string; run: RunConfigHead } {
  const cfg = readJsonFile<RunConfigHead>(join(run, "config.json"));
  if (!cfg?.model) throw new Error(`${join(run, "config.json")}: not a training run config`);
  const ck = latestCheckpoint(run);
  if (!ck) throw new Error(`${run} has no checkpoint yet`);
  const { tensors } = loadVerified(ck, cfg.model, opts);
  return {
    config: cfg.model,
    flat: tensors.params,
    tokenizer: new WorldTokenizer({ digits: cfg.digits }),
    dtypes: ["F32"],
    checkpoint: ck,
    run: cfg,
  };
}

/**
 * Loads a checkpoint's weights for a reader that does not resume (eval, export, --from): a checkpoint
 * that fails verification is refused with an {@link IntegrityError} that names the file.
 */
export function loadVerified(ck: string, model: ModelConfig, opts: LoadOptions = {}) {
  try {
    return loadCheckpoint(ck, model, false, opts);
  } catch (e) {
    if (!(e instanceof IntegrityError)) throw e;
    throw new IntegrityError(
      e.file,
      `refusing to load checkpoint ${ck}: ${e.message} (only --resume falls back to an older intact checkpoint)`,
    );
  }
}

/** Loads either kind of folder (each verified against its manifest when it has one). */
export function loadAnyModel(dir: string, opts: LoadOptions = {}): LoadedModel {
  if (!existsSync(dir)) throw new Error(`model folder ${dir} does not exist`);
  return isRunFolder(dir) ? loadRunModel(dir, opts) : loadHfModel(dir, opts);
}
