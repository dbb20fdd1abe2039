/** `interplay bench <workload>` runs a benchmark of bench/ (compiled to dist/bench/) in a child process; `interplay doctor` reports the engine. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Argument, type Command } from "commander";
import { FAST_BF16_PATHS } from "../engine/kernels.js";
import { CPU_FLAGS, cpuInfo, measureBf16Gemm, measurePeak, measureSgemm } from "../engine/peak.js";
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
      "this machine's CPU and its SIMD/AMX flags, the live engine paths (fp32: BLAS or portable; bf16: AMX, AVX512-BF16 or portable), threads, and measured peaks (FMA and bf16 loops, sgemm and bf16 products)",
    )
    .action(async () => {
      printCpu();
      const { nativeAvailable, native, nativeHasBlas, nativeInfo, nativeLoadError, NativeSettingError } =
        await import("../engine/native.js");
      if (!nativeAvailable()) {
        const why = nativeLoadError();
        if (why instanceof NativeSettingError) {
          console.log(`native engine: built, but a setting is wrong: ${why.message}`);
        } else {
          console.log(
            "native engine: NOT available — training falls back to the reference kernels (very slow).",
          );
          console.log(`why: ${why?.message}`);
          console.log("fix: npm install (needs a C compiler, make and python3), or node native/build.mjs");
        }
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
      const ni = nativeInfo();
      const forced = process.env.INTERPLAY_MATMUL
        ? ` (INTERPLAY_MATMUL=${process.env.INTERPLAY_MATMUL})`
        : "";
      console.log(
        `bf16 products: ${ni.bf16}${forced}; AVX512_BF16 ${ni.avx512bf16 ? "yes" : "no"}, AMX ${ni.amx ? "yes (no AMX kernels built yet)" : "no"}`,
      );
      const fastBf16 = FAST_BF16_PATHS.includes(ni.bf16);
      console.log(
        `training precision: --precision bf16 runs ${fastBf16 ? "at hardware speed" : "the portable emulation (slow; use fp32)"}`,
      );
      const fma = measurePeak("fma");
      const dp = measurePeak("bf16");
      console.log(
        `peak: fp32 FMA loop ${fma?.toFixed(1)} GFLOP/s` +
          (dp === null
            ? ", bf16 dot-product loop: none (this CPU has no AVX512_BF16)"
            : `, bf16 dot-product loop ${dp.toFixed(1)} GFLOP/s`),
      );
      const r = measureSgemm(native);
      console.log(
        `sgemm ${r.n}³: ${r.gflops.toFixed(1)} GFLOP/s measured on this machine (fastest of ${r.runs} products, ${r.threads} threads)`,
      );
      if (fastBf16) {
        const b = measureBf16Gemm(native, { seconds: 0.3 });
        console.log(
          `bf16 product ${b.n}³: ${b.gflops.toFixed(1)} GFLOP/s (${ni.bf16}, packed weights, fastest of ${b.runs})`,
        );
      }
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
