/** Loads a model from a run folder (its latest checkpoint) or a Hugging Face folder. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type LoadedModel, loadHfModel } from "../hf/model-io.js";
import { WorldTokenizer } from "../model/tokenizer.js";
import { latestCheckpoint, loadCheckpoint } from "./checkpoint.js";
import type { TrainConfig } from "./trainer.js";

/** True when the folder is a training run (it has a run config and checkpoints). */
export function isRunFolder(dir: string): boolean {
  return existsSync(join(dir, "checkpoints")) && existsSync(join(dir, "config.json"));
}

/** Reads a run's model (latest checkpoint) with its tokenizer. */
export function loadRunModel(run: string): LoadedModel & { checkpoint: string; train: TrainConfig } {
  let cfg: TrainConfig;
  try {
    cfg = JSON.parse(readFileSync(join(run, "config.json"), "utf8"));
  } catch (e) {
    throw new Error(`${join(run, "config.json")}: ${(e as Error).message}`);
  }
  if (!cfg?.model) throw new Error(`${join(run, "config.json")}: not a training run config`);
  const ck = latestCheckpoint(run);
  if (!ck) throw new Error(`${run} has no checkpoint yet`);
  const { tensors } = loadCheckpoint(ck, cfg.model, false);
  return {
    config: cfg.model,
    flat: tensors.params,
    tokenizer: new WorldTokenizer({ digits: cfg.digits }),
    dtypes: ["F32"],
    checkpoint: ck,
    train: cfg,
  };
}

/** Loads either kind of folder. */
export function loadAnyModel(dir: string): LoadedModel {
  if (!existsSync(dir)) throw new Error(`model folder ${dir} does not exist`);
  return isRunFolder(dir) ? loadRunModel(dir) : loadHfModel(dir);
}
