/** `interplay study` and `interplay demo`: declarative studies, cached and resumable stage by stage. */
import { join } from "node:path";
import type { Command } from "commander";
import { loadKernels } from "../engine/backend.js";
import { bf16IsFast } from "../engine/kernels.js";
import { measureBf16Gemm, measureSgemm } from "../engine/peak.js";
import { loadEvalSummary } from "../report/io.js";
import { compareEvalSummaries } from "../stats/comparison.js";
import {
  builtinStudy,
  demoStudy,
  SCALES,
  type Scale,
  STUDY_NAMES,
  type StudyName,
} from "../studies/builtin.js";
import { runStudy, studyPlan, validateStudy } from "../studies/study.js";
import type { Study } from "../studies/types.js";
import { readJsonFile } from "../util/jsonl.js";
import { choiceOption, parseNat } from "./args.js";
import { checkOutputs } from "./outputs.js";
import { comparisonTable } from "./report.js";
import { renderTable } from "./table.js";

/**
 * The hours a plan takes at this machine's measured product rates (a floor): training stages at
 * the bf16 product rate where new runs default to bf16 products, sampling at the sgemm rate.
 */
async function hoursAtPeak(plan: ReturnType<typeof studyPlan>): Promise<string> {
  const budgeted = plan.minutes > 0 ? `; plus ${plan.minutes} minutes of time-budgeted training` : "";
  return (await flopHours(plan)) + budgeted;
}

/** {@link hoursAtPeak} of the FLOPs a plan knows. */
async function flopHours(plan: ReturnType<typeof studyPlan>): Promise<string> {
  const { nativeAvailable, native } = await import("../engine/native.js");
  if (!nativeAvailable()) return "no time estimate: the native engine is not built";
  const r = measureSgemm(native);
  const sampling = plan.totalFlops - plan.trainingFlops;
  if (!bf16IsFast(native))
    return `${(plan.totalFlops / (r.gflops * 1e9) / 3600).toFixed(1)} h at this machine's measured sgemm rate, ${r.gflops.toFixed(0)} GFLOP/s`;
  const b = measureBf16Gemm(native);
  const hours = (plan.trainingFlops / (b.gflops * 1e9) + sampling / (r.gflops * 1e9)) / 3600;
  return `${hours.toFixed(1)} h at this machine's measured rates: training at the bf16 product rate ${b.gflops.toFixed(0)} GFLOP/s, sampling at the sgemm rate ${r.gflops.toFixed(0)} GFLOP/s`;
}

async function printPlan(s: Study): Promise<void> {
  const plan = studyPlan(s);
  console.log(`study ${s.name} at ${s.scale} scale: ${s.description}`);
  console.log(renderTable(["stage", "kind", "model", "work", "FLOPs"], plan.rows));
  console.log(`total ≈ ${plan.totalFlops.toExponential(2)} FLOPs (${await hoursAtPeak(plan)})`);
}

async function run(s: Study, out: string, cache?: string): Promise<void> {
  validateStudy(s);
  await printPlan(s);
  const t0 = performance.now();
  const records = await runStudy(s, { out, cache, log: (m) => console.error(m) }, await loadKernels("auto"));
  const byId = new Map(records.map((r) => [r.id, r]));
  for (const c of s.compare) {
    const before = loadEvalSummary(byId.get(c.before)!.dir);
    const after = loadEvalSummary(byId.get(c.after)!.dir);
    console.log(`\n${c.label}`);
    console.log(
      comparisonTable(
        compareEvalSummaries(before, after, { bands: before.options.bands }),
        c.before,
        c.after,
      ),
    );
  }
  console.log(`\nfinding of the paper: ${s.finding}`);
  console.log(
    `study done in ${((performance.now() - t0) / 60000).toFixed(1)} min → ${join(out, "report.html")}`,
  );
}

/** Registers study and demo. */
export function registerStudy(program: Command): void {
  program
    .command("study")
    .description(
      `run a study (${STUDY_NAMES.join(", ")}) or a study file; cached and resumable stage by stage`,
    )
    .argument("<name>", `${STUDY_NAMES.join(", ")}, or a study JSON file`)
    .addOption(choiceOption("--scale <scale>", "scale of a built-in study", SCALES).default("tiny"))
    .requiredOption("--out <dir>", "study folder (report.html, study.json, stages.json)")
    .option("--cache <dir>", "stage cache shared between studies (default: OUT/../.stage-cache)")
    .option("--seed <n>", "seed of every stage", parseNat("--seed"), 1)
    .option("--plan", "print the compute plan and stop")
    .option("--force", "run even at paper scale (needs days of CPU; use a GPU trainer, docs/scale-out.md)")
    .action(
      async (
        name: string,
        o: { scale: Scale; out: string; cache?: string; seed: number; plan?: boolean; force?: boolean },
      ) => {
        let s: Study;
        const builtin = (STUDY_NAMES as readonly string[]).includes(name);
        if (builtin) {
          s = builtinStudy(name as StudyName, o.scale, o.seed);
        } else {
          try {
            s = readJsonFile<Study>(name);
          } catch (e) {
            throw new Error(
              `"${name}" is neither a study (${STUDY_NAMES.join(", ")}) nor a readable study JSON file: ${(e as Error).message}`,
            );
          }
        }
        if (o.plan || (s.scale === "paper" && !o.force)) {
          validateStudy(s);
          await printPlan(s);
          if (!o.plan)
            console.log("paper scale: plan only (pass --force to run it here anyway; see docs/scale-out.md)");
          return;
        }
        checkOutputs({
          inputs: [{ flag: "study file", path: builtin ? undefined : name }],
          folders: [
            { flag: "--out", path: o.out },
            { flag: "--cache", path: o.cache },
          ],
        });
        await run(s, o.out, o.cache);
      },
    );

  program
    .command("demo")
    .description(
      "the main job: a compact depth study on tiny (pre-train, evaluate, edge, GRPO at the edge, evaluate), 5–10 min on 2 cores",
    )
    .option("--out <dir>", "study folder", "runs/demo")
    .option("--seed <n>", "seed", parseNat("--seed"), 1)
    .action(async (o: { out: string; seed: number }) => {
      checkOutputs({ inputs: [], folders: [{ flag: "--out", path: o.out }] });
      await run(demoStudy(o.seed), o.out);
    });
}
