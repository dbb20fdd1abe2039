import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { buildEvalSummary } from "../stats/evaluation.js";
import { collectIndex, writeIndex } from "./index-page.js";
import { writeEvalOutputs } from "./io.js";
import { writeRunReport } from "./run-report.js";
import { syntheticRecords } from "./testing/fixtures.js";

const root = mkdtempSync(join(tmpdir(), "interplay-index-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** A run folder with `n` metrics lines. */
function run(dir: string, stage: string, lines: object[]): void {
  mkdirSync(join(dir, "checkpoints", "step-0000001"), { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify({ stage, preset: "micro", steps: 10 }));
  writeFileSync(join(dir, "checkpoints", "step-0000001", "config.json"), JSON.stringify({ stage }));
  writeFileSync(join(dir, "metrics.jsonl"), lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
}

describe("index of a folder of experiments", () => {
  run(join(root, "base"), "pretrain", [
    { step: 1, loss: 2.5, tokens: 1000, valLoss: 2.6 },
    { step: 2, loss: 2.0, tokens: 2e6 },
  ]);
  writeRunReport(join(root, "base"));
  run(join(root, "studies", "s1", "rl-edge"), "rl", [
    { step: 4, reward: 0.25, verified: 0.125, val: { verified: 0.5 } },
  ]);
  writeEvalOutputs(
    join(root, "evals", "e1"),
    buildEvalSummary(syntheticRecords({ seed: 1 }), { resamples: 50, meta: { model: "runs/base" } }),
    {
      title: "e1",
    },
  );
  mkdirSync(join(root, "studies", "s1"), { recursive: true });
  writeFileSync(
    join(root, "studies", "s1", "study.json"),
    JSON.stringify({ name: "depth", scale: "tiny", stages: [1, 2, 3] }),
  );
  writeFileSync(join(root, "studies", "s1", "stages.json"), JSON.stringify([1, 2]));
  mkdirSync(join(root, "junk"));
  writeFileSync(join(root, "junk", "config.json"), "{not json");

  it("lists each run, evaluation and study once, with its key figure; skips checkpoints and unreadable files", () => {
    const e = collectIndex(root);
    const byPath = new Map(e.map((x) => [x.path, x]));
    assert.deepEqual([...byPath.keys()].sort(), ["base", "evals/e1", "studies/s1", "studies/s1/rl-edge"]);
    assert.equal(byPath.get("base")?.kind, "pretrain");
    assert.match(
      byPath.get("base")?.figure ?? "",
      /loss 2, validation 2\.6 after 2M tokens \(step 2 \/ 10\)/,
    );
    assert.match(
      byPath.get("studies/s1/rl-edge")?.figure ?? "",
      /reward 0\.25, verified 12\.5%, validation verified 50\.0% at step 4/,
    );
    assert.equal(byPath.get("studies/s1")?.figure, "2 of 3 stages done");
    assert.equal(byPath.get("evals/e1")?.model, "runs/base");
    assert.match(byPath.get("evals/e1")?.figure ?? "", /^pass@1 /);
    assert.equal(byPath.get("studies/s1/rl-edge")?.link, null, "no page yet: no link");
  });

  it("every link resolves, from the folder itself and from a page written elsewhere", () => {
    for (const out of [join(root, "index.html"), join(root, "elsewhere", "deep", "index.html")]) {
      mkdirSync(dirname(out), { recursive: true });
      writeIndex(root, out);
      const html = readFileSync(out, "utf8");
      const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
      assert.equal(hrefs.length, 2, hrefs.join(" "));
      for (const h of hrefs) assert.ok(existsSync(join(dirname(out), h)), `${out}: ${h}`);
    }
    assert.throws(() => collectIndex(join(root, "nope")), /is not a folder/);
  });
});
