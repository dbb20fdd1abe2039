/** `interplay bench <workload>` runs a benchmark of bench/ (compiled to dist/bench/) in a child process; `interplay doctor` reports the engine. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { lookup } from "../util/lookup.js";

const WORKLOADS: Record<string, string> = {
  train: "train.js",
  sample: "sample.js",
  world: "world.js",
  matmul: "matmul.js",
};

/** Registers bench and doctor. */
export function registerBench(program: Command): void {
  program
    .command("bench")
    .description(`run a benchmark side by side with its anchor: ${Object.keys(WORKLOADS).join(", ")}`)
    .argument("<workload>", "which benchmark")
    .option("--json", "print one JSON object")
    .allowUnknownOption()
    .action((workload: string, o: { json?: boolean }, cmd: Command) => {
      const file = lookup(WORKLOADS, workload, "workload");
      const script = fileURLToPath(new URL(`../../bench/${file}`, import.meta.url));
      if (!existsSync(script)) throw new Error(`${script} is missing; run npm install (or npm run build)`);
      const extra = cmd.args.slice(1);
      const r = spawnSync(process.execPath, [script, ...(o.json ? ["--json"] : []), ...extra], {
        stdio: "inherit",
      });
      process.exitCode = r.status ?? 1;
    });

  program
    .command("doctor")
    .description("which engine path is live (BLAS or portable), threads, and the measured GFLOP/s")
    .action(async () => {
      const { nativeAvailable, native, measureGflops, nativeHasBlas } = await import("../engine/native.js");
      if (!nativeAvailable()) {
        console.log("native engine: NOT built — training falls back to the reference kernels (very slow).");
        console.log("fix: npm install (needs a C compiler, make and python3), or node native/build.mjs");
        process.exitCode = 1;
        return;
      }
      const info = native.info();
      console.log(
        `native engine: ${info.path} matrix products${info.path === "portable" && nativeHasBlas() ? " (BLAS built in, portable forced by INTERPLAY_PORTABLE)" : ""}`,
      );
      console.log(
        `BLAS built in: ${nativeHasBlas() ? "yes" : "no (install libopenblas-dev and rebuild for the fast path)"}`,
      );
      console.log(`threads: ${info.threads}, SIMD: ${info.simd}`);
      console.log(
        `sgemm 1024³: ${measureGflops({ n: 1024 }).toFixed(1)} GFLOP/s (2-core Zen 4 FMA peak ≈ 230)`,
      );
    });
}
