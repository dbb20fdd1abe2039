import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { exportGraph } from "../interop/rows.js";
import { REWARD_NAMES, type SampleOptions, verifySample } from "../verify/index.js";
import { generateProblem } from "../world/problem.js";
import type { Mode, Problem } from "../world/types.js";
import { keyFromId } from "./gold.js";
import type { ScoreResult } from "./score.js";
import { createRewardServer, type RewardServer } from "./server.js";
import { FAULTS, faultyCompletion, fuzzCases, prng, raw } from "./testing.js";

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

  it("answers every malformed request of the fuzz pass with a 4xx and a clear message, and stays healthy", async () => {
    for (const c of fuzzCases(goldId, MAX_BODY)) {
      const res = await raw(port, c);
      assert.ok(res.status >= 400 && res.status < 500, `${c.name}: ${res.status} ${res.text.slice(0, 200)}`);
      if (c.method !== "HEAD") {
        const e = res.json as { error: string; code: string; status: number };
        assert.equal(typeof e?.error, "string", `${c.name}: ${res.text.slice(0, 200)}`);
        assert.ok(e.error.length > 10, `${c.name}: "${e.error}"`);
        assert.equal(e.status, res.status);
      }
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
    const bin = fileURLToPath(new URL("../../../bin/interplay.js", import.meta.url));
    const child = spawn(process.execPath, [bin, "serve", "--port", "0"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    try {
      let err = "";
      const port = await new Promise<number>((resolve, reject) => {
        child.stderr.on("data", (d: Buffer) => {
          err += d.toString();
          const m = /listening on http:\/\/[^:]+:(\d+)/.exec(err);
          if (m) resolve(Number(m[1]));
        });
        child.on("exit", (code) => reject(new Error(`serve exited ${code}: ${err}`)));
      });
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
