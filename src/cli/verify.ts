/** `interplay verify`: process-verify sampled completions against their problems. */
import type { Command } from "commander";
import { type ByExtra, describePolicy, EXTRA_POLICIES } from "../stats/evaluation.js";
import { PASSK_ESTIMATORS, type PassKEstimator } from "../stats/passk.js";
import { type ProblemOutcome, type Summary, summarize } from "../stats/summary.js";
import { AtomicWriter, writeFileAtomic } from "../util/atomic.js";
import { checkInputFile, readJsonl } from "../util/jsonl.js";
import { COMPOSITE_FORMS, type CompositeForm, verifyPolicy, verifySample } from "../verify/index.js";
import { loadProblems } from "../world/load.js";
import { choiceOption, parseUnit } from "./args.js";
import { VERIFY_FLAGS } from "./eval.js";
import { checkOutputs } from "./outputs.js";
import { startProgress } from "./progress.js";
import { extraSummaryTable, summaryTable } from "./summary-table.js";

interface VerifyOpts {
  problems: string;
  samples: string;
  out: string;
  allowExtra: boolean;
  allowSlips?: boolean;
  alpha: number;
  composite: CompositeForm;
  estimator: PassKEstimator;
  summary?: string;
  force?: boolean;
}

/** Registers the verify command. */
export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description(
      "verify {id, completion} samples against their problems; per-sample verdicts and a pass@k table",
    )
    .requiredOption("--problems <file>", "problem JSONL (as written by generate)")
    .requiredOption("--samples <file>", "sample JSONL: one {id, completion} per line")
    .requiredOption(
      "--out <file>",
      "result JSONL, one line per sample line, in order (an existing file needs --force)",
    )
    .option(...VERIFY_FLAGS.noAllowExtra)
    .option(...VERIFY_FLAGS.allowSlips)
    .option("--alpha <a>", "α of the composite reward, in [0, 1]", parseUnit("--alpha"), 0.2)
    .addOption(choiceOption("--composite <form>", "composite reward form", COMPOSITE_FORMS).default("gated"))
    .addOption(choiceOption("--estimator <name>", "pass@k estimator", PASSK_ESTIMATORS).default("unbiased"))
    .option("--summary <file>", "also write the summary as JSON")
    .option("--force", "replace existing --out and --summary files (never --problems or --samples)")
    .action(async (o: VerifyOpts) => {
      checkOutputs({
        inputs: [
          { flag: "--problems", path: o.problems },
          { flag: "--samples", path: o.samples },
        ],
        files: [
          { flag: "--out", path: o.out },
          { flag: "--summary", path: o.summary },
        ],
        force: o.force,
      });
      const policy = verifyPolicy({ allowExtra: o.allowExtra, allowSlips: o.allowSlips === true });
      const problems = await loadProblems(o.problems);
      checkInputFile(o.samples, "samples");
      const outcomes = new Map<string, ProblemOutcome>();
      // The same samples verified with extra nodes allowed and without (both figures, any policy).
      const byExtra: ByExtra<Map<string, boolean[]>> = { allowExtra: new Map(), noExtra: new Map() };
      const errors: string[] = [];
      let n = 0;
      const writer = new AtomicWriter(o.out);
      const bar = startProgress("verify", 0);
      try {
        for await (const l of readJsonl(o.samples)) {
          n++;
          let record: object;
          const v = l.value as { id?: unknown; completion?: unknown } | undefined;
          const err =
            l.error ??
            (!v || typeof v !== "object" || Array.isArray(v)
              ? "a sample line must be a JSON object {id, completion}"
              : typeof v.id !== "string"
                ? `"id" must be a string`
                : typeof v.completion !== "string"
                  ? `"completion" must be a string`
                  : !problems.has(v.id)
                    ? `unknown problem id "${v.id}"`
                    : null);
          if (err) {
            errors.push(`${o.samples}:${l.line}: ${err}`);
            record = { line: l.line, ...(typeof v?.id === "string" ? { id: v.id } : {}), error: err };
          } else {
            const p = problems.get(v!.id as string)!;
            const r = verifySample(v!.completion as string, p, {
              ...policy,
              alpha: o.alpha,
              form: o.composite,
            });
            record = {
              id: p.id,
              answerCorrect: r.answerCorrect,
              verified: r.verified,
              verifiedAllowExtra: r.verifiedAllowExtra,
              verifiedNoExtra: r.verifiedNoExtra,
              processAcc: r.processAcc,
              parseFailed: r.parseFailed,
              truncated: r.truncated,
              answer: r.answer,
              errors: r.errors,
              rewards: r.rewards,
            };
            let oc = outcomes.get(p.id);
            if (!oc) {
              oc = { id: p.id, op: p.op, correct: [], answerCorrect: [], processAcc: [] };
              outcomes.set(p.id, oc);
            }
            oc.correct.push(r.verified);
            for (const which of EXTRA_POLICIES) {
              const list = byExtra[which].get(p.id) ?? [];
              list.push(which === "allowExtra" ? r.verifiedAllowExtra : r.verifiedNoExtra);
              byExtra[which].set(p.id, list);
            }
            oc.answerCorrect!.push(r.answerCorrect);
            oc.processAcc!.push(r.processAcc);
          }
          await writer.write(`${JSON.stringify(record)}\n`);
        }
        if (n === 0) throw new Error(`samples file ${o.samples} holds no samples`);
        await writer.commit();
      } catch (e) {
        await writer.abort();
        throw e;
      } finally {
        bar.stop();
      }
      console.error(`verified ${n - errors.length} of ${n} sample lines → ${o.out}`);
      if (errors.length > 0) {
        console.error(
          `${errors.length} sample line(s) could not be verified (error records written in place):`,
        );
        for (const e of errors.slice(0, 10)) console.error(`  ${e}`);
        if (errors.length > 10) console.error(`  … and ${errors.length - 10} more`);
        process.exitCode = 2;
      }
      const missing = problems.size - outcomes.size;
      if (outcomes.size === 0) throw new Error("no sample could be verified, so there is no summary");
      const counts = new Set([...outcomes.values()].map((x) => x.correct.length));
      const summary = summarize([...outcomes.values()], { estimator: o.estimator });
      const extra = {} as ByExtra<Summary>;
      for (const which of EXTRA_POLICIES) {
        extra[which] = summarize(
          [...outcomes.values()].map((x) => ({ id: x.id, op: x.op, correct: byExtra[which].get(x.id)! })),
          { estimator: o.estimator },
        );
      }
      console.log(summaryTable(summary));
      console.log(`verified under: ${describePolicy(policy)}`);
      console.log(extraSummaryTable(extra));
      if (missing > 0)
        console.log(`${missing} of ${problems.size} problems had no samples and are not in the summary`);
      if (counts.size > 1) {
        console.log(
          `problems have different sample counts (${[...counts].sort((a, b) => a - b).join(", ")}); each group reports k up to its smallest`,
        );
      }
      if (o.summary) {
        const json = { verify: policy, estimator: o.estimator, ...summary, byExtra: extra };
        writeFileAtomic(o.summary, `${JSON.stringify(json, null, 2)}\n`);
      }
    });
}
