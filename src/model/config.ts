/** Model configuration (Qwen2-style decoder, training.md §1) and the presets of this lab. */
import { lookup } from "../util/lookup.js";

/** Shape of a Qwen2-style model. */
export interface ModelConfig {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  /** SwiGLU inner size. */
  mlp: number;
  /** Longest sequence (max_position_embeddings). */
  context: number;
  ropeTheta: number;
  rmsEps: number;
}

/** Preset names: `bench` is the W1/W2 benchmark model of benchmarks.md. */
export type PresetName = "micro" | "tiny" | "compact" | "small" | "paper" | "bench";

/** Presets without the vocabulary size (it comes from the tokenizer; `bench` fixes 512). */
export const PRESETS: Record<PresetName, Omit<ModelConfig, "vocabSize"> & { vocabSize?: number }> = {
  /** ≈0.1M parameters: fast tests of the training machinery, not a model worth evaluating. */
  micro: {
    hidden: 32,
    layers: 2,
    heads: 2,
    kvHeads: 1,
    mlp: 64,
    context: 512,
    ropeTheta: 10000,
    rmsEps: 1e-6,
  },
  /** ≈1–3M parameters with the world's vocabulary: tests and the demo. */
  tiny: {
    hidden: 128,
    layers: 6,
    heads: 4,
    kvHeads: 2,
    mlp: 352,
    context: 1024,
    ropeTheta: 10000,
    rmsEps: 1e-6,
  },
  /** ≈5M parameters, ≈5.3k tokens/s on 2 cores: between `tiny` and `small` (docs/results.md, small-scale probes). */
  compact: {
    hidden: 256,
    layers: 6,
    heads: 4,
    kvHeads: 2,
    mlp: 704,
    context: 768,
    ropeTheta: 10000,
    rmsEps: 1e-6,
  },
  /** ≈10–20M parameters: laptop studies. */
  small: {
    hidden: 384,
    layers: 8,
    heads: 6,
    kvHeads: 2,
    mlp: 1024,
    context: 768,
    ropeTheta: 10000,
    rmsEps: 1e-6,
  },
  /** The reference's ≈103M model (vocab 2200 in the paper). */
  paper: {
    hidden: 768,
    layers: 12,
    heads: 12,
    kvHeads: 2,
    mlp: 3072,
    context: 2048,
    ropeTheta: 1e6,
    rmsEps: 1e-6,
  },
  /** The benchmark workload W1/W2: vocab 512, ≈3.3M parameters. */
  bench: {
    vocabSize: 512,
    hidden: 256,
    layers: 4,
    heads: 4,
    kvHeads: 4,
    mlp: 688,
    context: 256,
    ropeTheta: 10000,
    rmsEps: 1e-6,
  },
};

/** Resolves a preset for a vocabulary size; throws naming the known presets. */
export function presetConfig(name: string, vocabSize: number): ModelConfig {
  const p = lookup(PRESETS, name, "preset");
  return checkConfig({ ...p, vocabSize: p.vocabSize ?? vocabSize });
}

/** Validates a config; every error names the field. */
export function checkConfig(c: ModelConfig): ModelConfig {
  const ints: (keyof ModelConfig)[] = ["vocabSize", "hidden", "layers", "heads", "kvHeads", "mlp", "context"];
  for (const k of ints) {
    if (!Number.isInteger(c[k]) || (c[k] as number) < 1)
      throw new Error(`model config: ${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.hidden % c.heads !== 0)
    throw new Error(`model config: hidden (${c.hidden}) must be divisible by heads (${c.heads})`);
  if (c.heads % c.kvHeads !== 0)
    throw new Error(`model config: heads (${c.heads}) must be a multiple of kvHeads (${c.kvHeads})`);
  if ((c.hidden / c.heads) % 2 !== 0)
    throw new Error("model config: head dimension must be even (rotary embedding)");
  if (!(c.ropeTheta > 0)) throw new Error(`model config: ropeTheta must be positive, got ${c.ropeTheta}`);
  if (!(c.rmsEps > 0)) throw new Error(`model config: rmsEps must be positive, got ${c.rmsEps}`);
  return c;
}

/** Head dimension. */
export const headDim = (c: ModelConfig) => c.hidden / c.heads;
