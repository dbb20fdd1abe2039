import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadKernels } from "../engine/backend.js";
import { bf16IsFast } from "../engine/kernels.js";
import { validateMixture } from "../world/mixture.js";
import {
  ALLOCATION_STEP_CAP,
  builtinStudy,
  demoStudy,
  SCALE_SPECS,
  SCALES,
  STUDIES,
  STUDY_NAMES,
} from "./builtin.js";
import { rlStepTokens, runStudy, stageHashes, studyPlan, validateStudy } from "./study.js";
import type { StageRecord, Study } from "./types.js";

const dir = mkdtempSync(join(tmpdir(), "interplay-study-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const micro: Study = {
  name: "micro",
  scale: "micro",
  seed: 2,
  description: "machinery test",
  finding: "none",
  bands: [{ name: "ID", lo: 2, hi: 3 }],
  stages: [
    {
      id: "base",
      kind: "pretrain",
      preset: "micro",
      mixture: "op2-3_forward",
      tokens: 2 * 2 * 128,
      train: { batch: 2, seqLen: 128, evalEvery: 2, evalBatches: 1, ckptEvery: 2 },
    },
    { id: "eval-base", kind: "eval", from: "base", grid: { ops: [2, 3], perOp: 2, samples: 2, maxNew: 16 } },
    {
      id: "rl",
      kind: "rl",
      from: "base",
      prompts: "op2-3_forward",
      steps: 1,
      rl: { promptsPerStep: 2, rollouts: 2, miniBatches: 1, maxNew: 16, evalProblems: 2 },
    },
    { id: "eval-rl", kind: "eval", from: "rl", grid: { ops: [2, 3], perOp: 2, samples: 2, maxNew: 16 } },
  ],
  compare: [{ label: "rl", before: "eval-base", after: "eval-rl" }],
};

describe("studies", () => {
  it("every built-in study validates and has a compute plan at every scale", () => {
    for (const n of STUDY_NAMES)
      for (const s of SCALES) {
        const st = builtinStudy(n, s);
        validateStudy(st);
        assert.ok(studyPlan(st).totalFlops > 0);
      }
    validateStudy(demoStudy());
    // builtinStudy looks names up in the record of studies: it holds exactly STUDY_NAMES, in order.
    assert.deepEqual(Object.keys(STUDIES), [...STUDY_NAMES]);
    const paper = studyPlan(builtinStudy("depth", "paper"));
    assert.ok(paper.totalFlops > 1e18, "the paper's pre-training alone is ≈6e18 FLOPs");
  });

  it("a scale's op weights and breadth budget reach the pre-training stages of its studies", () => {
    const w = SCALE_SPECS.small.pretrainWeights;
    assert.ok(w, "the small scale weights its pre-training ops");
    for (const n of ["depth", "reward", "allocation"] as const) {
      const base = builtinStudy(n, "small").stages.find((st) => st.id === "base");
      assert.ok(base && base.kind === "pretrain");
      const m = validateMixture(base.mixture);
      for (const c of m.contexts)
        for (const [op, p] of Object.entries(w)) {
          const got = c.ops.find((o) => o.op === Number(op))?.p;
          assert.ok(got !== undefined && Math.abs(got - p) < 1e-12, `${n}/${c.id} op ${op}: ${got} vs ${p}`);
        }
    }
    const breadthBase = builtinStudy("breadth", "small").stages[0];
    assert.ok(breadthBase.kind === "pretrain" && breadthBase.tokens === SCALE_SPECS.small.breadthTokens);
    // The band arm trains on the scale's OOD-edge band, and only where the scale asks for it.
    const depth = builtinStudy("depth", "small");
    const band = depth.stages.find((st) => st.id === "rl-band");
    const b = SCALE_SPECS.small.bands[1];
    assert.ok(band && band.kind === "rl" && band.prompts === `op${b.lo}-${b.hi}_forward`);
    assert.ok(depth.compare.some((c) => c.after === "eval-rl-band"));
    assert.ok(!builtinStudy("depth", "paper").stages.some((st) => st.id === "rl-band"));
    // The reward study also sets each process-aware arm against outcome-only RL.
    const reward = builtinStudy("reward", "small");
    assert.deepEqual(
      reward.compare.filter((c) => c.before === "eval-outcome").map((c) => c.after),
      ["eval-composite0.2", "eval-composite0.5", "eval-strict"],
    );
    // The allocation study sets every mix against RL alone, and those stages exist.
    const alloc = builtinStudy("allocation", "small");
    const vsRl = alloc.compare.filter((c) => c.before === "eval-b1");
    assert.equal(vsRl.length, 4);
    for (const c of vsRl) assert.ok(alloc.stages.some((st) => st.id === c.after && st.kind === "eval"));
    // Unweighted scales stay uniform over their range.
    const tiny = builtinStudy("depth", "tiny").stages[0];
    assert.ok(tiny.kind === "pretrain");
    const t = validateMixture(tiny.mixture).contexts[0].ops;
    assert.ok(t.every((o) => Math.abs(o.p - 1 / t.length) < 1e-12));
  });

  it("the allocation study spends the same budget at every β: RL by measured FLOPs, with a step cap that does not bind by the rule", () => {
    for (const scale of SCALES) {
      const st = builtinStudy("allocation", scale);
      const plan = studyPlan(st);
      const total = SCALE_SPECS[scale].midTokens;
      for (const beta of [0, 0.2, 0.5, 0.8, 1]) {
        const spent = (plan.tokens.get(`mid-b${beta}`) ?? 0) + (plan.tokens.get(`rl-b${beta}`) ?? 0);
        assert.equal(spent, total, `${scale} β=${beta}: ${spent} vs budget ${total}`);
        const arm = st.stages.find((x) => x.id === `rl-b${beta}`);
        if (beta === 0) {
          assert.equal(arm, undefined);
          continue;
        }
        assert.ok(arm?.kind === "rl");
        assert.equal(arm.rl?.computeBudget, Math.round(beta * total));
        // The 5/3 rule prices a step above what the engine measures, so its steps would end early.
        const ruleSteps = (beta * total) / rlStepTokens(SCALE_SPECS[scale].preset, arm.rl);
        assert.ok(
          arm.steps >= ALLOCATION_STEP_CAP * Math.floor(ruleSteps),
          `${scale} β=${beta}: cap ${arm.steps}`,
        );
      }
    }
  });

  it("small runs every RL arm with three seeds: copies with their own seed, their evaluations, and the comparisons' seeds", () => {
    const st = builtinStudy("depth", "small", 7);
    validateStudy(st);
    const byId = new Map(st.stages.map((x) => [x.id, x]));
    const seeds = ["rl-edge", "rl-edge-s2", "rl-edge-s3"].map(
      (id) => (byId.get(id) as { seed?: number }).seed,
    );
    assert.deepEqual(
      seeds,
      [undefined, 1007, 2007],
      "the first seed is the study's (its cache key unchanged)",
    );
    assert.equal((byId.get("eval-rl-edge-s3") as { from: string }).from, "rl-edge-s3");
    assert.ok(!byId.has("eval-base-s2") && !byId.has("edge-s2"), "the base and its measurements are shared");
    const edge = st.compare.find((c) => c.after === "eval-rl-edge");
    assert.deepEqual(edge?.seeds, { before: [], after: ["eval-rl-edge-s2", "eval-rl-edge-s3"] });
    const hashes = stageHashes(st);
    assert.equal(new Set(hashes.values()).size, st.stages.length, "every copy has its own cache key");
    // Arm against arm: seed paired with seed; a side without RL is the same model for every seed.
    const alloc = builtinStudy("allocation", "small");
    validateStudy(alloc);
    const b0 = alloc.compare.find((c) => c.before === "eval-b1" && c.after === "eval-b0");
    assert.deepEqual(b0?.seeds, { before: ["eval-b1-s2", "eval-b1-s3"], after: ["eval-b0", "eval-b0"] });
    assert.equal(
      builtinStudy("depth", "tiny").stages.filter((x) => x.kind === "rl").length,
      3,
      "tiny: one seed",
    );
  });

  it("bad references are clear errors", () => {
    const bad = (mut: (s: Study) => void, re: RegExp) => {
      const s = structuredClone(micro);
      mut(s);
      assert.throws(() => validateStudy(s), re);
    };
    bad((s) => ((s.stages[1] as { from: string }).from = "nope"), /not an earlier stage/);
    bad((s) => {
      const ev = s.stages[3];
      assert.ok(ev.kind === "eval");
      s.stages[3] = { ...ev, from: "eval-base" };
    }, /is an evaluation, not a model/);
    bad((s) => (s.stages[2].id = "base"), /used twice/);
    bad((s) => (s.compare[0].after = "rl"), /not an eval stage/);
    const claim = { band: "ID", metric: "pass1", expect: "up", text: "t" } as const;
    bad((s) => (s.compare[0].claims = [{ ...claim, band: "nope" }]), /claim band "nope" is not one of/);
    bad(
      (s) => (s.compare[0].claims = [{ ...claim, expect: "more" as "up" }]),
      /claim expect must be up, flat or down/,
    );
    // An option a trainer does not know is refused before any stage runs, naming the stage.
    bad((s) => {
      const b = s.stages[0];
      assert.ok(b.kind === "pretrain");
      s.stages[0] = { ...b, train: { ...b.train, learningRate: 1 } as never };
    }, /stage "base": unknown training option "learningRate"/);
    bad((s) => {
      const r = s.stages[2];
      assert.ok(r.kind === "rl");
      s.stages[2] = { ...r, rl: { ...r.rl, steps: 9 } as never };
    }, /stage "rl": unknown RL option "steps"/);
    // A training stage has one budget: tokens or minutes.
    const budget = (b: { tokens?: number; minutes?: number }) => (s: Study) => {
      const { tokens: _t, ...rest } = s.stages[0] as { tokens?: number };
      s.stages[0] = { ...rest, ...b } as Study["stages"][0];
    };
    bad(budget({}), /stage "base": give tokens or minutes \(exactly one\)/);
    bad(budget({ tokens: 512, minutes: 1 }), /give tokens or minutes \(exactly one\)/);
    bad(budget({ minutes: -1 }), /stage "base": minutes must be positive, got -1/);
    bad(budget({ tokens: 0 }), /stage "base": tokens must be positive, got 0/);
  });

  it("a stage with a time budget is sized on the machine, records what it trained on, and is not in the FLOP totals", async () => {
    const base = micro.stages[0];
    assert.ok(base.kind === "pretrain");
    const { tokens: _t, ...rest } = base;
    const s: Study = { ...micro, stages: [{ ...rest, minutes: 0.03 }], compare: [] };
    validateStudy(s);
    const plan = studyPlan(s);
    assert.equal(plan.minutes, 0.03);
    assert.equal(plan.totalFlops, 0, "a budgeted stage's FLOPs depend on the machine");
    assert.match(String(plan.rows[0][3]), /0\.03 minutes \(tokens sized on the machine\)/);
    const [rec] = await runStudy(s, { out: join(dir, "budget"), cache: join(dir, "budget-cache") });
    assert.ok(rec.kind === "pretrain");
    const perStep = 2 * 128;
    assert.ok(rec.result.budget && rec.result.budget.minutes === 0.03 && rec.result.budget.tokensPerSec > 0);
    assert.ok((rec.result.tokens ?? 0) >= perStep && (rec.result.tokens ?? 0) % perStep === 0);
    assert.equal(rec.result.steps * perStep, rec.result.tokens, "the stage ran its whole sized schedule");
    const html = readFileSync(join(dir, "budget", "report.html"), "utf8");
    assert.match(html, /M tokens \(sized to 0\.03 min at \d+ tokens\/s\)/);
  });

  it("runs end to end, caches finished stages, and resumes a killed stage without redoing the others", async () => {
    const out = join(dir, "s1");
    const cache = join(dir, "cache");
    const recs = await runStudy(micro, { out, cache });
    assert.equal(recs.length, 4);
    const fast = bf16IsFast(await loadKernels());
    const hashes = stageHashes(micro, fast);
    const base = recs[0].id;
    assert.equal(
      stageHashes(micro, true).get(base) === stageHashes(micro, false).get(base),
      false,
      "the default precision is part of a training stage's key",
    );
    assert.equal(
      JSON.parse(readFileSync(join(recs[0].dir, "config.json"), "utf8")).precision,
      fast ? "bf16" : undefined,
    );
    for (const r of recs)
      assert.equal(r.dir, join(cache, `${r.kind}-${hashes.get(r.id)}`), "folders by stageHashes");
    assert.ok(existsSync(join(out, "report.html")));
    const html = readFileSync(join(out, "report.html"), "utf8");
    assert.match(html, /eval-base → eval-rl/);
    // The comparison's changed-verdicts page is written beside the report and linked from it.
    assert.ok(existsSync(join(out, "compare-1-traces.html")));
    assert.match(html, /<a href="compare-1-traces\.html">Changed verdicts<\/a>/);
    // Charts per comparison, results in words, folders relative to the report (no raw JSON, no absolute paths).
    assert.match(html, /id="chart-compare-pass1-0"/);
    assert.match(html, /id="chart-compare-diff-0"/);
    assert.match(html, /\d+ steps, 0\.00M tokens; loss \d\.\d{4}, validation/);
    assert.match(html, /ID: pass@1 \d+\.\d, pass@k/);
    // The RL arms' table: KL (last / max), zero-variance share and measured compute from metrics.jsonl.
    assert.match(
      html,
      /<td>rl<\/td><td>op2-3_forward<\/td><td>1<\/td><td>-?\d\.\d{3}<\/td><td>\d+\.\d<\/td><td>-?\d\.\de[+-]\d+ \/ -?\d\.\de[+-]\d+<\/td><td>\d+\.\d<\/td><td>\d\.\d{2}e\+\d+<\/td>/,
    );
    assert.doesNotMatch(html, /<code>\{/, "no raw JSON in the stage table");
    assert.ok(!html.includes(`<code>${cache}`), "stage folders are relative to the report");
    assert.match(
      html,
      /<code>\.\.\/cache\/eval-[0-9a-f]{12}<\/code> \(<a href="\.\.\/cache\/eval-[0-9a-f]{12}\/report\.html">report<\/a>, <a href="\.\.\/cache\/eval-[0-9a-f]{12}\/explorer\.html">traces<\/a>\)/,
    );
    const stamp = (id: string) => statSync(join(recs.find((r) => r.id === id)!.dir, "stage.json")).mtimeMs;
    const before = Object.fromEntries(recs.map((r) => [r.id, stamp(r.id)]));
    // "Kill" the last stage: no stage.json, half its samples, a cut line.
    const last = recs[3].dir;
    rmSync(join(last, "stage.json"));
    const lines = readFileSync(join(last, "samples.jsonl"), "utf8").trim().split("\n");
    writeFileSync(join(last, "samples.jsonl"), `${lines.slice(0, 3).join("\n")}\n${lines[3].slice(0, 10)}`);
    const again = await runStudy(micro, { out: join(dir, "s2"), cache });
    for (const id of ["base", "eval-base", "rl"]) assert.equal(stamp(id), before[id], `${id} was not redone`);
    assert.deepEqual(again[3].result, recs[3].result, "the resumed evaluation ends where the first one did");
    // "Kill" the RL stage after its last checkpoint: it resumes from that checkpoint and says so.
    rmSync(join(recs[2].dir, "stage.json"));
    rmSync(join(recs[3].dir, "stage.json"));
    const logs: string[] = [];
    const third = await runStudy(micro, { out: join(dir, "s2b"), cache, log: (m) => logs.push(m) });
    assert.ok(
      logs.some((m) => /rl: an earlier attempt stopped; resuming from step-\d+/.test(m)),
      logs.join("\n"),
    );
    assert.equal(stamp("base"), before.base, "base was not redone");
    assert.deepEqual(third[3].result, recs[3].result, "the resumed RL stage ends where the first one did");
    // A changed upstream config gives new folders downstream.
    const changed = structuredClone(micro);
    changed.seed = 3;
    const other = await runStudy(
      { ...changed, stages: changed.stages.slice(0, 1), compare: [] },
      { out: join(dir, "s3"), cache },
    );
    assert.notEqual(other[0].dir, recs[0].dir);
  });

  describe("the stage cache verifies what it reuses", () => {
    const cache = join(dir, "cache-integrity");
    const ids = ["base", "eval-base", "rl", "eval-rl"];
    let first: StageRecord[] = [];
    let k = 0;
    const rerun = async () => {
      const logs: string[] = [];
      const recs = await runStudy(micro, { out: join(dir, `v-${k++}`), cache, log: (m) => logs.push(m) });
      return { recs, logs: logs.join("\n") };
    };
    const stageDir = (id: string) => (first.find((r) => r.id === id) as StageRecord).dir;
    const stamp = (id: string) => statSync(join(stageDir(id), "stage.json")).mtimeMs;
    const flip = (f: string) => {
      const b = readFileSync(f);
      const start = 8 + Number(b.readBigUInt64LE(0));
      for (let i = 0; i < 4096 && start + 4 * i + 3 < b.length; i++) b[start + 4 * i + 3] ^= 0x80;
      writeFileSync(f, b);
    };

    it("a finished stage records its files' sizes and SHA-256 in stage.json, sealed", async () => {
      first = (await rerun()).recs;
      const rec = JSON.parse(readFileSync(join(stageDir("base"), "stage.json"), "utf8"));
      assert.match(rec.check, /^[0-9a-f]{64}$/);
      for (const f of [
        "config.json",
        "metrics.jsonl",
        "checkpoints/latest",
        "checkpoints/step-0000002/model.safetensors",
      ])
        assert.match(rec.files[f]?.sha256 ?? "", /^[0-9a-f]{64}$/, f);
      assert.ok(
        JSON.parse(readFileSync(join(stageDir("eval-base"), "stage.json"), "utf8")).files["samples.jsonl"],
      );
      const again = await rerun();
      for (const id of ids) assert.match(again.logs, new RegExp(`${id}: done \\(cached [^;)]*\\)`), id);
      assert.deepEqual(
        again.recs.map((r) => r.dir),
        first.map((r) => r.dir),
        "the same stage folders (hashes)",
      );
    });

    it("damaged weights of a cached stage: the stage is redone, the others reused", async () => {
      const before = Object.fromEntries(ids.map((id) => [id, stamp(id)]));
      flip(join(stageDir("base"), "checkpoints", "step-0000002", "model.safetensors"));
      const r = await rerun();
      assert.match(
        r.logs,
        /base: cached .* is not trusted: .*model\.safetensors fails its checksum: sha256 [0-9a-f]{64}, its manifest records [0-9a-f]{64}; redoing the stage from the start/,
      );
      assert.notEqual(stamp("base"), before.base, "base was redone");
      for (const id of ["eval-base", "rl", "eval-rl"])
        assert.equal(stamp(id), before[id], `${id} was reused`);
      assert.match((await rerun()).logs, /base: done \(cached/, "the redone stage verifies");
    });

    it("an edited evaluation output: the evaluation is redone", async () => {
      const p = join(stageDir("eval-base"), "samples.jsonl");
      const b = readFileSync(p);
      b[b.length >> 1] ^= 0x01;
      writeFileSync(p, b);
      const r = await rerun();
      assert.match(r.logs, /eval-base: cached .* is not trusted: .*samples\.jsonl fails its checksum/);
      assert.deepEqual(r.recs[1].result, first[1].result);
    });

    it("a stage.json whose record was edited, or that does not parse: redone", async () => {
      const p = join(stageDir("eval-rl"), "stage.json");
      const rec = JSON.parse(readFileSync(p, "utf8"));
      writeFileSync(p, JSON.stringify({ ...rec, result: { bands: {} } }));
      let r = await rerun();
      assert.match(
        r.logs,
        /eval-rl: cached .* is not trusted: .*stage\.json is corrupt: its own checksum does not match/,
      );
      assert.deepEqual(r.recs[3].result, first[3].result, "the edited result was not used");
      writeFileSync(p, readFileSync(p, "utf8").slice(0, 50));
      r = await rerun();
      assert.match(r.logs, /eval-rl: cached .* is not trusted: .*stage\.json is corrupt \(invalid JSON/);
      assert.deepEqual(r.recs[3].result, first[3].result);
    });

    it("a stage.json written before checksums is reused, said to be unverified", async () => {
      const p = join(stageDir("eval-base"), "stage.json");
      const { check: _c, files: _f, ...old } = JSON.parse(readFileSync(p, "utf8"));
      writeFileSync(p, `${JSON.stringify(old, null, 2)}\n`);
      const t = stamp("eval-base");
      const r = await rerun();
      assert.match(r.logs, /eval-base: done \(cached .*; recorded before checksums, not verified\)/);
      assert.equal(stamp("eval-base"), t);
    });

    it("a killed stage whose checkpoint is damaged starts over instead of resuming from it", async () => {
      rmSync(join(stageDir("rl"), "stage.json"));
      rmSync(join(stageDir("eval-rl"), "stage.json"));
      flip(join(stageDir("rl"), "checkpoints", "step-0000001", "model.safetensors"));
      const r = await rerun();
      assert.match(
        r.logs,
        /rl: cannot resume .*: no intact checkpoint \(step-0000001: .*model\.safetensors fails its checksum.*; redoing the stage from the start/,
      );
      const rl = r.recs[2];
      assert.ok(rl.kind === "rl");
      assert.deepEqual(rl.result.steps, 1);
      assert.match((await rerun()).logs, /rl: done \(cached/);
    });
  });
});
