/** The `interplay` command line. */
import { Command } from "commander";
import { VERSION } from "../util/version.js";
import { registerBench } from "./bench.js";
import { registerEdge, registerEval } from "./eval.js";
import { registerExportConfig } from "./export-config.js";
import { registerExportData } from "./export-data.js";
import { registerGenerate } from "./generate.js";
import { registerModel } from "./model.js";
import { registerReport } from "./report.js";
import { registerRl } from "./rl.js";
import { registerServe } from "./serve.js";
import { registerStats } from "./stats.js";
import { registerStudy } from "./study.js";
import { registerTrain } from "./train.js";
import { registerVerify } from "./verify.js";

const program = new Command();
program
  .name("interplay")
  .description("A lab for how pre-training, mid-training and RL interact in small reasoning language models")
  .version(VERSION)
  .showHelpAfterError();
registerGenerate(program);
registerStats(program);
registerVerify(program);
registerTrain(program);
registerModel(program);
registerEval(program);
registerEdge(program);
registerRl(program);
registerStudy(program);
registerBench(program);
registerExportData(program);
registerExportConfig(program);
registerServe(program);
registerReport(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  console.error(`interplay: ${(e as Error).message}`);
  process.exitCode = 1;
}
