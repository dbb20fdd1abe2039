/**
 * An evaluation run (verification.md §5–6): sample completions of every problem with the batched
 * sampler, verify each trace, and keep everything in an evaluation folder:
 *   eval.json       the resolved settings (a resumed run must ask for the same sampling; the
 *                   verification policies are recorded too, and may change on resume)
 *   samples.jsonl   one line per completion {id, sample, completion, finish, tokens}
 *   results.jsonl   one line per completion: the verdict as `interplay verify` writes it
 *   problems.jsonl  the problems (keys of generated ones, whole others), see problems-file.ts
 * Lines are appended as completions finish; a killed run resumes from its complete lines (a line cut
 * by the kill is dropped, results are rebuilt from samples), never repeating or losing a sample.
 */

import { appendFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { KVPrecision, ProductPrecision } from "../model/decode.js";
import type { Model } from "../model/model.js";
import type { TextTokenizer } from "../model/tokenizer.js";
import { type SampleOptions, type SampleStats, sampleBatched, sampleOptions } from "../sample/sampler.js";
import { writeFileAtomic } from "../util/atomic.js";
import { readJsonFile, readJsonlSync } from "../util/jsonl.js";
import { type SampleResult, type VerifyOptions, verifyPolicy, verifySample } from "../verify/index.js";
import { CONTEXT_IDS } from "../world/contexts.js";
import { checkGridPlan, type GridPlan, slotKey } from "../world/corpus.js";
import type { GoldProblem } from "../world/load.js";
import { generateProblem } from "../world/problem.js";
import type { Mode } from "../world/types.js";
import { writeEvalProblems } from "./problems-file.js";

/** A problem to evaluate: gold fields plus the prompt the model continues. */
export type EvalProblem = GoldProblem & { prompt: string; context?: string };

/** The settings of an evaluation (saved as eval.json). */
export interface EvalSettings {
  model: string;
  problems: string;
  count: number;
  samples: number;
  temperature: number;
  topP: number;
  topK: number;
  maxNew: number;
  seed: number;
  /** Key/value cache precision of the sampler; absent means float32. */
  kvCache?: KVPrecision;
  /** Matrix products of the sampler; absent means float32. */
  products?: ProductPrecision;
  /**
   * The verification policies of results.jsonl (absent in eval.json files written before they were
   * recorded). Results are rebuilt from the samples on every run, so a resumed run may change them.
   */
  allowExtra?: boolean;
  allowSlips?: boolean;
}

/** Settings that only say how the samples were verified (a resumed run may change them). */
const VERIFY_SETTINGS: readonly (keyof EvalSettings)[] = ["allowExtra", "allowSlips"];

/** One line of results.jsonl. */
export type ResultLine = { id: string; sample: number; op: number; context?: string } & Omit<
  SampleResult,
  "breakdown"
>;

/** What defines a problem grid (contexts default to all three, modes to both). */
export interface GridOptions {
  ops: number[];
  perOp: number;
  seed: number;
  contexts?: string[];
  modes?: Mode[];
}

/** The validated plan of a grid (an unknown context or mode is an error naming it). */
export function gridPlan(o: GridOptions): GridPlan {
  const plan: GridPlan = {
    kind: "grid",
    seed: o.seed,
    ops: o.ops,
    contexts: o.contexts ?? [...CONTEXT_IDS],
    modes: o.modes ?? ["forward", "reverse"],
    perOp: o.perOp,
  };
  checkGridPlan(plan);
  return plan;
}

/** Problems of an op grid, as `interplay generate --ops … --per-op … --seed …` writes them. */
export function gridProblems(o: GridOptions): EvalProblem[] {
  const plan = gridPlan(o);
  const out: EvalProblem[] = [];
  for (let j = 0; j < o.ops.length * o.perOp; j++) out.push(generateProblem(slotKey(plan, j)));
  return out;
}

/** Reads complete JSON lines of a file (a trailing line cut by a kill ends the read). */
function completeLines(path: string): unknown[] {
  if (!existsSync(path)) return [];
  return readJsonlSync(path, { bad: "stop" }).map((l) => l.value);
}

/** Options of {@link runEvaluation}. */
export interface RunEvalOptions {
  model: Model;
  tokenizer: TextTokenizer;
  problems: EvalProblem[];
  out: string;
  settings: Omit<EvalSettings, "count" | "allowExtra" | "allowSlips">;
  /** Verification policies (default: the library's, DEFAULT_VERIFY_OPTIONS); recorded in eval.json. */
  verify?: VerifyOptions;
  batch?: number;
  onProgress?: (done: number, total: number, stats: SampleStats) => void;
}

/** Runs (or resumes) an evaluation; returns every result line, ordered by (problem, sample). */
export function runEvaluation(o: RunEvalOptions): { results: ResultLine[]; stats: SampleStats | null } {
  const policy = verifyPolicy(o.verify);
  const s: EvalSettings = { ...o.settings, count: o.problems.length, ...policy };
  if (o.problems.length === 0) throw new Error("no problems to evaluate");
  if (!(Number.isInteger(s.samples) && s.samples >= 1))
    throw new Error(`samples per problem must be a positive integer, got ${s.samples}`);
  const sopts: SampleOptions = {
    temperature: s.temperature,
    topP: s.topP,
    topK: s.topK,
    maxNew: s.maxNew,
    seed: s.seed,
    batch: o.batch,
    kvCache: s.kvCache,
    products: s.products,
  };
  sampleOptions(sopts); // validates before anything is written
  const ids = new Map<string, number>();
  o.problems.forEach((p, i) => {
    if (ids.has(p.id)) throw new Error(`duplicate problem id "${p.id}"`);
    if (typeof p.prompt !== "string" || p.prompt === "") throw new Error(`problem "${p.id}" has no prompt`);
    ids.set(p.id, i);
  });
  const tok = o.tokenizer;
  if (tok.vocabSize !== o.model.config.vocabSize)
    throw new Error(
      `the tokenizer has ${tok.vocabSize} tokens but the model's vocabulary is ${o.model.config.vocabSize}`,
    );
  const prompts = o.problems.map((p) => {
    try {
      return tok.encode(p.prompt);
    } catch (e) {
      throw new Error(
        `problem "${p.id}": the model's tokenizer cannot encode its prompt (${(e as Error).message})`,
      );
    }
  });
  sopts.stop = [tok.id(" </answer>"), tok.id("</answer>"), tok.eosId].filter(
    (x): x is number => x !== undefined && x >= 0,
  );

  mkdirSync(o.out, { recursive: true });
  const cfgPath = join(o.out, "eval.json");
  if (existsSync(cfgPath)) {
    const old = readJsonFile<EvalSettings>(cfgPath);
    const keys = Object.keys(s) as (keyof EvalSettings)[];
    const diff = keys.filter((k) => !VERIFY_SETTINGS.includes(k) && old[k] !== s[k]);
    if (diff.length > 0)
      throw new Error(
        `${o.out} holds an evaluation with other settings (${diff.map((k) => `${k}: ${old[k]} → ${s[k]}`).join(", ")}); choose another --out`,
      );
    // The samples are kept; their results are rebuilt below under this run's policies.
    if (VERIFY_SETTINGS.some((k) => old[k] !== s[k]))
      writeFileAtomic(cfgPath, `${JSON.stringify(s, null, 2)}\n`);
  } else writeFileAtomic(cfgPath, `${JSON.stringify(s, null, 2)}\n`);
  writeEvalProblems(o.out, o.problems);

  // Resume: keep complete sample lines of known problems, rebuild results from them.
  const samplesPath = join(o.out, "samples.jsonl");
  const resultsPath = join(o.out, "results.jsonl");
  const have = new Map<
    string,
    { id: string; sample: number; completion: string; finish: string; tokens: number }
  >();
  for (const x of completeLines(samplesPath) as { id: string; sample: number; completion: string }[]) {
    if (x && typeof x.id === "string" && ids.has(x.id) && Number.isInteger(x.sample) && x.sample < s.samples)
      have.set(`${x.id}#${x.sample}`, x as never);
  }
  const verify = (pi: number, sample: number, completion: string): ResultLine => {
    const p = o.problems[pi];
    const { breakdown: _, ...r } = verifySample(completion, p, policy);
    return { id: p.id, sample, op: p.op, ...(p.context ? { context: p.context } : {}), ...r };
  };
  const results: ResultLine[] = [];
  const kept = [...have.values()];
  writeFileAtomic(samplesPath, kept.map((x) => `${JSON.stringify(x)}\n`).join(""));
  for (const x of kept) results.push(verify(ids.get(x.id) as number, x.sample, x.completion));
  writeFileAtomic(resultsPath, results.map((x) => `${JSON.stringify(x)}\n`).join(""));

  const total = o.problems.length * s.samples;
  let stats: SampleStats | null = null;
  if (results.length < total) {
    let done = results.length;
    const run = sampleBatched(
      o.model,
      prompts.map((prompt) => ({ prompt, n: s.samples })),
      sopts,
      {
        skip: (req, k) => have.has(`${o.problems[req].id}#${k}`),
        onComplete: (c) => {
          const p = o.problems[c.request];
          const completion = tok.decode(c.tokens);
          const line = { id: p.id, sample: c.sample, completion, finish: c.finish, tokens: c.tokens.length };
          const r = verify(c.request, c.sample, completion);
          // Sample first, then result: a kill between the two is repaired on resume.
          appendFileSync(samplesPath, `${JSON.stringify(line)}\n`);
          appendFileSync(resultsPath, `${JSON.stringify(r)}\n`);
          results.push(r);
          done++;
        },
        onProgress: (st) => o.onProgress?.(done, total, st),
      },
    );
    stats = run.stats;
  }
  const order = (r: ResultLine) => (ids.get(r.id) as number) * s.samples + r.sample;
  results.sort((a, b) => order(a) - order(b));
  return { results, stats };
}
