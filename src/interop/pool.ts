/**
 * An ordered worker pool: jobs go to worker threads as they free up, results come back in job
 * order, and only a bounded number of results wait ahead of the consumer (memory stays flat).
 */
import { Worker } from "node:worker_threads";

/** Options of runOrdered. */
export interface PoolOptions {
  /** Worker threads (at least 1). */
  workers: number;
  /** Most jobs handed out beyond the one being delivered (default 4 per worker). */
  ahead?: number;
}

/**
 * Runs `jobs` on workers started from `url` with `workerData`; each worker answers a job message
 * with one result message (or an `{error}` message). `deliver` sees results strictly in job order.
 */
export async function runOrdered<J, R>(
  url: URL,
  workerData: unknown,
  jobs: readonly J[],
  opts: PoolOptions,
  deliver: (result: R, job: J, index: number) => Promise<void> | void,
): Promise<void> {
  if (jobs.length === 0) return;
  const n = Math.max(1, Math.min(opts.workers, jobs.length));
  const ahead = Math.max(n, opts.ahead ?? 4 * n);
  const workers = Array.from({ length: n }, () => new Worker(url, { workerData }));
  const results = new Map<number, R>();
  let next = 0;
  let delivered = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      let chain = Promise.resolve();
      const idle: Worker[] = [];
      const fail = (e: unknown) => {
        if (!failed) {
          failed = true;
          reject(e);
        }
      };
      const assign = (w: Worker, busy: Map<Worker, number>): boolean => {
        if (failed || next >= jobs.length || next - delivered >= ahead) return false;
        busy.set(w, next);
        w.postMessage({ job: jobs[next], index: next });
        next++;
        return true;
      };
      const busy = new Map<Worker, number>();
      const refill = () => {
        while (idle.length > 0 && assign(idle[idle.length - 1], busy)) idle.pop();
      };
      const drain = () => {
        chain = chain.then(async () => {
          while (!failed && results.has(delivered)) {
            const r = results.get(delivered)!;
            results.delete(delivered);
            await deliver(r, jobs[delivered], delivered);
            delivered++;
            refill();
          }
          if (delivered === jobs.length) resolve();
        });
        chain.catch(fail);
      };
      for (const w of workers) {
        w.on("message", (msg: { index: number; result?: R; error?: string }) => {
          busy.delete(w);
          if (msg.error !== undefined) {
            fail(new Error(msg.error));
            return;
          }
          results.set(msg.index, msg.result as R);
          if (!assign(w, busy)) idle.push(w);
          drain();
        });
        w.on("error", fail);
        w.on("exit", (code) => {
          if (code !== 0 && busy.has(w)) fail(new Error(`a worker thread exited with code ${code}`));
        });
        if (!assign(w, busy)) idle.push(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
