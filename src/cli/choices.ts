/**
 * The names of enumerated options whose owning module exports a type but no list of names. Each list
 * is built from a table typed by that union, so a name added to (or removed from) the type fails to
 * compile here until the list follows. Lists the owners do export (backends, rewards, contexts,
 * modes, estimators, data formats, presets, scales) are imported from them, never copied.
 */
import type { Compression, CorpusKind } from "../interop/corpus.js";
import type { TrlPromptStyle } from "../interop/rows.js";
import type { KVPrecision, ProductPrecision } from "../model/decode.js";
import type { RlConfig } from "../rl/trainer.js";
import type { Packing } from "../train/data.js";

/** The keys of a table that has exactly one entry per member of `T`, in the table's order. */
function namesOf<T extends string>(table: Record<T, true>): readonly T[] {
  return Object.keys(table) as T[];
}

/** Packings of pre-/mid-training batches (src/train/data.ts). */
export const PACKINGS = namesOf<Packing>({ aligned: true, fit: true, stream: true });

/** Key/value cache precisions (src/model/decode.ts). */
export const KV_PRECISIONS = namesOf<KVPrecision>({ f32: true, f16: true });

/** Matrix-product precisions of decoding (src/model/decode.ts). */
export const PRODUCT_PRECISIONS = namesOf<ProductPrecision>({ f32: true, bf16: true });

/** Advantage estimators of GRPO (src/rl/trainer.ts). */
export const ADVANTAGES = namesOf<RlConfig["advantage"]>({ grpo: true, drgrpo: true });

/** Prompt styles of TRL rows (src/interop/rows.ts). */
export const TRL_PROMPT_STYLES = namesOf<TrlPromptStyle>({ text: true, chat: true });

/** Kinds of pre-training corpora (src/interop/corpus.ts). */
export const CORPUS_KINDS = namesOf<CorpusKind>({ text: true, tokens: true });

/** Shard compressions of pre-training corpora (src/interop/corpus.ts). */
export const COMPRESSIONS = namesOf<Compression>({ gzip: true, none: true });
