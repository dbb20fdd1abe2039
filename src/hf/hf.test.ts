import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { presetConfig } from "../model/config.js";
import { paramCount, tensorSpecs } from "../model/params.js";
import { WorldTokenizer } from "../model/tokenizer.js";
import { Rng } from "../util/rng.js";
import { hfConfig, loadHfModel, saveHfModel } from "./model-io.js";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.js";

const dir = mkdtempSync(join(tmpdir(), "interplay-hf-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const tok = new WorldTokenizer();
const config = { ...presetConfig("tiny", tok.vocabSize), layers: 2 };

function randomFlat(seed: number): Float32Array {
  const rng = new Rng(seed);
  const flat = new Float32Array(paramCount(config));
  for (let i = 0; i < flat.length; i++) flat[i] = rng.next() * 2 - 1;
  return flat;
}

describe("Hugging Face layout", () => {
  it("export → import is bit-exact, with the config and tokenizer", () => {
    const flat = randomFlat(1);
    const out = join(dir, "m1");
    saveHfModel(out, config, flat, tok);
    for (const f of ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"])
      assert.ok(existsSync(join(out, f)));
    const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    assert.deepEqual(cfg.architectures, ["Qwen2ForCausalLM"]);
    assert.equal(cfg.tie_word_embeddings, true);
    assert.equal(
      JSON.parse(readFileSync(join(out, "tokenizer_config.json"), "utf8")).tokenizer_class,
      "PreTrainedTokenizerFast",
    );
    const back = loadHfModel(out);
    assert.deepEqual(back.config, config);
    assert.ok(Buffer.from(back.flat.buffer).equals(Buffer.from(flat.buffer)), "bit-exact weights");
    assert.equal(back.tokenizer.vocabSize, tok.vocabSize);
    assert.equal(
      back.tokenizer.decode(back.tokenizer.encode("<question> The number of")),
      "<question> The number of",
    );
  });

  it("writes the safetensors header per spec: 8-byte length, sorted offsets, no holes, no lm_head", () => {
    const buf = readFileSync(join(dir, "m1", "model.safetensors"));
    const n = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
    assert.deepEqual(header.__metadata__, { format: "pt" });
    const entries = Object.entries(header).filter(([k]) => k !== "__metadata__") as [
      string,
      { data_offsets: number[]; dtype: string },
    ][];
    assert.ok(!entries.some(([k]) => k === "lm_head.weight"));
    let at = 0;
    for (const [, e] of entries.sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0])) {
      assert.equal(e.dtype, "F32");
      assert.equal(e.data_offsets[0], at);
      at = e.data_offsets[1];
    }
    assert.equal(8 + n + at, buf.length);
    assert.equal(entries.length, tensorSpecs(config).length);
  });

  it("loads BF16 weights written by another tool", () => {
    const flat = randomFlat(2);
    const out = join(dir, "bf16");
    saveHfModel(out, config, flat, tok);
    rmSync(join(out, "interplay-manifest.json"), { force: true }); // the other tool writes no manifest of ours
    // Rewrite the weights as BF16 (truncated mantissas), with an lm_head copy as some tools save.
    const specs = tensorSpecs(config);
    const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
    const parts: Buffer[] = [];
    let off = 0;
    const all = [
      ...specs.map((s) => ({
        name: s.name,
        shape: s.shape,
        data: flat.subarray(s.offset, s.offset + s.size),
      })),
    ];
    all.push({ name: "lm_head.weight", shape: specs[0].shape, data: flat.subarray(0, specs[0].size) });
    for (const t of all) {
      const b = Buffer.alloc(2 * t.data.length);
      const f = new Float32Array(1);
      const u = new Uint32Array(f.buffer);
      for (let i = 0; i < t.data.length; i++) {
        f[0] = t.data[i];
        b.writeUInt16LE(u[0] >>> 16, 2 * i);
      }
      header[t.name] = { dtype: "BF16", shape: t.shape, data_offsets: [off, off + b.length] };
      off += b.length;
      parts.push(b);
    }
    const hj = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(hj.length));
    writeFileSync(join(out, "model.safetensors"), Buffer.concat([len, hj, ...parts]));
    const back = loadHfModel(out);
    assert.deepEqual(back.dtypes, ["BF16"]);
    for (let i = 0; i < flat.length; i += 997) {
      assert.ok(Math.abs(back.flat[i] - flat[i]) <= Math.abs(flat[i]) * 2 ** -7 + 1e-30, `value ${i}`);
    }
  });

  it("loads a byte-level BPE tokenizer through the tokenizers library", () => {
    const out = join(dir, "bpe");
    mkdirSync(out, { recursive: true });
    const small = { ...config, vocabSize: 5 };
    writeFileSync(join(out, "config.json"), JSON.stringify(hfConfig(small, { eosId: 4, padId: 4 } as never)));
    const specs = tensorSpecs(small);
    const st = encodeSafetensors(
      specs.map((s) => ({ name: s.name, shape: s.shape, data: new Float32Array(s.size) })),
    );
    writeFileSync(join(out, "model.safetensors"), st);
    const bpe = {
      version: "1.0",
      added_tokens: [
        {
          id: 4,
          content: "<|endoftext|>",
          single_word: false,
          lstrip: false,
          rstrip: false,
          normalized: false,
          special: true,
        },
      ],
      normalizer: null,
      pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: null,
      decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: "BPE",
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        vocab: { a: 0, b: 1, ab: 2, Ġ: 3, "<|endoftext|>": 4 },
        merges: ["a b"],
      },
    };
    writeFileSync(join(out, "tokenizer.json"), JSON.stringify(bpe));
    writeFileSync(
      join(out, "tokenizer_config.json"),
      JSON.stringify({ tokenizer_class: "Qwen2Tokenizer", eos_token: "<|endoftext|>" }),
    );
    const m = loadHfModel(out);
    assert.deepEqual(m.tokenizer.encode("ab a"), [2, 3, 0]);
    assert.equal(m.tokenizer.decode([2, 3, 0]), "ab a");
    assert.equal(m.tokenizer.eosId, 4);
  });

  it("answers corrupt, truncated and mismatched files with clear errors and never overwrites", () => {
    const good = readFileSync(join(dir, "m1", "model.safetensors"));
    assert.throws(() => decodeSafetensors(good.subarray(0, 4)), /too short/);
    assert.throws(() => decodeSafetensors(good.subarray(0, good.length - 10)), /truncated/);
    const badLen = Buffer.from(good);
    badLen.writeBigUInt64LE(10n ** 12n);
    assert.throws(() => decodeSafetensors(badLen), /header length .* exceeds the file/);
    const badJson = Buffer.from(good);
    badJson[9] = 0x7b;
    badJson[10] = 0x7b;
    assert.throws(() => decodeSafetensors(badJson), /header is not valid JSON/);
    assert.throws(() => decodeSafetensors(Buffer.concat([good, Buffer.alloc(4)])), /trailing bytes/);
    // A folder whose config disagrees with the weights (another tool's: no manifest to catch the edit).
    const out = join(dir, "mismatch");
    saveHfModel(out, config, randomFlat(3), tok);
    rmSync(join(out, "interplay-manifest.json"), { force: true });
    const cfgPath = join(out, "config.json");
    const cfg = JSON.parse(readFileSync(cfgPath, "utf8"));
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, intermediate_size: 99 }));
    assert.throws(() => loadHfModel(out), /has shape \[.*\], config\.json implies/);
    writeFileSync(
      cfgPath,
      JSON.stringify({ ...cfg, model_type: "llama", architectures: ["LlamaForCausalLM"] }),
    );
    assert.throws(() => loadHfModel(out), /not a Qwen2 model/);
    assert.throws(() => loadHfModel(join(dir, "nope")), /does not exist/);
    // Refuses to replace a non-empty folder.
    const before = readFileSync(join(dir, "m1", "model.safetensors"));
    assert.throws(() => saveHfModel(join(dir, "m1"), config, randomFlat(4), tok), /exists and is not empty/);
    assert.ok(readFileSync(join(dir, "m1", "model.safetensors")).equals(before));
  });
});
