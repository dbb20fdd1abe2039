/**
 * Hugging Face layout both ways (interop.md): a folder loadable by transformers as
 * Qwen2ForCausalLM — config.json, model.safetensors, tokenizer.json, tokenizer_config.json — and
 * loading such folders back, including ones written by other tools (BF16 weights, BPE tokenizers).
 * Folders this lab writes also hold interplay-manifest.json (sizes and SHA-256 of the four files,
 * sealed; other tools ignore it), and loading verifies them; a folder without it (another tool's)
 * loads unverified.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { checkConfig, type ModelConfig } from "../model/config.js";
import { tensorSpecs } from "../model/params.js";
import { type TextTokenizer, WorldTokenizer } from "../model/tokenizer.js";
import { writeFileAtomic } from "../util/atomic.js";
import {
  checkTable,
  entryOf,
  type FileTable,
  IntegrityError,
  openSealed,
  readVerified,
  sealJson,
} from "../util/checksum.js";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.js";

/** The manifest of an exported folder (beside config.json). */
export const HF_MANIFEST = "interplay-manifest.json";

/** What interplay-manifest.json holds. */
export interface HfManifest {
  format: "interplay-hf";
  version: 1;
  algorithm: "sha256";
  files: FileTable;
}

/** config.json of a model. */
export function hfConfig(c: ModelConfig, tok: TextTokenizer): Record<string, unknown> {
  return {
    architectures: ["Qwen2ForCausalLM"],
    model_type: "qwen2",
    hidden_size: c.hidden,
    intermediate_size: c.mlp,
    num_hidden_layers: c.layers,
    num_attention_heads: c.heads,
    num_key_value_heads: c.kvHeads,
    hidden_act: "silu",
    max_position_embeddings: c.context,
    rms_norm_eps: c.rmsEps,
    rope_theta: c.ropeTheta,
    tie_word_embeddings: true,
    vocab_size: c.vocabSize,
    bos_token_id: tok.eosId,
    eos_token_id: tok.eosId,
    pad_token_id: tok.padId,
    torch_dtype: "float32",
    use_cache: true,
    use_sliding_window: false,
    attention_dropout: 0,
    initializer_range: 0.02,
  };
}

/** Reads a ModelConfig from config.json; errors name the field. */
export function configFromHf(j: Record<string, unknown>, where = "config.json"): ModelConfig {
  const arch = j.architectures as string[] | undefined;
  if (j.model_type !== "qwen2" && !(Array.isArray(arch) && arch.includes("Qwen2ForCausalLM"))) {
    throw new Error(`${where}: not a Qwen2 model (model_type ${JSON.stringify(j.model_type)})`);
  }
  if (j.hidden_act !== undefined && j.hidden_act !== "silu")
    throw new Error(`${where}: hidden_act ${j.hidden_act} is not supported (silu)`);
  const num = (k: string, dflt?: number) => {
    const v = j[k] ?? dflt;
    if (typeof v !== "number") throw new Error(`${where}: "${k}" must be a number`);
    return v;
  };
  const heads = num("num_attention_heads");
  try {
    return checkConfig({
      vocabSize: num("vocab_size"),
      hidden: num("hidden_size"),
      layers: num("num_hidden_layers"),
      heads,
      kvHeads: num("num_key_value_heads", heads),
      mlp: num("intermediate_size"),
      context: num("max_position_embeddings"),
      ropeTheta: num("rope_theta", 10000),
      rmsEps: num("rms_norm_eps", 1e-6),
    });
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

/** Writes a model folder atomically (a temporary folder renamed into place); refuses to replace a non-empty folder unless `overwrite`. */
export function saveHfModel(
  dir: string,
  config: ModelConfig,
  flat: Float32Array,
  tok: WorldTokenizer,
  opts: { overwrite?: boolean } = {},
): void {
  if (existsSync(dir) && readdirSync(dir).length > 0 && !opts.overwrite) {
    throw new Error(`${dir} exists and is not empty; choose another folder (nothing was written)`);
  }
  if (tok.vocabSize !== config.vocabSize) {
    throw new Error(
      `tokenizer has ${tok.vocabSize} tokens but the model's vocabulary is ${config.vocabSize}`,
    );
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const tensors = tensorSpecs(config).map((s) => ({
    name: s.name,
    shape: s.shape,
    data: flat.subarray(s.offset, s.offset + s.size),
  }));
  const files: FileTable = {};
  const put = (file: string, data: Uint8Array | string) => {
    writeFileAtomic(join(tmp, file), data);
    files[file] = entryOf(data);
  };
  put("model.safetensors", encodeSafetensors(tensors, { format: "pt" }));
  put("config.json", `${JSON.stringify(hfConfig(config, tok), null, 2)}\n`);
  put("tokenizer.json", JSON.stringify(tok.toHuggingFace()));
  put("tokenizer_config.json", `${JSON.stringify(tok.toHuggingFaceConfig(), null, 2)}\n`);
  const manifest: HfManifest = { format: "interplay-hf", version: 1, algorithm: "sha256", files };
  writeFileAtomic(join(tmp, HF_MANIFEST), sealJson(manifest as unknown as Record<string, unknown>));
  mkdirSync(dirname(dir), { recursive: true });
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

/** A tokenizer.json of another tool (e.g. byte-level BPE), read by the Hugging Face tokenizers library. */
export class HfTextTokenizer implements TextTokenizer {
  private readonly tok: Tokenizer;
  private readonly vocab: Map<string, number>;
  readonly eosId: number;
  readonly padId: number;
  readonly vocabSize: number;

  constructor(json: Record<string, unknown>, cfg: Record<string, unknown>) {
    this.tok = new Tokenizer(json as never, cfg as never);
    const model = json.model as { vocab?: Record<string, number> } | undefined;
    this.vocab = new Map(Object.entries(model?.vocab ?? {}));
    for (const a of (json.added_tokens as { id: number; content: string }[] | undefined) ?? [])
      this.vocab.set(a.content, a.id);
    this.vocabSize = Math.max(-1, ...this.vocab.values()) + 1;
    const tokenName = (x: unknown) =>
      typeof x === "string" ? x : (x as { content?: string } | null)?.content;
    const eos = tokenName(cfg.eos_token);
    const pad = tokenName(cfg.pad_token) ?? eos;
    this.eosId = eos !== undefined ? (this.vocab.get(eos) ?? -1) : -1;
    this.padId = pad !== undefined ? (this.vocab.get(pad) ?? this.eosId) : this.eosId;
  }
  encode(text: string): number[] {
    return (this.tok.encode(text, { add_special_tokens: false } as never) as unknown as { ids: number[] })
      .ids;
  }
  decode(ids: ArrayLike<number>): string {
    return this.tok.decode(Array.from(ids), { skip_special_tokens: false } as never);
  }
  id(token: string): number | undefined {
    return this.vocab.get(token);
  }
}

/** A loaded model folder. */
export interface LoadedModel {
  config: ModelConfig;
  flat: Float32Array;
  tokenizer: TextTokenizer;
  /** dtype of the weights as stored (F32, BF16, F16). */
  dtypes: string[];
}

function parseJson(path: string, text: string): Record<string, unknown> {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: invalid JSON (${(e as Error).message})`);
  }
}

/** Reads and checks an exported folder's manifest; null when the folder has none. */
export function readHfManifest(dir: string): HfManifest | null {
  const p = join(dir, HF_MANIFEST);
  if (!existsSync(p)) return null;
  const { record, sealed } = openSealed<HfManifest>(p, readFileSync(p, "utf8"));
  if (!sealed) throw new IntegrityError(p, `${p} is corrupt: it has no checksum of its own`);
  if (record.format !== "interplay-hf" || record.version !== 1 || record.algorithm !== "sha256")
    throw new IntegrityError(p, `${p}: not a version-1 sha256 manifest of a model folder`);
  checkTable(record.files, p);
  return record;
}

/**
 * Loads a Qwen2 folder (ours or another tool's) into a flat parameter buffer in this engine's layout.
 * With interplay-manifest.json every file read is verified first (an IntegrityError names the file
 * and both hashes); a folder of ours that lost its manifest is refused, one written before
 * manifests loads with a warning, another tool's loads as it is.
 */
export function loadHfModel(dir: string, opts: { warn?: (msg: string) => void } = {}): LoadedModel {
  if (!existsSync(dir)) throw new Error(`model folder ${dir} does not exist`);
  try {
    return loadFolder(dir, opts.warn ?? ((m: string) => console.error(m)));
  } catch (e) {
    if (!(e instanceof IntegrityError)) throw e;
    throw new IntegrityError(
      e.file,
      `refusing to load ${dir}: ${e.message} (if another tool rewrote the folder on purpose, delete ${HF_MANIFEST} to load it unverified)`,
    );
  }
}

function loadFolder(dir: string, warn: (msg: string) => void): LoadedModel {
  const manifest = readHfManifest(dir);
  const read = (file: string, optional = false): Buffer | null => {
    const p = join(dir, file);
    const e = manifest?.files[file];
    if (e) return readVerified(p, e);
    if (!existsSync(p)) {
      if (optional) return null;
      throw new Error(`${p} is missing`);
    }
    try {
      return readFileSync(p);
    } catch (err) {
      throw new Error(`cannot read ${p}: ${(err as Error).message}`);
    }
  };
  const json = (file: string) => parseJson(join(dir, file), (read(file) as Buffer).toString("utf8"));
  if (manifest) {
    for (const f of ["config.json", "model.safetensors", "tokenizer.json"])
      if (!manifest.files[f])
        throw new IntegrityError(join(dir, HF_MANIFEST), `${join(dir, HF_MANIFEST)} does not list ${f}`);
  } else {
    // Another tool's folder (or ours re-saved by one, e.g. merged after GPU training, or exported
    // before checksums): nothing to verify against. Ours carry the world tokenizer; say so for those.
    const tc = join(dir, "tokenizer_config.json");
    let kind: string | undefined;
    try {
      kind = existsSync(tc) ? JSON.parse(readFileSync(tc, "utf8")).interplay?.kind : undefined;
    } catch {
      // reported where tokenizer_config.json is read
    }
    if (kind === "world")
      warn(
        `warning: ${dir} has no ${HF_MANIFEST} (exported before checksums, or re-saved by another tool): its files are not verified`,
      );
  }
  const cfgJson = json("config.json");
  const config = configFromHf(cfgJson, join(dir, "config.json"));
  const st = decodeSafetensors(read("model.safetensors") as Buffer, join(dir, "model.safetensors"));
  const specs = tensorSpecs(config);
  const flat = new Float32Array(specs[specs.length - 1].offset + specs[specs.length - 1].size);
  const known = new Set(specs.map((s) => s.name));
  const tied = cfgJson.tie_word_embeddings !== false;
  for (const [name, t] of st.tensors) {
    if (known.has(name)) continue;
    if (name === "lm_head.weight") {
      if (!tied)
        throw new Error(
          `${dir}: untied output heads (lm_head.weight with tie_word_embeddings false) are not supported`,
        );
      continue; // a tied head saved anyway: identical to the embedding
    }
    if (name.endsWith("rotary_emb.inv_freq")) continue;
    throw new Error(`${dir}/model.safetensors: unexpected tensor ${name} (shape [${t.shape}])`);
  }
  for (const s of specs) {
    const t = st.tensors.get(s.name);
    if (!t) throw new Error(`${dir}/model.safetensors: tensor ${s.name} is missing`);
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new Error(
        `${dir}/model.safetensors: ${s.name} has shape [${t.shape}], config.json implies [${s.shape}]`,
      );
    }
    flat.set(t.data, s.offset);
  }
  const tokJson = json("tokenizer.json");
  const tokCfgBytes = read("tokenizer_config.json", true);
  const tokCfg = tokCfgBytes
    ? parseJson(join(dir, "tokenizer_config.json"), tokCfgBytes.toString("utf8"))
    : {};
  const interplay = tokCfg.interplay as { kind?: string } | undefined;
  const tokenizer: TextTokenizer =
    interplay?.kind === "world"
      ? WorldTokenizer.fromHuggingFace(tokJson)
      : new HfTextTokenizer(tokJson, tokCfg);
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new Error(
      `${dir}: tokenizer has ${tokenizer.vocabSize} tokens, more than the model's vocab_size ${config.vocabSize}`,
    );
  }
  return { config, flat, tokenizer, dtypes: [...new Set([...st.tensors.values()].map((t) => t.dtype))] };
}
