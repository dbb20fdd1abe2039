/**
 * Corpora: which problem goes in slot j (a plan), generated on every core with worker threads,
 * deduplicated within the file and against other splits, streamed to disk atomically.
 */
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { AtomicWriter } from "../util/atomic.js";
import { readJsonl } from "../util/jsonl.js";
import { getContext } from "./contexts.js";
import { checkOp } from "./graph.js";
import { type Mixture, mixtureKey } from "./mixture.js";
import { generateProblem, type RenderOptions } from "./problem.js";
import type { Mode, Problem, ProblemKey } from "./types.js";

/** A grid plan: `perOp` problems for every op, cycling through contexts then modes. */
export interface GridPlan {
  kind: "grid";
  seed: number;
  ops: number[];
  contexts: string[];
  modes: Mode[];
  perOp: number;
}

/** A mixture plan: `count` problems drawn from a mixture. */
export interface MixturePlan {
  kind: "mixture";
  seed: number;
  mixture: Mixture;
  count: number;
}

export type Plan = GridPlan | MixturePlan;

/** Number of slots of a plan. */
export function planSize(plan: Plan): number {
  return plan.kind === "grid" ? plan.ops.length * plan.perOp : plan.count;
}

/** Validates a grid plan's fields with errors that name them. */
export function checkGridPlan(plan: GridPlan): void {
  if (plan.ops.length === 0) throw new Error("--ops is empty");
  plan.ops.forEach(checkOp);
  if (plan.contexts.length === 0) throw new Error("--contexts is empty");
  plan.contexts.forEach(getContext);
  if (plan.modes.length === 0) throw new Error("--modes is empty");
  for (const m of plan.modes)
    if (m !== "forward" && m !== "reverse") throw new Error(`--modes: unknown mode "${m}"`);
  if (!Number.isInteger(plan.perOp) || plan.perOp < 1)
    throw new Error(`--per-op must be a positive integer, got ${plan.perOp}`);
}

/**
 * Problem key of slot j, replacement round r (r > 0 only after a duplicate). The index of a
 * replacement is j + r·size, so every problem still regenerates from its own (seed, index).
 */
export function slotKey(plan: Plan, j: number, r = 0): ProblemKey {
  const size = planSize(plan);
  const index = j + r * size;
  if (plan.kind === "mixture") return mixtureKey(plan.mixture, plan.seed, index);
  const op = plan.ops[Math.floor(j / plan.perOp)];
  const cell = j % plan.perOp;
  const context = plan.contexts[cell % plan.contexts.length];
  const mode = plan.modes[Math.floor(cell / plan.contexts.length) % plan.modes.length];
  return { seed: plan.seed, index, op, context, mode };
}

/** Rendering options of a plan (a mixture may ask for sequential trace letters). */
function renderOpts(plan: Plan): RenderOptions {
  return plan.kind === "mixture" ? { letters: plan.mixture.letters } : {};
}

/** Dedup key of a problem: a hash of problem + question + solution (world.md §8). */
export function problemHash(p: Pick<Problem, "problem" | "question" | "solution">): string {
  return createHash("sha1")
    .update(p.problem)
    .update("\n")
    .update(p.question)
    .update("\n")
    .update(p.solution)
    .digest("hex")
    .slice(0, 20);
}

/** Generated lines of a range of slots (one JSON object each) and their dedup hashes. */
export interface RangeResult {
  lines: string[];
  hashes: string[];
}

/** Generates slots [start, end) in the calling thread. */
export function generateRange(plan: Plan, start: number, end: number): RangeResult {
  const lines: string[] = [];
  const hashes: string[] = [];
  for (let j = start; j < end; j++) {
    const p = generateProblem(slotKey(plan, j), renderOpts(plan));
    lines.push(JSON.stringify(p));
    hashes.push(problemHash(p));
  }
  return { lines, hashes };
}

/** Reads the dedup hashes of existing JSONL problem files (other splits). */
export async function readHashes(files: string[]): Promise<Set<string>> {
  const seen = new Set<string>();
  for (const file of files) {
    for await (const l of readJsonl(file, { bad: "throw" })) {
      const p = l.value as Problem;
      if (typeof p.problem !== "string" || typeof p.question !== "string" || typeof p.solution !== "string") {
        throw new Error(
          `${file}:${l.line}: a problem line needs "problem", "question" and "solution" strings`,
        );
      }
      seen.add(problemHash(p));
    }
  }
  return seen;
}

/** Options of writeCorpus. */
export interface CorpusOptions {
  /** Worker threads; default: every core. 0 or 1 generates in the calling thread. */
  workers?: number;
  /** Hashes that must not appear (other splits). */
  exclude?: Set<string>;
  /** Called after each chunk with (done, total). */
  onProgress?: (done: number, total: number) => void;
  /** Slots per work unit. */
  chunk?: number;
}

/** Counts of a written corpus. */
export interface CorpusStats {
  written: number;
  replaced: number;
}

/** Most replacement rounds tried for one slot before giving up (the plan is too small to fill without duplicates). */
const MAX_ROUNDS = 50;

/**
 * Writes a corpus to `out` (temp file + rename): same plan → same bytes, whatever the worker count.
 * Duplicates (within the file or in `exclude`) are replaced by the slot's next round.
 */
export async function writeCorpus(plan: Plan, out: string, opts: CorpusOptions = {}): Promise<CorpusStats> {
  const total = planSize(plan);
  const chunk = opts.chunk ?? 1000;
  const nWorkers = Math.max(0, Math.min(opts.workers ?? availableParallelism(), Math.ceil(total / chunk)));
  const seen = new Set(opts.exclude ?? []);
  const writer = new AtomicWriter(out);
  const stats: CorpusStats = { written: 0, replaced: 0 };
  /** Dedups a generated range in slot order and returns its text. */
  const accept = (start: number, res: RangeResult): string => {
    const { lines, hashes } = res;
    for (let i = 0; i < lines.length; i++) {
      let r = 0;
      let hash = hashes[i];
      while (seen.has(hash)) {
        if (++r > MAX_ROUNDS) {
          throw new Error(
            `slot ${start + i}: ${MAX_ROUNDS} replacements were all duplicates; the plan cannot fill ${total} distinct problems`,
          );
        }
        const p = generateProblem(slotKey(plan, start + i, r), renderOpts(plan));
        lines[i] = JSON.stringify(p);
        hash = problemHash(p);
      }
      if (r > 0) stats.replaced++;
      seen.add(hash);
    }
    return lines.join("\n") + "\n";
  };
  try {
    if (nWorkers <= 1) {
      for (let start = 0; start < total; start += chunk) {
        const end = Math.min(total, start + chunk);
        await writer.write(accept(start, generateRange(plan, start, end)));
        stats.written += end - start;
        opts.onProgress?.(end, total);
      }
    } else {
      await runWorkers(plan, total, chunk, nWorkers, async (start, res) => {
        await writer.write(accept(start, res));
        stats.written += res.lines.length;
        opts.onProgress?.(start + res.lines.length, total);
      });
    }
    await writer.commit();
  } catch (e) {
    await writer.abort();
    throw e;
  }
  return stats;
}

/** Hands chunks to workers and delivers results strictly in chunk order. */
async function runWorkers(
  plan: Plan,
  total: number,
  chunk: number,
  nWorkers: number,
  deliver: (start: number, res: RangeResult) => Promise<void>,
): Promise<void> {
  const url = new URL("./corpus-worker.js", import.meta.url);
  const workers = Array.from({ length: nWorkers }, () => new Worker(url, { workerData: { plan } }));
  const pending = new Map<number, RangeResult>();
  let nextStart = 0;
  let nextDeliver = 0;
  let delivering = Promise.resolve();
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (e: unknown) => {
        if (!failed) {
          failed = true;
          reject(e);
        }
      };
      const flush = () => {
        delivering = delivering.then(async () => {
          while (pending.has(nextDeliver)) {
            const res = pending.get(nextDeliver)!;
            pending.delete(nextDeliver);
            const s = nextDeliver;
            nextDeliver += chunk;
            await deliver(s, res);
          }
          if (nextDeliver >= total) resolve();
        });
        delivering.catch(fail);
      };
      const feed = (w: Worker) => {
        // Back-pressure: keep at most a few chunks ahead of the writer.
        if (nextStart >= total || nextStart - nextDeliver > chunk * nWorkers * 4) return false;
        const start = nextStart;
        nextStart += chunk;
        w.postMessage({ start, end: Math.min(total, start + chunk) });
        return true;
      };
      const idle: Worker[] = [];
      for (const w of workers) {
        w.on("message", (msg: { start: number; res: RangeResult }) => {
          pending.set(msg.start, msg.res);
          flush();
          if (!feed(w)) idle.push(w);
          delivering.then(() => {
            while (idle.length > 0 && feed(idle[idle.length - 1])) idle.pop();
          });
        });
        w.on("error", fail);
        if (!feed(w)) idle.push(w);
      }
      if (total === 0) resolve();
    });
    await delivering;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
