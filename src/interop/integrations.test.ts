/**
 * The Python reward integrations (integrations/python/interplay_reward) against the real service:
 * exports a verl parquet and a TRL JSONL, reads them back, and runs the Python tests
 * (integrations/python/tests) with Debian's /usr/bin/python3 on those rows, gold traces and planted
 * faults, with the library's own rewards as the expected values. The Python side starts
 * `interplay serve --port 0` itself (interplay_reward.local, the helper trainers' tests use).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { faultyCompletion, prng } from "../serve/testing/client.js";
import { readJsonlValues } from "../util/jsonl.js";
import { verifySample } from "../verify/index.js";
import { generateProblem } from "../world/problem.js";
import type { Mode, Problem } from "../world/types.js";
import { exportProblems } from "./export.js";
import type { TrlRow, VerlRow } from "./rows.js";
import { readBack } from "./testing/parquet.js";

const PYTHON = "/usr/bin/python3";
const root = fileURLToPath(new URL("../../../", import.meta.url));
const pyTests = join(root, "integrations", "python", "tests");

const KINDS = ["gold", "wrongAnswer", "wrongNumber", "dropStep"] as const;

const skip = existsSync(PYTHON) ? false : `${PYTHON} is absent: the Python integrations are not tested here`;
if (skip) console.log(`skipped: ${skip}`);

describe("Python reward integrations (verl, TRL, OpenRLHF) against interplay serve", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "interplay-integrations-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("scores exported rows as each trainer calls them: golds 1, faults less, batch = single, sync = async, clear errors", async () => {
    const problems: Problem[] = [];
    const contexts = ["zoo", "school", "movie"];
    for (const [i, op] of [2, 3, 5, 8, 12].entries()) {
      for (const mode of ["forward", "reverse"] as Mode[])
        problems.push(
          generateProblem({ seed: 31, index: problems.length, op, context: contexts[i % 3], mode }),
        );
    }
    const src = join(dir, "problems.jsonl");
    writeFileSync(src, `${problems.map((p) => JSON.stringify(p)).join("\n")}\n`);
    const verlOut = join(dir, "rl.parquet");
    const trlOut = join(dir, "rl.trl.jsonl");
    await exportProblems({ problems: src, format: "verl", out: verlOut });
    await exportProblems({ problems: src, format: "trl", out: trlOut });
    // The rows as a trainer sees them: read back from the files (arrow-rs for the parquet).
    const verlRows = readBack(verlOut).rows as VerlRow[];
    const trlRows = readJsonlValues<TrlRow>(trlOut);
    assert.equal(verlRows.length, problems.length);
    assert.equal(trlRows.length, problems.length);

    const rnd = prng(17);
    const cases = problems.flatMap((p, row) => {
      assert.equal(verlRows[row].extra_info.id, p.id);
      assert.equal(trlRows[row].id, p.id);
      return KINDS.map((kind) => {
        const completion = faultyCompletion(p, kind, rnd);
        if (kind !== "gold") assert.notEqual(completion, p.completion, `${p.id} ${kind}`);
        const v = verifySample(completion, p);
        return {
          row,
          kind,
          completion,
          expected: { ...v.rewards, verified: v.verified, answerCorrect: v.answerCorrect },
        };
      });
    });
    const fixture = join(dir, "fixture.json");
    writeFileSync(fixture, JSON.stringify({ verl_rows: verlRows, trl_rows: trlRows, cases }));

    const env: Record<string, string | undefined> = {
      ...process.env,
      INTERPLAY_TEST_FIXTURE: fixture,
      INTERPLAY_BIN: join(root, "bin", "interplay.js"),
      PYTHONDONTWRITEBYTECODE: "1",
    };
    for (const k of Object.keys(env))
      if (k.startsWith("INTERPLAY_REWARD") || k === "INTERPLAY_RETURN") delete env[k];
    const t0 = performance.now();
    const child = spawn(PYTHON, ["-m", "unittest", "discover", "-s", pyTests, "-v"], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    clearTimeout(timer);
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    assert.equal(code, 0, `python tests failed (exit ${code}, ${seconds} s):\n${out}`);
    const ran = Number(/Ran (\d+) tests?/.exec(out)?.[1] ?? 0);
    assert.ok(ran >= 20, `only ${ran} Python tests ran:\n${out}`);
    assert.doesNotMatch(out, /skipped=/, `Python tests were skipped:\n${out}`);
    assert.match(out, /^OK$/m);
    if (process.env.INTERPLAY_TEST_VERBOSE) console.log(out);
    console.log(
      `${ran} Python tests passed in ${seconds} s (${cases.length} completions of ${problems.length} rows)`,
    );
  });
});
