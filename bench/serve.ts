/**
 * Load test of the reward service on loopback: starts `interplay serve --port 0` as a child process,
 * sends a fixed number of requests from many concurrent keep-alive clients (bounded by a time limit
 * too, so it always stops by itself), then runs the fuzz pass of malformed requests and checks the
 * service is still healthy. Reports requests/s, completions/s, latency percentiles, errors and the
 * server's memory over the run.
 *
 *   node dist/bench/serve.js [--requests N] [--concurrency C] [--seconds S] [--batch B] [--workers W] [--json]
 *
 * With --flood it runs the memory test instead (issue 13): `--clients` (16) concurrent POSTs of a
 * `--body-mib` (30) MiB body each, on fresh connections, `--rounds` (3) times, against a service with
 * the default limits (or `--max-inflight-mb`); it reports the answers, the server's RSS before, its
 * peak (the kernel's VmHWM) and after (2 s idle, then after 1,000 small requests), and checks the
 * service is healthy after. The body (--shape) is one completion of that size (answered 413 past
 * the 1M-character limit, after it is read and parsed), a batch of 8,192 scored items, or the most
 * tiny values a body may hold (testing.ts, bigBody).
 *
 *   node dist/bench/serve.js --flood [--clients 16] [--body-mib 30] [--rounds 3] [--max-inflight-mb M] [--shape completion|batch|values] [--json]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent } from "node:http";
import { fileURLToPath } from "node:url";
import { exportGraph } from "../src/interop/rows.js";
import {
  type BodyShape,
  FAULTS,
  faultyCompletion,
  flood,
  fuzzCases,
  prng,
  raw,
  sendFuzz,
} from "../src/serve/testing/client.js";
import { generateProblem } from "../src/world/problem.js";
import type { Mode, Problem } from "../src/world/types.js";

interface Args {
  requests: number;
  concurrency: number;
  seconds: number;
  batch: number;
  workers: number;
  json: boolean;
  flood: boolean;
  clients: number;
  "body-mib": number;
  rounds: number;
  "max-inflight-mb": number;
  shape: BodyShape;
}

const USAGE =
  "usage: node dist/bench/serve.js [--requests N] [--concurrency C] [--seconds S] [--batch B] [--workers W] [--json]\n" +
  "       node dist/bench/serve.js --flood [--clients 16] [--body-mib 30] [--rounds 3] [--max-inflight-mb M] [--shape completion|batch|values] [--json]";

function parseArgs(argv: string[]): Args {
  const a: Args = {
    requests: 20_000,
    concurrency: 32,
    seconds: 60,
    batch: 16,
    workers: 1,
    json: false,
    flood: false,
    clients: 16,
    "body-mib": 30,
    rounds: 3,
    "max-inflight-mb": 0,
    shape: "completion",
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === "--json" || k === "--flood") {
      a[k === "--json" ? "json" : "flood"] = true;
      continue;
    }
    if (k === "--shape") {
      const v = argv[++i];
      if (v !== "completion" && v !== "batch" && v !== "values")
        throw new Error(`${USAGE}\n(bad --shape "${v}")`);
      a.shape = v;
      continue;
    }
    const v = Number(argv[++i]);
    const key = k.replace(/^--/, "") as keyof Args;
    if (!(key in a) || key === "json" || key === "flood" || key === "shape" || !Number.isFinite(v) || v <= 0)
      throw new Error(`${USAGE}\n(bad "${k}")`);
    (a as unknown as Record<string, number>)[key] = v;
  }
  return a;
}

/** Starts the service in a child process; resolves with its port. */
function startService(workers: number, extra: string[] = []): Promise<{ child: ChildProcess; port: number }> {
  const bin = fileURLToPath(new URL("../../bin/interplay.js", import.meta.url));
  const child = spawn(
    process.execPath,
    [bin, "serve", "--port", "0", "--workers", String(workers), ...extra],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  return new Promise((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(err);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on("exit", (code) => reject(new Error(`serve exited (${code}) before listening: ${err}`)));
  });
}

interface Health {
  status: string;
  memory: { rss: number; heapUsed: number };
  requests: number;
}

async function health(port: number): Promise<Health> {
  const r = await raw(port, { path: "/healthz" });
  if (r.status !== 200) throw new Error(`healthz answered ${r.status}: ${r.text}`);
  return r.json as Health;
}

function pct(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Request bodies: native single, native batch and OpenRLHF batch, golds by id, key and embedded graph. */
function makeBodies(batch: number): { path: string; body: string; items: number }[] {
  const problems: Problem[] = [];
  for (let op = 2; op <= 20; op++) {
    for (const mode of ["forward", "reverse"] as Mode[]) {
      for (const context of ["zoo", "school", "movie"])
        for (let i = 0; i < 6; i++)
          problems.push(generateProblem({ seed: 77, index: problems.length, op, context, mode }));
    }
  }
  const rnd = prng(1);
  const sample = () => {
    const p = problems[Math.floor(rnd() * problems.length)];
    return { p, completion: faultyCompletion(p, FAULTS[Math.floor(rnd() * FAULTS.length)], rnd) };
  };
  const gold = (p: Problem, k: number) =>
    k % 3 === 0
      ? p.id
      : k % 3 === 1
        ? { graph: exportGraph(p.graph), answer: p.answer }
        : { seed: p.seed, index: p.index, op: p.op, context: p.context, mode: p.mode };
  const bodies: { path: string; body: string; items: number }[] = [];
  for (let i = 0; i < 600; i++) {
    const kind = i % 3;
    if (kind === 0) {
      const { p, completion } = sample();
      bodies.push({ path: "/v1/reward", body: JSON.stringify({ completion, gold: gold(p, i) }), items: 1 });
    } else if (kind === 1) {
      const items = Array.from({ length: batch }, (_, k) => {
        const { p, completion } = sample();
        return { completion, gold: gold(p, k) };
      });
      bodies.push({ path: "/v1/reward", body: JSON.stringify({ items, reward: "strict" }), items: batch });
    } else {
      const s = Array.from({ length: batch }, sample);
      bodies.push({
        path: "/get_reward",
        body: JSON.stringify({
          query: s.map(({ p, completion }) => p.prompt + completion),
          prompts: s.map(({ p }) => p.prompt),
          labels: s.map(({ p }) => p.id),
        }),
        items: batch,
      });
    }
  }
  return bodies;
}

/** Resident and peak resident memory of a process, bytes (Linux /proc; null elsewhere). */
function procMemory(pid: number): { rss: number; peak: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) =>
      Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
    return { rss: kb("VmRSS"), peak: kb("VmHWM") };
  } catch {
    return null;
  }
}

/** The memory test: concurrent near-limit bodies, the server's peak RSS and what it keeps after. */
async function floodMain(a: Args): Promise<void> {
  const extra = a["max-inflight-mb"] > 0 ? ["--max-inflight-mb", String(a["max-inflight-mb"])] : [];
  const { child, port } = await startService(1, extra);
  try {
    const gold = "zoo-f-op2-s77-i0";
    const info = (await raw(port, { path: "/" })).json as { limits: Record<string, number> };
    // A few ordinary requests first, so the baseline is a warm server's.
    for (let i = 0; i < 50; i++)
      await raw(port, { path: "/v1/reward", body: JSON.stringify({ completion: "x", gold }) });
    const mem = () => procMemory(child.pid!) ?? { rss: Number.NaN, peak: Number.NaN };
    const start = mem();
    const bytes = Math.round(a["body-mib"] * 2 ** 20);
    const rounds: { seconds: number; statuses: Record<string, number>; peakMiB: number }[] = [];
    let maxSampled = start.rss;
    const sampler = setInterval(() => {
      maxSampled = Math.max(maxSampled, mem().rss);
    }, 20);
    let unexpected = 0;
    for (let r = 0; r < a.rounds; r++) {
      const t0 = performance.now();
      const out = await flood(port, {
        clients: a.clients,
        bytes,
        gold,
        kind: a.shape,
      });
      const statuses: Record<string, number> = {};
      for (const o of out) {
        statuses[o.status] = (statuses[o.status] ?? 0) + 1;
        // Allowed: a 200, any 4xx, and a 503 with Retry-After (the budget is full); not a dropped connection.
        const ok =
          o.status === 200 ||
          (o.status >= 400 && o.status < 500) ||
          (o.status === 503 && o.retryAfter !== undefined);
        if (!ok) unexpected++;
      }
      rounds.push({
        seconds: +((performance.now() - t0) / 1000).toFixed(2),
        statuses,
        peakMiB: mb(mem().peak),
      });
    }
    clearInterval(sampler);
    await new Promise((r) => setTimeout(r, 2000));
    const end = mem();
    for (let i = 0; i < 1000; i++)
      await raw(port, { path: "/v1/reward", body: JSON.stringify({ completion: "x", gold }) });
    const later = mem();
    const h = await health(port);
    const ok = await raw(port, { path: "/v1/reward", body: JSON.stringify({ completion: "x", gold }) });
    const result = {
      clients: a.clients,
      bodyBytes: bytes,
      rounds: a.rounds,
      limits: {
        maxBodyMiB: mb(info.limits.maxBodyBytes),
        maxInflightMiB: info.limits.maxInflightBytes === undefined ? null : mb(info.limits.maxInflightBytes),
      },
      body: a.shape,
      serverRssMiB: {
        start: mb(start.rss),
        peak: mb(later.peak),
        maxSampled: mb(maxSampled),
        after: mb(end.rss),
        afterSmallRequests: mb(later.rss),
      },
      perRound: rounds,
      unexpected,
      healthyAfter: h.status === "ok" && ok.status === 200,
    };
    if (a.json) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(
        `reward service memory test: ${a.rounds} rounds of ${a.clients} concurrent POSTs of ${bytes} bytes (${a["body-mib"]} MiB, ${result.body}) each, ` +
          `max body ${result.limits.maxBodyMiB} MiB, in-flight budget ${result.limits.maxInflightMiB ?? "none"} MiB`,
      );
      for (const [i, r] of rounds.entries())
        console.log(
          `  round ${i + 1}: ${r.seconds} s, answers ${JSON.stringify(r.statuses)}, peak RSS so far ${r.peakMiB} MiB`,
        );
      console.log(
        `  server RSS MiB: start ${result.serverRssMiB.start}, peak (VmHWM) ${result.serverRssMiB.peak}, ` +
          `after (2 s idle) ${result.serverRssMiB.after}, after 1,000 small requests ${result.serverRssMiB.afterSmallRequests}`,
      );
      console.log(
        `  unexpected answers: ${unexpected}; healthy after: ${result.healthyAfter ? "yes" : "NO"}`,
      );
    }
    if (unexpected > 0 || !result.healthyAfter) process.exitCode = 1;
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

const mb = (x: number) => +(x / 2 ** 20).toFixed(1);

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.flood) return floodMain(a);
  const bodies = makeBodies(a.batch);
  const { child, port } = await startService(a.workers);
  const agent = new Agent({ keepAlive: true, maxSockets: a.concurrency });
  try {
    // Warm-up.
    for (let i = 0; i < 300; i++) {
      const b = bodies[i % bodies.length];
      const r = await raw(port, { path: b.path, body: b.body, agent });
      if (r.status !== 200) throw new Error(`warm-up request answered ${r.status}: ${r.text}`);
    }
    const h0 = await health(port);
    const rss: number[] = [h0.memory.rss];
    const heap: number[] = [h0.memory.heapUsed];
    const latencies: number[] = [];
    let errors = 0;
    let items = 0;
    let next = 0;
    const t0 = performance.now();
    const deadline = t0 + a.seconds * 1000;
    let running = true;
    const sampler = (async () => {
      const probe = new Agent({ keepAlive: true, maxSockets: 1 });
      while (running) {
        await new Promise((r) => setTimeout(r, 500));
        if (!running) break;
        const r = await raw(port, { path: "/healthz", agent: probe });
        const m = (r.json as Health).memory;
        rss.push(m.rss);
        heap.push(m.heapUsed);
      }
      probe.destroy();
    })();
    const client = async () => {
      while (next < a.requests && performance.now() < deadline) {
        const b = bodies[next++ % bodies.length];
        const s = performance.now();
        try {
          const r = await raw(port, { path: b.path, body: b.body, agent });
          if (r.status === 200) items += b.items;
          else errors++;
        } catch {
          errors++;
        }
        latencies.push(performance.now() - s);
      }
    };
    await Promise.all(Array.from({ length: a.concurrency }, client));
    const secs = (performance.now() - t0) / 1000;
    running = false;
    await sampler;
    const h1 = await health(port);
    rss.push(h1.memory.rss);
    heap.push(h1.memory.heapUsed);

    // Fuzz pass: every malformed request must get a 4xx; then the service must still be healthy.
    const info = (await raw(port, { path: "/" })).json as { limits: { maxBodyBytes: number } };
    let fuzz4xx = 0;
    let fuzzOther = 0;
    const fuzz = fuzzCases(bodies.length ? "zoo-f-op2-s77-i0" : "", info.limits.maxBodyBytes);
    const fuzzBad: string[] = [];
    for (let round = 0; round < 5; round++) {
      for (const c of fuzz) {
        try {
          const r = await sendFuzz(port, c);
          if (r.status >= 400 && r.status < 500) fuzz4xx++;
          else {
            fuzzOther++;
            fuzzBad.push(`${c.name}: ${r.status}`);
          }
        } catch (e) {
          fuzzOther++;
          fuzzBad.push(`${c.name}: ${(e as Error).message}`);
        }
      }
    }
    const h2 = await health(port);
    const after = await raw(port, { path: bodies[0].path, body: bodies[0].body });

    latencies.sort((x, y) => x - y);
    const result = {
      requests: latencies.length,
      seconds: +secs.toFixed(2),
      concurrency: a.concurrency,
      batch: a.batch,
      serverProcesses: a.workers,
      requestsPerSecond: Math.round(latencies.length / secs),
      completionsPerSecond: Math.round(items / secs),
      latencyMs: {
        p50: +pct(latencies, 0.5).toFixed(2),
        p90: +pct(latencies, 0.9).toFixed(2),
        p99: +pct(latencies, 0.99).toFixed(2),
        max: +latencies[latencies.length - 1].toFixed(2),
      },
      errors,
      serverRssMiB: {
        start: mb(rss[0]),
        min: mb(Math.min(...rss)),
        max: mb(Math.max(...rss)),
        end: mb(rss[rss.length - 1]),
      },
      /** Server RSS at tenths of the run: flat memory means no upward trend after the first tenths. */
      serverRssSeriesMiB: Array.from({ length: 11 }, (_, i) =>
        mb(rss[Math.round((i / 10) * (rss.length - 1))]),
      ),
      serverRssMaxMiB: {
        firstHalf: mb(Math.max(...rss.slice(0, Math.ceil(rss.length / 2)))),
        secondHalf: mb(Math.max(...rss.slice(Math.ceil(rss.length / 2)))),
      },
      serverHeapMiB: { start: mb(heap[0]), max: mb(Math.max(...heap)), end: mb(heap[heap.length - 1]) },
      fuzz: {
        requests: fuzz4xx + fuzzOther,
        answered4xx: fuzz4xx,
        other: fuzzOther,
        failures: fuzzBad.slice(0, 5),
      },
      healthyAfter: h2.status === "ok" && after.status === 200,
    };
    if (a.json) console.log(JSON.stringify(result, null, 2));
    else {
      console.log(
        `reward service load test: ${result.requests} requests (1/3 single, 1/3 native batch of ${a.batch}, 1/3 OpenRLHF batch of ${a.batch}), ` +
          `${a.concurrency} concurrent keep-alive clients, ${a.workers} server process(es), loopback`,
      );
      console.log(
        `  ${result.requestsPerSecond} requests/s, ${result.completionsPerSecond} completions/s over ${result.seconds} s`,
      );
      console.log(
        `  latency ms: p50 ${result.latencyMs.p50}, p90 ${result.latencyMs.p90}, p99 ${result.latencyMs.p99}, max ${result.latencyMs.max}`,
      );
      console.log(`  errors: ${errors}`);
      console.log(
        `  server RSS MiB: start ${result.serverRssMiB.start}, min ${result.serverRssMiB.min}, max ${result.serverRssMiB.max}, end ${result.serverRssMiB.end}; ` +
          `heap MiB: start ${result.serverHeapMiB.start}, max ${result.serverHeapMiB.max}, end ${result.serverHeapMiB.end}`,
      );
      console.log(
        `  server RSS MiB over the run (tenths): ${result.serverRssSeriesMiB.join(" ")}; max first half ${result.serverRssMaxMiB.firstHalf}, second half ${result.serverRssMaxMiB.secondHalf}`,
      );
      console.log(
        `  fuzz: ${result.fuzz.requests} malformed requests, ${fuzz4xx} answered 4xx, ${fuzzOther} otherwise${fuzzBad.length ? ` (${fuzzBad.slice(0, 5).join("; ")})` : ""}`,
      );
      console.log(`  healthy after: ${result.healthyAfter ? "yes" : "NO"}`);
    }
    if (errors > 0 || fuzzOther > 0 || !result.healthyAfter) process.exitCode = 1;
  } finally {
    agent.destroy();
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

await main();
