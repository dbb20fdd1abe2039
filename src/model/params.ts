/**
 * Parameters as named views into one flat buffer (llm.c style), laid out so fused products need no
 * copies: per layer q/k/v weights are contiguous ([q; k; v] rows) and gate/up are contiguous.
 * Names and shapes follow the Hugging Face Qwen2 layout (interop.md), linear weights [out, in].
 */
import { headDim, type ModelConfig } from "./config.js";

/** One named tensor inside the flat buffer. */
export interface TensorSpec {
  name: string;
  shape: number[];
  offset: number;
  size: number;
  /** Weight decay applies (matrices and embeddings; not norms and biases). */
  decay: boolean;
}

/** Per-layer views used by the forward and backward passes. */
export interface LayerViews<T> {
  inNorm: T;
  /** [(H + 2·Hkv)·hd, C]: q_proj, k_proj, v_proj stacked. */
  wqkv: T;
  bqkv: T;
  /** [C, H·hd] */
  wo: T;
  postNorm: T;
  /** [2F, C]: gate_proj then up_proj. */
  wgu: T;
  /** [C, F] */
  wdown: T;
}

/** The model's tensors: names in HF order and their place in the flat buffer. */
export function tensorSpecs(c: ModelConfig): TensorSpec[] {
  const hd = headDim(c);
  const C = c.hidden;
  const q = c.heads * hd;
  const kv = c.kvHeads * hd;
  const F = c.mlp;
  const out: TensorSpec[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], decay: boolean) => {
    const size = shape.reduce((a, b) => a * b, 1);
    out.push({ name, shape, offset, size, decay });
    offset += size;
  };
  add("model.embed_tokens.weight", [c.vocabSize, C], true);
  for (let i = 0; i < c.layers; i++) {
    const p = `model.layers.${i}.`;
    add(`${p}input_layernorm.weight`, [C], false);
    add(`${p}self_attn.q_proj.weight`, [q, C], true);
    add(`${p}self_attn.k_proj.weight`, [kv, C], true);
    add(`${p}self_attn.v_proj.weight`, [kv, C], true);
    add(`${p}self_attn.q_proj.bias`, [q], false);
    add(`${p}self_attn.k_proj.bias`, [kv], false);
    add(`${p}self_attn.v_proj.bias`, [kv], false);
    add(`${p}self_attn.o_proj.weight`, [C, q], true);
    add(`${p}post_attention_layernorm.weight`, [C], false);
    add(`${p}mlp.gate_proj.weight`, [F, C], true);
    add(`${p}mlp.up_proj.weight`, [F, C], true);
    add(`${p}mlp.down_proj.weight`, [C, F], true);
  }
  add("model.norm.weight", [C], false);
  return out;
}

/** Total number of parameters. */
export function paramCount(c: ModelConfig): number {
  return tensorSpecs(c).reduce((s, t) => s + t.size, 0);
}

/** Typed views of a flat buffer (parameters or gradients). */
export class ParamViews<T extends Float32Array = Float32Array> {
  readonly specs: TensorSpec[];
  readonly byName: Map<string, T>;
  readonly embed: T;
  readonly layers: LayerViews<T>[];
  readonly finalNorm: T;

  constructor(
    readonly config: ModelConfig,
    readonly flat: T,
  ) {
    this.specs = tensorSpecs(config);
    const total = this.specs[this.specs.length - 1].offset + this.specs[this.specs.length - 1].size;
    if (flat.length !== total)
      throw new Error(`parameter buffer holds ${flat.length} values, the config needs ${total}`);
    this.byName = new Map(this.specs.map((s) => [s.name, flat.subarray(s.offset, s.offset + s.size) as T]));
    const span = (first: string, last: string) => {
      const a = this.specs.find((s) => s.name === first)!;
      const b = this.specs.find((s) => s.name === last)!;
      return flat.subarray(a.offset, b.offset + b.size) as T;
    };
    this.embed = this.byName.get("model.embed_tokens.weight")!;
    this.finalNorm = this.byName.get("model.norm.weight")!;
    this.layers = [];
    for (let i = 0; i < config.layers; i++) {
      const p = `model.layers.${i}.`;
      this.layers.push({
        inNorm: this.byName.get(`${p}input_layernorm.weight`)!,
        wqkv: span(`${p}self_attn.q_proj.weight`, `${p}self_attn.v_proj.weight`),
        bqkv: span(`${p}self_attn.q_proj.bias`, `${p}self_attn.v_proj.bias`),
        wo: this.byName.get(`${p}self_attn.o_proj.weight`)!,
        postNorm: this.byName.get(`${p}post_attention_layernorm.weight`)!,
        wgu: span(`${p}mlp.gate_proj.weight`, `${p}mlp.up_proj.weight`),
        wdown: this.byName.get(`${p}mlp.down_proj.weight`)!,
      });
    }
  }
}
