/**
 * GPU trainers' configs for a GRPO run (issue 17, interop.md): the native trainer's resolved
 * options mapped onto verl's config keys and TRL's GRPOConfig keywords, and the check of every key
 * against the trainer's published config (the lists in src/interop/trainer-keys/). The study layer
 * (src/studies/export-config.ts) writes them into a stage's launch folder.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RlConfig } from "../rl/config.js";

/** GPU trainers export-config writes for. */
export const TRAINERS = ["verl", "trl"] as const;
export type Trainer = (typeof TRAINERS)[number];

/** The trainer releases whose published config the generated keys are checked against. */
export const TRAINER_RELEASES: Record<Trainer, string> = { verl: "v0.7.0", trl: "v1.9.0" };

/** Repository root (this file is src/interop/ or dist/src/interop/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the interplay package root");
    dir = up;
  }
  return dir;
}

/** Every key the trainer's published config accepts (verl: dotted Hydra paths; TRL: GRPOConfig keywords). */
export function trainerKeys(trainer: Trainer): Set<string> {
  const file = join(
    repoRoot(),
    "src",
    "interop",
    "trainer-keys",
    `${trainer}-${TRAINER_RELEASES[trainer]}.txt`,
  );
  const keys = readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  return new Set(keys);
}

/** The keys of `keys` the trainer does not know (a verl map or list value ends the path: its parent is the key). */
export function unknownKeys(keys: Iterable<string>, trainer: Trainer): string[] {
  const known = trainerKeys(trainer);
  return [...keys].filter((k) => !known.has(k));
}

/** Dotted paths of the leaves of a nested object (arrays and scalars are leaves). */
export function leafPaths(o: Record<string, unknown>, prefix = ""): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === "object" && !Array.isArray(v))
      out.push(...leafPaths(v as Record<string, unknown>, p));
    else out.push(p);
  }
  return out;
}

/** GRPO hyper-parameters of an RL stage, resolved as the native trainer resolves them. */
export interface GrpoPlan {
  preset: string;
  steps: number;
  promptsPerStep: number;
  rollouts: number;
  miniBatches: number;
  epochs: number;
  lr: number;
  clip: number;
  klCoef: number;
  weightDecay: number;
  gradClip: number;
  temperature: number;
  maxNew: number;
  advantage: RlConfig["advantage"];
  reward: RlConfig["reward"];
  alpha: number;
  seed: number;
}

/** Where the trainer's run finds what export-config wrote (paths relative to the launch folder). */
export interface LaunchPaths {
  train: string;
  val: string;
  model: string;
  rewardPath: string;
  maxPromptLength: number;
  gpus: number;
  nodes: number;
  experiment: string;
}

/** Passes the chat messages' text through: the world's prompts are already in the model's format. */
export const PASS_THROUGH_TEMPLATE = "{% for m in messages %}{{ m['content'] }}{% endfor %}";

/** verl's config (the keys of its ppo_trainer.yaml) for an RL stage. */
export function verlConfig(p: GrpoPlan, l: LaunchPaths): Record<string, unknown> {
  const prompts = p.promptsPerStep;
  if (prompts % p.miniBatches !== 0)
    throw new Error(`${prompts} prompts per step do not split into ${p.miniBatches} mini-batches`);
  return {
    algorithm: {
      adv_estimator: "grpo",
      // Dr.GRPO centres the group's rewards without dividing by their standard deviation.
      norm_adv_by_std_in_grpo: p.advantage === "grpo",
      use_kl_in_reward: false,
    },
    data: {
      train_files: l.train,
      val_files: l.val,
      prompt_key: "prompt",
      reward_fn_key: "data_source",
      train_batch_size: prompts,
      max_prompt_length: l.maxPromptLength,
      max_response_length: p.maxNew,
      filter_overlong_prompts: false,
      truncation: "error",
    },
    actor_rollout_ref: {
      model: { path: l.model, custom_chat_template: PASS_THROUGH_TEMPLATE },
      actor: {
        ppo_mini_batch_size: prompts / p.miniBatches,
        ppo_epochs: p.epochs,
        clip_ratio: p.clip,
        loss_agg_mode: "token-mean",
        entropy_coeff: 0,
        use_kl_loss: p.klCoef > 0,
        kl_loss_coef: p.klCoef,
        kl_loss_type: "low_var_kl",
        grad_clip: p.gradClip,
        optim: { lr: p.lr, weight_decay: p.weightDecay, lr_warmup_steps: 0, warmup_style: "constant" },
      },
      rollout: {
        name: "vllm",
        n: p.rollouts,
        temperature: p.temperature,
        top_p: 1,
        top_k: -1,
        do_sample: true,
        val_kwargs: { temperature: 0.7, top_p: 1.0, n: 1, do_sample: true },
      },
    },
    reward_model: { reward_manager: "batch" },
    custom_reward_function: { path: l.rewardPath, name: "compute_score_batch" },
    trainer: {
      total_training_steps: p.steps,
      total_epochs: 1000,
      n_gpus_per_node: l.gpus,
      nnodes: l.nodes,
      project_name: "interplay",
      experiment_name: l.experiment,
      logger: ["console"],
      test_freq: Math.max(1, Math.round(p.steps / 10)),
      save_freq: Math.max(1, Math.round(p.steps / 4)),
      val_before_train: true,
    },
  };
}

/** YAML of a nested object of scalars, arrays of scalars and objects (what verl's config holds). */
export function toYaml(o: Record<string, unknown>, indent = ""): string {
  const scalar = (v: unknown): string => {
    if (typeof v === "string") return JSON.stringify(v);
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw new Error(`cannot write ${v} to YAML`);
      if (Number.isInteger(v) || (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6)) return String(v);
      // YAML 1.1 (PyYAML) reads a float in exponent form only with a dot in its mantissa: 1.0e-06.
      const [m, e] = v.toExponential().split("e");
      return `${m.includes(".") ? m : `${m}.0`}e${e[0]}${e.slice(1).padStart(2, "0")}`;
    }
    if (typeof v === "boolean" || v === null) return String(v);
    throw new Error(`cannot write a ${typeof v} to YAML`);
  };
  let s = "";
  for (const [k, v] of Object.entries(o)) {
    if (v !== null && typeof v === "object" && !Array.isArray(v))
      s += `${indent}${k}:\n${toYaml(v as Record<string, unknown>, `${indent}  `)}`;
    else if (Array.isArray(v)) s += `${indent}${k}: [${v.map(scalar).join(", ")}]\n`;
    else s += `${indent}${k}: ${scalar(v)}\n`;
  }
  return s;
}

/** TRL's GRPOConfig keywords for an RL stage on `gpus` processes. */
export function trlConfig(
  p: GrpoPlan,
  l: Pick<LaunchPaths, "gpus" | "nodes" | "experiment">,
): Record<string, unknown> {
  const world = l.gpus * l.nodes;
  const completions = p.promptsPerStep * p.rollouts; // one generation
  const perUpdate = completions / p.miniBatches; // completions per optimizer step
  if (!Number.isInteger(perUpdate) || perUpdate % world !== 0)
    throw new Error(`${perUpdate} completions per update do not split over ${world} processes`);
  // Gradient accumulation keeps the per-device batch at or under 64 completions.
  const perProcess = perUpdate / world;
  let accumulation = 1;
  while (perProcess / accumulation > 64 && perProcess % (accumulation * 2) === 0) accumulation *= 2;
  return {
    output_dir: `checkpoints/${l.experiment}`,
    run_name: l.experiment,
    seed: p.seed,
    learning_rate: p.lr,
    lr_scheduler_type: "constant",
    warmup_ratio: 0,
    weight_decay: p.weightDecay,
    max_grad_norm: p.gradClip,
    per_device_train_batch_size: perProcess / accumulation,
    gradient_accumulation_steps: accumulation,
    // One generation of promptsPerStep × rollouts completions serves miniBatches optimizer steps.
    steps_per_generation: accumulation * p.miniBatches,
    num_iterations: p.epochs,
    max_steps: p.steps * p.miniBatches,
    num_generations: p.rollouts,
    max_completion_length: p.maxNew,
    temperature: p.temperature,
    top_p: 1,
    beta: p.klCoef,
    epsilon: p.clip,
    loss_type: "dapo",
    scale_rewards: p.advantage === "grpo" ? "group" : "none",
    bf16: true,
    logging_steps: 1,
    save_steps: Math.max(1, Math.round((p.steps * p.miniBatches) / 4)),
  };
}

/** A Python literal of a JSON-like value. */
export function pyLiteral(v: unknown): string {
  if (v === null) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(pyLiteral).join(", ")}]`;
  if (typeof v === "object")
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${JSON.stringify(k)}: ${pyLiteral(x)}`)
      .join(", ")}}`;
  throw new Error(`cannot write a ${typeof v} as Python`);
}
