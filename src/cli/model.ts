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
import type { Mode } from "../world/types.js";
import { BACKENDS, parseChoice, parseList, parseNat, parseOps, parsePos } from "./args.js";
import { checkOutputs } from "./outputs.js";
import { startProgress } from "./progress.js";
import { pct, renderTable } from "./table.js";

/** Registers export and decode. */
export function registerModel(program: Command): void {
  program
    .command("export")
    .description("write a run's latest checkpoint as a Hugging Face Qwen2 folder")
    .requiredOption("--run <dir>", "run folder")
    .requiredOption("--out <dir>", "new Hugging Face folder (must not exist or be empty)")
    .action((o: { run: string; out: string }) => {
      checkOutputs({ inputs: [{ flag: "--run", path: o.run }], folders: [{ flag: "--out", path: o.out }] });
      const m = loadRunModel(o.run);
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
    .option("--modes <list>", "modes", parseList, ["forward"])
    .option(
      "--seed <n>",
      "seed of the problems (pick one no training split used)",
      parseNat("--seed"),
      1_000_003,
    )
    .option("--max-new <n>", "most new tokens", parsePos("--max-new"), 400)
    .option("--show <n>", "print this many decoded traces", parseNat("--show"), 1)
    .option("--backend <name>", "auto, native or reference", parseChoice("--backend", BACKENDS), "auto")
    .action(
      async (o: {
        model: string;
        ops: number[];
        perOp: number;
        modes: string[];
        seed: number;
        maxNew: number;
        show: number;
        backend: BackendChoice;
      }) => {
        for (const md of o.modes)
          if (md !== "forward" && md !== "reverse") throw new Error(`--modes: unknown mode "${md}"`);
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
              mode: o.modes[i % o.modes.length] as Mode,
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
