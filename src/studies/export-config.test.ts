import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { configFromHf } from "../hf/model-io.js";
import { readBack } from "../interop/testing/parquet.js";
import { leafPaths, trainerKeys, trlConfig, unknownKeys, verlConfig } from "../interop/trainer-config.js";
import { presetConfig } from "../model/config.js";
import { WorldTokenizer } from "../model/tokenizer.js";
import { builtinStudy, SCALES, STUDY_NAMES } from "./builtin.js";
import { exportStageConfig, grpoPlan } from "./export-config.js";
import type { RlStage } from "./types.js";

const dir = mkdtempSync(join(tmpdir(), "interplay-trainer-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const PY = "/usr/bin/python3";
const hasPython = existsSync(PY);
const launch = {
  train: "data/train.parquet",
  val: "data/eval.parquet",
  model: "hf/base",
  rewardPath: "interplay_reward/verl.py",
  maxPromptLength: 1024,
  gpus: 8,
  nodes: 1,
  experiment: "x",
};

/** Every RL stage of every built-in study at `scale`, with its study. */
function rlStages(scale: (typeof SCALES)[number]) {
  const out = [];
  for (const name of STUDY_NAMES) {
    const study = builtinStudy(name, scale);
    for (const st of study.stages) if (st.kind === "rl") out.push({ study, st: st as RlStage });
  }
  return out;
}

describe("export-config: keys checked against the trainers' published configs", () => {
  it("the key lists are the trainers' (spot checks of keys verl and TRL document)", () => {
    const verl = trainerKeys("verl");
    for (const k of [
      "actor_rollout_ref.actor.kl_loss_type",
      "data.train_batch_size",
      "algorithm.adv_estimator",
    ])
      assert.ok(verl.has(k), k);
    assert.ok(verl.size > 400, `${verl.size} verl keys`);
    const trl = trainerKeys("trl");
    for (const k of ["num_generations", "beta", "loss_type", "learning_rate", "per_device_train_batch_size"])
      assert.ok(trl.has(k), k);
  });

  it("every RL stage of every study and scale writes only known keys, for both trainers", () => {
    let n = 0;
    for (const scale of SCALES) {
      for (const { study, st } of rlStages(scale)) {
        const plan = grpoPlan(study, st, "paper");
        assert.deepEqual(
          unknownKeys(leafPaths(verlConfig(plan, launch)), "verl"),
          [],
          `${study.name}/${st.id}`,
        );
        assert.deepEqual(
          unknownKeys(Object.keys(trlConfig(plan, launch)), "trl"),
          [],
          `${study.name}/${st.id}`,
        );
        n++;
      }
    }
    assert.ok(n >= 12, `${n} RL stages`);
  });

  it("a misspelt key is caught", () => {
    assert.deepEqual(unknownKeys(["actor_rollout_ref.actor.kl_los_coef", "data.train_batch_size"], "verl"), [
      "actor_rollout_ref.actor.kl_los_coef",
    ]);
    assert.deepEqual(unknownKeys(["num_generation", "beta"], "trl"), ["num_generation"]);
    // A section name alone is not a key: the leaf must be named.
    assert.deepEqual(unknownKeys(["actor_rollout_ref.actor"], "verl"), ["actor_rollout_ref.actor"]);
  });
});

describe("export-config: the paper's GRPO at paper scale", () => {
  const study = builtinStudy("depth", "paper");
  const st = study.stages.find((s) => s.id === "rl-edge") as RlStage;
  const plan = grpoPlan(study, st, "paper");

  it("verl: 1,024 prompts × 6, mini-batch 256, LR 1e-6, clip 0.2, low_var_kl 1e-3, token-mean, T 1.0, 1,024 tokens", () => {
    const c = verlConfig(plan, launch) as Record<string, Record<string, Record<string, unknown>>>;
    const actor = c.actor_rollout_ref.actor as Record<string, unknown>;
    const rollout = c.actor_rollout_ref.rollout as Record<string, unknown>;
    assert.equal(c.algorithm.adv_estimator, "grpo");
    assert.equal(c.data.train_batch_size, 1024);
    assert.equal(c.data.max_response_length, 1024);
    assert.equal(rollout.n, 6);
    assert.equal(rollout.temperature, 1);
    assert.equal(actor.ppo_mini_batch_size, 256);
    assert.equal((actor.optim as Record<string, unknown>).lr, 1e-6);
    assert.equal(actor.clip_ratio, 0.2);
    assert.equal(actor.use_kl_loss, true);
    assert.equal(actor.kl_loss_type, "low_var_kl");
    assert.equal(actor.kl_loss_coef, 1e-3);
    assert.equal(actor.loss_agg_mode, "token-mean");
    assert.equal((c.trainer as Record<string, unknown>).total_training_steps, 200);
  });

  it("TRL: one generation of 6,144 completions serves 4 optimizer steps of 1,536 on 8 GPUs", () => {
    for (const gpus of [1, 8, 16]) {
      const c = trlConfig(plan, { ...launch, gpus }) as Record<string, number>;
      const world = gpus;
      assert.equal(
        c.per_device_train_batch_size * world * c.gradient_accumulation_steps,
        1536,
        `${gpus} GPUs`,
      );
      assert.equal(c.per_device_train_batch_size * world * c.steps_per_generation, 6144, `${gpus} GPUs`);
      assert.ok(c.per_device_train_batch_size <= 64);
      assert.equal(c.num_generations, 6);
      assert.equal(c.max_steps, 800);
      assert.equal(c.learning_rate, 1e-6);
      assert.equal(c.beta, 1e-3);
      assert.equal(c.epsilon, 0.2);
      assert.equal(c.max_completion_length, 1024);
    }
    assert.throws(() => trlConfig(plan, { ...launch, gpus: 7 }), /do not split over 7 processes/);
  });
});

describe("export-config: launch folders", () => {
  it("an RL stage for verl: data read back by an independent parquet reader, YAML with checked keys, README", async () => {
    const out = join(dir, "verl");
    const r = await exportStageConfig({
      study: "depth",
      scale: "tiny",
      stage: "rl-edge",
      trainer: "verl",
      out,
      maxPrompts: 40,
      edgeBand: { lo: 4, hi: 5 },
    });
    assert.equal(r.kind, "rl");
    for (const f of ["data/train.parquet", "data/eval.parquet", "interplay_grpo.yaml", "run.sh", "README.md"])
      assert.ok(r.files.includes(f), f);
    assert.ok(
      r.files.some((f) => f.startsWith("interplay_reward/")),
      "the reward integration is copied",
    );
    const rows = readBack(join(out, "data/train.parquet")).rows as { extra_info: { op: number } }[];
    assert.equal(rows.length, 40);
    const ops = new Set(rows.map((x) => x.extra_info.op));
    assert.deepEqual([...ops].sort(), [4, 5], "prompts from the given edge band");
    const yaml = readFileSync(join(out, "interplay_grpo.yaml"), "utf8");
    assert.match(yaml, /kl_loss_type: "low_var_kl"/);
    assert.match(readFileSync(join(out, "README.md"), "utf8"), /interplay eval --model hf\//);
    if (hasPython) {
      // The YAML as Hydra reads it (PyYAML where installed): keys re-flattened, checked again.
      const py = spawnSync(
        PY,
        [
          "-c",
          "import sys,json\ntry:\n import yaml\nexcept ImportError:\n print('NOYAML'); sys.exit(0)\nd=yaml.safe_load(open(sys.argv[1]))\nd.pop('hydra'); d.pop('defaults')\nprint(json.dumps(d))",
          join(out, "interplay_grpo.yaml"),
        ],
        { encoding: "utf8" },
      );
      assert.equal(py.status, 0, py.stderr);
      if (!py.stdout.startsWith("NOYAML")) {
        const parsed = JSON.parse(py.stdout) as Record<string, unknown>;
        assert.deepEqual(unknownKeys(leafPaths(parsed), "verl"), []);
        const actor = (parsed.actor_rollout_ref as Record<string, Record<string, Record<string, unknown>>>)
          .actor;
        assert.equal(
          (actor.optim as Record<string, unknown>).lr,
          2e-5,
          "the tiny preset's RL LR, as a float",
        );
      }
    }
  });

  it("an RL stage for TRL: the script's GRPOConfig keywords, read by Python's parser, are TRL's", async () => {
    const out = join(dir, "trl");
    await exportStageConfig({
      study: "reward",
      scale: "paper",
      stage: "rl-strict",
      trainer: "trl",
      out,
      maxPrompts: 2048,
    });
    const script = join(out, "train_grpo.py");
    assert.ok(existsSync(join(out, "data/train.jsonl")));
    if (!hasPython) return;
    const py = spawnSync(
      PY,
      [
        "-c",
        "import ast,sys,json\nt=ast.parse(open(sys.argv[1]).read())\nks=[k.arg for n in ast.walk(t) if isinstance(n,ast.Call) and getattr(n.func,'id','')=='GRPOConfig' for k in n.keywords]\nprint(json.dumps(ks))",
        script,
      ],
      { encoding: "utf8" },
    );
    assert.equal(py.status, 0, py.stderr);
    const keys = JSON.parse(py.stdout) as string[];
    assert.ok(keys.includes("num_generations") && keys.length > 15, `${keys.length} keywords`);
    assert.deepEqual(unknownKeys(keys, "trl"), []);
  });

  it("a pre-training stage: the Hugging Face config of its preset and the corpus command", async () => {
    const out = join(dir, "pre");
    const r = await exportStageConfig({
      study: "depth",
      scale: "paper",
      stage: "base",
      trainer: "verl",
      out,
    });
    assert.equal(r.kind, "pretrain");
    const cfg = JSON.parse(readFileSync(join(out, "model/config.json"), "utf8")) as Record<string, unknown>;
    const tok = new WorldTokenizer();
    assert.deepEqual(configFromHf(cfg), presetConfig("paper", tok.vocabSize));
    const sh = readFileSync(join(out, "make-corpus.sh"), "utf8");
    const count = Number(/--count (\d+)/.exec(sh)?.[1]);
    // 10B tokens of problems of a few hundred tokens each: tens of millions of problems.
    assert.ok(count > 5e6 && count < 1e8, `${count} problems`);
  });

  it("a mid-training stage with --corpus: token shards of the stage's size, the stream's own problems", async () => {
    const out = join(dir, "mid");
    const r = await exportStageConfig({
      study: "allocation",
      scale: "tiny",
      stage: "mid-b0.5",
      trainer: "verl",
      out,
      corpus: true,
    });
    assert.equal(r.kind, "midtrain");
    const manifest = JSON.parse(readFileSync(join(out, "data/corpus/manifest.json"), "utf8")) as {
      problems: number;
      tokens: number;
    };
    const stage = JSON.parse(readFileSync(join(out, "stage.json"), "utf8")) as {
      tokens: number;
      problems: number;
    };
    assert.equal(manifest.problems, stage.problems);
    // The count is sized from a sample's mean tokens per problem: within 10% of the stage's tokens.
    assert.ok(
      Math.abs(manifest.tokens / stage.tokens - 1) < 0.1,
      `${manifest.tokens} tokens for ${stage.tokens}`,
    );
  });

  it("errors name the problem and write nothing", async () => {
    await assert.rejects(
      exportStageConfig({
        study: "depth",
        scale: "tiny",
        stage: "nope",
        trainer: "verl",
        out: join(dir, "e1"),
      }),
      /no stage "nope"; stages: base \(pretrain\).*rl-edge \(rl\)/,
    );
    await assert.rejects(
      exportStageConfig({
        study: "depth",
        scale: "tiny",
        stage: "eval-base",
        trainer: "verl",
        out: join(dir, "e2"),
      }),
      /\(eval\) is not a training stage/,
    );
    assert.ok(!existsSync(join(dir, "e1")) && !existsSync(join(dir, "e2")));
    const full = join(dir, "full");
    await exportStageConfig({ study: "depth", scale: "tiny", stage: "base", trainer: "verl", out: full });
    writeFileSync(join(full, "mine.txt"), "keep");
    await assert.rejects(
      exportStageConfig({ study: "depth", scale: "tiny", stage: "base", trainer: "verl", out: full }),
      /exists and is not empty/,
    );
    assert.equal(readFileSync(join(full, "mine.txt"), "utf8"), "keep");
  });
});
