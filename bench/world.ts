/**
 * World benchmark: generator problems/s per op and mode (one core, then every core), and verifier
 * traces/s, with ratios against the reference Python generator per core. The reference cannot be
 * installed here (its imports need PyPI), so its figures are quoted: it was run by hand on
 * 2026-12-02 (AMD EPYC, family 26, the project's 2-core kind) from a checkout of GSM-Infinite's
 * `data/realistic` generators with stub modules for the drawing and tokenizer imports, console
 * output discarded, zero context, d = 2, force, number range 5, strictline per world.md §3, 8 s
 * per op. Those figures are faster than the ones quoted in issue 2 (forward 191 / 782 / 168 / 114 /
 * 87, reverse 5–44: measured with its console output), so they are the anchor.
 *
 *   node dist/bench/world.js [--seconds S] [--json]
 */
import { availableParallelism, cpus } from "node:os";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { verifySample } from "../src/verify/index.js";
import { generateProblem } from "../src/world/problem.js";
import type { Mode, Problem } from "../src/world/types.js";

/** Reference generator, problems/s per core, per op (normalforward / forwardreverse). */
const REFERENCE: Record<Mode, Record<number, number>> = {
  forward: { 2: 322, 5: 1122, 10: 232, 15: 193, 20: 132 },
  reverse: { 2: 143, 5: 96, 10: 15.9, 15: 15.5, 20: 11.0 },
};
const OPS = [2, 5, 10, 15, 20];
const CONTEXTS = ["zoo", "school", "movie"];

interface Job {
  op: number;
  mode: Mode;
  seconds: number;
  offset: number;
}

/** Generates problems for `seconds` (after a warm-up) and returns problems/s. */
function generateFor({ op, mode, seconds, offset }: Job): number {
  let i = offset;
  const warm = performance.now() + 150;
  while (performance.now() < warm)
    generateProblem({ seed: 1, index: i++, op, context: CONTEXTS[i % 3], mode });
  let n = 0;
  const t0 = performance.now();
  const stop = t0 + seconds * 1000;
  let now = t0;
  while (now < stop) {
    for (let k = 0; k < 64; k++) generateProblem({ seed: 1, index: i++, op, context: CONTEXTS[i % 3], mode });
    n += 64;
    now = performance.now();
  }
  return n / ((now - t0) / 1000);
}

if (!isMainThread) {
  parentPort!.postMessage(generateFor(workerData as Job));
} else {
  await main();
}

/** Runs the same job on `k` workers at once; returns total problems/s. */
async function parallel(job: Omit<Job, "offset">, k: number): Promise<number> {
  const rates = await Promise.all(
    Array.from(
      { length: k },
      (_, w) =>
        new Promise<number>((resolve, reject) => {
          const worker = new Worker(new URL(import.meta.url), {
            workerData: { ...job, offset: w * 10_000_000 },
          });
          worker.once("message", resolve);
          worker.once("error", reject);
        }),
    ),
  );
  return rates.reduce((a, b) => a + b, 0);
}

/** Verifies gold and corrupted traces for `seconds`; returns traces/s. */
function verifyRate(seconds: number): { rate: number; n: number } {
  const items: { p: Problem; completion: string }[] = [];
  for (let op = 2; op <= 20; op++) {
    for (let k = 0; k < 30; k++) {
      const p = generateProblem({
        seed: 3,
        index: op * 100 + k,
        op,
        context: CONTEXTS[k % 3],
        mode: k % 2 ? "reverse" : "forward",
      });
      // Half gold, half with a changed number, so both verdicts are exercised.
      const completion =
        k % 4 === 0 ? p.completion.replace(/= (\d+)\./, (_m, d) => `= ${Number(d) + 1}.`) : p.completion;
      items.push({ p, completion });
    }
  }
  for (const it of items) verifySample(it.completion, it.p);
  let n = 0;
  const t0 = performance.now();
  let now = t0;
  while (now - t0 < seconds * 1000) {
    for (const it of items) verifySample(it.completion, it.p);
    n += items.length;
    now = performance.now();
  }
  return { rate: n / ((now - t0) / 1000), n: items.length };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes("--json");
  const si = args.indexOf("--seconds");
  const seconds = si >= 0 ? Number(args[si + 1]) : 1.5;
  const cores = availableParallelism();
  const rows: Record<string, number | string | null>[] = [];
  for (const mode of ["forward", "reverse"] as Mode[]) {
    for (const op of OPS) {
      const one = await parallel({ op, mode, seconds }, 1);
      const all = await parallel({ op, mode, seconds }, cores);
      const ref = REFERENCE[mode][op];
      rows.push({
        mode,
        op,
        perCore: Math.round(one),
        allCores: Math.round(all),
        scaling: +(all / one).toFixed(2),
        reference: ref,
        ratio: Math.round(one / ref),
      });
    }
  }
  const v = verifyRate(seconds);
  const cpu = cpus()[0]?.model ?? "unknown";
  if (json) {
    console.log(
      JSON.stringify({ cpu, cores, generator: rows, verifier: { tracesPerSec: Math.round(v.rate) } }),
    );
    return;
  }
  console.log(`cpu: ${cpu}`);
  console.log(`generator, problems/s (cores: ${cores}; ratio = ours per core / reference per core)`);
  console.log("mode     op   per core   all cores  scaling  reference/core  ratio");
  for (const r of rows) {
    console.log(
      `${String(r.mode).padEnd(8)} ${String(r.op).padStart(2)} ${String(r.perCore).padStart(10)} ${String(r.allCores).padStart(11)} ${String(r.scaling).padStart(8)} ${String(r.reference).padStart(15)} ${String(r.ratio).padStart(5)}×`,
    );
  }
  console.log(
    "(reference: the released generator, run by hand on 2026-12-02; see the header of bench/world.ts)",
  );
  console.log(`verifier: ${Math.round(v.rate)} traces/s on one core (op 2–20, both modes, 1 in 4 corrupted)`);
}
