import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { presetConfig } from "../model/config.js";
import { paramCount } from "../model/params.js";
import { WorldTokenizer } from "../model/tokenizer.js";
import { Rng } from "../util/rng.js";
import { loadHfModel, saveHfModel } from "./model-io.js";

const dir = mkdtempSync(join(tmpdir(), "interplay-hf-manifest-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const tok = new WorldTokenizer();
const config = { ...presetConfig("micro", tok.vocabSize) };
const MANIFEST = "interplay-manifest.json";
const FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"];
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function randomFlat(seed: number): Float32Array {
  const rng = new Rng(seed);
  const flat = new Float32Array(paramCount(config));
  for (let i = 0; i < flat.length; i++) flat[i] = rng.next() * 2 - 1;
  return flat;
}

const good = join(dir, "good");
saveHfModel(good, config, randomFlat(1), tok);
const other = join(dir, "other");
saveHfModel(other, config, randomFlat(2), tok);
let n = 0;
const copy = () => {
  const to = join(dir, `case-${n++}`);
  cpSync(good, to, { recursive: true });
  return to;
};

describe("exported Hugging Face folders", () => {
  it("carry interplay-manifest.json with the size and SHA-256 of every file written", () => {
    const m = JSON.parse(readFileSync(join(good, MANIFEST), "utf8"));
    assert.deepEqual(Object.keys(m.files).sort(), FILES);
    for (const f of FILES) {
      const b = readFileSync(join(good, f));
      assert.deepEqual(m.files[f], { bytes: b.length, sha256: sha(b) }, f);
    }
    const warnings: string[] = [];
    loadHfModel(good, { warn: (w) => warnings.push(w) });
    assert.deepEqual(warnings, [], "a verified folder loads quietly");
  });

  const flip = (f: string) => {
    const b = readFileSync(f);
    const start = 8 + Number(b.readBigUInt64LE(0));
    for (let i = 0; i < 4096; i++) b[start + 4 * i + 3] ^= 0x80;
    writeFileSync(f, b);
  };
  const cases: [string, (d: string) => void, RegExp][] = [
    [
      "sign bits of 4,096 weights",
      (d) => flip(join(d, "model.safetensors")),
      /model\.safetensors fails its checksum: sha256 [0-9a-f]{64}, its manifest records [0-9a-f]{64}/,
    ],
    [
      "1 KiB XOR 0xFF",
      (d) => {
        const b = readFileSync(join(d, "model.safetensors"));
        for (let i = 0; i < 1024; i++) b[4096 + i] ^= 0xff;
        writeFileSync(join(d, "model.safetensors"), b);
      },
      /model\.safetensors fails its checksum/,
    ],
    [
      "a truncated file",
      (d) =>
        writeFileSync(
          join(d, "model.safetensors"),
          readFileSync(join(d, "model.safetensors")).subarray(0, 5000),
        ),
      /model\.safetensors is truncated: 5000 bytes, its manifest records \d+/,
    ],
    [
      "a missing tokenizer.json",
      (d) => rmSync(join(d, "tokenizer.json")),
      /tokenizer\.json is missing \(its manifest lists it\)/,
    ],
    [
      "weights of another export",
      (d) => cpSync(join(other, "model.safetensors"), join(d, "model.safetensors")),
      /model\.safetensors fails its checksum/,
    ],
    [
      "an edited config.json",
      (d) =>
        writeFileSync(
          join(d, "config.json"),
          readFileSync(join(d, "config.json"), "utf8").replace('"rope_theta": 10000', '"rope_theta": 10001'),
        ),
      /config\.json fails its checksum/,
    ],
    [
      "an edited tokenizer_config.json",
      (d) =>
        writeFileSync(
          join(d, "tokenizer_config.json"),
          readFileSync(join(d, "tokenizer_config.json"), "utf8").replace("<eos>", "<pad>"),
        ),
      /tokenizer_config\.json fails its checksum/,
    ],
    [
      "an unparseable manifest",
      (d) => writeFileSync(join(d, MANIFEST), "{"),
      /interplay-manifest\.json is corrupt \(invalid JSON/,
    ],
    [
      "a manifest whose sizes were edited",
      (d) => {
        const m = JSON.parse(readFileSync(join(d, MANIFEST), "utf8"));
        m.files["model.safetensors"].bytes = 5000;
        writeFileSync(join(d, MANIFEST), JSON.stringify(m));
      },
      /interplay-manifest\.json is corrupt: its own checksum does not match/,
    ],
  ];
  for (const [what, damage, why] of cases)
    it(`refuse ${what}, naming the file`, () => {
      const d = copy();
      damage(d);
      assert.throws(
        () => loadHfModel(d),
        (e: Error) => {
          assert.match(e.message, why);
          assert.match(e.message, /^refusing to load /);
          return true;
        },
      );
    });

  it("without the manifest (another tool's folder, or an old export) still load; ours say they are unverified", () => {
    const d = copy();
    rmSync(join(d, MANIFEST));
    const warnings: string[] = [];
    const m = loadHfModel(d, { warn: (w) => warnings.push(w) });
    assert.equal(m.config.hidden, config.hidden);
    assert.match(warnings.join("\n"), /has no interplay-manifest\.json .*its files are not verified/);
  });

  it("ignore files other tools add", () => {
    const d = copy();
    writeFileSync(join(d, "README.md"), "# a model\n");
    writeFileSync(join(d, "generation_config.json"), "{}");
    const warnings: string[] = [];
    loadHfModel(d, { warn: (w) => warnings.push(w) });
    assert.deepEqual(warnings, []);
  });
});
