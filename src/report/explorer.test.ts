import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { readExplorerEval } from "../eval/explore.js";
import { PROBLEMS_FILE, readEvalProblems, writeEvalProblems } from "../eval/problems-file.js";
import { noisyCompletion, writeNoisyEvaluation } from "../eval/testing/noisy-eval.js";
import { hashSeed, Rng } from "../util/rng.js";
import { normalizeName, verifySample } from "../verify/index.js";
import { problemGrid } from "../verify/testing/fixtures.js";
import { generateProblem } from "../world/problem.js";
import type { Problem } from "../world/types.js";
import { changedProblems, renderCompareExplorer, renderExplorer } from "./explorer.js";
import {
  explorerLimits,
  explorerProblem,
  explorerSample,
  outcomeOf,
  type SampleLine,
  stratifiedSubset,
  type VerdictLine,
} from "./explorer-data.js";

const dir = mkdtempSync(join(tmpdir(), "interplay-explorer-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const limits = explorerLimits();

/** A problems.jsonl line back as the whole problem. */
const readBack = (l: { key?: Parameters<typeof generateProblem>[0]; gold?: unknown }) =>
  l.key ? generateProblem(l.key) : l.gold;

/** The explorer's view of one completion of a problem, verified as the evaluation does. */
function view(p: Problem, completion: string) {
  const { breakdown: _, ...v } = verifySample(completion, p);
  const line: SampleLine = { id: p.id, sample: 0, completion };
  const verdict: VerdictLine = { id: p.id, sample: 0, ...v };
  return { x: explorerSample(0, explorerProblem(p), line, verdict, limits), v };
}

/** The data embedded in a rendered explorer page. */
function pageData(html: string): {
  items: { tags: Record<string, string[]> }[];
  problems: unknown[];
  subset: { total: number; kept: number; perStratum: number | null };
} {
  const m = /<script type="application\/json" id="explorer-data">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, "explorer data");
  return JSON.parse(m[1]);
}

describe("trace explorer: steps and marks", () => {
  // 19 ops × 3 contexts × 2 modes × 6 = 684 gold problems.
  const problems = problemGrid(6, 11);

  test("a gold trace: one correct step per gold node, in gold order, nothing missing", () => {
    for (const p of problems) {
      const { x } = view(p, p.completion);
      assert.equal(x.o, "verified", p.id);
      assert.deepEqual(
        x.steps.map((s) => s.g),
        p.graph.nodes.map((_, i) => i),
        p.id,
      );
      for (const s of x.steps) assert.deepEqual(s.m, ["correct"], `${p.id}: ${s.t}`);
      assert.deepEqual(x.miss, []);
      // The steps' text and the text around them give the completion back.
      assert.equal(x.pre + x.steps.map((s) => s.t).join("") + x.post, p.completion.slice(0, limits.maxChars));
      // Parents are the gold parents.
      const gold = explorerProblem(p).gold;
      for (const s of x.steps)
        assert.deepEqual(s.par.map((j) => x.steps[j].g).sort(), [...gold[s.g].parents].sort());
    }
  });

  test("marks agree with the verdict over thousands of edited traces", () => {
    let edited = 0;
    for (const [pi, p] of problems.entries()) {
      for (let s = 0; s < 4; s++) {
        const completion = noisyCompletion(p, new Rng(hashSeed(5, pi, s)));
        if (completion !== p.completion) edited++;
        const { x, v } = view(p, completion);
        assert.equal(x.o, outcomeOf(v));
        const marked = (m: string) =>
          x.steps.filter((st) => st.m.includes(m as never) && st.g >= 0).map((st) => st.n);
        assert.deepEqual(
          marked("wrongValue"),
          v.errors.wrongValue.filter((n) => x.steps.some((st) => st.n === n)),
        );
        assert.deepEqual(
          marked("wrongDependency"),
          v.errors.wrongDependency.filter((n) => x.steps.some((st) => st.n === n)),
        );
        const extras = x.steps.filter((st) => st.m.includes("extra")).map((st) => st.n);
        assert.deepEqual(extras, v.errors.extra, `${p.id}: ${completion}`);
        // Every missing gold node is placed once, before the first step of a later gold node.
        assert.deepEqual(x.miss.map(([g]) => p.graph.nodes[g].name).map(normalizeName), v.errors.missing);
        for (const [g, at] of x.miss) {
          assert.ok(at <= x.steps.length);
          assert.ok(
            x.steps.slice(0, at).every((st) => st.g < g),
            `${p.id}: missing ${g} at ${at}`,
          );
          if (at < x.steps.length) assert.ok(x.steps[at].g > g);
        }
        const correct = x.steps.filter((st) => st.m.length === 1 && st.m[0] === "correct").length;
        assert.equal(correct, Math.round(v.processAcc * p.graph.nodes.length), `${p.id}: ${completion}`);
      }
    }
    assert.ok(edited > 1000, `edited traces: ${edited}`);
  });

  test("a dropped step is missing where it was; a changed value, a false equation, an extra and a repeated step are marked", () => {
    const p = problems.find((q) => q.op === 6 && q.mode === "forward")!;
    const steps = p.completion.split(/(?=Define )/); // [head, step 0, step 1, …]
    const dropped = [...steps.slice(0, 4), ...steps.slice(5)].join(""); // without gold step 3
    const { x } = view(p, dropped);
    assert.deepEqual(x.miss, [[3, 3]]);
    const changed = p.completion.replace(/= (\d+)\. Define/, (_, d: string) => `= ${Number(d) + 1}. Define`);
    assert.deepEqual(view(p, changed).x.steps[0].m, ["wrongValue"]);
    // A false equation: the step's written result changed after its arithmetic.
    const k = steps.findIndex((st) => /\d \+ \d+ = \d+\./.test(st));
    assert.ok(k > 0, p.completion);
    const slipped = [...steps];
    slipped[k] = slipped[k].replace(
      /(\d \+ \d+ = )(\d+)\./,
      (_, a: string, d: string) => `${a}${Number(d) + 1}.`,
    );
    assert.ok(view(p, slipped.join("")).x.steps[k - 1].m.includes("slip"));
    const extra = view(
      p,
      p.completion.replace(" Define", " Define spare crate in Nowhere Yard as Q; so Q = 2. Define"),
    ).x;
    assert.deepEqual(extra.steps[0].m, ["extra"]);
    const repeated = view(p, p.completion.replace(" </solution>", ` ${steps[1].trim()} </solution>`)).x;
    assert.deepEqual(repeated.steps[repeated.steps.length - 1].m, ["duplicate"]);
  });

  test("long traces are cut to the limits and say how much is left out", () => {
    const p = problems.find((q) => q.op === 20)!;
    const long = p.completion.repeat(3);
    const { breakdown: _, ...v } = verifySample(long, p);
    const x = explorerSample(
      0,
      explorerProblem(p),
      { id: p.id, sample: 0, completion: long },
      { id: p.id, sample: 0, ...v },
      explorerLimits({ maxChars: 300, maxSteps: 64 }),
    );
    const shown = x.pre.length + x.steps.reduce((a, s) => a + s.t.length, 0) + x.post.length;
    assert.equal(shown + x.cut, long.length);
    assert.ok(x.cut > 0 && shown <= 300);
  });
});

describe("trace explorer: the stratified subset", () => {
  test("bounded, seeded, every stratum kept up to an equal share, small strata whole", () => {
    const rng = new Rng(3);
    const keys = Array.from(
      { length: 5000 },
      () => `op ${rng.int(2, 9)} × ${rng.pick(["v", "a", "w", "p", "p", "w", "w"])}`,
    );
    keys.push("rare", "rare");
    const a = stratifiedSubset(keys, 600, 1);
    assert.equal(a.kept.length, 600);
    assert.deepEqual(stratifiedSubset(keys, 600, 1), a);
    assert.notDeepEqual(stratifiedSubset(keys, 600, 2).kept, a.kept);
    assert.deepEqual(
      a.kept,
      [...new Set(a.kept)].sort((x, y) => x - y),
    );
    const per = new Map<string, number>();
    for (const i of a.kept) per.set(keys[i], (per.get(keys[i]) ?? 0) + 1);
    const sizes = new Map<string, number>();
    for (const k of keys) sizes.set(k, (sizes.get(k) ?? 0) + 1);
    assert.equal(per.get("rare"), 2);
    for (const [k, n] of sizes) {
      const got = per.get(k) ?? 0;
      assert.ok(got === n || got >= a.perStratum! - 1, `${k}: ${got} of ${n}, cap ${a.perStratum}`);
      assert.ok(got <= a.perStratum!);
    }
    const all = stratifiedSubset(keys, 10_000, 1);
    assert.equal(all.perStratum, null);
    assert.equal(all.kept.length, keys.length);
  });
});

describe("trace explorer: evaluation folders and pages", () => {
  test("problems.jsonl stores generated problems as keys, others whole, and reads them back", () => {
    const d = join(dir, "problems");
    mkdirSync(d);
    const ps = problemGrid(1, 4, [2, 5]);
    const edited = { ...ps[1], answer: "12345" };
    const file = writeEvalProblems(d, [ps[0], edited, ...ps.slice(2)]);
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.ok(lines[0].key && !lines[0].gold);
    assert.ok(lines[1].gold && !lines[1].key && lines[1].gold.prompt === undefined);
    const back = readEvalProblems(d)!;
    assert.deepEqual(back.get(ps[0].id), ps[0]);
    assert.equal(back.get(edited.id)!.answer, "12345");
    writeFileSync(file, `${JSON.stringify({ id: "zoo-f-op2-s9-i0", key: { ...lines[0].key } })}\n`);
    assert.throws(() => readEvalProblems(d), /now regenerates/);
    writeFileSync(file, "{}\n");
    assert.throws(() => readEvalProblems(d), new RegExp(`${PROBLEMS_FILE}:1: a line must hold`));
  });

  test("a folder's page: every sample, its filters, report links into it", () => {
    const d = join(dir, "noisy");
    const { summary } = writeNoisyEvaluation(d, { ops: [2, 4, 7], perOp: 6, seed: 2, samples: 3 });
    const html = readFileSync(join(d, "explorer.html"), "utf8");
    assert.ok(/dagre 3\.\d+\.\d+ inlined/.test(html), "dagre inlined");
    const data = pageData(html);
    assert.equal(data.items.length, summary.totals.samples);
    assert.equal(data.subset.perStratum, null);
    assert.ok(html.includes("All 54 samples of the evaluation are on this page"));
    const verdicts = new Set(data.items.flatMap((it) => it.tags.verdict));
    for (const v of ["verified", "answerOnly", "wrong"]) assert.ok(verdicts.has(v), v);
    const report = readFileSync(join(d, "report.html"), "utf8");
    for (const href of [
      "explorer.html",
      "explorer.html#op=4&#38;verdict=answerOnly",
      "explorer.html#op=7&#38;error=wrongValue",
      "explorer.html#op=2-10&#38;verdict=verified",
    ])
      assert.ok(report.includes(`href="${href}"`), href);
  });

  test("a large evaluation keeps a stated stratified subset", () => {
    const d = join(dir, "noisy-large");
    writeNoisyEvaluation(d, { ops: [2, 3, 4, 5], perOp: 30, seed: 4, samples: 4, maxSamples: 100 });
    const html = readFileSync(join(d, "explorer.html"), "utf8");
    const data = pageData(html);
    assert.equal(data.items.length, 100);
    assert.equal(data.subset.total, 480);
    assert.ok(html.includes("This page carries 100 of 480 samples: a stratified subset (seed 0)"));
  });

  test("comparison: only problems whose verified class changed, both sides carried", () => {
    const a = join(dir, "cmp-a");
    const b = join(dir, "cmp-b");
    writeNoisyEvaluation(a, { ops: [2, 3, 4], perOp: 8, seed: 7, samples: 2 });
    writeNoisyEvaluation(b, { ops: [2, 3, 4], perOp: 8, seed: 7, samples: 2 });
    // Same problems (same grid seed), other samples: rewrite b's samples with another noise seed.
    const ea = readExplorerEval(a);
    const eb = readExplorerEval(b);
    const probs = [...ea.problems.values()] as Problem[];
    const samples = probs.flatMap((p, pi) =>
      [0, 1].map((s) => ({
        id: p.id,
        sample: s,
        completion: noisyCompletion(p, new Rng(hashSeed(99, pi, s))),
      })),
    );
    const verdicts = samples.map((l) => {
      const { breakdown: _, ...v } = verifySample(l.completion, eb.problems.get(l.id)!);
      return { id: l.id, sample: l.sample, ...v };
    });
    const changed = changedProblems(ea, { ...eb, samples, verdicts });
    assert.ok(changed.length > 0 && changed.length < probs.length);
    for (const c of changed) assert.notEqual(c.from, c.to);
    const html = renderCompareExplorer(
      ea,
      { ...eb, samples, verdicts },
      { beforeLabel: "base", afterLabel: "RL" },
    );
    const data = pageData(html);
    assert.equal(data.items.length, changed.length);
    assert.equal(renderCompareExplorer(ea, ea).includes('"items":[]'), true);
    assert.equal(pageData(renderExplorer(ea)).items.length, ea.samples.length);
  });

  test("interplay explore: clear errors, --problems for old folders, --out needs --force to replace", () => {
    const bin = fileURLToPath(new URL("../../../bin/interplay.js", import.meta.url));
    const cli = (...a: string[]) => spawnSync(process.execPath, [bin, "explore", ...a], { encoding: "utf8" });
    const d = join(dir, "old-folder");
    writeNoisyEvaluation(d, { ops: [2, 3], perOp: 3, seed: 6, samples: 2 });
    const problems = readFileSync(join(d, PROBLEMS_FILE), "utf8");
    rmSync(join(d, PROBLEMS_FILE));
    let r = cli("--eval", d);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /has no problems\.jsonl .*--problems FILE/);
    // The problems as `interplay generate` writes them.
    const file = join(dir, "old-problems.jsonl");
    const ps = problems
      .trim()
      .split("\n")
      .map((l) => readBack(JSON.parse(l)));
    writeFileSync(file, ps.map((p) => `${JSON.stringify(p)}\n`).join(""));
    r = cli("--eval", d, "--problems", file, "--max-samples", "5");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /trace explorer → .*explorer\.html/);
    assert.equal(pageData(readFileSync(join(d, "explorer.html"), "utf8")).items.length, 5);
    const out = join(dir, "x.html");
    writeFileSync(out, "keep");
    r = cli("--eval", d, "--problems", file, "--out", out);
    assert.equal(r.status, 1);
    assert.equal(readFileSync(out, "utf8"), "keep");
    r = cli("--eval", join(dir, "nowhere"));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /nowhere/);
  });

  test("interplay explore of interplay verify's files: samples numbered per id, error records left out", () => {
    const bin = fileURLToPath(new URL("../../../bin/interplay.js", import.meta.url));
    const run = (...a: string[]) => spawnSync(process.execPath, [bin, ...a], { encoding: "utf8" });
    const ps = problemGrid(1, 8, [3, 4]);
    const problems = join(dir, "v-problems.jsonl");
    writeFileSync(problems, ps.map((p) => `${JSON.stringify(p)}\n`).join(""));
    const lines = ps.flatMap((p, i) => [
      { id: p.id, completion: p.completion },
      { id: p.id, completion: noisyCompletion(p, new Rng(i)) },
    ]);
    const samples = join(dir, "v-samples.jsonl");
    writeFileSync(samples, `${lines.map((l) => JSON.stringify(l)).join("\n")}\n{"id": 7}\n`);
    const results = join(dir, "v-results.jsonl");
    let r = run("verify", "--problems", problems, "--samples", samples, "--out", results);
    assert.equal(r.status, 2, "verify: one line could not be verified");
    const out = join(dir, "v-explorer.html");
    r = run("explore", "--samples", samples, "--results", results, "--problems", problems, "--out", out);
    assert.equal(r.status, 1, "a sample line without a completion is an error");
    assert.match(r.stderr, /a sample line must hold \{id, completion\}/);
    writeFileSync(samples, `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`);
    r = run("verify", "--problems", problems, "--samples", samples, "--out", results, "--force");
    assert.equal(r.status, 0, r.stderr);
    // An error record in place of the first verdict: that sample is left out, and the page says so.
    const verdicts = readFileSync(results, "utf8").trim().split("\n");
    writeFileSync(results, [JSON.stringify({ error: "unreadable" }), ...verdicts.slice(1)].join("\n"));
    r = run("explore", "--samples", samples, "--results", results, "--problems", problems, "--out", out);
    assert.equal(r.status, 0, r.stderr);
    const html = readFileSync(out, "utf8");
    assert.ok(html.includes("1 sample lines without a verdict"));
    const data = pageData(html) as unknown as { items: { x: { s: number; o: string } }[] };
    assert.equal(data.items.length, lines.length - 1);
    assert.deepEqual(
      data.items.map((it) => it.x.s),
      lines.slice(1).map((_, i) => (i + 1) % 2),
    );
    assert.ok(data.items.filter((it) => it.x.s === 0).every((it) => it.x.o === "verified"));
    r = run("explore", "--samples", samples, "--problems", problems, "--out", out);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /need each other/);
  });
});
