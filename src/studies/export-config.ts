/**
 * What a user launches on a GPU box for one stage of a study (issue 17): the stage's data, the
 * reward integration, and verl's or TRL's config with the stage's hyper-parameters
 * (src/interop/trainer-config.ts maps and checks the keys). Pre-training and mid-training stages
 * get the Hugging Face model config and the corpus command.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { gridProblems } from "../eval/runner.js";
import { hfConfig } from "../hf/model-io.js";
import { exportCorpus } from "../interop/corpus.js";
import { exportProblems } from "../interop/export.js";
import {
  type GrpoPlan,
  type LaunchPaths,
  leafPaths,
  pyLiteral,
  repoRoot,
  TRAINER_RELEASES,
  type Trainer,
  toYaml,
  trlConfig,
  unknownKeys,
  verlConfig,
} from "../interop/trainer-config.js";
import { presetConfig } from "../model/config.js";
import { WorldTokenizer } from "../model/tokenizer.js";
import { type RlConfig, resolveRlOptions } from "../rl/config.js";
import { stepPrompts } from "../rl/prompts.js";
import { writeFileAtomic } from "../util/atomic.js";
import { type Mixture, type MixtureSpec, resolveMixture, validateMixture } from "../world/mixture.js";
import { modelText } from "../world/problem.js";
import type { Problem } from "../world/types.js";
import { builtinStudy, type Scale, type StudyName } from "./builtin.js";
import type { EvalStage, MidtrainStage, PretrainStage, RlStage, StageSpec, Study } from "./types.js";

/** The plan of an RL stage of `study`. */
export function grpoPlan(study: Study, st: RlStage, preset: string): GrpoPlan {
  const o = resolveRlOptions(preset, st.rl as Partial<RlConfig>);
  return {
    preset,
    steps: st.steps,
    promptsPerStep: o.promptsPerStep,
    rollouts: o.rollouts,
    miniBatches: o.miniBatches,
    epochs: o.epochs,
    lr: o.lr,
    clip: o.clip,
    klCoef: o.klCoef,
    weightDecay: o.weightDecay,
    gradClip: o.gradClip,
    temperature: o.temperature,
    maxNew: o.maxNew,
    advantage: o.advantage,
    reward: o.reward,
    alpha: o.alpha,
    seed: st.seed ?? study.seed,
  };
}

/** Options of exportStageConfig. */
export interface StageConfigOptions {
  study: StudyName;
  scale: Scale;
  /** Stage id within the study (rl, pretrain or midtrain). */
  stage: string;
  trainer: Trainer;
  out: string;
  seed?: number;
  /** GPUs per node and nodes (default 8 × 1). */
  gpus?: number;
  nodes?: number;
  /** The model folder the trainer starts from, as the GPU box sees it (default `hf/<from stage>`). */
  model?: string;
  /** Ops of the prompts of an RL stage whose prompts come from a measured edge (default: its fallback). */
  edgeBand?: { lo: number; hi: number };
  /** Cap on the training prompts written (default: every step's, steps × prompts per step). */
  maxPrompts?: number;
  /** Pre-/mid-training stages: also write the corpus shards (data/corpus), not only the command. */
  corpus?: boolean;
  /** Progress of a corpus export: (problems done, total). */
  onProgress?: (done: number, total: number) => void;
  /** Replace a non-empty `out`. */
  force?: boolean;
}

/** What exportStageConfig wrote. */
export interface StageConfigResult {
  kind: StageSpec["kind"];
  files: string[];
  notes: string[];
}

/** The stage `id` of a study, or an error listing the stages export-config can write. */
function findStage(study: Study, id: string): PretrainStage | MidtrainStage | RlStage {
  const st = study.stages.find((s) => s.id === id);
  const usable = study.stages.filter(
    (s) => s.kind === "rl" || s.kind === "pretrain" || s.kind === "midtrain",
  );
  const list = usable.map((s) => `${s.id} (${s.kind})`).join(", ");
  if (!st) throw new Error(`study ${study.name} has no stage "${id}"; stages: ${list}`);
  if (st.kind !== "rl" && st.kind !== "pretrain" && st.kind !== "midtrain")
    throw new Error(`stage "${id}" (${st.kind}) is not a training stage; export-config writes ${list}`);
  return st;
}

/** The preset a stage trains (following `from` back to the pre-training stage). */
function presetOf(study: Study, st: StageSpec): string {
  let cur: StageSpec | undefined = st;
  for (let hops = 0; cur && hops < study.stages.length; hops++) {
    if (cur.kind === "pretrain") return cur.preset;
    const from: string = cur.from;
    cur = study.stages.find((s) => s.id === from);
  }
  throw new Error(`stage "${st.id}": no pre-training stage behind it`);
}

/** The mixture of an RL stage's prompts. */
function rlMixture(st: RlStage, o: StageConfigOptions, notes: string[]): Mixture {
  const p = st.prompts;
  if (typeof p === "object" && "edge" in p) {
    if (o.edgeBand) {
      notes.push(`prompts: op ${o.edgeBand.lo}–${o.edgeBand.hi} (the edge band given with --edge-band)`);
      return resolveMixture(`op${o.edgeBand.lo}-${o.edgeBand.hi}_forward`);
    }
    notes.push(
      `prompts: ${p.fallback}, the study's fallback: this stage trains at the edge its base measures ` +
        `("${p.edge}"); measure it on your base with \`interplay edge --model HF_DIR\` and pass --edge-band LO-HI`,
    );
    return resolveMixture(p.fallback);
  }
  return mixtureOf(p as string | MixtureSpec);
}

/** A mixture by preset name or inline spec. */
const mixtureOf = (m: string | MixtureSpec): Mixture =>
  typeof m === "string" ? resolveMixture(m) : validateMixture(m, m.name);

/** The evaluation after a stage (the study's eval of it), else the study's first evaluation. */
function evalOf(study: Study, id: string): EvalStage {
  const evals = study.stages.filter((s): s is EvalStage => s.kind === "eval");
  const ev = evals.find((s) => s.from === id) ?? evals[0];
  if (!ev) throw new Error(`study ${study.name} has no evaluation stage`);
  return ev;
}

/** Writes a JSONL problem file. */
function writeProblems(path: string, problems: readonly Problem[]): void {
  writeFileAtomic(path, problems.map((p) => JSON.stringify(p)).join("\n") + "\n");
}

/** Prompt tokens of the longest prompt, rounded up to a multiple of 128. */
function promptBudget(problems: readonly Problem[], tok: WorldTokenizer): number {
  let most = 0;
  for (const p of problems) most = Math.max(most, tok.encode(p.prompt).length);
  return Math.ceil((most + 1) / 128) * 128;
}

/** Writes the launch folder of one stage of a study for a GPU trainer. */
export async function exportStageConfig(o: StageConfigOptions): Promise<StageConfigResult> {
  const study = builtinStudy(o.study, o.scale, o.seed ?? 1);
  const st = findStage(study, o.stage);
  const preset = presetOf(study, st);
  const gpus = o.gpus ?? 8;
  const nodes = o.nodes ?? 1;
  if (existsSync(o.out) && readdirSync(o.out).length > 0 && !o.force)
    throw new Error(
      `${o.out} exists and is not empty; choose another folder or give --force (nothing was written)`,
    );
  const tmp = `${o.out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, "data"), { recursive: true });
  const notes: string[] = [];
  const tok = new WorldTokenizer();
  const experiment = `${study.name}-${o.scale}-${st.id}`;
  try {
    const written =
      st.kind === "rl"
        ? await writeRlStage(study, st, preset, o, { tmp, tok, gpus, nodes, experiment, notes })
        : await writeTrainStage(study, st, preset, o, { tmp, tok, notes });
    if (existsSync(o.out)) rmSync(o.out, { recursive: true, force: true });
    mkdirSync(dirname(o.out), { recursive: true });
    renameSync(tmp, o.out);
    return { kind: st.kind, files: written.sort(), notes };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

interface RlCtx {
  tmp: string;
  tok: WorldTokenizer;
  gpus: number;
  nodes: number;
  experiment: string;
  notes: string[];
}

/** Data, reward integration, trainer config and README of an RL stage. */
async function writeRlStage(study: Study, st: RlStage, preset: string, o: StageConfigOptions, c: RlCtx) {
  const plan = grpoPlan(study, st, preset);
  const budget = (st.rl as { computeBudget?: number } | undefined)?.computeBudget;
  if (budget !== undefined)
    c.notes.push(
      `the lab ends this arm at a compute budget of ${budget.toExponential(2)} supervised-token equivalents (measured FLOPs / 6N), ` +
        `with ${plan.steps} steps as the cap; the trainer runs the cap: lower its steps to the budget your GPU run measures`,
    );
  const mixture = rlMixture(st, o, c.notes);
  // The prompts the native trainer would draw, step by step, with the stage's seed.
  const cfg = {
    prompts: { kind: "mixture", mixture },
    seed: plan.seed,
    promptsPerStep: plan.promptsPerStep,
  } as unknown as RlConfig;
  const steps = Math.min(
    plan.steps,
    Math.ceil((o.maxPrompts ?? Number.POSITIVE_INFINITY) / plan.promptsPerStep),
  );
  const train: Problem[] = [];
  for (let s = 0; s < steps; s++) train.push(...(stepPrompts(cfg, s) as Problem[]));
  if (o.maxPrompts !== undefined && train.length > o.maxPrompts) train.length = o.maxPrompts;
  if (train.length < plan.promptsPerStep)
    throw new Error(`${train.length} prompts are fewer than one step's ${plan.promptsPerStep}`);
  if (steps < plan.steps)
    c.notes.push(`train prompts: ${train.length} (capped); the trainer cycles them over ${plan.steps} steps`);
  const ev = evalOf(study, st.id);
  const val = gridProblems({
    ops: ev.grid.ops,
    perOp: ev.grid.perOp,
    seed: study.seed + 202,
    contexts: ev.grid.contexts,
    modes: ev.grid.modes ?? ["forward"],
  }) as Problem[];
  const files: string[] = [];
  const put = (rel: string, text: string) => {
    writeFileAtomic(join(c.tmp, rel), text);
    files.push(rel);
  };
  // The training problems travel in the trainer's rows only (the service regenerates any id); the
  // evaluation grid also as a problem file, for `interplay eval --problems`.
  writeProblems(join(c.tmp, "train.problems.jsonl"), train);
  writeProblems(join(c.tmp, "data", "eval.problems.jsonl"), val);
  files.push("data/eval.problems.jsonl");
  const ext = o.trainer === "verl" ? "parquet" : "jsonl";
  for (const [name, src] of [
    ["train", join(c.tmp, "train.problems.jsonl")],
    ["eval", join(c.tmp, "data", "eval.problems.jsonl")],
  ] as const) {
    await exportProblems({
      problems: src,
      format: o.trainer,
      out: join(c.tmp, "data", `${name}.${ext}`),
      split: name === "train" ? "train" : "test",
    });
    files.push(`data/${name}.${ext}`);
  }
  rmSync(join(c.tmp, "train.problems.jsonl"));
  const integration = join(repoRoot(), "integrations", "python", "interplay_reward");
  if (!existsSync(integration)) throw new Error(`the reward integration is missing (${integration})`);
  cpSync(integration, join(c.tmp, "interplay_reward"), {
    recursive: true,
    filter: (s) => !s.includes("__pycache__"),
  });
  files.push(...listFiles(join(c.tmp, "interplay_reward")).map((f) => relative(c.tmp, f)));
  const paths: LaunchPaths = {
    train: `data/train.${ext}`,
    val: `data/eval.${ext}`,
    model: o.model ?? `hf/${st.from}`,
    rewardPath: "interplay_reward/verl.py",
    maxPromptLength: promptBudget([...train, ...val], c.tok),
    gpus: c.gpus,
    nodes: c.nodes,
    experiment: c.experiment,
  };
  const env = rewardEnv(plan);
  if (o.trainer === "verl") {
    const conf = verlConfig(plan, paths);
    checkKeys(leafPaths(conf), "verl");
    put(
      "interplay_grpo.yaml",
      `# verl ${TRAINER_RELEASES.verl} config of ${c.experiment}, written by interplay export-config.\n` +
        "# Every key below is in verl's verl/trainer/config/_generated_ppo_trainer.yaml.\n" +
        "hydra:\n  searchpath:\n    - pkg://verl.trainer.config\ndefaults:\n  - ppo_trainer\n  - _self_\n" +
        toYaml(conf),
    );
    put(
      "run.sh",
      launchScript(
        env,
        'python3 -m verl.trainer.main_ppo --config-path "$PWD" --config-name interplay_grpo "$@"',
      ),
    );
  } else {
    const conf = trlConfig(plan, paths);
    checkKeys(Object.keys(conf), "trl");
    put("train_grpo.py", trlScript(conf, paths, c.experiment));
    put(
      "run.sh",
      launchScript(env, `accelerate launch --num_processes ${c.gpus * c.nodes} train_grpo.py "$@"`),
    );
  }
  put(
    "stage.json",
    `${JSON.stringify({ study: study.name, scale: o.scale, stage: st.id, trainer: o.trainer, release: TRAINER_RELEASES[o.trainer], plan, paths, notes: c.notes }, null, 2)}\n`,
  );
  put("README.md", rlReadme(study, st, plan, paths, o, c));
  return files;
}

/** The reward service settings of a plan, as the integration's environment. */
function rewardEnv(p: GrpoPlan): Record<string, string> {
  return {
    INTERPLAY_REWARD_URL: "http://127.0.0.1:8000",
    INTERPLAY_REWARD: p.reward,
    INTERPLAY_ALPHA: String(p.alpha),
  };
}

/** A bash launcher: the reward service in the background, then the trainer. */
function launchScript(env: Record<string, string>, command: string): string {
  const exports = Object.entries(env)
    .map(([k, v]) => `export ${k}="\${${k}:-${v}}"`)
    .join("\n");
  return `#!/usr/bin/env bash
# Written by interplay export-config. Run from this folder on the GPU box.
set -euo pipefail
cd "$(dirname "$0")"
${exports}
export PYTHONPATH="$PWD\${PYTHONPATH:+:$PYTHONPATH}"
if ! curl -sf "$INTERPLAY_REWARD_URL/healthz" >/dev/null 2>&1; then
  npx interplay serve --port 8000 --problems data/eval.problems.jsonl &
  trap 'kill %1' EXIT
  for _ in $(seq 50); do curl -sf "$INTERPLAY_REWARD_URL/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
fi
${command}
`;
}

/** The TRL training script of a stage. */
function trlScript(conf: Record<string, unknown>, l: LaunchPaths, experiment: string): string {
  const kwargs = Object.entries(conf)
    .map(([k, v]) => `    ${k}=${pyLiteral(v)},`)
    .join("\n");
  return `"""GRPO of ${experiment} with TRL ${TRAINER_RELEASES.trl} (written by interplay export-config)."""
from datasets import load_dataset
from trl import GRPOConfig, GRPOTrainer

from interplay_reward.trl import interplay_reward

args = GRPOConfig(
${kwargs}
)
train = load_dataset("json", data_files=${JSON.stringify(l.train)}, split="train")
trainer = GRPOTrainer(model=${JSON.stringify(l.model)}, reward_funcs=interplay_reward, args=args, train_dataset=train)
trainer.train()
trainer.save_model(${JSON.stringify(`hf/${experiment}`)})
`;
}

/** Refuses keys the trainer's published config does not have. */
function checkKeys(keys: string[], trainer: Trainer): void {
  const bad = unknownKeys(keys, trainer);
  if (bad.length)
    throw new Error(`keys not in ${trainer} ${TRAINER_RELEASES[trainer]}'s config: ${bad.join(", ")}`);
}

/** Every file under `dir`. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}

/** A pre-training or mid-training stage: the model config, tokenizer and the corpus command. */
async function writeTrainStage(
  study: Study,
  st: PretrainStage | MidtrainStage,
  preset: string,
  o: StageConfigOptions,
  c: { tmp: string; tok: WorldTokenizer; notes: string[] },
): Promise<string[]> {
  const model = presetConfig(preset, c.tok.vocabSize);
  const files: string[] = [];
  const put = (rel: string, text: string) => {
    writeFileAtomic(join(c.tmp, rel), text);
    files.push(rel);
  };
  put("model/config.json", `${JSON.stringify(hfConfig(model, c.tok), null, 2)}\n`);
  put("model/tokenizer.json", JSON.stringify(c.tok.toHuggingFace()));
  put("model/tokenizer_config.json", `${JSON.stringify(c.tok.toHuggingFaceConfig(), null, 2)}\n`);
  const spec = st.mixture as string | MixtureSpec;
  const mixture = mixtureOf(spec);
  if (typeof spec !== "string") put("data/mixture.json", `${JSON.stringify(spec, null, 2)}\n`);
  const mixtureFlag = typeof spec === "string" ? spec : "data/mixture.json";
  const tokens = st.tokens;
  if (tokens === undefined)
    c.notes.push(`the stage is time-budgeted (${st.minutes} minutes): give the corpus a token count`);
  const count = tokens === undefined ? undefined : problemsFor(tokens, mixture, c.tok);
  const cmd =
    `npx interplay export-data --corpus --format tokens --mixture ${mixtureFlag} ` +
    `--count ${count ?? "COUNT"} --seed ${study.seed} --out data/corpus`;
  put(
    "make-corpus.sh",
    `#!/usr/bin/env bash\n# Written by interplay export-config: the ${st.kind} corpus of ${study.name}/${st.id} (${tokens ?? "?"} tokens).\nset -euo pipefail\ncd "$(dirname "$0")"\n${cmd} "$@"\n`,
  );
  if (o.corpus) {
    if (count === undefined) throw new Error(`stage "${st.id}" has no token count: it cannot size a corpus`);
    // The stream the lab's own trainer reads: problem j of the mixture with the stage's seed.
    await exportCorpus({
      plan: { kind: "mixture", seed: study.seed, mixture, count },
      out: join(c.tmp, "data", "corpus"),
      kind: "tokens",
      onProgress: o.onProgress,
    });
    files.push(...listFiles(join(c.tmp, "data", "corpus")).map((f) => relative(c.tmp, f)));
  }
  put(
    "stage.json",
    `${JSON.stringify({ study: study.name, scale: o.scale, stage: st.id, kind: st.kind, preset, tokens, problems: count, train: st.train ?? {}, notes: c.notes }, null, 2)}\n`,
  );
  put(
    "README.md",
    `# ${study.name} / ${st.id} (${st.kind}, ${o.scale} scale)\n\n` +
      `Model: \`${preset}\` (${model.layers} layers, hidden ${model.hidden}); \`model/\` holds its Hugging Face config and the world tokenizer ` +
      "(no weights: a GPU trainer initialises them from the config).\n\n" +
      `Corpus: \`bash make-corpus.sh\` writes ${count ?? "the"} problems (≈ ${tokens ?? "?"} tokens) of \`${mixtureFlag}\` as token shards with a manifest, ` +
      "the same stream the lab's own trainer reads for this stage.\n\n" +
      "Training options of the stage (the lab's names): `" +
      JSON.stringify(st.train ?? {}) +
      "`.\n",
  );
  return files;
}

/** Problems of a mixture that hold about `tokens` tokens (measured on 256 of them). */
function problemsFor(tokens: number, mixture: Mixture, tok: WorldTokenizer): number {
  const cfg = { prompts: { kind: "mixture", mixture }, seed: 1, promptsPerStep: 256 } as unknown as RlConfig;
  const sample = stepPrompts(cfg, 0) as Problem[];
  let total = 0;
  for (const p of sample) total += tok.encode(modelText(p)).length + 1;
  return Math.ceil(tokens / (total / sample.length));
}

/** A number as people write it: 1e-6, 0.2, 1024. */
const num = (v: number) => (v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : String(v));

/** The README of an RL stage's launch folder. */
function rlReadme(
  study: Study,
  st: RlStage,
  p: GrpoPlan,
  l: LaunchPaths,
  o: StageConfigOptions,
  c: RlCtx,
): string {
  const launch =
    o.trainer === "verl"
      ? "bash run.sh            # extra Hydra overrides go after it: bash run.sh trainer.logger='[console,wandb]'"
      : "bash run.sh            # accelerate launch train_grpo.py on every GPU";
  return `# ${study.name} / ${st.id} on ${o.trainer} (${o.scale} scale)

Written by \`interplay export-config --study ${study.name} --scale ${o.scale} --stage ${st.id} --trainer ${o.trainer}\`.
GRPO from \`${st.from}\`: ${p.steps} steps of ${p.promptsPerStep} prompts × ${p.rollouts} rollouts, ${p.miniBatches} updates
per step, LR ${num(p.lr)}, clip ${p.clip}, KL loss (k3, \`low_var_kl\`) ${num(p.klCoef)}, token-mean loss, temperature
${p.temperature}, ${p.maxNew} response tokens, reward \`${p.reward}\`${p.reward === "composite" ? ` (α ${p.alpha})` : ""}.
${c.notes.map((n) => `\n- ${n}`).join("")}

## Files

- \`data/train.${o.trainer === "verl" ? "parquet" : "jsonl"}\`, \`data/eval.${o.trainer === "verl" ? "parquet" : "jsonl"}\`: the stage's prompts (the ones the lab's own trainer draws, step by step, with seed ${p.seed}) and the study's evaluation grid; \`data/eval.problems.jsonl\`: the evaluation problems for \`interplay eval\` (the reward service regenerates any problem from its id, and the rows carry their gold graphs).
- \`interplay_reward/\`: the reward integration (standard library only).
- ${o.trainer === "verl" ? "`interplay_grpo.yaml`: verl's config (every key checked against verl " + TRAINER_RELEASES.verl + ")" : "`train_grpo.py`: the TRL script (every GRPOConfig keyword checked against TRL " + TRAINER_RELEASES.trl + ")"}; \`run.sh\` starts the reward service and the trainer.

## Steps

1. Put the starting model at \`${l.model}\` (\`interplay export --model RUN --out ${l.model}\` on this machine, then copy).
2. Install the trainer (${o.trainer === "verl" ? "verl " + TRAINER_RELEASES.verl + " with vLLM" : "TRL " + TRAINER_RELEASES.trl + ", accelerate, datasets"}) and Node 20 with \`npm install interplay-lab\`.
3. Launch on a node with ${l.gpus} GPUs:

       ${launch}

   \`INTERPLAY_REWARD_URL\` points the integration at a service elsewhere (one per node, \`interplay serve --host 0.0.0.0 --workers N\`).
4. Bring the checkpoint back: ${o.trainer === "verl" ? "merge the actor of the last step into a Hugging Face folder (`python3 -m verl.model_merger merge --backend fsdp --local_dir checkpoints/interplay/" + l.experiment + "/global_step_" + p.steps + "/actor --target_dir hf/" + l.experiment + "`)" : "the script saves `hf/" + l.experiment + "`"}, copy it here, then

       interplay eval --model hf/${l.experiment} --problems data/eval.problems.jsonl --samples 32 --temperature 0.7 --max-new ${p.maxNew} --out evals/${l.experiment}
       interplay compare --before evals/base --after evals/${l.experiment} --out compare.html
`;
}
