/**
 * Loading Hugging Face folders as other tools write them (interop.md, "Loading must also work the
 * other way"): config.json read with transformers' Qwen2Config defaults rather than this lab's,
 * sharded safetensors with model.safetensors.index.json, a stored lm_head beside tied embeddings,
 * bf16/f16 weights, generation_config.json, a byte-level BPE tokenizer of another vocabulary, and
 * clear errors for what cannot load. Every folder is built here, small.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { reference } from "../engine/reference.js";
import { type ModelConfig, presetConfig } from "../model/config.js";
import { Model } from "../model/model.js";
import { paramCount, tensorSpecs } from "../model/params.js";
import { WorldTokenizer } from "../model/tokenizer.js";
import { Rng } from "../util/rng.js";
import { configFromHf, HF_MANIFEST, hfConfig, loadHfModel, readHfConfig, saveHfModel } from "./model-io.js";
import { encodeSafetensors } from "./safetensors.js";

const dir = mkdtempSync(join(tmpdir(), "interplay-hf-ckpt-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const tok = new WorldTokenizer();
const config = presetConfig("micro", tok.vocabSize);
const specs = tensorSpecs(config);
const embedSize = specs[0].size;

function randomFlat(seed: number, c: ModelConfig = config): Float32Array {
  const rng = new Rng(seed);
  const flat = new Float32Array(paramCount(c));
  for (let i = 0; i < flat.length; i++) flat[i] = rng.next() * 2 - 1;
  return flat;
}
const flat = randomFlat(1);
const tensorsOf = (f: Float32Array, c: ModelConfig = config) =>
  tensorSpecs(c).map((s) => ({
    name: s.name,
    shape: s.shape,
    data: f.subarray(s.offset, s.offset + s.size),
  }));

let n = 0;
/** A folder of "another tool": ours without the manifest, config.json edited, weights replaced. */
function folder(
  opts: {
    cfg?: (c: Record<string, unknown>) => Record<string, unknown>;
    weights?: Record<string, Uint8Array>;
    keepSingle?: boolean;
  } = {},
): string {
  const d = join(dir, `f${n++}`);
  saveHfModel(d, config, flat, tok);
  rmSync(join(d, HF_MANIFEST));
  const cp = join(d, "config.json");
  if (opts.cfg) writeFileSync(cp, JSON.stringify(opts.cfg(JSON.parse(readFileSync(cp, "utf8")))));
  if (opts.weights) {
    if (!opts.keepSingle) rmSync(join(d, "model.safetensors"));
    for (const [f, b] of Object.entries(opts.weights)) writeFileSync(join(d, f), b);
  }
  return d;
}
const without =
  (...keys: string[]) =>
  (c: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(c).filter(([k]) => !keys.includes(k)));
const quiet = { warn: () => {} };

/** A safetensors file of raw tensors in any dtype (the lab's writer emits F32 only). */
function rawSafetensors(
  entries: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[],
): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let off = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + e.bytes.length] };
    off += e.bytes.length;
  }
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, ...entries.map((e) => Buffer.from(e.bytes))]);
}

describe("config.json read with transformers' Qwen2Config defaults", () => {
  const full = hfConfig(config, tok);
  it("our own config.json reads back to the config exactly", () => {
    assert.deepEqual(configFromHf(full), config);
    assert.deepEqual(readHfConfig(full).defaulted, []);
    assert.equal(readHfConfig(full).tied, true);
  });

  it("num_key_value_heads: absent means 32 (the field default), null means num_attention_heads", () => {
    assert.equal(configFromHf({ ...full, num_key_value_heads: null }).kvHeads, config.heads);
    const big = { ...full, hidden_size: 64 * 32, num_attention_heads: 32 };
    assert.equal(configFromHf(without("num_key_value_heads")(big)).kvHeads, 32);
    // micro has 2 heads: 32 kv heads cannot divide them, and the error says where the 32 came from.
    assert.throws(
      () => configFromHf(without("num_key_value_heads")(full)),
      /heads \(2\) must be a multiple of kvHeads \(32\).*Qwen2Config defaults apply: num_key_value_heads = 32/,
    );
  });

  it("tie_word_embeddings: absent means untied (Qwen2Config's default False)", () => {
    const r = readHfConfig(without("tie_word_embeddings")(full));
    assert.equal(r.tied, false);
    assert.equal(r.tiedGiven, false);
    assert.equal(readHfConfig({ ...full, tie_word_embeddings: false }).tiedGiven, true);
    assert.throws(() => readHfConfig({ ...full, tie_word_embeddings: "yes" }), /must be true or false/);
  });

  it("other absent fields take Qwen2Config's defaults, and errors say so", () => {
    const c = configFromHf(
      without("rope_theta", "rms_norm_eps", "max_position_embeddings", "hidden_act")(full),
    );
    assert.equal(c.ropeTheta, 10000);
    assert.equal(c.rmsEps, 1e-6);
    assert.equal(c.context, 32768);
    assert.deepEqual(readHfConfig(without("vocab_size")(full)).config.vocabSize, 151936);
    assert.deepEqual(readHfConfig(without("vocab_size", "rope_theta")(full)).defaulted, ["vocab_size"]);
    assert.throws(() => configFromHf({ ...full, hidden_act: "gelu" }), /hidden_act "gelu" is not supported/);
    assert.throws(() => configFromHf({ ...full, hidden_size: "32" }), /"hidden_size" must be a number/);
  });

  it("RoPE: rope_parameters / rope_scaling first, then rope_theta, then 10000; only the default type", () => {
    const theta = (c: Record<string, unknown>) => configFromHf(c).ropeTheta;
    assert.equal(
      theta({ ...full, rope_theta: 5, rope_parameters: { rope_type: "default", rope_theta: 1e6 } }),
      1e6,
    );
    assert.equal(theta({ ...full, rope_theta: 5e5, rope_parameters: { rope_type: "default" } }), 5e5);
    assert.equal(theta({ ...full, rope_theta: 5e5, rope_scaling: { type: "default" } }), 5e5);
    assert.equal(theta({ ...full, rope_theta: 5e5, rope_scaling: null }), 5e5);
    assert.equal(theta({ ...without("rope_theta")(full), rope_parameters: { rope_type: "default" } }), 10000);
    assert.equal(
      theta({ ...full, rope_parameters: { full_attention: { rope_type: "default", rope_theta: 2e6 } } }),
      2e6,
    );
    assert.throws(
      () => configFromHf({ ...full, rope_scaling: { type: "linear", factor: 2 } }),
      /RoPE type "linear" \(rope_scaling \/ rope_parameters\) is not supported/,
    );
    assert.throws(
      () => configFromHf({ ...full, rope_parameters: { rope_type: "yarn", factor: 4, rope_theta: 1e6 } }),
      /RoPE type "yarn"/,
    );
    assert.throws(
      () => configFromHf({ ...full, rope_scaling: { type: "mrope", mrope_section: [1] } }),
      /"mrope"/,
    );
    assert.throws(() => configFromHf({ ...full, partial_rotary_factor: 0.5 }), /partial_rotary_factor 0\.5/);
  });

  it("head_dim and sliding windows: what the engine does not implement is refused, naming the field", () => {
    assert.deepEqual(configFromHf({ ...full, head_dim: 16 }), config);
    assert.throws(() => configFromHf({ ...full, head_dim: 8 }), /head_dim 8 differs from hidden_size/);
    // use_sliding_window with the default max_window_layers 28: none of micro's 2 layers slides.
    assert.deepEqual(configFromHf({ ...full, use_sliding_window: true, sliding_window: 16 }), config);
    assert.throws(
      () => configFromHf({ ...full, use_sliding_window: true, sliding_window: 16, max_window_layers: 1 }),
      /layer 1 uses sliding-window attention \(sliding_window 16 < max_position_embeddings 512\)/,
    );
    // A window as long as the context is full attention; without use_sliding_window there is none.
    assert.deepEqual(
      configFromHf({ ...full, use_sliding_window: true, sliding_window: 512, max_window_layers: 0 }),
      config,
    );
    assert.deepEqual(configFromHf({ ...full, layer_types: ["sliding_attention", "full_attention"] }), config);
    assert.throws(
      () => configFromHf({ ...full, layer_types: ["full_attention", "linear_attention"] }),
      /layer_types\[1\]/,
    );
  });
});

describe("the output head as transformers reads it", () => {
  const withHead = (head: Float32Array) =>
    encodeSafetensors([...tensorsOf(flat), { name: "lm_head.weight", shape: specs[0].shape, data: head }]);
  const embed = flat.subarray(0, embedSize);
  const other = Float32Array.from(embed, (v) => v + 1);

  it("no tie_word_embeddings and no lm_head.weight: refused (transformers would initialise a random head)", () => {
    const d = folder({ cfg: without("tie_word_embeddings") });
    assert.throws(
      () => loadHfModel(d, quiet),
      /config\.json has no "tie_word_embeddings", which transformers reads as false .* holds no lm_head\.weight: transformers would initialise the output head at random.*add "tie_word_embeddings": true/,
    );
    const f = folder({ cfg: (c) => ({ ...c, tie_word_embeddings: false }) });
    assert.throws(() => loadHfModel(f, quiet), /sets "tie_word_embeddings": false.*no lm_head\.weight/);
  });

  it("no tie_word_embeddings, lm_head.weight equal to the embedding: loads as tied", () => {
    const d = folder({
      cfg: without("tie_word_embeddings"),
      weights: { "model.safetensors": withHead(embed) },
    });
    const m = loadHfModel(d, quiet);
    assert.ok(Buffer.from(m.flat.buffer).equals(Buffer.from(flat.buffer)));
  });

  it("an lm_head.weight that differs from the embedding: untied, not supported", () => {
    const d = folder({
      cfg: without("tie_word_embeddings"),
      weights: { "model.safetensors": withHead(other) },
    });
    assert.throws(() => loadHfModel(d, quiet), /untied output heads .* are not supported/);
    const f = folder({
      cfg: (c) => ({ ...c, tie_word_embeddings: false }),
      weights: { "model.safetensors": withHead(other) },
    });
    assert.throws(() => loadHfModel(f, quiet), /untied output heads/);
    const g = folder({
      weights: {
        "model.safetensors": encodeSafetensors([
          ...tensorsOf(flat),
          { name: "lm_head.weight", shape: [7], data: new Float32Array(7) },
        ]),
      },
    });
    assert.throws(() => loadHfModel(g, quiet), /lm_head\.weight has shape \[7\]/);
  });

  it("tied, with an lm_head.weight saved beside the embedding: loads (a differing one is ignored, with a warning)", () => {
    const same = folder({ weights: { "model.safetensors": withHead(embed) } });
    const warnings: string[] = [];
    assert.ok(
      Buffer.from(loadHfModel(same, { warn: (w) => warnings.push(w) }).flat.buffer).equals(
        Buffer.from(flat.buffer),
      ),
    );
    assert.ok(!warnings.some((w) => /lm_head/.test(w)));
    const d = folder({ weights: { "model.safetensors": withHead(other) } });
    const m = loadHfModel(d, { warn: (w) => warnings.push(w) });
    assert.ok(Buffer.from(m.flat.buffer).equals(Buffer.from(flat.buffer)), "the embedding is the head");
    assert.ok(
      warnings.some((w) => /lm_head\.weight differs from the embedding.*the embedding is used/.test(w)),
    );
  });

  it("absent fields shaping the weights: the shape error names Qwen2Config's defaults", () => {
    const d = folder({ cfg: without("hidden_size", "intermediate_size") });
    assert.throws(
      () => loadHfModel(d, quiet),
      /has shape \[.*\], config\.json implies \[.*\] \(config\.json leaves these out, so transformers' Qwen2Config defaults apply: hidden_size = 4096, intermediate_size = 22016\)/,
    );
  });
});

describe("checkpoints as GPU stacks write them", () => {
  const INDEX = "model.safetensors.index.json";
  /** Shards: the tensors split in three, with the index save_pretrained writes. */
  function shards(
    edit?: (files: Record<string, { name: string; shape: number[]; data: Float32Array }[]>) => void,
  ) {
    const all = tensorsOf(flat);
    const files: Record<string, typeof all> = {
      "model-00001-of-00003.safetensors": all.slice(0, 1),
      "model-00002-of-00003.safetensors": all.slice(1, 10),
      "model-00003-of-00003.safetensors": all.slice(10),
    };
    const weight_map: Record<string, string> = {};
    for (const [f, ts] of Object.entries(files)) for (const t of ts) weight_map[t.name] = f;
    edit?.(files);
    const out: Record<string, Uint8Array> = Object.fromEntries(
      Object.entries(files).map(([f, ts]) => [f, encodeSafetensors(ts)]),
    );
    out[INDEX] = Buffer.from(JSON.stringify({ metadata: { total_size: flat.byteLength }, weight_map }));
    return out;
  }

  it("sharded safetensors with model.safetensors.index.json: loads bit-exactly", () => {
    const m = loadHfModel(folder({ weights: shards() }), quiet);
    assert.ok(Buffer.from(m.flat.buffer).equals(Buffer.from(flat.buffer)));
    assert.equal(m.weightFiles?.length, 3);
  });

  it("a broken shard set: clear errors naming the file and the tensor", () => {
    const miss = shards();
    delete (miss as Record<string, unknown>)["model-00002-of-00003.safetensors"];
    assert.throws(
      () => loadHfModel(folder({ weights: miss }), quiet),
      /model-00002-of-00003\.safetensors is missing: model\.safetensors\.index\.json maps 9 tensor\(s\) to it/,
    );
    const moved = shards((f) => {
      f["model-00003-of-00003.safetensors"].push(...f["model-00002-of-00003.safetensors"].splice(0, 1));
    });
    assert.throws(
      () => loadHfModel(folder({ weights: moved }), quiet),
      /index\.json maps model\.layers\.0\.input_layernorm\.weight to model-00002-of-00003\.safetensors, which does not hold it/,
    );
    const extra = shards((f) => {
      f["model-00001-of-00003.safetensors"].push({
        name: "extra.weight",
        shape: [1],
        data: new Float32Array(1),
      });
    });
    assert.throws(
      () => loadHfModel(folder({ weights: extra }), quiet),
      /holds extra\.weight, which .* does not list/,
    );
    const outside = shards();
    const idx = JSON.parse(Buffer.from(outside[INDEX]).toString());
    idx.weight_map["model.norm.weight"] = "../model.safetensors";
    outside[INDEX] = Buffer.from(JSON.stringify(idx));
    assert.throws(() => loadHfModel(folder({ weights: outside }), quiet), /not a file name in the folder/);
    outside[INDEX] = Buffer.from(JSON.stringify({ metadata: {} }));
    assert.throws(
      () => loadHfModel(folder({ weights: outside }), quiet),
      /"weight_map" must be a non-empty object/,
    );
    const none = folder({ weights: {} });
    assert.throws(
      () => loadHfModel(none, quiet),
      /has no weights: neither model\.safetensors nor model\.safetensors\.index\.json/,
    );
  });

  it("model.safetensors beside an index: the single file is read (as transformers prefers it)", () => {
    const d = folder({ weights: { [INDEX]: Buffer.from("{not json") }, keepSingle: true });
    assert.deepEqual(loadHfModel(d, quiet).weightFiles, ["model.safetensors"]);
  });

  it("bf16 and f16 weights load; integer, 8-bit float and f64 dtypes are refused by name", () => {
    const all = tensorsOf(flat);
    const bf16 = rawSafetensors(
      all.map((t) => {
        const b = Buffer.alloc(2 * t.data.length);
        const u = new Uint32Array(Float32Array.from(t.data).buffer);
        for (let i = 0; i < u.length; i++) b.writeUInt16LE(u[i] >>> 16, 2 * i); // truncation: exact in bf16
        return { name: t.name, dtype: "BF16", shape: t.shape, bytes: b };
      }),
    );
    const m = loadHfModel(folder({ weights: { "model.safetensors": bf16 } }), quiet);
    assert.deepEqual(m.dtypes, ["BF16"]);
    for (let i = 0; i < flat.length; i += 101) {
      const u = new Uint32Array(Float32Array.of(flat[i]).buffer)[0] & 0xffff0000;
      assert.equal(m.flat[i], new Float32Array(new Uint32Array([u]).buffer)[0]);
    }
    // f16: values exactly representable (k/256 in [-1, 1)), so the load must be exact.
    const f16 = rawSafetensors(
      all.map((t) => {
        const b = Buffer.alloc(2 * t.data.length);
        for (let i = 0; i < t.data.length; i++)
          b.writeUInt16LE(f16Bits(Math.round(t.data[i] * 256) / 256), 2 * i);
        return { name: t.name, dtype: "F16", shape: t.shape, bytes: b };
      }),
    );
    const h = loadHfModel(folder({ weights: { "model.safetensors": f16 } }), quiet);
    assert.deepEqual(h.dtypes, ["F16"]);
    for (let i = 0; i < flat.length; i += 7) assert.equal(h.flat[i], Math.round(flat[i] * 256) / 256);
    for (const [dtype, re] of [
      [
        "I8",
        /unsupported dtype "I8": this loader reads F32, BF16 and F16 \(integer, 8-bit float or quantized/,
      ],
      ["F8_E4M3", /unsupported dtype "F8_E4M3".*quantized/],
      ["F64", /unsupported dtype "F64": this loader reads F32, BF16 and F16$/],
    ] as const) {
      const bytes = dtype === "F64" ? 8 : 1;
      const st = rawSafetensors([
        { name: "model.embed_tokens.weight", dtype, shape: [2], bytes: new Uint8Array(2 * bytes) },
      ]);
      assert.throws(() => loadHfModel(folder({ weights: { "model.safetensors": st } }), quiet), re);
    }
  });

  it("generation_config.json beside the weights is not an obstacle (and names eos where the tokenizer does not)", () => {
    const d = folder();
    writeFileSync(
      join(d, "generation_config.json"),
      JSON.stringify({ eos_token_id: [1, 0], do_sample: true }),
    );
    assert.equal(loadHfModel(d, quiet).tokenizer.eosId, tok.eosId);
    writeFileSync(join(d, "generation_config.json"), "{broken");
    assert.equal(loadHfModel(d, quiet).tokenizer.eosId, tok.eosId);
  });
});

/** f16 bits of a value exactly representable in f16 (normal or zero). */
function f16Bits(x: number): number {
  if (x === 0) return Object.is(x, -0) ? 0x8000 : 0;
  const s = x < 0 ? 0x8000 : 0;
  const a = Math.abs(x);
  const e = Math.floor(Math.log2(a));
  const m = Math.round((a / 2 ** e - 1) * 1024);
  assert.ok(e >= -14 && e <= 15 && m >= 0 && m < 1024 && (1 + m / 1024) * 2 ** e === a, `f16-exact ${x}`);
  return s | ((e + 15) << 10) | m;
}

describe("tokenizers of another vocabulary", () => {
  /** GPT-2's byte ↔ unicode table of byte-level BPE: printable Latin-1 bytes stand for themselves, the rest for 256 + n. */
  function byteSymbols(): string[] {
    const out: string[] = [];
    let next = 256;
    for (let b = 0; b < 256; b++) {
      const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      out.push(String.fromCodePoint(printable ? b : next++));
    }
    return out;
  }
  const bytes = byteSymbols();
  const vocab: Record<string, number> = Object.fromEntries(bytes.map((s, i) => [s, i]));
  const G = bytes[32]; // the space byte, "Ġ"
  for (const m of [`${G}a`, "pp", `${G}app`, "le"]) vocab[m] = Object.keys(vocab).length;
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const V = Object.keys(vocab).length;
  /** A Qwen2-style tokenizer.json: NFC, the Qwen2 split regex then byte-level, BPE with merges. */
  const qwenStyle = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(V, "<|endoftext|>"), special(V + 1, "<|im_start|>"), special(V + 2, "<|im_end|>")],
    normalizer: { type: "NFC" },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        {
          type: "Split",
          pattern: {
            Regex:
              "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
          },
          behavior: "Isolated",
          invert: false,
        },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [
        [G, "a"],
        ["p", "p"],
        [`${G}a`, "pp"],
        ["l", "e"],
      ],
    },
  };

  function bpeFolder(
    tokJson: object,
    tokCfg: object,
    vocabSize = 300,
    extra?: Record<string, string>,
  ): string {
    const d = join(dir, `bpe${n++}`);
    mkdirSync(d, { recursive: true });
    const c = { ...config, vocabSize };
    writeFileSync(
      join(d, "config.json"),
      JSON.stringify({ ...hfConfig(c, { eosId: V, padId: V } as never) }),
    );
    writeFileSync(join(d, "model.safetensors"), encodeSafetensors(tensorsOf(randomFlat(5, c), c)));
    writeFileSync(join(d, "tokenizer.json"), JSON.stringify(tokJson));
    writeFileSync(join(d, "tokenizer_config.json"), JSON.stringify(tokCfg));
    for (const [f, s] of Object.entries(extra ?? {})) writeFileSync(join(d, f), s);
    return d;
  }

  it("a Qwen2-style byte-level BPE tokenizer.json loads through @huggingface/tokenizers: exact round trips, merges applied", () => {
    const d = bpeFolder(qwenStyle, {
      tokenizer_class: "Qwen2Tokenizer",
      eos_token: "<|endoftext|>",
      pad_token: "<|endoftext|>",
    });
    const m = loadHfModel(d, quiet);
    const t = m.tokenizer;
    assert.equal(t.vocabSize, V + 3);
    assert.equal(t.eosId, V);
    for (const s of ["Zoë's 12 apples\n  and 3 pears!", "naïve café — 🦙 ok", "It'S\tdone.\r\n\n"]) {
      const ids = t.encode(s);
      assert.equal(t.decode(ids), s, JSON.stringify(s));
      assert.ok(ids.every((i) => i >= 0 && i < m.config.vocabSize));
    }
    assert.deepEqual(t.encode(" apple"), [vocab[`${G}app`], vocab.le]);
    assert.deepEqual(t.encode("a<|im_end|>"), [vocab.a, V + 2]);
    // The engine runs on those ids (the model's vocab_size 300 is padded past the tokenizer's, as Qwen's is).
    const model = new Model(reference, m.config, m.flat);
    const ids = t.encode("Zoë's 12 apples");
    model.forward(Int32Array.from(ids), 1, ids.length);
    assert.ok(
      model
        .logits()
        .subarray(0, ids.length * 300)
        .every(Number.isFinite),
    );
  });

  it("eos from generation_config.json (else config.json) when tokenizer_config.json names none; a broken one is ignored", () => {
    const gen = bpeFolder(qwenStyle, {}, 300, {
      "generation_config.json": JSON.stringify({ eos_token_id: [V + 2, V] }),
    });
    assert.equal(loadHfModel(gen, quiet).tokenizer.eosId, V + 2);
    const warnings: string[] = [];
    const broken = bpeFolder(qwenStyle, {}, 300, { "generation_config.json": "{" });
    assert.equal(
      loadHfModel(broken, { warn: (w) => warnings.push(w) }).tokenizer.eosId,
      V,
      "config.json's eos_token_id",
    );
    assert.ok(warnings.some((w) => /generation_config\.json cannot be read .*ignored/.test(w)));
  });

  it("what cannot load is refused naming it: an unknown pre-tokenizer, a vocabulary larger than the model's, text outside a vocabulary", () => {
    const odd = {
      ...qwenStyle,
      pre_tokenizer: { type: "UnicodeScripts" },
    };
    assert.throws(
      () => loadHfModel(bpeFolder(odd, {}), quiet),
      /tokenizer\.json: a "BPE" tokenizer that @huggingface\/tokenizers cannot read \(Unknown PreTokenizer type: UnicodeScripts\)/,
    );
    assert.throws(
      () => loadHfModel(bpeFolder(qwenStyle, {}, 200), quiet),
      /tokenizer has 263 tokens, more than the model's vocab_size 200/,
    );
    // A word-level tokenizer.json of another tool, without an unk_token: unknown words are an error,
    // not silently dropped ids.
    const words = {
      version: "1.0",
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: { type: "WhitespaceSplit" },
      post_processor: null,
      decoder: null,
      model: { type: "WordLevel", vocab: { hello: 0, world: 1 } },
    };
    const t = loadHfModel(bpeFolder(words, {}), quiet).tokenizer;
    assert.deepEqual(t.encode("hello world"), [0, 1]);
    assert.throws(
      () => t.encode("hello there"),
      /cannot tokenize "there": not in tokenizer\.json's vocabulary, which has no unk_token/,
    );
    assert.equal(t.decode([]), "");
  });
});
