/** `interplay bench <workload>` runs a benchmark of bench/ (compiled to dist/bench/) in a child process; `interplay doctor` reports the engine. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Argument, type Command } from "commander";
import { CPU_FLAGS, cpuInfo, measureSgemm } from "../engine/peak.js";
import { lookup } from "../util/lookup.js";

const WORKLOADS: Record<string, string> = {
  train: "train.js",
  pretrain: "pretrain.js",
  sample: "sample.js",
  world: "world.js",
  matmul: "matmul.js",
};

/** Registers bench and doctor. */
export function registerBench(program: Command): void {
  program
    .command("bench")
    .description(`run a benchmark side by side with its anchor: ${Object.keys(WORKLOADS).join(", ")}`)
    .addArgument(new Argument("<workload>", "which benchmark").choices(Object.keys(WORKLOADS)))
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
    .description(
      "this machine's CPU and its SIMD/AMX flags, which engine path is live (BLAS or portable), threads, and the measured sgemm GFLOP/s",
    )
    .action(async () => {
      printCpu();
      const { nativeAvailable, native, nativeHasBlas } = await import("../engine/native.js");
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
      const r = measureSgemm(native);
      console.log(
        `sgemm ${r.n}³: ${r.gflops.toFixed(1)} GFLOP/s measured on this machine (fastest of ${r.runs} products, ${r.threads} threads)`,
      );
    });
}

/** Prints the CPU model and which of the engine's SIMD/AMX flags it has. */
function printCpu(): void {
  const cpu = cpuInfo();
  console.log(`CPU: ${cpu.model} (${cpu.logicalCores} logical cores)`);
  if (!cpu.flags) {
    console.log("SIMD/AMX flags: unknown (no /proc/cpuinfo)");
    return;
  }
  const absent = CPU_FLAGS.filter((f) => !cpu.flags!.includes(f));
  console.log(
    `SIMD/AMX flags: ${cpu.flags.length > 0 ? cpu.flags.join(" ") : "none of them"}` +
      (absent.length > 0 ? ` (absent: ${absent.join(" ")})` : ""),
  );
}
