/** `interplay eval`: sample, verify, summarise (pass@k with CIs) and report. */
import type { Command } from "commander";
import { type BackendChoice, loadKernels } from "../engine/backend.js";
import { measureEdge } from "../eval/edge-run.js";
import { writeEvalPages } from "../eval/explore.js";
import { type EvalProblem, gridPlan, gridProblems, type ResultLine, runEvaluation } from "../eval/runner.js";
import type { KVPrecision, ProductPrecision } from "../model/decode.js";
import { KV_PRECISIONS, PRODUCT_PRECISIONS } from "../model/decode.js";
import { Model } from "../model/model.js";
import { buildEvalSummary, describePolicy } from "../stats/evaluation.js";
import { loadAnyModel } from "../train/load.js";
import { CONTEXT_IDS } from "../world/contexts.js";
import { loadProblems } from "../world/load.js";
import { MODES, type Mode } from "../world/types.js";
import {
  backendOption,
  choiceListOption,
  choiceOption,
  parseNum as num,
  parseNat,
  parseOps,
  parsePos,
} from "./args.js";
import { checkOutputs } from "./outputs.js";
import { startProgress } from "./progress.js";
import { evalSummaryTable } from "./report.js";
import { renderTable } from "./table.js";

interface EvalOpts {
  model: string;
  ops?: number[];
  perOp?: number;
  contexts: string[];
  modes: Mode[];
  problems?: string;
  samples: number;
  temperature: number;
  topP: number;
  topK: number;
  maxNew: number;
  seed: number;
  out: string;
  batch: number;
  kvCache: KVPrecision;
  products: ProductPrecision;
  backend: BackendChoice;
  allowExtra: boolean;
  allowSlips?: boolean;
}

/** The verification options shared by eval and edge (and verify, serve). */
export const VERIFY_FLAGS = {
  noAllowExtra: [
    "--no-allow-extra",
    "extra (hallucinated) nodes block verified (default: allowed, the reference evaluator's policy); both figures are reported either way",
  ],
  allowSlips: [
    "--allow-slips",
    "arithmetic slips neither block verified nor count in the penalty (the old lenient policy; default: they do)",
  ],
} as const;

/** Summary records from result lines. */
export function evalRecords(results: readonly ResultLine[]) {
  return results.map((r) => ({
    problemId: r.id,
    op: r.op,
    context: r.context,
    sample: r.sample,
    verified: r.verified,
    verifiedAllowExtra: r.verifiedAllowExtra,
    verifiedNoExtra: r.verifiedNoExtra,
    policy: r.policy,
    answerCorrect: r.answerCorrect,
    processAcc: r.processAcc,
    parseFailed: r.parseFailed,
    truncated: r.truncated,
    errors: r.errors as never,
  }));
}

/** Registers the eval command. */
export function registerEval(program: Command): void {
  program
    .command("eval")
    .description("sample completions, verify every trace, write samples/results/summary.json/report.html")
    .requiredOption("--model <dir>", "a run folder (latest checkpoint) or a Hugging Face folder")
    .option("--ops <ops>", "ops of a generated problem grid, e.g. 2-20", parseOps)
    .option("--per-op <n>", "problems per op of the grid", parsePos("--per-op"))
    .addOption(
      choiceListOption("--contexts <list>", "contexts of the grid", CONTEXT_IDS).default([...CONTEXT_IDS]),
    )
    .addOption(choiceListOption("--modes <list>", "modes of the grid", MODES).default(["forward"]))
    .option("--problems <file>", "evaluate these problems (JSONL with prompts) instead of a grid")
    .option("--samples <n>", "samples per problem", parsePos("--samples"), 16)
    .option("--temperature <t>", "sampling temperature (0 = greedy)", num("--temperature"), 0.7)
    .option("--top-p <p>", "nucleus mass in (0, 1]", num("--top-p"), 1)
    .option("--top-k <k>", "keep the k most likely tokens (0 = all)", parseNat("--top-k"), 0)
    .option("--max-new <n>", "most new tokens per completion", parsePos("--max-new"), 512)
    .option("--seed <n>", "seed of the problem grid and of sampling", parseNat("--seed"), 1_000_003)
    .requiredOption("--out <dir>", "evaluation folder (an interrupted run resumes there)")
    .option("--batch <n>", "sequences decoded together", parsePos("--batch"), 64)
    .addOption(
      choiceOption(
        "--kv-cache <p>",
        "key/value cache precision: f32, or f16 (faster, logits move by ~1e-3)",
        KV_PRECISIONS,
      ).default("f32"),
    )
    .addOption(
      choiceOption(
        "--products <p>",
        "matrix products: f32, or bf16 (AVX512_BF16; faster, logits move by ~1e-2)",
        PRODUCT_PRECISIONS,
      ).default("f32"),
    )
    .addOption(backendOption())
    .option(...VERIFY_FLAGS.noAllowExtra)
    .option(...VERIFY_FLAGS.allowSlips)
    .action(async (o: EvalOpts) => {
      checkOutputs({
        inputs: [
          { flag: "--model", path: o.model },
          { flag: "--problems", path: o.problems },
        ],
        folders: [{ flag: "--out", path: o.out }],
      });
      let problems: EvalProblem[];
      let source: string;
      if (o.problems !== undefined) {
        if (o.ops || o.perOp) throw new Error("use either --problems or --ops with --per-op");
        problems = [...(await loadProblems(o.problems)).values()] as EvalProblem[];
        source = o.problems;
      } else {
        if (!o.ops || o.perOp === undefined) throw new Error("give --ops with --per-op, or --problems FILE");
        problems = gridProblems({
          ops: o.ops,
          perOp: o.perOp,
          seed: o.seed,
          contexts: o.contexts,
          modes: o.modes,
        });
        source = `grid ops ${o.ops.join(",")} × ${o.perOp} (${o.contexts.join(",")}; ${o.modes.join(",")}) seed ${o.seed}`;
      }
      const loaded = loadAnyModel(o.model);
      const model = new Model(await loadKernels(o.backend), loaded.config, loaded.flat);
      const total = problems.length * o.samples;
      const bar = startProgress("eval", total, ["traces/s"]);
      const t0 = performance.now();
      let last = 0;
      const settings = {
        model: o.model,
        problems: source,
        samples: o.samples,
        temperature: o.temperature,
        topP: o.topP,
        topK: o.topK,
        maxNew: o.maxNew,
        seed: o.seed,
        ...(o.kvCache === "f16" ? { kvCache: "f16" as const } : {}),
        ...(o.products === "bf16" ? { products: "bf16" as const } : {}),
      };
      const verify = { allowExtra: o.allowExtra, allowSlips: o.allowSlips === true };
      const { results, stats } = runEvaluation({
        model,
        tokenizer: loaded.tokenizer,
        problems,
        out: o.out,
        batch: o.batch,
        settings,
        verify,
        onProgress: (done, _total, st) => {
          const now = performance.now();
          if (now - last < 200 && done < total) return;
          last = now;
          bar.update(done, { "traces/s": (st.completions / Math.max(1e-9, st.seconds)).toFixed(1) });
        },
      });
      bar.stop();
      const secs = (performance.now() - t0) / 1000;
      const summary = buildEvalSummary(evalRecords(results), {
        seed: o.seed,
        meta: settings,
        verify,
      });
      const paths = writeEvalPages(o.out, summary, { title: `Evaluation of ${o.model}` });
      console.log(evalSummaryTable(summary));
      if (stats)
        console.error(
          `${stats.completions} traces (${stats.generatedTokens} tokens) in ${secs.toFixed(1)} s: ` +
            `${(stats.completions / stats.seconds).toFixed(1)} traces/s, ${(stats.generatedTokens / stats.seconds).toFixed(0)} tokens/s`,
        );
      console.error(
        `wrote ${paths.summary}, ${paths.report}${paths.explorer ? ` and ${paths.explorer}` : ""}`,
      );
    });
}

interface EdgeOpts {
  model: string;
  ops: number[];
  perOp: number;
  samples: number;
  temperature: number;
  maxNew: number;
  seed: number;
  contexts: string[];
  modes: Mode[];
  out: string;
  select?: number;
  pass1Threshold: number;
  minEdgeFraction: number;
  batch: number;
  backend: BackendChoice;
  allowExtra: boolean;
  allowSlips?: boolean;
}

/** Registers the edge command. */
export function registerEdge(program: Command): void {
  program
    .command("edge")
    .description("find the edge of competence: per op, problems solved at pass@1, only within k, never")
    .requiredOption("--model <dir>", "a run folder or a Hugging Face folder")
    .requiredOption("--ops <ops>", "ops to measure, e.g. 2-20", parseOps)
    .option("--per-op <n>", "problems per op", parsePos("--per-op"), 50)
    .option("--samples <k>", "samples per problem (the k of 'solved within k')", parsePos("--samples"), 16)
    .option("--temperature <t>", "sampling temperature", num("--temperature"), 0.7)
    .option("--max-new <n>", "most new tokens per completion", parsePos("--max-new"), 512)
    .option("--seed <n>", "seed of the measured split and of sampling", parseNat("--seed"), 2_000_003)
    .addOption(
      choiceListOption("--contexts <list>", "contexts of the grid", CONTEXT_IDS).default([...CONTEXT_IDS]),
    )
    .addOption(choiceListOption("--modes <list>", "modes of the grid", MODES).default(["forward"]))
    .requiredOption("--out <dir>", "edge folder (resumable)")
    .option(
      "--select <n>",
      "also draw n fresh problems per op (disjoint split) and write the edge ones to prompts.jsonl",
      parsePos("--select"),
    )
    .option(
      "--pass1-threshold <p>",
      "a problem is solved at pass@1 when its fraction of verified samples is at least p",
      num("--pass1-threshold"),
      0.5,
    )
    .option(
      "--min-edge-fraction <f>",
      "an op is at the edge when pass@1 < 0.5 and at least this fraction is solved only within k",
      num("--min-edge-fraction"),
      0.1,
    )
    .option("--batch <n>", "sequences decoded together", parsePos("--batch"), 64)
    .addOption(backendOption())
    .option(...VERIFY_FLAGS.noAllowExtra)
    .option(...VERIFY_FLAGS.allowSlips)
    .action(async (o: EdgeOpts) => {
      checkOutputs({
        inputs: [{ flag: "--model", path: o.model }],
        folders: [{ flag: "--out", path: o.out }],
      });
      gridPlan({ ops: o.ops, perOp: o.perOp, seed: o.seed, contexts: o.contexts, modes: o.modes });
      const loaded = loadAnyModel(o.model);
      const model = new Model(await loadKernels(o.backend), loaded.config, loaded.flat);
      let bar = startProgress("edge: measure", o.ops.length * o.perOp * o.samples);
      let stage = "measure";
      const report = measureEdge({
        model,
        tokenizer: loaded.tokenizer,
        modelName: o.model,
        ops: o.ops,
        perOp: o.perOp,
        samples: o.samples,
        temperature: o.temperature,
        maxNew: o.maxNew,
        seed: o.seed,
        contexts: o.contexts,
        modes: o.modes,
        out: o.out,
        batch: o.batch,
        selectPerOp: o.select,
        pass1Threshold: o.pass1Threshold,
        minEdgeFraction: o.minEdgeFraction,
        verify: { allowExtra: o.allowExtra, allowSlips: o.allowSlips === true },
        onProgress: (st, done, total) => {
          if (st !== stage) {
            bar.stop();
            bar = startProgress(`edge: ${st}`, total);
            stage = st;
          }
          bar.update(done);
        },
      });
      bar.stop();
      const pct = (x: number) => (100 * x).toFixed(1);
      console.log(
        renderTable(
          ["op", "problems", "pass@1 %", "solved@1 %", "only within k %", "never %"],
          report.perOp.map((r) => [
            r.op,
            r.problems,
            pct(r.pass1),
            pct(r.fractions["solved@1"]),
            pct(r.fractions.solvedWithinK),
            pct(r.fractions.neverSolved),
          ]),
        ),
      );
      console.log(
        report.band
          ? `edge band: op ${report.band.lo}–${report.band.hi}`
          : "edge band: none (no op qualifies)",
      );
      console.log(`solved means verified with ${describePolicy(report.verify)}`);
      if (report.selected)
        console.log(
          `selected ${report.selected.count} edge problems of ${report.selected.looked} fresh ones (seed ${report.selected.seed}) → ${report.selected.file}`,
        );
    });
}
