import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { reference } from "../engine/reference.js";
import { presetConfig } from "../model/config.js";
import { WorldTokenizer } from "../model/tokenizer.js";
import { readJsonlValues } from "../util/jsonl.js";
import { loadCheckpoint } from "./checkpoint.js";
import { loadAnyModel, loadRunModel } from "./load.js";
import { type StepMetrics, type TrainOptions, train } from "./trainer.js";

const dir = mkdtempSync(join(tmpdir(), "interplay-ckpt-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const opts = (out: string, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  stage: "pretrain",
  out,
  preset: "micro",
  mixture: "rl_op2-3",
  tokens: 12 * 2 * 32,
  seed: 5,
  overrides: { batch: 2, seqLen: 32, evalEvery: 4, evalBatches: 1, ckptEvery: 2, lr: 3e-3 },
  ...extra,
});
const metrics = (run: string): StepMetrics[] => readJsonlValues(join(run, "metrics.jsonl"));
const ck = (run: string, step: number, file = "") =>
  join(run, "checkpoints", `step-${String(step).padStart(7, "0")}`, file);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

// Damage, as in the issue: sign bits of weights, a XOR-ed KiB, a cut, a removal, a swap.
function flipSigns(file: string, n = 4096): void {
  const b = readFileSync(file);
  const start = 8 + Number(b.readBigUInt64LE(0));
  for (let i = 0; i < n; i++) b[start + 4 * i + 3] ^= 0x80;
  writeFileSync(file, b);
}
function xorKiB(file: string): void {
  const b = readFileSync(file);
  const at = b.length >> 1;
  for (let i = 0; i < 1024; i++) b[at + i] ^= 0xff;
  writeFileSync(file, b);
}
const truncate = (file: string) =>
  writeFileSync(file, readFileSync(file).subarray(0, readFileSync(file).length >> 1));

const ref = join(dir, "ref");
const crashed = join(dir, "crashed");
let refMetrics: StepMetrics[] = [];

before(async () => {
  await train(opts(ref), reference);
  refMetrics = metrics(ref);
  // A run that died after step 9: checkpoints step-6 and step-8, metrics up to step 9.
  await assert.rejects(
    train(
      opts(crashed, {
        onStep: (m) => {
          if (m.step === 9) throw new Error("crash");
        },
      }),
      reference,
    ),
    /crash/,
  );
  assert.deepEqual(
    readdirSync(join(crashed, "checkpoints")).filter((d) => d.startsWith("step-")),
    ["step-0000006", "step-0000008"],
  );
});

let n = 0;
/** A fresh copy of the crashed run. */
function copy(): string {
  const to = join(dir, `case-${n++}`);
  cpSync(crashed, to, { recursive: true });
  return to;
}

async function resume(run: string): Promise<string[]> {
  const logs: string[] = [];
  await train(opts(run, { resume: true, log: (m) => logs.push(m) }), reference);
  return logs;
}

/** The resumed run equals the uninterrupted one: every step once, the same losses. */
function sameAsUninterrupted(run: string): void {
  const got = metrics(run);
  assert.deepEqual(
    got.map((m) => m.step),
    refMetrics.map((m) => m.step),
    "no lost or repeated step",
  );
  for (let i = 0; i < got.length; i++)
    assert.equal(got[i].loss, refMetrics[i].loss, `step ${i + 1}: ${got[i].loss} vs ${refMetrics[i].loss}`);
}

describe("checkpoint manifests", () => {
  it("list every file of a checkpoint and the run files with their sizes and SHA-256", () => {
    const m = JSON.parse(readFileSync(ck(crashed, 8, "manifest.json"), "utf8"));
    assert.equal(m.step, 8);
    assert.deepEqual(Object.keys(m.files).sort(), [
      "model.safetensors",
      "optimizer.safetensors",
      "state.json",
    ]);
    for (const [f, e] of Object.entries(m.files) as [string, { bytes: number; sha256: string }][]) {
      const b = readFileSync(ck(crashed, 8, f));
      assert.equal(e.bytes, b.length, f);
      assert.equal(e.sha256, sha(b), f);
    }
    for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"])
      assert.equal(m.run[f].sha256, sha(readFileSync(join(crashed, f))), f);
    // metrics.jsonl is recorded up to the checkpoint's step (8 lines; the file has 9 now).
    const lines = readFileSync(join(crashed, "metrics.jsonl"), "utf8").split("\n").slice(0, 8);
    const prefix = Buffer.from(`${lines.join("\n")}\n`);
    assert.deepEqual(m.prefixes["metrics.jsonl"], { bytes: prefix.length, sha256: sha(prefix) });
  });

  it("an intact checkpoint resumes as before, exactly", async () => {
    const run = copy();
    const logs = await resume(run);
    assert.deepEqual(logs, []);
    sameAsUninterrupted(run);
  });
});

describe("--resume on a damaged checkpoint falls back to the newest intact one and says so", () => {
  const cases: [string, (run: string) => void, RegExp][] = [
    [
      "4,096 sign bits of model.safetensors",
      (r) => flipSigns(ck(r, 8, "model.safetensors")),
      /model\.safetensors fails its checksum: sha256 [0-9a-f]{64}, its manifest records [0-9a-f]{64}/,
    ],
    [
      "1 KiB of optimizer.safetensors XOR 0xFF",
      (r) => xorKiB(ck(r, 8, "optimizer.safetensors")),
      /optimizer\.safetensors fails its checksum/,
    ],
    [
      "a truncated model.safetensors",
      (r) => truncate(ck(r, 8, "model.safetensors")),
      /model\.safetensors is truncated: \d+ bytes, its manifest records \d+/,
    ],
    [
      "a missing optimizer.safetensors",
      (r) => rmSync(ck(r, 8, "optimizer.safetensors")),
      /optimizer\.safetensors is missing/,
    ],
    [
      "state.json of another checkpoint",
      (r) => cpSync(ck(r, 6, "state.json"), ck(r, 8, "state.json")),
      /state\.json (fails its checksum|is truncated: |has \d+ bytes, )/,
    ],
    [
      "model.safetensors of another checkpoint",
      (r) => cpSync(ck(r, 6, "model.safetensors"), ck(r, 8, "model.safetensors")),
      /model\.safetensors fails its checksum/,
    ],
    [
      "the whole folder of another checkpoint",
      (r) => {
        rmSync(ck(r, 8), { recursive: true });
        cpSync(ck(r, 6), ck(r, 8), { recursive: true });
      },
      /step-0000008 holds the files of step 6, not of its own step 8/,
    ],
    [
      "an unparseable manifest",
      (r) => writeFileSync(ck(r, 8, "manifest.json"), "{not json"),
      /manifest\.json is corrupt \(invalid JSON/,
    ],
    [
      "a manifest whose listed size was changed",
      (r) => {
        const p = ck(r, 8, "manifest.json");
        const m = JSON.parse(readFileSync(p, "utf8"));
        m.files["model.safetensors"].bytes += 4;
        writeFileSync(p, JSON.stringify(m));
      },
      /manifest\.json is corrupt: its own checksum does not match/,
    ],
    [
      "a removed manifest",
      (r) => rmSync(ck(r, 8, "manifest.json")),
      /manifest\.json is missing \(state\.json says/,
    ],
    [
      "a changed metrics.jsonl line before the checkpoint",
      (r) => {
        const p = join(r, "metrics.jsonl");
        const lines = readFileSync(p, "utf8").split("\n");
        const m = JSON.parse(lines[6]);
        lines[6] = JSON.stringify({ ...m, loss: m.loss + 1 });
        writeFileSync(p, lines.join("\n"));
      },
      /metrics\.jsonl fails its checksum up to checkpoint step-0000008/,
    ],
  ];
  for (const [what, damage, why] of cases)
    it(what, async () => {
      const run = copy();
      damage(run);
      const logs = await resume(run);
      const msg = logs.join("\n");
      assert.match(msg, why);
      assert.match(msg, /checkpoint step-0000008 is corrupt/);
      assert.match(msg, /falling back to step-0000006, the newest intact checkpoint/);
      assert.ok(
        existsSync(join(run, "checkpoints", "corrupt-step-0000008")),
        "the damaged one is kept aside",
      );
      sameAsUninterrupted(run);
      assert.equal(readFileSync(join(run, "checkpoints", "latest"), "utf8").trim(), "step-0000012");
    });

  it("a `latest` that names no checkpoint: the newest intact folder", async () => {
    const run = copy();
    writeFileSync(join(run, "checkpoints", "latest"), "step-00\u0000garbage\n");
    const logs = await resume(run);
    assert.match(
      logs.join("\n"),
      /latest names .* which is not a checkpoint folder; falling back to step-0000008/,
    );
    sameAsUninterrupted(run);
  });
});

describe("damage with no intact checkpoint to fall back to is refused, naming the file", () => {
  it("every checkpoint damaged: nothing is trained or changed", async () => {
    const run = copy();
    flipSigns(ck(run, 8, "model.safetensors"));
    xorKiB(ck(run, 6, "optimizer.safetensors"));
    const before = readFileSync(join(run, "metrics.jsonl"));
    await assert.rejects(
      resume(run),
      /no intact checkpoint \(step-0000008: .*model\.safetensors fails its checksum.*; step-0000006: .*optimizer\.safetensors fails its checksum/,
    );
    assert.ok(readFileSync(join(run, "metrics.jsonl")).equals(before));
    assert.ok(existsSync(ck(run, 8)) && existsSync(ck(run, 6)), "nothing moved");
  });

  it("a changed or unparseable config.json of the run", async () => {
    const run = copy();
    const p = join(run, "config.json");
    const good = readFileSync(p, "utf8");
    writeFileSync(p, good.replace('"lr": 0.003', '"lr": 0.004'));
    await assert.rejects(resume(run), /config\.json fails its checksum/);
    writeFileSync(p, good.slice(0, 100));
    await assert.rejects(resume(run), /config\.json is corrupt \(invalid JSON/);
  });
});

describe("readers that do not resume refuse a damaged checkpoint", () => {
  it("eval/edge/decode --model and export --run (loadAnyModel, loadRunModel)", () => {
    const run = copy();
    flipSigns(ck(run, 8, "model.safetensors"));
    const re =
      /refusing to load checkpoint .*step-0000008: .*model\.safetensors fails its checksum: sha256 [0-9a-f]{64}, its manifest records [0-9a-f]{64}/;
    assert.throws(() => loadAnyModel(run), re);
    assert.throws(() => loadRunModel(run), re);
    // Weights-only loads verify the run's config too.
    const run2 = copy();
    writeFileSync(
      join(run2, "config.json"),
      readFileSync(join(run2, "config.json"), "utf8").replace('"seed": 5', '"seed": 6'),
    );
    assert.throws(() => loadAnyModel(run2), /config\.json fails its checksum/);
  });

  it("midtrain --from refuses and writes nothing", async () => {
    const run = copy();
    xorKiB(ck(run, 8, "model.safetensors"));
    const out = join(dir, "mid-from-corrupt");
    await assert.rejects(
      train(
        {
          stage: "midtrain",
          out,
          from: run,
          mixture: "rl_op4-5",
          tokens: 4 * 2 * 32,
          seed: 6,
          overrides: { batch: 2, seqLen: 32, evalBatches: 1 },
        },
        reference,
      ),
      /refusing to load checkpoint .*step-0000008: .*model\.safetensors fails its checksum/,
    );
    assert.ok(!existsSync(out), "no run folder was started");
  });
});

describe("checkpoints written before checksums", () => {
  /** Makes a run's checkpoints look like ones written by the previous code. */
  function legacy(run: string): void {
    for (const s of [6, 8]) {
      rmSync(ck(run, s, "manifest.json"), { force: true });
      const st = JSON.parse(readFileSync(ck(run, s, "state.json"), "utf8"));
      delete st.checksums;
      writeFileSync(ck(run, s, "state.json"), `${JSON.stringify(st, null, 2)}\n`);
    }
  }

  it("load with a warning that they are unverified, and resume exactly", async () => {
    const run = copy();
    legacy(run);
    const warnings: string[] = [];
    const m = loadAnyModel(run, { warn: (w) => warnings.push(w) });
    assert.equal(m.config.layers, presetConfig("micro", new WorldTokenizer().vocabSize).layers);
    assert.match(
      warnings.join("\n"),
      /step-0000008 has no manifest\.json \(written before checksums\): its files are not verified/,
    );
    const logs = await resume(run);
    assert.match(logs.join("\n"), /not verified/);
    sameAsUninterrupted(run);
    // The checkpoints written after the resume have manifests.
    assert.ok(existsSync(ck(run, 12, "manifest.json")));
  });

  it("a damaged one that fails to decode is fallen back past, like a checksum failure", async () => {
    const run = copy();
    legacy(run);
    truncate(ck(run, 8, "model.safetensors"));
    const logs = await resume(run);
    assert.match(
      logs.join("\n"),
      /checkpoint step-0000008 is corrupt .*truncated.*falling back to step-0000006/s,
    );
    sameAsUninterrupted(run);
  });
});

describe("unexpected files", () => {
  it("are ignored with a warning", () => {
    const run = copy();
    writeFileSync(ck(run, 8, "notes.txt"), "hello");
    const warnings: string[] = [];
    const cfg = JSON.parse(readFileSync(join(run, "config.json"), "utf8"));
    const r = loadCheckpoint(ck(run, 8), cfg.model, true, { warn: (w) => warnings.push(w) });
    assert.equal(r.state.step, 8);
    assert.match(warnings.join("\n"), /holds notes\.txt, which its manifest does not list \(ignored\)/);
  });
});

describe("the CLI", () => {
  it("pretrain --resume on flipped sign bits says so and reproduces the uninterrupted run; decode and export refuse", () => {
    const bin = fileURLToPath(new URL("../../../bin/interplay.js", import.meta.url));
    const env = { ...process.env, INTERPLAY_THREADS: "1" };
    const cli = (...a: string[]) => spawnSync(process.execPath, [bin, ...a], { encoding: "utf8", env });
    const args = (out: string) =>
      [
        "pretrain",
        "--preset",
        "micro",
        "--mixture",
        "op2-3",
        "--tokens",
        String(20 * 4 * 32),
        "--seed",
        "3",
      ].concat(["--batch", "4", "--seq-len", "32", "--ckpt-every", "5", "--eval-every", "5", "--out", out]);
    const full = join(dir, "cli-full");
    assert.equal(cli(...args(full)).status, 0);
    const run = join(dir, "cli-run");
    cpSync(full, run, { recursive: true });
    flipSigns(ck(run, 20, "model.safetensors"));
    const bad = join(dir, "cli-bad");
    cpSync(run, bad, { recursive: true });
    const r = cli(...args(run), "--resume");
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      /checkpoint step-0000020 is corrupt \(.*model\.safetensors fails its checksum: sha256 [0-9a-f]{64}, its manifest records [0-9a-f]{64}\).*falling back to step-0000015/,
    );
    assert.deepEqual(
      metrics(run).map((m) => [m.step, m.loss]),
      metrics(full).map((m) => [m.step, m.loss]),
    );
    for (const a of [
      ["decode", "--model", bad, "--per-op", "1"],
      ["export", "--run", bad, "--out", join(dir, "cli-hf")],
    ]) {
      const x = cli(...a);
      assert.equal(x.status, 1, a[0]);
      assert.match(
        x.stderr,
        /refusing to load checkpoint .*step-0000020: .*model\.safetensors fails its checksum/,
        a[0],
      );
    }
    assert.ok(!existsSync(join(dir, "cli-hf")));
  });
});
