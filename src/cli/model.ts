/** `interplay export` (run → Hugging Face folder) and `interplay decode` (greedy sanity check). */
import type { Command } from "commander";
import { type BackendChoice, loadKernels } from "../engine/backend.js";
import { saveHfModel } from "../hf/model-io.js";
import { greedy } from "../model/greedy.js";
import { Model } from "../model/model.js";
import { WorldTokenizer } from "../model/tokenizer.js";
import { loadAnyModel, loadRunModel } from "../train/load.js";
import { verifySample } from "../verify/index.js";
import { CONTEXT_IDS } from "../world/contexts.js";
import { generateProblem } from "../world/problem.js";
import { MODES, type Mode } from "../world/types.js";
import { backendOption, choiceListOption, hiddenAlias, parseNat, parseOps, parsePos } from "./args.js";
import { checkOutputs } from "./outputs.js";
import { startProgress } from "./progress.js";
import { pct, renderTable } from "./table.js";

/** Registers export and decode. */
export function registerModel(program: Command): void {
  const exp = program
    .command("export")
    .description("write a run's latest checkpoint as a Hugging Face Qwen2 folder")
    .requiredOption("--model <run>", "the run folder to export")
    .requiredOption("--out <dir>", "new Hugging Face folder (must not exist or be empty)");
  hiddenAlias(exp, "--run <dir>", "model");
  exp.action((o: { model: string; run?: string; out: string }) => {
    // Errors name the spelling given (--run is the old one).
    const flag = o.run !== undefined ? "--run" : "--model";
    checkOutputs({ inputs: [{ flag, path: o.model }], folders: [{ flag: "--out", path: o.out }] });
    const m = loadRunModel(o.model);
    if (!(m.tokenizer instanceof WorldTokenizer))
      throw new Error("only runs with the world tokenizer can be exported");
    saveHfModel(o.out, m.config, m.flat, m.tokenizer);
    console.error(`exported ${m.checkpoint} → ${o.out}`);
  });

  program
    .command("decode")
    .description("greedy-decode fresh problems and verify the traces (a sanity check; see eval for sampling)")
    .requiredOption("--model <dir>", "run folder or Hugging Face folder")
    .option("--ops <ops>", "ops", parseOps, [2, 3])
    .option("--per-op <n>", "problems per op", parsePos("--per-op"), 20)
    .addOption(choiceListOption("--modes <list>", "modes", MODES).default(["forward"]))
    .option(
      "--seed <n>",
      "seed of the problems (pick one no training split used)",
      parseNat("--seed"),
      1_000_003,
    )
    .option("--max-new <n>", "most new tokens", parsePos("--max-new"), 400)
    .option("--show <n>", "print this many decoded traces", parseNat("--show"), 1)
    .addOption(backendOption())
    .action(
      async (o: {
        model: string;
        ops: number[];
        perOp: number;
        modes: Mode[];
        seed: number;
        maxNew: number;
        show: number;
        backend: BackendChoice;
      }) => {
        const loaded = loadAnyModel(o.model);
        const kernels = await loadKernels(o.backend);
        const model = new Model(kernels, loaded.config, loaded.flat);
        const tok = loaded.tokenizer;
        const stop = [tok.id(" </answer>"), tok.id("</answer>"), tok.eosId].filter(
          (x): x is number => x !== undefined && x >= 0,
        );
        const rows: (string | number)[][] = [];
        const total = o.ops.length * o.perOp;
        const bar = startProgress("decode", total);
        let done = 0;
        let shown = 0;
        let index = 0;
        for (const op of o.ops) {
          let verified = 0;
          let answers = 0;
          for (let i = 0; i < o.perOp; i++) {
            const p = generateProblem({
              seed: o.seed,
              index: index++,
              op,
              context: CONTEXT_IDS[i % CONTEXT_IDS.length],
              mode: o.modes[i % o.modes.length],
            });
            const out = greedy(model, tok.encode(p.prompt), { maxNew: o.maxNew, stop });
            const completion = tok.decode(out);
            const r = verifySample(completion, p);
            if (r.verified) verified++;
            if (r.answerCorrect) answers++;
            if (shown < o.show) {
              shown++;
              console.log(
                `${p.id}\n  gold: ${p.completion}\n  model:${completion}\n  verified: ${r.verified}`,
              );
            }
            bar.update(++done);
          }
          rows.push([`op ${op}`, o.perOp, pct(answers / o.perOp), pct(verified / o.perOp)]);
        }
        bar.stop();
        console.log(renderTable(["group", "problems", "answer acc %", "verified %"], rows));
      },
    );
}
