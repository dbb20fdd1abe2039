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
import { describeName } from "../util/lookup.js";
import { decodeSafetensors, encodeSafetensors, type Tensor } from "./safetensors.js";

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

/**
 * Qwen2Config's defaults for the fields config.json may leave out, as transformers reads them:
 * huggingface/transformers src/transformers/models/qwen2/configuration_qwen2.py (read at commit
 * 008e5743; the dataclass fields of Qwen2Config: `num_key_value_heads: int | None = 32`,
 * `tie_word_embeddings: bool = False`, …; `__post_init__` turns a null num_key_value_heads into
 * num_attention_heads; older releases had the same defaults as `__init__` arguments), and the RoPE
 * default theta of src/transformers/modeling_rope_utils.py (RotaryEmbeddingConfigMixin.default_theta
 * = 10000; older releases: Qwen2Config(rope_theta=10000.0)). Not this lab's own defaults.
 */
export const QWEN2_DEFAULTS = {
  vocab_size: 151936,
  hidden_size: 4096,
  intermediate_size: 22016,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 32,
  hidden_act: "silu",
  max_position_embeddings: 32768,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: false,
  use_sliding_window: false,
  sliding_window: 4096,
  max_window_layers: 28,
} as const;

/** config.json as transformers reads it, for this engine. */
export interface HfConfigRead {
  config: ModelConfig;
  /** tie_word_embeddings as transformers reads it (absent: false, Qwen2Config's default). */
  tied: boolean;
  /** Whether config.json states tie_word_embeddings at all. */
  tiedGiven: boolean;
  /** Fields config.json leaves out, taken from Qwen2Config's defaults (named in shape errors). */
  defaulted: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Reads config.json with transformers' Qwen2Config semantics: a missing field takes Qwen2Config's
 * default (QWEN2_DEFAULTS), not this lab's; what this engine does not implement (another RoPE type,
 * partial rotary, a head_dim other than hidden/heads, sliding-window layers whose window is shorter
 * than the context, an activation other than SiLU) is refused naming the field. Errors name the file.
 */
export function readHfConfig(j: Record<string, unknown>, where = "config.json"): HfConfigRead {
  const arch = j.architectures as string[] | undefined;
  if (j.model_type !== "qwen2" && !(Array.isArray(arch) && arch.includes("Qwen2ForCausalLM"))) {
    throw new Error(`${where}: not a Qwen2 model (model_type ${JSON.stringify(j.model_type)})`);
  }
  const defaulted: string[] = [];
  const has = (k: string) => Object.hasOwn(j, k);
  const num = (k: keyof typeof QWEN2_DEFAULTS) => {
    if (!has(k)) {
      defaulted.push(k);
      return QWEN2_DEFAULTS[k] as number;
    }
    const v = j[k];
    if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`${where}: "${k}" must be a number`);
    return v;
  };
  const bool = (k: "tie_word_embeddings" | "use_sliding_window") => {
    if (!has(k)) return QWEN2_DEFAULTS[k];
    if (typeof j[k] !== "boolean") throw new Error(`${where}: "${k}" must be true or false`);
    return j[k] as boolean;
  };
  if (has("hidden_act") && j.hidden_act !== "silu")
    throw new Error(`${where}: hidden_act ${JSON.stringify(j.hidden_act)} is not supported (silu)`);
  const hidden = num("hidden_size");
  const heads = num("num_attention_heads");
  // Qwen2Config: absent → 32 (the field's default); an explicit null → num_attention_heads.
  const kvHeads =
    has("num_key_value_heads") && j.num_key_value_heads === null ? heads : num("num_key_value_heads");
  const layers = num("num_hidden_layers");
  const context = num("max_position_embeddings");
  // modeling_qwen2.Qwen2Attention: head_dim = getattr(config, "head_dim", hidden_size // num_attention_heads).
  if (has("head_dim") && j.head_dim !== null && j.head_dim !== hidden / heads)
    throw new Error(
      `${where}: head_dim ${JSON.stringify(j.head_dim)} differs from hidden_size / num_attention_heads (${hidden / heads}): not supported`,
    );
  const ropeTheta = readRope(j, where);
  // Sliding-window layers (Qwen2Config.__post_init__): a window only with use_sliding_window; by
  // default the layers from max_window_layers on slide. A window no shorter than the context is
  // full attention for every sequence this engine runs.
  const window = bool("use_sliding_window")
    ? has("sliding_window")
      ? j.sliding_window
      : QWEN2_DEFAULTS.sliding_window
    : null;
  if (window !== null && (typeof window !== "number" || !(window > 0)))
    throw new Error(`${where}: "sliding_window" must be a positive number or null`);
  const maxWindow = has("max_window_layers") ? j.max_window_layers : QWEN2_DEFAULTS.max_window_layers;
  const types =
    j.layer_types ??
    Array.from({ length: layers }, (_, i) =>
      window !== null && i >= (maxWindow as number) ? "sliding_attention" : "full_attention",
    );
  if (!Array.isArray(types)) throw new Error(`${where}: "layer_types" must be a list`);
  types.forEach((t, i) => {
    if (t !== "full_attention" && t !== "sliding_attention")
      throw new Error(`${where}: layer_types[${i}] ${JSON.stringify(t)} is not supported (full_attention)`);
    if (t === "sliding_attention" && window !== null && (window as number) < context)
      throw new Error(
        `${where}: layer ${i} uses sliding-window attention (sliding_window ${window} < max_position_embeddings ${context}), which this engine does not implement`,
      );
  });
  const tiedGiven = has("tie_word_embeddings");
  const tied = bool("tie_word_embeddings");
  let config: ModelConfig;
  try {
    config = checkConfig({
      vocabSize: num("vocab_size"),
      hidden,
      layers,
      heads,
      kvHeads,
      mlp: num("intermediate_size"),
      context,
      ropeTheta,
      rmsEps: num("rms_norm_eps"),
    });
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}${defaultsNote(defaulted)}`);
  }
  return { config, tied, tiedGiven, defaulted };
}

/** " (config.json leaves out …: read with Qwen2Config's defaults …)" when fields were defaulted. */
function defaultsNote(defaulted: string[]): string {
  if (defaulted.length === 0) return "";
  const list = defaulted.map((k) => `${k} = ${QWEN2_DEFAULTS[k as keyof typeof QWEN2_DEFAULTS]}`).join(", ");
  return ` (config.json leaves these out, so transformers' Qwen2Config defaults apply: ${list})`;
}

/**
 * RoPE theta as transformers reads it (modeling_rope_utils.py, RotaryEmbeddingConfigMixin.
 * convert_rope_params_to_dict / standardize_rope_params): the parameters are `rope_scaling` (older
 * configs) or else `rope_parameters` (newer ones), possibly one dict per layer type; their
 * `rope_theta` comes first, then a top-level `rope_theta`, then 10000. The type is `rope_type`
 * (older: `type`), "default" when absent; any other type (linear, dynamic, yarn, llama3, mrope, …)
 * and a partial rotary factor are refused.
 */
function readRope(j: Record<string, unknown>, where: string): number {
  for (const k of ["rope_scaling", "rope_parameters"])
    if (Object.hasOwn(j, k) && j[k] !== null && !isObject(j[k]))
      throw new Error(`${where}: "${k}" must be an object or null`);
  const scaling = j.rope_scaling as Record<string, unknown> | null | undefined;
  let p: Record<string, unknown> =
    (scaling && Object.keys(scaling).length > 0 ? scaling : (j.rope_parameters as Record<string, unknown>)) ??
    {};
  const keys = Object.keys(p);
  if (keys.length > 0 && keys.every((k) => k === "full_attention" || k === "sliding_attention")) {
    const per = keys.map((k) => p[k]);
    if (!per.every(isObject) || per.some((x) => JSON.stringify(x) !== JSON.stringify(per[0])))
      throw new Error(`${where}: RoPE parameters that differ between layer types are not supported`);
    p = per[0] as Record<string, unknown>;
  }
  const type = p.rope_type ?? p.type ?? "default";
  if (type !== "default")
    throw new Error(
      `${where}: RoPE type ${JSON.stringify(type)} (rope_scaling / rope_parameters) is not supported: this engine implements the default RoPE only`,
    );
  const prf = p.partial_rotary_factor ?? j.partial_rotary_factor;
  if (prf !== undefined && prf !== null && prf !== 1)
    throw new Error(`${where}: partial_rotary_factor ${JSON.stringify(prf)} is not supported (1)`);
  const theta = p.rope_theta ?? j.rope_theta ?? QWEN2_DEFAULTS.rope_theta;
  if (typeof theta !== "number" || !Number.isFinite(theta))
    throw new Error(`${where}: "rope_theta" must be a number`);
  return theta;
}

/** Reads a ModelConfig from config.json (transformers' Qwen2Config semantics, see readHfConfig); errors name the field. */
export function configFromHf(j: Record<string, unknown>, where = "config.json"): ModelConfig {
  return readHfConfig(j, where).config;
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

/**
 * A tokenizer.json of another tool (e.g. byte-level BPE), read by the Hugging Face tokenizers
 * library. `fallbackEos` (from generation_config.json or config.json) names the end-of-sequence id
 * when tokenizer_config.json names no eos_token.
 */
export class HfTextTokenizer implements TextTokenizer {
  private readonly tok: Tokenizer;
  private readonly vocab: Map<string, number>;
  readonly eosId: number;
  readonly padId: number;
  readonly vocabSize: number;

  constructor(json: Record<string, unknown>, cfg: Record<string, unknown>, fallbackEos?: number) {
    this.tok = new Tokenizer(json as never, cfg as never);
    const model = json.model as { vocab?: Record<string, number> | [string, number][] } | undefined;
    // BPE, WordPiece and WordLevel vocabularies map token → id; a Unigram one lists [piece, score] by id.
    const vocab = model?.vocab ?? {};
    this.vocab = new Map(
      Array.isArray(vocab)
        ? vocab.map(([piece], i) => [piece, i] as [string, number])
        : Object.entries(vocab),
    );
    for (const a of (json.added_tokens as { id: number; content: string }[] | undefined) ?? [])
      this.vocab.set(a.content, a.id);
    this.vocabSize = Math.max(-1, ...this.vocab.values()) + 1;
    const tokenName = (x: unknown) =>
      typeof x === "string" ? x : (x as { content?: string } | null)?.content;
    const eos = tokenName(cfg.eos_token);
    const pad = tokenName(cfg.pad_token) ?? eos;
    this.eosId = eos !== undefined ? (this.vocab.get(eos) ?? -1) : (fallbackEos ?? -1);
    this.padId = pad !== undefined ? (this.vocab.get(pad) ?? this.eosId) : this.eosId;
  }
  encode(text: string): number[] {
    const { ids, tokens } = this.tok.encode(text, { add_special_tokens: false } as never) as unknown as {
      ids: (number | undefined)[];
      tokens: string[];
    };
    const bad = ids.findIndex((i) => !Number.isInteger(i));
    if (bad >= 0)
      throw new Error(
        `cannot tokenize ${JSON.stringify(tokens[bad])}: not in tokenizer.json's vocabulary, which has no unk_token`,
      );
    return ids as number[];
  }
  decode(ids: ArrayLike<number>): string {
    if (ids.length === 0) return "";
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
  /** The weight files read (model.safetensors, or the shards of model.safetensors.index.json); absent for run folders. */
  weightFiles?: string[];
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
  const { config, tied, tiedGiven, defaulted } = readHfConfig(json("config.json"), join(dir, "config.json"));
  const { tensors, files, where } = readWeights(dir, manifest !== null, read);
  const specs = tensorSpecs(config);
  const flat = new Float32Array(specs[specs.length - 1].offset + specs[specs.length - 1].size);
  const known = new Set(specs.map((s) => s.name));
  for (const [name, t] of tensors) {
    if (known.has(name) || name === "lm_head.weight" || name.endsWith("rotary_emb.inv_freq")) continue;
    throw new Error(`${t.file}: unexpected tensor ${name} (shape [${t.shape}])`);
  }
  for (const s of specs) {
    const t = tensors.get(s.name);
    if (!t) throw new Error(`${where}: tensor ${s.name} is missing`);
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new Error(
        `${t.file}: ${s.name} has shape [${t.shape}], config.json implies [${s.shape}]${defaultsNote(defaulted)}`,
      );
    }
    flat.set(t.data, s.offset);
  }
  checkHead(dir, where, tensors, specs[0].shape, tied, tiedGiven, warn);
  const tokJson = json("tokenizer.json");
  const tokCfgBytes = read("tokenizer_config.json", true);
  const tokCfg = tokCfgBytes
    ? parseJson(join(dir, "tokenizer_config.json"), tokCfgBytes.toString("utf8"))
    : {};
  const interplay = tokCfg.interplay as { kind?: string } | undefined;
  const world = interplay?.kind === "world";
  let tokenizer: TextTokenizer;
  try {
    tokenizer = world
      ? WorldTokenizer.fromHuggingFace(tokJson)
      : new HfTextTokenizer(tokJson, tokCfg, fallbackEos(dir, warn));
  } catch (e) {
    const model = (tokJson.model as { type?: unknown } | undefined)?.type;
    throw new Error(
      `${join(dir, "tokenizer.json")}: ${world ? "not the world tokenizer its tokenizer_config.json claims" : `a ${JSON.stringify(model ?? "untyped")} tokenizer that @huggingface/tokenizers cannot read`} (${(e as Error).message.replace(/^tokenizer\.json: /, "")})`,
    );
  }
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new Error(
      `${dir}: tokenizer has ${tokenizer.vocabSize} tokens, more than the model's vocab_size ${config.vocabSize}`,
    );
  }
  const dtypes = [...new Set([...tensors.values()].map((t) => t.dtype))];
  return { config, flat, tokenizer, dtypes, weightFiles: files };
}

/** The sharded layout's index (transformers' SAFE_WEIGHTS_INDEX_NAME). */
export const HF_WEIGHTS_INDEX = "model.safetensors.index.json";

type StoredTensor = Tensor & { dtype: string; file: string };

/**
 * Reads the weights: model.safetensors, or else the shards model.safetensors.index.json lists
 * (`{"metadata": {...}, "weight_map": {tensor: shard file}}`, as save_pretrained writes above its
 * shard size). Every shard must exist, hold exactly the tensors the index maps to it, and no tensor
 * may appear twice. A folder with a manifest of ours is never sharded.
 */
function readWeights(
  dir: string,
  ours: boolean,
  read: (file: string) => Buffer | null,
): { tensors: Map<string, StoredTensor>; files: string[]; where: string } {
  const tensors = new Map<string, StoredTensor>();
  const single = join(dir, "model.safetensors");
  const indexPath = join(dir, HF_WEIGHTS_INDEX);
  if (ours || existsSync(single) || !existsSync(indexPath)) {
    if (!ours && !existsSync(single))
      throw new Error(`${dir} has no weights: neither model.safetensors nor ${HF_WEIGHTS_INDEX}`);
    for (const [name, t] of decodeSafetensors(read("model.safetensors") as Buffer, single).tensors)
      tensors.set(name, { ...t, file: single });
    return { tensors, files: ["model.safetensors"], where: single };
  }
  const index = parseJson(indexPath, (read(HF_WEIGHTS_INDEX) as Buffer).toString("utf8"));
  const map = index.weight_map;
  if (!isObject(map) || Object.keys(map).length === 0)
    throw new Error(`${indexPath}: "weight_map" must be a non-empty object of tensor name → shard file`);
  const byFile = new Map<string, string[]>();
  for (const [name, file] of Object.entries(map)) {
    if (typeof file !== "string" || file === "" || file === "." || file === ".." || /[/\\]/.test(file))
      throw new Error(
        `${indexPath}: tensor ${name} maps to ${describeName(file)}, not a file name in the folder`,
      );
    byFile.set(file, [...(byFile.get(file) ?? []), name]);
  }
  const files = [...byFile.keys()].sort();
  for (const file of files) {
    const path = join(dir, file);
    const names = byFile.get(file) as string[];
    if (!existsSync(path))
      throw new Error(
        `${path} is missing: ${HF_WEIGHTS_INDEX} maps ${names.length} tensor(s) to it (e.g. ${names[0]})`,
      );
    const shard = decodeSafetensors(read(file) as Buffer, path).tensors;
    for (const name of names)
      if (!shard.has(name)) throw new Error(`${indexPath} maps ${name} to ${file}, which does not hold it`);
    for (const [name, t] of shard) {
      if (!Object.hasOwn(map, name))
        throw new Error(`${path} holds ${name}, which ${HF_WEIGHTS_INDEX} does not list`);
      if (map[name] !== file)
        throw new Error(`${path} holds ${name}, which ${HF_WEIGHTS_INDEX} maps to ${map[name]}`);
      tensors.set(name, { ...t, file: path });
    }
  }
  return { tensors, files, where: `${dir} (shards of ${HF_WEIGHTS_INDEX})` };
}

/**
 * The output head, read as transformers reads it. Tied (tie_word_embeddings true): the head is the
 * embedding, and a stored lm_head.weight is ignored (PreTrainedModel.tie_weights; a differing one is
 * warned about). Untied (false, which is also Qwen2Config's default when the key is absent): the
 * engine has only a tied head, so lm_head.weight must be stored and equal the embedding; without it
 * transformers would initialise a random head, so the folder is refused.
 */
function checkHead(
  dir: string,
  where: string,
  tensors: Map<string, StoredTensor>,
  embedShape: number[],
  tied: boolean,
  tiedGiven: boolean,
  warn: (msg: string) => void,
): void {
  const head = tensors.get("lm_head.weight");
  const embed = tensors.get("model.embed_tokens.weight") as StoredTensor;
  if (head && (head.shape.length !== 2 || head.shape[0] !== embedShape[0] || head.shape[1] !== embedShape[1]))
    throw new Error(
      `${head.file}: lm_head.weight has shape [${head.shape}], config.json implies [${embedShape}]`,
    );
  const same = head?.data.every((v, i) => v === embed.data[i]) ?? false;
  const setting = tiedGiven
    ? `config.json sets "tie_word_embeddings": false`
    : `config.json has no "tie_word_embeddings", which transformers reads as false (Qwen2Config's default: an untied output head)`;
  if (tied) {
    if (head && !same)
      warn(
        `warning: ${dir}: lm_head.weight differs from the embedding, but tie_word_embeddings is true: like transformers, the embedding is used as the output head`,
      );
  } else if (!head) {
    throw new Error(
      `${dir}: ${setting}, and ${where} holds no lm_head.weight: transformers would initialise the output head at random. If the head is the embedding, add "tie_word_embeddings": true to config.json`,
    );
  } else if (!same) {
    throw new Error(
      `${dir}: untied output heads (lm_head.weight differing from the embedding; ${setting}) are not supported`,
    );
  }
}

/**
 * The end-of-sequence id of generation_config.json (eos_token_id, the first of a list), else of
 * config.json; for tokenizers whose tokenizer_config.json names none. A generation_config.json that
 * cannot be read is warned about and ignored: it holds decoding defaults, not the model.
 */
function fallbackEos(dir: string, warn: (msg: string) => void): number | undefined {
  const first = (v: unknown) => (Array.isArray(v) ? v[0] : v);
  const ok = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
  for (const file of ["generation_config.json", "config.json"]) {
    const p = join(dir, file);
    if (!existsSync(p)) continue;
    try {
      const v = first(JSON.parse(readFileSync(p, "utf8")).eos_token_id);
      if (ok(v)) return v;
    } catch (e) {
      warn(`warning: ${p} cannot be read (${(e as Error).message}); ignored`);
    }
  }
  return undefined;
}
