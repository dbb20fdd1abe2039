import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { comparisonTable, evalSummaryTable } from "../cli/report.js";
import { compareEvalSummaries } from "../stats/comparison.js";
import { buildEvalSummary } from "../stats/evaluation.js";
import { renderCompareReport } from "./compare-report.js";
import { evalCharts, renderEvalReport } from "./eval-report.js";
import { expectedSeries } from "./html.js";
import { loadEvalSummary, writeEvalOutputs } from "./io.js";
import { embeddedSpecs, syntheticRecords } from "./testing/fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "interplay-report-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const OPTS = { resamples: 200 };
const before = buildEvalSummary(syntheticRecords({ seed: 1 }), { ...OPTS, meta: { model: "base" } });
const afterRl = buildEvalSummary(syntheticRecords({ seed: 2, shift: 0.15 }), {
  ...OPTS,
  meta: { model: "rl" },
});

describe("renderEvalReport", () => {
  const html = renderEvalReport(before, { title: "Base <model> & co", details: { checkpoint: "ckpt-1" } });

  test("one self-contained page: Chart.js inlined, nothing fetched", () => {
    assert.ok(html.startsWith("<!doctype html>"));
    assert.match(html, /Chart\.js v4\.\d+\.\d+/);
    assert.ok(html.length > 150_000, "the library is inlined");
    assert.doesNotMatch(html, /<link\b/i);
    assert.doesNotMatch(html, /\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    assert.equal((html.match(/<script\b/g) ?? []).length, 3);
  });

  test("title and metadata are escaped", () => {
    assert.match(html, /<title>Base &#60;model&#62; &#38; co<\/title>/);
    assert.doesNotMatch(html, /<model>/);
    assert.match(html, /ckpt-1/);
    assert.match(html, /<dt>model<\/dt><dd>base<\/dd>/);
  });

  test("five charts with the expected series; a figure for each", () => {
    const specs = embeddedSpecs(html);
    assert.deepEqual(
      specs.map((s) => s.id),
      ["chart-passk", "chart-ops", "chart-extra", "chart-errors", "chart-accuracy"],
    );
    assert.deepEqual(specs.map(expectedSeries), [6, 2, 2, 7, 2]);
    assert.deepEqual(specs, JSON.parse(JSON.stringify(evalCharts(before))));
    for (const s of specs) assert.match(html, new RegExp(`<figure class="chart" id="${s.id}">`));
    const passk = specs[0];
    assert.deepEqual(passk.log2x, { maxK: 8 });
    const id = passk.series.find((s) => s.label.startsWith("ID") && !s.band && !s.dashed)!;
    assert.deepEqual(
      (id.data as { x: number; k: number }[]).map((p) => [p.x, p.k]),
      [
        [0, 1],
        [1, 2],
        [2, 4],
        [3, 8],
      ],
    );
    assert.equal((id.data as { y: number }[])[0].y, before.perBand[0].passAtK[1].mean);
  });

  test("tables carry the numbers with their CIs", () => {
    const id = before.perBand[0];
    const f = (x: number) => (100 * x).toFixed(1);
    const c = id.passAtK[1];
    assert.ok(html.includes(`${f(c.mean)} <span class="ci">[${f(c.lo)}, ${f(c.hi)}]</span>`));
    const a = id.answerOnly;
    assert.ok(html.includes(`${f(a.mean)} <span class="ci">[${f(a.lo)}, ${f(a.hi)}]</span>`));
    assert.match(html, /pass@k, first k samples/);
    assert.match(html, /arithmetic slip/);
  });

  test("verified with and without extra nodes side by side, and the policy the run used", () => {
    const f = (x: number) => (100 * x).toFixed(1);
    const cell = (c: { mean: number; lo: number; hi: number }) =>
      `${f(c.mean)} <span class="ci">[${f(c.lo)}, ${f(c.hi)}]</span>`;
    const id = before.perBand[0].byExtra!;
    assert.ok(id.allowExtra.verified > id.noExtra.verified, "the fixture has verified samples with extras");
    assert.ok(html.includes(cell(id.allowExtra.passAtK[1])));
    assert.ok(html.includes(cell(id.noExtra.passAtK[1])));
    assert.ok(html.includes(`<td>${id.allowExtra.verified - id.noExtra.verified}</td>`));
    assert.match(html, /perfect_with_extra/);
    assert.match(html, /<dt>verified under<\/dt><dd>not recorded/, "the synthetic records carry no policy");
    const extra = embeddedSpecs(html).find((c) => c.id === "chart-extra")!;
    const mean = extra.series.find((x) => x.label === "no extra node")!;
    assert.deepEqual(
      mean.data,
      before.perOp.map((r) => r.byExtra!.noExtra.passAtK[1].mean),
    );
    const recorded = { ...before, verify: { allowExtra: false, allowSlips: true } };
    assert.match(
      renderEvalReport(recorded),
      /<dd>extra nodes not allowed \(allowExtra false\), arithmetic slips allowed \(the lenient opt-in\)/,
    );
  });

  test("an old summary (no policy, no figures by extra-node policy) renders and says not recorded", () => {
    const old = JSON.parse(JSON.stringify(before));
    for (const r of [...old.perOp, ...old.perBand]) delete r.byExtra;
    for (const p of old.problems) delete p.byExtra;
    const page = renderEvalReport(old);
    assert.match(page, /<dt>verified under<\/dt><dd>not recorded/);
    assert.match(page, /Not recorded in this summary/);
    assert.deepEqual(
      embeddedSpecs(page).map((x) => x.id),
      ["chart-passk", "chart-ops", "chart-errors", "chart-accuracy"],
    );
    const t = evalSummaryTable(old);
    assert.match(t, /verified under: not recorded/);
    assert.match(t, /verified with \/ without extra nodes: not recorded/);
    const cmp = compareEvalSummaries(old, afterRl, OPTS);
    const c = renderCompareReport(old, afterRl, {}, OPTS);
    assert.equal(cmp.perOp[0].byExtra, undefined);
    assert.match(c, /Not recorded in one or both summaries/);
    assert.match(c, /Verified under, before: not recorded/);
  });

  test("deterministic output", () => {
    assert.equal(
      renderEvalReport(before, { title: "Base <model> & co", details: { checkpoint: "ckpt-1" } }),
      html,
    );
  });

  test("ops outside every band: the pass@k chart falls back to ops", () => {
    const s = buildEvalSummary(syntheticRecords({ ops: [1, 25], problemsPerOp: 2, samples: 3 }), {
      resamples: 20,
    });
    assert.equal(s.perBand.length, 0);
    const specs = embeddedSpecs(renderEvalReport(s));
    assert.equal(specs[0].title, "pass@k vs k per op");
    assert.equal(expectedSeries(specs[0]), 4);
    assert.deepEqual(specs[0].log2x, { maxK: 3 });
  });
});

describe("renderCompareReport", () => {
  test("shared problem ids: paired bootstrap, said in the page", () => {
    const html = renderCompareReport(before, afterRl, { beforeLabel: "base", afterLabel: "RL" }, OPTS);
    assert.match(html, /paired bootstrap over problems: both evaluations hold the same 114 problem ids/);
    const specs = embeddedSpecs(html);
    assert.deepEqual(specs.map(expectedSeries), [6, 2, 4]);
    assert.match(html, /<title>base vs RL<\/title>/);
    assert.match(html, /Δ pass@8/);
  });

  test("verified with and without extra nodes before and after; the policies of both runs", () => {
    const lenient = { allowExtra: true, allowSlips: true };
    const strict = { allowExtra: true, allowSlips: false };
    const html = renderCompareReport(
      { ...before, verify: strict },
      { ...afterRl, verify: strict },
      { beforeLabel: "base", afterLabel: "RL" },
      OPTS,
    );
    assert.match(
      html,
      /Both verified with extra nodes allowed \(allowExtra true\), arithmetic slips not allowed/,
    );
    assert.match(html, /Δ pass@1, no extras/);
    const cmp = compareEvalSummaries(before, afterRl, OPTS);
    const d = cmp.perBand[0].byExtra!.noExtra.diff[1];
    const f = (x: number) => (x > 0 ? "+" : "") + (100 * x).toFixed(1);
    assert.ok(html.includes(`${f(d.mean)} <span class="ci">[${f(d.lo)}, ${f(d.hi)}]</span>`));
    const mixed = renderCompareReport(
      { ...before, verify: lenient },
      { ...afterRl, verify: strict },
      {},
      OPTS,
    );
    assert.match(mixed, /The policies differ/);
  });

  test("different problem ids: unpaired, said in the page", () => {
    const other = buildEvalSummary(syntheticRecords({ seed: 2, prefix: "q" }), OPTS);
    const html = renderCompareReport(before, other, {}, OPTS);
    assert.match(html, /unpaired bootstrap/);
    assert.match(html, /unpaired \(0 shared\)/);
  });
});

describe("CLI tables", () => {
  test("evaluation and comparison tables list bands then ops", () => {
    const t = evalSummaryTable(before);
    const lines = t.split("\n");
    assert.match(lines[0], /^group\s+problems\s+samples\s+pass@1/);
    assert.match(lines[2], /^ID\s+54\s+8\s+/);
    assert.ok(lines.some((l) => /^op 20\s/.test(l)));
    const c = comparisonTable(compareEvalSummaries(before, afterRl, OPTS), "base", "RL");
    assert.match(c, /pass@1 base\s+pass@1 RL\s+Δ pass@1/);
    assert.match(c, /^ID\s+paired\s/m);
    assert.match(t, /pass@1 extras allowed\s+pass@max extras allowed\s+pass@1 no extras/);
    assert.match(t, /^verified under: not recorded/m);
  });
});

describe("files and commands", () => {
  const bin = fileURLToPath(new URL("../../../bin/interplay.js", import.meta.url));
  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd: dir });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  test("writeEvalOutputs writes summary.json and report.html; loadEvalSummary reads them back", () => {
    const evalDir = join(dir, "eval-a");
    const paths = writeEvalOutputs(evalDir, before, { title: "A" });
    assert.ok(existsSync(paths.report));
    const back = loadEvalSummary(evalDir);
    assert.deepEqual(back, JSON.parse(JSON.stringify(before)));
    assert.deepEqual(loadEvalSummary(paths.summary), back);
    assert.throws(() => loadEvalSummary(join(dir, "nope")), /no such evaluation directory/);
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ format: "other" }));
    assert.throws(() => loadEvalSummary(join(dir, "bad.json")), /not an evaluation summary/);
  });

  test("interplay report and interplay compare", () => {
    const a = join(dir, "cli-a");
    const b = join(dir, "cli-b");
    writeEvalOutputs(a, before);
    writeEvalOutputs(b, afterRl);
    rmSync(join(a, "report.html"));
    const r = run("report", "--eval", a, "--title", "Re-rendered");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^ID\s/m);
    assert.match(readFileSync(join(a, "report.html"), "utf8"), /<title>Re-rendered<\/title>/);
    const out = join(dir, "cmp.html");
    const json = join(dir, "cmp.json");
    const c = run("compare", "--before", a, "--after", b, "--out", out, "--json", json, "--resamples", "100");
    assert.equal(c.code, 0, c.err);
    assert.match(c.out, /Δ pass@1/);
    assert.match(readFileSync(out, "utf8"), /paired bootstrap/);
    assert.equal(JSON.parse(readFileSync(json, "utf8")).pairing, "paired");
    const bad = run("report", "--eval", join(dir, "missing"));
    assert.equal(bad.code, 1);
    assert.match(bad.err, /no such evaluation directory/);
  });
});
