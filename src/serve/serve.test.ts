import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { Agent, request } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { exportGraph } from "../interop/rows.js";
import { REWARD_NAMES, type SampleOptions, verifySample } from "../verify/index.js";
import { generateProblem } from "../world/problem.js";
import type { Mode, Problem } from "../world/types.js";
import { keyFromId } from "./gold.js";
import { DEFAULT_SCORE_OPTIONS, RequestError, readOptions, type ScoreResult } from "./score.js";
import { createRewardServer, type RewardServer } from "./server.js";
import {
  FAULTS,
  faultyCompletion,
  flood,
  fuzzCases,
  nestedArrays,
  nestedObjects,
  prng,
  raw,
  rawSocket,
  sendFuzz,
} from "./testing/client.js";

const MAX_BODY = 256 * 1024;

async function start(opts: Parameters<typeof createRewardServer>[0] = {}): Promise<[RewardServer, number]> {
  const server = createRewardServer({ maxBodyBytes: MAX_BODY, ...opts });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return [server, (server.address() as AddressInfo).port];
}

/** The library's verdict in the service's shape. */
function expected(completion: string, p: Problem, o: SampleOptions & { reward?: string }) {
  const r = verifySample(completion, p, o);
  const reward = (o.reward ?? "composite") as keyof typeof r.rewards;
  return {
    reward: r.rewards[reward],
    rewards: r.rewards,
    penalty: r.breakdown,
    answerCorrect: r.answerCorrect,
    verified: r.verified,
    verifiedAllowExtra: r.verifiedAllowExtra,
    verifiedNoExtra: r.verifiedNoExtra,
    processAcc: r.processAcc,
    parseFailed: r.parseFailed,
    truncated: r.truncated,
    answer: r.answer,
    errors: r.errors,
    policy: r.policy,
  };
}

function strip(r: ScoreResult) {
  const { variant: _v, gold: _g, ...rest } = r;
  return rest;
}

// Problems over every op, context and mode, and faulty completions of each.
const problems: Problem[] = [];
for (let op = 2; op <= 20; op++) {
  for (const mode of ["forward", "reverse"] as Mode[]) {
    for (const context of ["zoo", "school", "movie"]) {
      for (let i = 0; i < 2; i++)
        problems.push(generateProblem({ seed: 9, index: problems.length, op, context, mode }));
    }
  }
}
const rnd = prng(42);
const samples = problems.flatMap((p) => FAULTS.map((f) => ({ p, completion: faultyCompletion(p, f, rnd) })));

describe("reward service: rewards equal the library's", () => {
  let server: RewardServer;
  let port: number;
  before(async () => {
    [server, port] = await start({ maxBodyBytes: 32 * 1024 * 1024 });
  });
  after(() => server.shutdown(100));

  it(`native batches by id, key and embedded graph, every reward variant (${samples.length} samples)`, async () => {
    assert.ok(samples.length >= 2000, `${samples.length} samples`);
    const variants: (SampleOptions & { reward?: string })[] = [
      {},
      { reward: "strict" },
      { reward: "process", allowExtra: false },
      { reward: "composite", alpha: 0.5, form: "linear" },
      { reward: "outcome", allowSlips: false },
      { reward: "process", allowSlips: true },
      { reward: "strict", allowSlips: true, allowExtra: false },
    ];
    let checked = 0;
    for (const [v, opts] of variants.entries()) {
      for (let s = 0; s < samples.length; s += 700) {
        const batch = samples.slice(s, s + 700);
        const items = batch.map(({ p, completion }, i) => ({
          completion,
          gold:
            (i + v) % 3 === 0
              ? p.id
              : (i + v) % 3 === 1
                ? { graph: exportGraph(p.graph), answer: p.answer }
                : { seed: p.seed, index: p.index, op: p.op, context: p.context, mode: p.mode },
        }));
        const res = await raw(port, { path: "/v1/reward", body: JSON.stringify({ items, ...opts }) });
        assert.equal(res.status, 200, res.text);
        const results = (res.json as { results: ScoreResult[] }).results;
        assert.equal(results.length, batch.length);
        for (const [i, r] of results.entries()) {
          assert.deepEqual(strip(r), expected(batch[i].completion, batch[i].p, opts), `sample ${s + i}`);
          assert.equal(r.variant, opts.reward ?? "composite");
          checked++;
        }
      }
    }
    assert.equal(checked, samples.length * variants.length);
    // Every fault kind moved some reward off 1 (the samples exercise the taxonomy).
    const verdicts = samples.map(({ p, completion }) => verifySample(completion, p));
    assert.ok(verdicts.some((r) => r.errors.missing.length > 0));
    assert.ok(verdicts.some((r) => r.errors.extra.length > 0));
    assert.ok(verdicts.some((r) => r.errors.wrongValue.length > 0));
    assert.ok(verdicts.some((r) => r.errors.wrongDependency.length > 0));
    assert.ok(verdicts.some((r) => r.parseFailed));
    assert.ok(verdicts.some((r) => r.errors.arithmeticSlips.length > 0));
    assert.ok(verdicts.some((r) => r.verified));
  });

  it("single requests and OpenRLHF's /get_reward agree with the library", async () => {
    for (const { p, completion } of samples.slice(0, 60)) {
      const res = await raw(port, {
        path: "/v1/reward",
        body: JSON.stringify({ completion, gold: p.id, reward: "strict" }),
      });
      assert.equal(res.status, 200);
      assert.deepEqual(strip(res.json as ScoreResult), expected(completion, p, { reward: "strict" }));
    }
    const batch = samples.slice(0, 1200);
    const body = {
      // OpenRLHF sends prompt + response as the query.
      query: batch.map(({ p, completion }) => p.prompt + completion),
      prompts: batch.map(({ p }) => p.prompt),
      labels: batch.map(({ p }, i) =>
        i % 2 ? p.id : JSON.stringify({ graph: exportGraph(p.graph), answer: p.answer }),
      ),
    };
    for (const reward of REWARD_NAMES) {
      const res = await raw(port, {
        path: `/get_reward?reward=${reward}&alpha=0.5`,
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 200, res.text);
      const out = res.json as { rewards: number[]; scores: number[]; extra_logs: Record<string, number[]> };
      const want = batch.map(({ p, completion }) => verifySample(completion, p, { alpha: 0.5 }));
      assert.deepEqual(
        out.rewards,
        want.map((r) => r.rewards[reward]),
      );
      assert.deepEqual(out.scores, out.rewards);
      assert.deepEqual(
        out.extra_logs.process,
        want.map((r) => r.rewards.process),
      );
      assert.deepEqual(
        out.extra_logs.verified,
        want.map((r) => (r.verified ? 1 : 0)),
      );
      assert.deepEqual(
        out.extra_logs.arithmetic_slips,
        want.map((r) => r.breakdown.arithmeticSlips),
      );
    }
  });
});

describe("reward service: bad input", () => {
  let server: RewardServer;
  let port: number;
  const goldId = problems[0].id;
  before(async () => {
    [server, port] = await start({ maxBatch: 50, maxCompletionChars: 100_000 });
  });
  after(() => server.shutdown(100));

  it("answers every malformed request of the fuzz pass with a 4xx and a short, clear message, and stays healthy", async () => {
    const cases = fuzzCases(goldId, MAX_BODY);
    assert.ok(cases.length > 200, `${cases.length} cases`);
    for (const c of cases) {
      const res = await sendFuzz(port, c);
      assert.ok(res.status >= 400 && res.status < 500, `${c.name}: ${res.status} ${res.text.slice(0, 200)}`);
      if (c.method !== "HEAD") {
        const e = res.json as { error: string; code: string; status: number };
        assert.equal(typeof e?.error, "string", `${c.name}: ${res.text.slice(0, 200)}`);
        assert.ok(e.error.length > 10, `${c.name}: "${e.error}"`);
        // Client input is described boundedly, never echoed whole.
        assert.ok(e.error.length <= 400, `${c.name}: ${e.error.length} characters: ${e.error.slice(0, 200)}`);
        assert.equal(e.status, res.status);
      }
      if (res.status === 405)
        assert.match(String(res.headers.allow), /^(GET|HEAD|POST)(, (GET|HEAD|POST))*$/, c.name);
    }
    const h = await raw(port, { path: "/healthz" });
    assert.equal(h.status, 200);
    assert.equal((h.json as { status: string }).status, "ok");
    const ok = await raw(port, {
      path: "/v1/reward",
      body: JSON.stringify({ completion: problems[0].completion, gold: goldId }),
    });
    assert.equal(ok.status, 200);
    assert.equal((ok.json as ScoreResult).reward, 1);
  });

  it("names the status and the field: unknown ids 422, limits 413, types 400", async () => {
    const cases: [unknown, number, RegExp, string?][] = [
      [{ completion: "x", gold: "nope" }, 422, /unknown problem id "nope"/],
      [{ completion: "x", gold: "zoo-f-op3-s1-i" }, 422, /unknown problem id/],
      [{ items: Array.from({ length: 51 }, () => ({ completion: "x", gold: goldId })) }, 413, /at most 50/],
      [{ completion: "x".repeat(100_001), gold: goldId }, 413, /at most 100000/],
      [
        {
          items: [
            { completion: "x", gold: goldId },
            { completion: 3, gold: goldId },
          ],
        },
        400,
        /items\[1\]\.completion must be a string/,
      ],
      [
        { completion: "x", gold: { graph: { nodes: [] }, answer: "1" } },
        400,
        /gold\.graph\.nodes must be a non-empty array/,
      ],
      [{ query: ["x"], labels: ["nope"] }, 422, /labels\[0\]: unknown problem id/, "/get_reward"],
    ];
    for (const [body, status, re, path] of cases) {
      const res = await raw(port, { path: path ?? "/v1/reward", body: JSON.stringify(body) });
      assert.equal(res.status, status, res.text);
      assert.match((res.json as { error: string }).error, re);
    }
  });

  it("rejects an oversized body before it is sent when the client asks (Expect: 100-continue)", async () => {
    const res = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/v1/reward",
        headers: {
          "content-type": "application/json",
          "content-length": MAX_BODY + 1,
          expect: "100-continue",
        },
      });
      req.on("response", (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on("continue", () => reject(new Error("the server asked for the body")));
      req.on("error", reject);
      req.flushHeaders();
    });
    assert.equal(res, 413);
  });

  it("serves only loaded problems when regeneration is off", async () => {
    const loaded = new Map([[problems[1].id, problems[1]]]);
    const [s2, p2] = await start({ problems: loaded, regenerate: false });
    try {
      const a = await raw(p2, {
        path: "/v1/reward",
        body: JSON.stringify({ completion: problems[1].completion, gold: problems[1].id }),
      });
      assert.equal(a.status, 200);
      const b = await raw(p2, {
        path: "/v1/reward",
        body: JSON.stringify({ completion: "x", gold: problems[2].id }),
      });
      assert.equal(b.status, 422);
      assert.match((b.json as { error: string }).error, /regeneration is off/);
    } finally {
      await s2.shutdown(100);
    }
  });

  it("parses generated ids back into their keys", () => {
    for (const p of problems.slice(0, 50)) {
      assert.deepEqual(keyFromId(p.id), {
        context: p.context,
        mode: p.mode,
        op: p.op,
        seed: p.seed,
        index: p.index,
      });
    }
    assert.equal(keyFromId("zoo-x-op3-s1-i2"), null);
  });
});

describe("reward service: shutdown", () => {
  it("lets a request in flight finish, then closes", async () => {
    const [server, port] = await start();
    const body = Buffer.from(JSON.stringify({ completion: problems[3].completion, gold: problems[3].id }));
    const pending = new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/v1/reward",
          headers: { "content-length": body.length },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.write(body.subarray(0, 10));
      // The rest arrives after shutdown has begun.
      setTimeout(() => req.end(body.subarray(10)), 100);
    });
    await new Promise((r) => setTimeout(r, 30));
    const closed = server.shutdown(5000);
    assert.equal(await pending, 200);
    await closed;
    assert.equal(server.listening, false);
    await assert.rejects(raw(port, { path: "/healthz" }));
  });

  it("the CLI serves on a free port and exits 0 on SIGTERM", async () => {
    const cli = serveCli([]);
    const child = cli.child;
    try {
      const port = await cli.port;
      const h = await raw(port, { path: "/healthz" });
      assert.equal(h.status, 200);
      const r = await raw(port, {
        path: "/v1/reward",
        body: JSON.stringify({ completion: problems[5].completion, gold: problems[5].id }),
      });
      assert.equal((r.json as ScoreResult).reward, 1);
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const [code] = await exited;
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});

/** `interplay serve ARGS` as a child process; `port` resolves once it announces it (`listening` matched). */
function serveCli(args: string[], listening = /listening on http:\/\/[^:]+:(\d+)/) {
  const bin = fileURLToPath(new URL("../../../bin/interplay.js", import.meta.url));
  const child = spawn(process.execPath, [bin, "serve", "--port", "0", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  const port = new Promise<number>((resolve, reject) => {
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
      const m = listening.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.on("exit", (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return { child, port, stderr: () => err };
}

describe("reward service: several processes behind one port", () => {
  it("serve --workers 2: both processes answer, identically; a killed one is replaced; SIGTERM exits 0", async () => {
    const cli = serveCli(["--workers", "2"], /listening on http:\/\/[^:]+:(\d+) \(2 processes\)/);
    const child = cli.child;
    try {
      const port = await cli.port;
      // Each request on a fresh connection; the primary hands connections out round-robin.
      const fresh = new Agent({ keepAlive: false });
      const pidsSeen = async (want: number) => {
        const seen = new Set<number>();
        for (let i = 0; i < 40 && seen.size < want; i++) {
          const h = await raw(port, { path: "/healthz", agent: fresh });
          if (h.status === 200) seen.add((h.json as { pid: number }).pid);
        }
        return seen;
      };
      const pids = await pidsSeen(2);
      assert.equal(pids.size, 2, "two processes answered");
      assert.ok(!pids.has(child.pid as number), "the primary does not serve");
      const body = JSON.stringify({
        items: problems.slice(0, 8).map((p, i) => ({
          completion: i % 2 ? p.completion : faultyCompletion(p, FAULTS[i % FAULTS.length], prng(i)),
          gold: p.id,
        })),
      });
      const answers = new Set<string>();
      for (let i = 0; i < 6; i++)
        answers.add(JSON.stringify((await raw(port, { path: "/v1/reward", body, agent: fresh })).json));
      assert.equal(answers.size, 1, "every process scores the same");
      const killed = [...pids][0];
      process.kill(killed, "SIGKILL");
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no replacement: ${cli.stderr()}`)), 10000);
        const check = (): void => {
          if (!/starting another/.test(cli.stderr())) {
            setTimeout(check, 50);
            return;
          }
          clearTimeout(t);
          resolve();
        };
        check();
      });
      // The replacement starts listening a moment after it is forked.
      let after = await pidsSeen(2);
      for (let i = 0; i < 50 && (after.size < 2 || after.has(killed)); i++) {
        await new Promise((r) => setTimeout(r, 100));
        after = await pidsSeen(2);
      }
      assert.equal(after.size, 2, "two processes again");
      assert.ok(!after.has(killed));
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const [code] = await exited;
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});

describe("reward service: slow clients", () => {
  it("answers 408 to a body that stalls past the request timeout, and stays healthy", async () => {
    const [server, port] = await start({ requestTimeoutMs: 300 });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port,
            method: "POST",
            path: "/v1/reward",
            headers: { "content-length": 1000 },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.write('{"completion": "');
      });
      assert.equal(status, 408);
      const h = await raw(port, { path: "/healthz" });
      assert.equal(h.status, 200);
    } finally {
      await server.shutdown(100);
    }
  });
});

/** Polls until `f` is true (or fails after `ms`). */
async function until(f: () => boolean, what: string, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A POST whose headers (with a Content-Length) and first bytes are sent; the rest waits. */
function hold(port: number, length: number, path = "/v1/reward") {
  const req = request({
    host: "127.0.0.1",
    port,
    method: "POST",
    path,
    agent: false,
    headers: { "content-type": "application/json", "content-length": length },
  });
  const status = new Promise<number>((resolve) => {
    req.on("response", (r) => {
      r.resume();
      resolve(r.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
  });
  req.write('{"completion":"');
  return { req, status };
}

describe("reward service (issue 13): nesting, option types, methods, memory", () => {
  let server: RewardServer;
  let port: number;
  const goldId = problems[0].id;
  const gold = problems[0];
  before(async () => {
    [server, port] = await start();
  });
  after(() => server.shutdown(100));

  const post = (path: string, body: string) => raw(port, { path, body });
  const error = (r: { json: unknown }) => (r.json as { error: string }).error;

  it("1. options nested 6,000 deep (reward, alpha as objects, form on /get_reward) are a 400, not a 500", async () => {
    for (const [path, body] of [
      ["/v1/reward", `{"completion":"x","gold":"${goldId}","reward":${nestedArrays(6000, '"strict"')}}`],
      ["/v1/reward", `{"completion":"x","gold":"${goldId}","alpha":${nestedObjects(6000, "0.5")}}`],
      ["/get_reward", `{"query":["x"],"labels":["${goldId}"],"form":${nestedArrays(6000, '"gated"')}}`],
      ["/v1/reward", `{"items":[{"completion":"x","gold":${nestedArrays(6000)}}]}`],
      ["/v1/reward", `{"completion":"x","gold":"${goldId}","junk":${nestedObjects(40_000)}}`],
    ]) {
      const r = await post(path, body);
      assert.equal(r.status, 400, `${body.slice(0, 60)}: ${r.status} ${r.text.slice(0, 200)}`);
      assert.ok(error(r).length < 200, error(r));
    }
    // Under the depth limit the value reaches the option check, which names its type.
    const r = await post(
      "/v1/reward",
      `{"completion":"x","gold":"${goldId}","reward":${nestedArrays(50, "1")}}`,
    );
    assert.equal(r.status, 400);
    assert.match(
      error(r),
      /^reward must be one of outcome, process, composite, strict, got an array \(1 entry\)$/,
    );
    assert.equal(server.stats().byStatus["500"], undefined);
  });

  it("1. option checks never serialise the value: a 100,000-deep structure built in memory", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = i % 2 ? [deep] : { a: deep };
    for (const key of ["reward", "alpha", "form", "allowExtra", "allowSlips"]) {
      for (const fromText of [false, true]) {
        assert.throws(
          () => readOptions({ [key]: deep }, { ...DEFAULT_SCORE_OPTIONS }, "", fromText),
          (e: unknown) =>
            e instanceof RequestError && e.status === 400 && e.message.startsWith(`${key} must be`),
        );
      }
    }
  });

  it("2. string numbers and string booleans in a body are a 400 naming the field and the type", async () => {
    const bodies: [string, string, RegExp][] = [
      [
        "/v1/reward",
        `{"completion":"x","gold":"${goldId}","alpha":"0x1"}`,
        /^alpha must be a JSON number in \[0, 1\], got the string "0x1"$/,
      ],
      ["/v1/reward", `{"completion":"x","gold":"${goldId}","alpha":" 1 "}`, /^alpha must be a JSON number/],
      ["/v1/reward", `{"completion":"x","gold":"${goldId}","alpha":"0.5"}`, /^alpha must be a JSON number/],
      [
        "/v1/reward",
        `{"items":[{"completion":"x","gold":"${goldId}"}],"alpha":"1"}`,
        /^alpha must be a JSON number/,
      ],
      ["/get_reward", `{"query":["x"],"labels":["${goldId}"],"alpha":"1"}`, /^alpha must be a JSON number/],
      [
        "/v1/reward",
        `{"completion":"x","gold":"${goldId}","allowExtra":"true"}`,
        /^allowExtra must be a JSON boolean .*got the string "true"$/,
      ],
      [
        "/get_reward",
        `{"query":["x"],"labels":["${goldId}"],"allowSlips":"false"}`,
        /^allowSlips must be a JSON boolean/,
      ],
      [
        "/v1/reward",
        `{"completion":"x","gold":"${goldId}","allowSlips":1}`,
        /^allowSlips must be a JSON boolean .*got the number 1$/,
      ],
      [
        "/v1/reward",
        `{"completion":"x","gold":"${goldId}","reward":null}`,
        /^reward must be one of .*got null$/,
      ],
      [
        "/v1/reward",
        `{"completion":"x","gold":"${goldId}","form":["linear"]}`,
        /^form must be "gated" or "linear", got an array/,
      ],
    ];
    for (const [path, body, re] of bodies) {
      const r = await post(path, body);
      assert.equal(r.status, 400, `${body}: ${r.text}`);
      assert.match(error(r), re);
    }
  });

  it("2. query parameters are plain decimals and exactly true/false; the right ones still apply", async () => {
    const body = JSON.stringify({ completion: gold.completion, gold: goldId });
    for (const q of [
      "alpha=0x1",
      "alpha=%201%20",
      "alpha=",
      "alpha=Infinity",
      "alpha=1e999",
      "allowExtra=1",
      "allowSlips=TRUE",
      "alpha=0.1&alpha=0.2",
    ]) {
      const r = await post(`/v1/reward?${q}`, body);
      assert.equal(r.status, 400, `${q}: ${r.text}`);
      assert.match(error(r), /^query parameter (alpha|allowExtra|allowSlips) (must be|is given)/, q);
    }
    const wrong = faultyCompletion(gold, "wrongAnswer", prng(3));
    for (const [q, alpha] of [
      ["alpha=0.5", 0.5],
      ["alpha=1", 1],
      ["alpha=.25", 0.25],
      ["alpha=2e-1", 0.2],
    ] as const) {
      const r = await post(
        `/v1/reward?${q}&form=linear&allowExtra=false`,
        JSON.stringify({ completion: wrong, gold: goldId }),
      );
      assert.equal(r.status, 200, r.text);
      const want = verifySample(wrong, gold, { alpha, form: "linear", allowExtra: false });
      assert.equal((r.json as ScoreResult).reward, want.rewards.composite, q);
      assert.equal((r.json as ScoreResult).policy.allowExtra, false);
    }
  });

  it("3. CONNECT and other methods get 405 with Allow; what the parser refuses gets 400; never a silent close", async () => {
    const cases: [string, number, string?][] = [
      ["CONNECT 127.0.0.1:22 HTTP/1.1\r\nhost: 127.0.0.1:22\r\n\r\n", 405, "GET, HEAD, POST"],
      [
        "CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\nproxy-connection: keep-alive\r\n\r\n",
        405,
        "GET, HEAD, POST",
      ],
      ["TRACE / HTTP/1.1\r\nhost: x\r\n\r\n", 405, "GET, HEAD, POST"],
      ["OPTIONS * HTTP/1.1\r\nhost: x\r\n\r\n", 405, "GET, HEAD, POST"],
      ["OPTIONS /v1/reward HTTP/1.1\r\nhost: x\r\n\r\n", 405, "GET, HEAD, POST"],
      ["DELETE /nowhere HTTP/1.1\r\nhost: x\r\n\r\n", 405, "GET, HEAD, POST"],
      ["GET /v1/reward HTTP/1.1\r\nhost: x\r\n\r\n", 405, "POST"],
      ["POST /healthz HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n", 405, "GET, HEAD"],
      ["get /healthz HTTP/1.1\r\nhost: x\r\n\r\n", 400],
      ["FROB / HTTP/1.1\r\nhost: x\r\n\r\n", 400],
      ["GET example.com:80 HTTP/1.1\r\nhost: x\r\n\r\n", 400],
    ];
    for (const [wire, status, allow] of cases) {
      const r = await rawSocket(port, wire);
      assert.equal(r.status, status, `${wire.split("\r\n")[0]}: ${r.status} ${r.text}`);
      assert.equal((r.json as { status: number }).status, status);
      if (allow) assert.equal(r.headers.allow, allow);
    }
    // Absolute-form targets and upgrade requests are served like any request.
    const abs = await rawSocket(port, "GET http://127.0.0.1/healthz HTTP/1.1\r\nhost: x\r\n\r\n");
    assert.equal(abs.status, 200);
    const up = await rawSocket(
      port,
      "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n",
    );
    assert.equal(up.status, 200);
    const exp = await rawSocket(
      port,
      "POST /v1/reward HTTP/1.1\r\nhost: x\r\nexpect: 200-ok\r\ncontent-length: 2\r\n\r\n{}",
    );
    assert.equal(exp.status, 417);
    assert.equal((exp.json as { code: string }).code, "expectation_failed");
  });

  it("4. a body of many tiny values is refused before it is parsed (413), in the body and in JSON labels", async () => {
    const values = 70_000; // over the default maxBodyBytes / 16 floor of 65,536
    const r = await post(
      "/v1/reward",
      `{"completion":"x","gold":"${goldId}","pad":[${"0,".repeat(values)}0]}`,
    );
    assert.equal(r.status, 413, r.text);
    assert.equal((r.json as { code: string }).code, "too_many_values");
    const labels = Array.from({ length: 2 }, () => `{"id":"${goldId}","pad":[${"0,".repeat(values / 2)}0]}`);
    const l = await post("/get_reward", JSON.stringify({ query: ["x", "y"], labels }));
    assert.equal(l.status, 413, l.text);
    assert.match(error(l), /labels up to labels\[1\] hold more than 65536 values/);
    // A legitimate batch well past 65,536 values at a larger limit is scored.
    const [big, bigPort] = await start({ maxBodyBytes: 32 * 1024 * 1024 });
    try {
      const items = problems.slice(0, 400).flatMap((p) =>
        Array.from({ length: 20 }, () => ({
          completion: p.completion,
          gold: { graph: exportGraph(p.graph), answer: p.answer },
        })),
      );
      const ok = await raw(bigPort, { path: "/v1/reward", body: JSON.stringify({ items }) });
      assert.equal(ok.status, 200, ok.text.slice(0, 200));
    } finally {
      await big.shutdown(100);
    }
  });

  it("4. the defaults and limits are announced", async () => {
    const r = await raw(port, { path: "/" });
    const limits = (r.json as { limits: Record<string, number> }).limits;
    assert.equal(limits.maxBodyBytes, MAX_BODY);
    assert.equal(limits.maxInflightBytes, 2 * MAX_BODY);
    assert.equal(limits.maxConnections, 1024);
    assert.equal(limits.maxJsonDepth, 64);
    assert.equal(limits.maxJsonValues, 65_536);
    assert.throws(
      () => createRewardServer({ maxBodyBytes: 1000, maxInflightBytes: 999 }),
      /maxInflightBytes/,
    );
    assert.throws(() => createRewardServer({ maxConnections: 0 }), /maxConnections/);
  });
});

describe("reward service (issue 13): the in-flight byte budget", () => {
  const goldId = problems[0].id;
  const inflight = 600 * 1024;

  it("refuses a request whose Content-Length does not fit with 503 and Retry-After, and frees the budget on finish and abort", async () => {
    const [server, port] = await start({ maxInflightBytes: inflight });
    try {
      const a = hold(port, 250_000);
      const b = hold(port, 250_000);
      await until(() => server.stats().inflightBytes === 500_000, "two bodies held");
      // A third does not fit: answered before its body is read.
      const c = await raw(port, {
        path: "/v1/reward",
        body: JSON.stringify({ completion: "x".repeat(200_000), gold: goldId }),
      });
      assert.equal(c.status, 503, c.text);
      assert.equal(c.headers["retry-after"], "1");
      assert.equal((c.json as { code: string }).code, "busy");
      // A small one still fits.
      const d = await raw(port, {
        path: "/v1/reward",
        body: JSON.stringify({ completion: "x", gold: goldId }),
      });
      assert.equal(d.status, 200, d.text);
      // Expect: 100-continue is refused before the body is sent.
      const e = await rawSocket(
        port,
        "POST /v1/reward HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 200000\r\n\r\n",
      );
      assert.equal(e.status, 503);
      assert.equal(e.headers["retry-after"], "1");
      // An aborted body gives its bytes back; a finished one too.
      a.req.destroy();
      await until(() => server.stats().inflightBytes === 250_000, "the aborted body released");
      b.req.end(`${"x".repeat(250_000 - 15 - 12 - goldId.length)}","gold":"${goldId}"}`);
      assert.equal(await b.status, 200);
      await until(() => server.stats().inflightBytes === 0, "the finished body released");
      assert.equal(await a.status, 0);
      assert.equal(server.stats().byStatus["500"], undefined);
    } finally {
      await server.shutdown(100);
    }
  });

  it("counts a chunked body as it arrives and answers 503 when a chunk does not fit", async () => {
    const [server, port] = await start({ maxInflightBytes: inflight });
    try {
      const a = hold(port, 250_000);
      const b = hold(port, 250_000);
      await until(() => server.stats().inflightBytes === 500_000, "two bodies held");
      const status = await new Promise<[number, string | undefined]>((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port,
            method: "POST",
            path: "/v1/reward",
            agent: false,
            headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
          },
          (res) => {
            res.resume();
            resolve([res.statusCode ?? 0, res.headers["retry-after"] as string | undefined]);
          },
        );
        req.on("error", reject);
        req.write('{"completion":"');
        const more = () => {
          if (req.destroyed || req.writableEnded) return;
          req.write("x".repeat(32 * 1024));
          setTimeout(more, 5);
        };
        more();
        setTimeout(() => req.end('"}'), 3000);
      });
      assert.deepEqual(status, [503, "1"]);
      a.req.destroy();
      b.req.destroy();
      await until(() => server.stats().inflightBytes === 0, "budget back to 0");
    } finally {
      await server.shutdown(100);
    }
  });

  it("frees the budget of a body that stalls past the request timeout (408)", async () => {
    const [server, port] = await start({ maxInflightBytes: inflight, requestTimeoutMs: 300 });
    try {
      const a = hold(port, 250_000);
      await until(() => server.stats().inflightBytes === 250_000, "a body held");
      assert.equal(await a.status, 408);
      await until(() => server.stats().inflightBytes === 0, "budget back to 0");
      const h = await raw(port, { path: "/healthz" });
      assert.equal(h.status, 200);
    } finally {
      await server.shutdown(100);
    }
  });

  it("16 concurrent bodies near the size limit: each answered 200, 413 or 503 (with Retry-After), budget back to 0, healthy after", async () => {
    const [server, port] = await start({ maxInflightBytes: inflight });
    try {
      for (let round = 0; round < 2; round++) {
        const out = await flood(port, { clients: 16, bytes: 240_000, gold: goldId });
        for (const r of out) {
          assert.ok([200, 413, 503].includes(r.status), JSON.stringify(r));
          if (r.status === 503) assert.equal(r.retryAfter, "1");
        }
        await until(() => server.stats().inflightBytes === 0, "budget back to 0");
      }
      assert.ok(server.stats().inflightBytes === 0);
      const h = await raw(port, { path: "/healthz" });
      assert.equal(h.status, 200);
      assert.equal(server.stats().byStatus["500"], undefined);
    } finally {
      await server.shutdown(100);
    }
  });

  it("closes connections beyond maxConnections at accept and counts them", async () => {
    const [server, port] = await start({ maxConnections: 2 });
    const { connect } = await import("node:net");
    const open = [connect(port, "127.0.0.1"), connect(port, "127.0.0.1")];
    try {
      await until(() => server.stats().connections === 2, "two connections");
      const third = connect(port, "127.0.0.1");
      third.on("error", () => {});
      await once(third, "close");
      assert.equal(server.stats().droppedConnections, 1);
    } finally {
      for (const s of open) s.destroy();
      await server.shutdown(100);
    }
  });
});

describe("reward service (issue 13): the CLI", () => {
  it("refuses --alpha 0x1 and a string α like ' 1 ' instead of serving α = 1", async () => {
    const bin = fileURLToPath(new URL("../../../bin/interplay.js", import.meta.url));
    for (const alpha of ["0x1", " 1 ", "0.5abc", "2"]) {
      const child = spawn(process.execPath, [bin, "serve", "--port", "0", "--alpha", alpha], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      let err = "";
      child.stderr.on("data", (d: Buffer) => {
        err += d.toString();
        if (/listening on/.test(err)) child.kill("SIGKILL");
      });
      const [code] = await once(child, "exit");
      assert.doesNotMatch(err, /listening on/, `--alpha ${alpha} was served`);
      assert.notEqual(code, 0);
      assert.match(err, /--alpha must be a decimal number in \[0, 1\]/);
    }
  });
});
