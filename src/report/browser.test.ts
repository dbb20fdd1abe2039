/**
 * Opens rendered reports in headless Chromium: every chart must draw its series (the page records
 * what it drew as data attributes on the figures) and a screenshot must not be blank. Skipped when
 * no Chromium binary is found (set INTERPLAY_CHROMIUM to point at one).
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { microEvaluation } from "../eval/testing/micro-eval.js";
import { buildEvalSummary } from "../stats/evaluation.js";
import { studyReport } from "../studies/report.js";
import type { StageRecord, Study } from "../studies/types.js";
import { renderCompareReport } from "./compare-report.js";
import { renderEvalReport } from "./eval-report.js";
import { expectedSeries } from "./html.js";
import { writeIndex } from "./index-page.js";
import { writeEvalOutputs } from "./io.js";
import { findChromium } from "./testing/chromium.js";
import { embeddedSpecs, syntheticRecords } from "./testing/fixtures.js";
import { decodePng, pixelVariety } from "./testing/png.js";

const run = promisify(execFile);

const chromium = findChromium();
const dir = mkdtempSync(join(tmpdir(), "interplay-browser-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function browse(file: string, extra: string[]): Promise<string> {
  const args = [
    "--headless",
    "--disable-gpu",
    "--no-sandbox",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    `--user-data-dir=${mkdtempSync(join(dir, "profile-"))}`,
    ...extra,
    pathToFileURL(file).href,
  ];
  const { stdout } = await run(chromium!, args, { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Attributes of every chart figure in a dumped DOM, by id. */
function figures(dom: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const m of dom.matchAll(/<figure\b([^>]*)>/g)) {
    const attrs: Record<string, string> = {};
    for (const a of m[1].matchAll(/([\w-]+)="([^"]*)"/g)) attrs[a[1]] = a[2];
    if (attrs.id) out.set(attrs.id, attrs);
  }
  return out;
}

function checkDom(dom: string, html: string): void {
  const specs = embeddedSpecs(html);
  const body = /<body\b([^>]*)>/.exec(dom)?.[1] ?? "";
  assert.doesNotMatch(body, /data-charts-error/, body);
  assert.match(body, new RegExp(`data-charts-ready="${specs.length}"`), body);
  const figs = figures(dom);
  for (const s of specs) {
    const f = figs.get(s.id);
    assert.ok(f, `figure ${s.id}`);
    assert.equal(f["data-error"], undefined, `${s.id}: ${f["data-error"]}`);
    assert.equal(Number(f["data-series"]), expectedSeries(s), `${s.id} series drawn`);
    assert.equal(Number(f["data-expected"]), expectedSeries(s), `${s.id} expected`);
    assert.ok(Number(f["data-painted"]) > 500, `${s.id} painted pixels: ${f["data-painted"]}`);
  }
}

describe("reports in headless Chromium", {
  skip: chromium === null ? "no chromium binary found" : false,
}, () => {
  const opts = { resamples: 100 };
  const before = buildEvalSummary(syntheticRecords({ seed: 1 }), opts);
  const afterRl = buildEvalSummary(syntheticRecords({ seed: 2, shift: 0.15 }), opts);

  test("evaluation report: charts draw every series, screenshot is not blank", async () => {
    const html = renderEvalReport(before, { title: "Browser check" });
    const file = join(dir, "report.html");
    writeFileSync(file, html);
    checkDom(await browse(file, ["--dump-dom", "--virtual-time-budget=3000"]), html);
    const png = join(dir, "report.png");
    await browse(file, [`--screenshot=${png}`, "--window-size=1280,1400", "--virtual-time-budget=3000"]);
    const img = decodePng(readFileSync(png));
    assert.equal(img.width, 1280);
    const v = pixelVariety(img);
    assert.ok(v.colors >= 30, `distinct colours: ${v.colors}`);
    assert.ok(v.nonBackground > 0.03, `non-background share: ${v.nonBackground}`);
  });

  test("comparison report: charts draw every series", async () => {
    const html = renderCompareReport(before, afterRl, { beforeLabel: "base", afterLabel: "RL" }, opts);
    const file = join(dir, "compare.html");
    writeFileSync(file, html);
    checkDom(await browse(file, ["--dump-dom", "--virtual-time-budget=3000"]), html);
  });

  test("study report: the paper's figures and the claims table draw every series", async () => {
    const afterS2 = buildEvalSummary(syntheticRecords({ seed: 3, shift: 0.05 }), opts);
    const stages = (["eval-base", "eval-rl", "eval-rl-s2"] as const).map((id, i) => {
      const d = join(dir, "study", id);
      writeEvalOutputs(d, [before, afterRl, afterS2][i], { title: id });
      return { id, kind: "eval", hash: "0", dir: d, seconds: 1, result: { bands: {} } } as StageRecord;
    });
    const study: Study = {
      name: "browser",
      scale: "tiny",
      description: "d",
      finding: "f",
      seed: 1,
      stages: [],
      compare: [
        {
          label: "RL",
          before: "eval-base",
          after: "eval-rl",
          claims: [{ band: "OOD-edge", metric: "passK", expect: "up", text: "new capability" }],
          seeds: { before: [], after: ["eval-rl-s2"] },
        },
      ],
    };
    const html = studyReport(study, stages, join(dir, "study"));
    assert.match(html, /The paper's claims, judged here/);
    assert.match(html, /<strong>(reproduced|not reproduced)<\/strong>/);
    assert.match(html, /mean of 2 seeds \([+−]\d+\.\d, [+−]\d+\.\d\)/);
    assert.match(html, /Over 2 RL seeds \(eval-rl, eval-rl-s2\)/);
    for (const id of ["study-passk-0", "study-op-pass1", "study-op-passk", "study-errors-0"])
      assert.match(html, new RegExp(`id="${id}"`));
    const file = join(dir, "study", "report.html");
    writeFileSync(file, html);
    checkDom(await browse(file, ["--dump-dom", "--virtual-time-budget=3000"]), html);
  });

  test("training pages of a real pretrain and RL run draw every curve with data", async () => {
    const bin = fileURLToPath(new URL("../../../bin/interplay.js", import.meta.url));
    const env = { ...process.env, INTERPLAY_THREADS: "1" };
    const cli = (...a: string[]) => {
      const r = spawnSync(process.execPath, [bin, ...a], { encoding: "utf8", env });
      assert.equal(r.status, 0, r.stderr);
    };
    const pre = join(dir, "run-pre");
    cli(
      "pretrain",
      "--preset",
      "micro",
      "--mixture",
      "op2-3",
      "--tokens",
      String(30 * 4 * 32),
      "--batch",
      "4",
      "--seq-len",
      "32",
      "--eval-every",
      "5",
      "--out",
      pre,
    );
    const rl = join(dir, "run-rl");
    cli(
      "rl",
      "--from",
      pre,
      "--prompts",
      "op2-3_forward",
      "--steps",
      "3",
      "--max-new",
      "12",
      "--prompts-per-step",
      "2",
      "--rollouts",
      "2",
      "--mini-batches",
      "1",
      "--eval-every",
      "3",
      "--out",
      rl,
    );
    for (const [run, n] of [
      [pre, 5],
      [rl, 8],
    ] as const) {
      const file = join(run, "report.html");
      const html = readFileSync(file, "utf8");
      const specs = embeddedSpecs(html);
      assert.equal(specs.length, n, `${run}: ${specs.map((c) => c.id).join(", ")}`);
      for (const c of specs)
        for (const sr of c.series) assert.ok(sr.data.length > 0, `${c.id} / ${sr.label} has data`);
      checkDom(await browse(file, ["--dump-dom", "--virtual-time-budget=3000"]), html);
    }
    // The RL run's greedy validation traces, in the trace explorer with a step filter.
    assert.match(readFileSync(join(rl, "report.html"), "utf8"), /href="val\/explorer\.html"/);
    const traces = await browse(join(rl, "val", "explorer.html"), [
      "--dump-dom",
      "--virtual-time-budget=3000",
    ]);
    assert.match(traces, /<body[^>]*data-explorer-ready="1"/);
    assert.doesNotMatch(traces, /<body[^>]*data-explorer-error/);
    assert.match(traces, /<select data-filter="step"/);
  });

  test("a real evaluation (sampled, verified, summarised) renders with its charts", async () => {
    const { report } = microEvaluation(join(dir, "real-eval"), [2, 3, 4], 2, 4);
    checkDom(
      await browse(report, ["--dump-dom", "--virtual-time-budget=3000"]),
      readFileSync(report, "utf8"),
    );
  });
  test("the index of the folder: every link resolves, the page renders", async () => {
    const { path, entries } = writeIndex(dir);
    assert.ok(entries.some((e) => e.kind === "pretrain") && entries.some((e) => e.kind === "rl"));
    assert.ok(entries.some((e) => e.kind === "evaluation"));
    const html = readFileSync(path, "utf8");
    const hrefs = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(hrefs.length >= 3, hrefs.join(" "));
    assert.ok(
      hrefs.some((h) => h.endsWith("real-eval/explorer.html")),
      "the evaluation's traces are linked",
    );
    for (const h of hrefs) assert.ok(existsSync(join(dir, h)), h);
    checkDom(await browse(path, ["--dump-dom", "--virtual-time-budget=2000"]), html);
  });
});
