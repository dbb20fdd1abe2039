import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  configEntries,
  MAX_POINTS,
  renderRunReport,
  rlCharts,
  thin,
  trainCharts,
  writeRunReport,
} from "./run-report.js";
import { embeddedSpecs } from "./testing/fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "interplay-run-report-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const trainLine = (step: number) => ({
  step,
  loss: 3 / Math.sqrt(step),
  lr: 1e-3,
  gradNorm: 1 + 1 / step,
  tokens: step * 4096,
  tokensPerSec: 7000,
  elapsed: step * 0.6,
  ...(step % 10 === 0 ? { valLoss: 3.1 / Math.sqrt(step) } : {}),
});

describe("run report", () => {
  it("thins long runs evenly and keeps the last step", () => {
    const lines = Array.from({ length: 5003 }, (_, i) => trainLine(i + 1));
    const t = thin(lines);
    assert.ok(t.length <= MAX_POINTS + 1, `${t.length}`);
    assert.equal(t[0].step, 1);
    assert.equal(t[t.length - 1].step, 5003);
    assert.deepEqual(thin(lines.slice(0, 10)), lines.slice(0, 10));
  });

  it("pre-training: loss against tokens and time (validation as points), LR, gradient norm, throughput", () => {
    const charts = trainCharts(Array.from({ length: 50 }, (_, i) => trainLine(i + 1)));
    assert.deepEqual(
      charts.map((c) => c.id),
      ["run-loss-tokens", "run-loss-time", "run-lr", "run-gradnorm", "run-throughput"],
    );
    const loss = charts[0];
    assert.equal(loss.series.length, 2);
    assert.equal(loss.series[0].data.length, 50);
    assert.equal(loss.series[1].data.length, 5, "validation only where measured");
    assert.deepEqual(loss.series[0].data[9], {
      x: (10 * 4096) / 1e6,
      y: 3 / Math.sqrt(10),
      label: "step 10",
    });
  });

  it("RL: every reward variant, verified, KL, clip and zero-variance, length, entropy, and the time split", () => {
    const lines = [1, 2, 3].map((step) => ({
      step,
      reward: 0.1 * step,
      components: { outcome: 0.2, process: 0.3, composite: 0.1 * step, strict: 0 },
      verified: 0.1,
      answerCorrect: 0.3,
      kl: 0.001 * step,
      entropy: 1.2,
      clipFraction: 0.05,
      zeroVarGroups: 0.5,
      gradNorm: 0.4,
      responseLength: 120,
      seconds: { rollout: 3, scoring: 0.1, train: 2 },
      elapsed: step * 5,
      ...(step === 3 ? { val: { verified: 0.2, reward: 0.3 } } : {}),
    }));
    const charts = rlCharts(lines);
    const reward = charts.find((c) => c.id === "run-reward");
    assert.deepEqual(
      reward?.series.map((s) => s.label),
      ["reward (trained on)", "outcome", "process", "composite", "strict", "validation reward"],
    );
    const split = charts.find((c) => c.id === "run-time-split");
    assert.equal(split?.stacked, true);
    assert.deepEqual(split?.series[0].data, [3, 3, 3]);
    const html = renderRunReport({ stage: "rl", steps: 10 }, lines);
    assert.match(html, /<td>3 \/ 10<\/td>/);
    assert.equal(embeddedSpecs(html).length, charts.length);
  });

  it("config as dotted settings, no raw JSON; a folder without config.json is a clear error", () => {
    const e = configEntries({
      stage: "pretrain",
      model: { hidden: 64, layers: 2 },
      ops: [2, 3],
      mix: [{ a: 1 }],
    });
    assert.deepEqual(e, [
      ["stage", "pretrain"],
      ["model.hidden", 64],
      ["model.layers", 2],
      ["ops", "2, 3"],
      ["mix", "(1 items)"],
    ]);
    assert.throws(() => writeRunReport(join(dir, "nothing")), /is not a run folder \(no config\.json\)/);
    const run = join(dir, "run");
    rmSync(run, { recursive: true, force: true });
    mkdirSync(run);
    writeFileSync(join(run, "config.json"), JSON.stringify({ stage: "pretrain", steps: 3 }));
    writeFileSync(join(run, "metrics.jsonl"), `${JSON.stringify(trainLine(1))}\n{"step": 2, "lo`);
    const page = writeRunReport(run);
    assert.match(readFileSync(page, "utf8"), /1 steps recorded/, "a line cut by a kill is skipped");
  });
});
