import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gridProblems } from "../eval/runner.js";
import { train } from "../train/trainer.js";
import { readJsonlValues } from "../util/jsonl.js";
import { type RlMetrics, type RlOptions, resolveRlConfig, rlVerifyOptions } from "./config.js";
import { stepPrompts } from "./prompts.js";
import { stepWork } from "./step.js";
import { trainRl } from "./trainer.js";

const dir = mkdtempSync(join(tmpdir(), "interplay-rl-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const base = join(dir, "base");

before(async () => {
  await train({
    stage: "pretrain",
    out: base,
    preset: "micro",
    mixture: "op2-3_forward",
    tokens: 4 * 2 * 128,
    seed: 3,
    overrides: { batch: 2, seqLen: 128, evalEvery: 4, evalBatches: 1, ckptEvery: 4 },
  });
});

const metrics = (run: string): RlMetrics[] => readJsonlValues(join(run, "metrics.jsonl"));

const opts = (out: string, extra: Partial<RlOptions> = {}): RlOptions => ({
  from: base,
  prompts: "op2-3_forward",
  out,
  steps: 3,
  seed: 7,
  overrides: {
    promptsPerStep: 2,
    rollouts: 3,
    miniBatches: 2,
    micro: 2,
    maxNew: 20,
    evalEvery: 2,
    evalProblems: 2,
    ckptEvery: 1,
  },
  ...extra,
});

describe("GRPO trainer", () => {
  it("runs steps with verifier rewards, logs every metric, and resumes after a stop to the same numbers", async () => {
    const full = join(dir, "full");
    const r = await trainRl(opts(full));
    assert.equal(r.steps, 3);
    const a = metrics(full);
    assert.equal(a.length, 3);
    for (const m of a) {
      assert.ok(m.reward >= 0 && m.reward <= 1);
      assert.ok(m.verified <= m.answerCorrect + 1e-12, "verified implies a right answer");
      assert.ok(Math.abs(m.components.composite - m.reward) < 1e-9, "the composite reward is the default");
      assert.ok(m.flops > 0 && m.supervisedTokens.measured > 0 && m.supervisedTokens.paper > 0);
      assert.ok(m.responseLength >= 1 && m.responseLength <= 20);
      assert.ok(Number.isFinite(m.kl) && m.kl >= 0 && Number.isFinite(m.entropy));
    }
    assert.ok(a[1].val && a[2].val, "validation every 2 steps and at the end");
    // Every validation's greedy traces, with their step, in val/ (an evaluation-like folder).
    const traces = (run: string) =>
      readJsonlValues<{ id: string; step: number }>(join(run, "val", "samples.jsonl"));
    const verdicts = (run: string) =>
      readJsonlValues<{ id: string; step: number; verified: boolean }>(join(run, "val", "results.jsonl"));
    const validated = (run: string) =>
      metrics(run)
        .filter((m) => m.val)
        .map((m) => m.step);
    const nVal = traces(full).filter((t) => t.step === 2).length;
    assert.ok(nVal >= 1);
    assert.deepEqual([...new Set(traces(full).map((t) => t.step))], validated(full));
    assert.equal(traces(full).length, nVal * validated(full).length);
    assert.deepEqual(
      verdicts(full).map((v) => [v.id, v.step]),
      traces(full).map((t) => [t.id, t.step]),
    );
    const rate = verdicts(full).filter((v) => v.step === 3 && v.verified).length / nVal;
    assert.equal(rate, a[2].val!.verified, "the traces are the validation's");
    assert.ok(
      existsSync(join(full, "val", "explorer.html")) && existsSync(join(full, "val", "problems.jsonl")),
    );
    assert.match(readFileSync(join(full, "report.html"), "utf8"), /href="val\/explorer\.html"/);
    // Stop after the first step (a deadline already passed), then resume.
    const cut = join(dir, "cut");
    const s1 = await trainRl(opts(cut, { minutes: 0 }));
    assert.equal(s1.steps, 1);
    assert.equal(s1.stoppedEarly, true);
    // A validation written after the last checkpoint, before a kill: the resume drops it (and redoes it).
    const valSamples = join(cut, "val", "samples.jsonl");
    writeFileSync(
      valSamples,
      `${readFileSync(valSamples, "utf8")}${JSON.stringify({ id: "lost", sample: 0, step: 2, completion: "" })}\n`,
    );
    await trainRl(opts(cut, { resume: true }));
    assert.ok(!readFileSync(valSamples, "utf8").includes('"lost"'));
    const b = metrics(cut);
    assert.deepEqual(
      b.map((m) => m.step),
      [1, 2, 3],
    );
    // The resumed run's traces: each validated step once (step 1 validated at the time-out).
    const cutTraces = traces(cut).map((t) => `${t.id}@${t.step}`);
    assert.equal(new Set(cutTraces).size, cutTraces.length, "no trace repeated by the resume");
    assert.deepEqual([...new Set(traces(cut).map((t) => t.step))], validated(cut));
    for (let i = 0; i < 3; i++) {
      assert.equal(b[i].reward, a[i].reward, `step ${i + 1} reward`);
      assert.ok(Math.abs(b[i].loss - a[i].loss) < 1e-9, `step ${i + 1} loss`);
    }
  });

  it("--resume needs no flag the run saved, extends --steps to the numbers of a longer run, and refuses changes", async () => {
    const five = join(dir, "five");
    await trainRl(opts(five, { steps: 5 }));
    const run = join(dir, "grow");
    cpSync(join(dir, "full"), run, { recursive: true });
    const done = await trainRl({ out: run, resume: true });
    assert.equal(done.steps, 3);
    assert.equal(done.last?.step, 3, "a finished run's last line is read back");
    const r = await trainRl({ out: run, resume: true, steps: 5 });
    assert.equal(r.steps, 5);
    const a = metrics(five);
    const b = metrics(run);
    assert.deepEqual(
      b.map((m) => m.step),
      [1, 2, 3, 4, 5],
    );
    for (let i = 0; i < 5; i++) {
      assert.equal(b[i].reward, a[i].reward, `step ${i + 1} reward`);
      assert.ok(Math.abs(b[i].loss - a[i].loss) < 1e-9, `step ${i + 1} loss`);
    }
    const before = readFileSync(join(run, "metrics.jsonl"));
    const refused = (o: Partial<RlOptions>, re: RegExp) =>
      assert.rejects(trainRl({ out: run, resume: true, ...o }), re);
    await refused(
      { overrides: { lr: 1e-3 } },
      /--resume: --lr 0\.001 differs from the run's 0\.0001 .*only --steps may grow/,
    );
    await refused({ overrides: { klCoef: 0 } }, /--kl-coef 0 differs from the run's 0\.001/);
    await refused({ prompts: "op4-5_forward" }, /--prompts op4-5_forward differs/);
    await refused({ seed: 8 }, /--seed 8 differs from the run's 7/);
    await refused({ from: join(dir, "five") }, /--from .*five differs from the run's .*base/);
    await refused({ steps: 4 }, /--steps 4 is less than the run's 5/);
    assert.ok(readFileSync(join(run, "metrics.jsonl")).equals(before), "nothing was touched");
    await trainRl({ ...opts(run, { steps: 5 }), resume: true }); // the same values again: no change
  });

  it("a compute budget ends the run at the first step that reaches it, resumes to the same end, and a bad one is refused", async () => {
    const ref = metrics(join(dir, "full"));
    // A budget between the measured totals of steps 1 and 2 ends after step 2, with --steps 3 a cap.
    const budget = (ref[0].supervisedTokens.measured + ref[1].supervisedTokens.measured) / 2;
    const out = join(dir, "budget");
    const o = opts(out, { overrides: { ...opts("").overrides, computeBudget: budget } });
    const r = await trainRl(o);
    assert.equal(r.steps, 2);
    assert.equal(r.stoppedEarly, false, "the budget is the run's own end, not a stop");
    const m = metrics(out);
    assert.deepEqual(
      m.map((x) => x.step),
      [1, 2],
    );
    assert.ok(m[0].supervisedTokens.measured < budget && m[1].supervisedTokens.measured >= budget);
    assert.equal(m[1].reward, ref[1].reward, "the same steps as the run without a budget");
    assert.ok(m[1].val, "its last step is validated as the final one");
    const again = await trainRl({ out, resume: true });
    assert.equal(again.steps, 2, "a finished budgeted run resumes to nothing");
    assert.equal(metrics(out).length, 2);
    await assert.rejects(
      trainRl(opts(join(dir, "budget-bad"), { overrides: { ...opts("").overrides, computeBudget: -5 } })),
      /--compute-budget must be a positive number of tokens, got -5/,
    );
  });

  it("compute accounting agrees with the engine's FLOP counter, π_old rescoring included when the KL is off", async () => {
    for (const [klCoef, miniBatches] of [
      [0, 2],
      [1e-3, 2],
      [0, 1],
      [1e-3, 1],
    ]) {
      const out = join(dir, `acct-${klCoef}-${miniBatches}`);
      const r = await trainRl(
        opts(out, { steps: 2, overrides: { ...opts("").overrides, klCoef, miniBatches, evalEvery: 5 } }),
      );
      const s = r.last?.supervisedTokens;
      assert.ok(s);
      const ratio = s.rule6N / s.measured;
      assert.ok(
        ratio > 0.97 && ratio < 1.07,
        `kl ${klCoef}, ${miniBatches} mini-batches: rule/measured ${ratio}`,
      );
    }
    const w = stepWork(
      { klCoef: 0 },
      { prefillTokens: 10, generatedTokens: 20 },
      { passTokens: 64, trainTokens: 64, onPolicy: false },
    );
    assert.deepEqual([w.refForwardTokens, w.oldForwardTokens], [0, 64]);
  });

  it("reduced-precision rollouts run and are recorded in the config; absent, the config has neither key", async () => {
    const fast = join(dir, "fast");
    await trainRl(
      opts(fast, {
        steps: 1,
        overrides: { ...opts("").overrides, rolloutCache: "f16", rolloutProducts: "bf16", precision: "bf16" },
      }),
    );
    const cfg = JSON.parse(readFileSync(join(fast, "config.json"), "utf8"));
    assert.equal(cfg.rolloutCache, "f16");
    assert.equal(cfg.rolloutProducts, "bf16");
    assert.equal(cfg.precision, "bf16");
    const [m] = metrics(fast);
    assert.ok(m.reward >= 0 && m.reward <= 1 && Number.isFinite(m.loss) && m.responseLength >= 1);
    // Without the options the resolved config carries neither key (older runs and cache keys stay valid).
    const plain = await resolveRlConfig(opts(join(dir, "plain")));
    assert.ok(!("rolloutCache" in plain) && !("rolloutProducts" in plain) && !("precision" in plain));
    const fp32 = await resolveRlConfig(opts(join(dir, "plain"), { overrides: { precision: "fp32" } }));
    assert.ok(!("precision" in fp32), "fp32 is the absent key");
  });

  it("records the slip policy in every new config; a config without it keeps the lenient policy", async () => {
    const c = await resolveRlConfig(opts(join(dir, "slips")));
    assert.equal(c.allowSlips, false, "slips count in the reward by default");
    assert.deepEqual(rlVerifyOptions(c), { alpha: c.alpha, allowSlips: false });
    const lenient = await resolveRlConfig(opts(join(dir, "slips2"), { overrides: { allowSlips: true } }));
    assert.equal(rlVerifyOptions(lenient).allowSlips, true);
    const { allowSlips: _, ...old } = c;
    assert.equal(rlVerifyOptions(old).allowSlips, true, "written before slips counted");
    await assert.rejects(
      resolveRlConfig(opts(join(dir, "x"), { overrides: { allowSlips: "yes" as never } })),
      /allowSlips must be true or false/,
    );
  });

  it("prompt files cycle in a seeded order; bad settings are clear errors", async () => {
    const file = join(dir, "prompts.jsonl");
    const ps = gridProblems({ ops: [2], perOp: 5, seed: 9, modes: ["forward"] });
    writeFileSync(file, ps.map((p) => JSON.stringify(p)).join("\n"));
    const c = await resolveRlConfig(opts(join(dir, "f"), { prompts: file }));
    const seen = [0, 1, 2, 3, 4].flatMap((s) => stepPrompts(c, s, ps).map((p) => p.id));
    assert.deepEqual(
      [...new Set(seen.slice(0, 5))].sort(),
      ps.map((p) => p.id).sort(),
      "one pass covers the file",
    );
    assert.deepEqual(stepPrompts(c, 3, ps), stepPrompts(c, 3, ps));
    const bad = (o: Partial<RlOptions>, re: RegExp) =>
      assert.rejects(resolveRlConfig(opts(join(dir, "x"), o)), re);
    await bad({ overrides: { rollouts: 1 } }, /rollouts must be at least 2/);
    await bad({ overrides: { promptsPerStep: 3, miniBatches: 2 } }, /mini-batches/);
    await bad({ overrides: { reward: "bogus" as never } }, /--reward/);
    await bad({ overrides: { rolloutCache: "f8" as never } }, /--rollout-cache must be f32 or f16/);
    await bad({ overrides: { rolloutProducts: "int8" as never } }, /--rollout-products must be f32 or bf16/);
    await bad({ overrides: { precision: "f32" as never } }, /--precision must be fp32 or bf16, got "f32"/);
    await bad({ overrides: { beta2: 1 } }, /AdamW needs 0 <= beta1, beta2 < 1/);
    await bad({ overrides: { klcoef: 0 } as never }, /unknown RL option "klcoef" \(known: reward, alpha/);
    await bad({ prompts: join(dir, "missing.jsonl") }, /does not exist/);
    await bad({ prompts: "op99-100" }, /.+/);
    await bad({ from: join(dir, "nope") }, /config.json/);
    await bad({ prompts: undefined }, /a new rl run needs --prompts/);
    await bad({ steps: undefined }, /a new rl run needs --steps/);
    // Prompt files go through the world's loader: ids, graphs, duplicates, then a prompt per line.
    const line = (p: object) => JSON.stringify(p);
    const cases: [string, string, RegExp][] = [
      ["broken", '{"prompt": "x"}\n{not json', /broken.jsonl:1: "id" must be a non-empty string/],
      ["nodes", line({ ...ps[0], graph: { nodes: [] } }), /nodes.jsonl:1: "graph" must be/],
      ["dup", [line(ps[0]), line(ps[1]), line(ps[0])].join("\n"), /dup.jsonl:3: duplicate id/],
      ["noprompt", line({ ...ps[0], prompt: undefined }), /has no "prompt"/],
    ];
    for (const [name, text, re] of cases) {
      writeFileSync(join(dir, `${name}.jsonl`), text);
      await bad({ prompts: join(dir, `${name}.jsonl`) }, re);
    }
  });

  it("checkpoints are verified: --resume falls back past a damaged one, --from and the reference refuse", async () => {
    const flip = (f: string) => {
      const b = readFileSync(f);
      const start = 8 + Number(b.readBigUInt64LE(0));
      for (let i = 0; i < 4096; i++) b[start + 4 * i + 3] ^= 0x80;
      writeFileSync(f, b);
    };
    const ck = (run: string, step: number, f: string) =>
      join(run, "checkpoints", `step-${String(step).padStart(7, "0")}`, f);
    const ref = join(dir, "ck-ref");
    await trainRl(opts(ref));
    const a = metrics(ref);
    // Dies after step 3's metrics line, before its checkpoint: step-1 and step-2 remain.
    const run = join(dir, "ck-run");
    await assert.rejects(
      trainRl(
        opts(run, {
          onStep: (m) => {
            if (m.step === 3) throw new Error("crash");
          },
        }),
      ),
      /crash/,
    );
    flip(ck(run, 2, "model.safetensors"));
    const logs: string[] = [];
    await trainRl(opts(run, { resume: true, log: (m) => logs.push(m) }));
    assert.match(
      logs.join("\n"),
      /checkpoint step-0000002 is corrupt \(.*model\.safetensors fails its checksum: sha256 [0-9a-f]{64}, its manifest records [0-9a-f]{64}\).*falling back to step-0000001/,
    );
    const b = metrics(run);
    assert.deepEqual(
      b.map((m) => m.step),
      [1, 2, 3],
      "no lost or repeated step",
    );
    for (let i = 0; i < 3; i++) {
      assert.equal(b[i].reward, a[i].reward, `step ${i + 1} reward`);
      assert.ok(Math.abs(b[i].loss - a[i].loss) < 1e-9, `step ${i + 1} loss`);
    }
    // rl --from a run whose latest checkpoint is damaged: refused, nothing written.
    const damaged = join(dir, "base-damaged");
    cpSync(base, damaged, { recursive: true });
    flip(ck(damaged, 4, "model.safetensors"));
    const out = join(dir, "from-damaged");
    await assert.rejects(
      trainRl(opts(out, { from: damaged })),
      /refusing to load checkpoint .*step-0000004: .*model\.safetensors fails its checksum/,
    );
    assert.ok(!existsSync(out), "no run folder was started");
    // --resume of a run whose frozen reference was damaged since: refused too.
    const base2 = join(dir, "base-2");
    cpSync(base, base2, { recursive: true });
    const run2 = join(dir, "ck-run2");
    await trainRl(opts(run2, { from: base2, steps: 1 }));
    flip(ck(base2, 4, "model.safetensors"));
    await assert.rejects(
      trainRl(opts(run2, { from: base2, steps: 1, resume: true })),
      /refusing to load checkpoint .*base-2.*model\.safetensors fails its checksum/,
    );
  });
});
