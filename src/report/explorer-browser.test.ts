/**
 * The trace explorer in headless Chromium, driven by playwright-core (clicks and selections, not
 * only a DOM dump): pages of evaluation folders render, a filter changes what is listed, a row opens
 * one sample whose predicted and gold graphs draw their nodes and edges, the comparison page shows
 * both sides. Skipped when no Chromium binary is found (set INTERPLAY_CHROMIUM to point at one).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Browser, Page } from "playwright-core";
import { microEvaluation } from "../eval/testing/micro-eval.js";
import { writeNoisyEvaluation } from "../eval/testing/noisy-eval.js";
import { findChromium } from "./testing/chromium.js";
import { decodePng, pixelVariety } from "./testing/png.js";

/** The browser globals the page functions below use (they run in the page, not in Node). */
interface PageElement {
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): { length: number };
  attributes: ArrayLike<{ name: string; value: string }>;
}
declare const document: { body: PageElement; getElementById(id: string): PageElement | null };

const chromium = findChromium();
const dir = mkdtempSync(join(tmpdir(), "interplay-explorer-browser-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Attributes of the body after the explorer rendered at least `renders` times. */
async function ready(page: Page, renders = 1): Promise<Record<string, string>> {
  await page.waitForFunction(
    (n) => Number(document.body.getAttribute("data-explorer-ready") ?? 0) >= n,
    renders,
    { timeout: 15_000 },
  );
  return page.evaluate(() => {
    const out: Record<string, string> = {};
    for (const a of Array.from(document.body.attributes)) out[a.name] = a.value;
    return out;
  });
}

/** Renders so far (each filter, view or item change re-renders). */
const renders = (page: Page) =>
  page.evaluate(() => Number(document.body.getAttribute("data-explorer-ready") ?? 0));

/** A graph figure's drawn nodes and edges, checked against the SVG elements in it. */
async function graph(page: Page, id: string): Promise<{ nodes: number; edges: number }> {
  const g = await page.evaluate((gid) => {
    const f = document.getElementById(gid);
    if (!f) return null;
    return {
      layout: f.getAttribute("data-layout"),
      nodes: Number(f.getAttribute("data-nodes")),
      edges: Number(f.getAttribute("data-edges")),
      svgNodes: f.querySelectorAll("svg g.node rect").length,
      svgEdges: f.querySelectorAll("svg path.edge").length,
      labels: f.querySelectorAll("svg g.node text").length,
    };
  }, id);
  assert.ok(g, `figure ${id}`);
  assert.equal(g.layout, "dagre", id);
  assert.equal(g.svgNodes, g.nodes, `${id}: nodes in the SVG`);
  assert.equal(g.svgEdges, g.edges, `${id}: edges in the SVG`);
  assert.ok(g.labels >= g.nodes, `${id}: labels`);
  return { nodes: g.nodes, edges: g.edges };
}

async function screenshotIsDrawn(page: Page): Promise<void> {
  const img = decodePng(await page.screenshot({ fullPage: false }));
  const v = pixelVariety(img);
  assert.ok(v.colors >= 30, `distinct colours: ${v.colors}`);
  assert.ok(v.nonBackground > 0.03, `non-background share: ${v.nonBackground}`);
}

describe("trace explorer in headless Chromium", {
  skip: chromium === null ? "no chromium binary found" : false,
}, () => {
  let browser: Browser;
  before(async () => {
    const pw = await import("playwright-core");
    browser = await pw.chromium.launch({
      executablePath: chromium!,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
  });
  after(async () => {
    await browser?.close();
  });

  test("explorer: a filter narrows the list, a row opens the sample, both graphs draw", async () => {
    const d = join(dir, "noisy");
    const { summary } = writeNoisyEvaluation(d, { ops: [2, 4, 6], perOp: 8, seed: 5, samples: 4 });
    const page = await browser.newPage({ viewport: { width: 1300, height: 1200 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(pathToFileURL(join(d, "explorer.html")).href);
    let b = await ready(page);
    assert.equal(b["data-view"], "list");
    assert.equal(Number(b["data-shown"]), summary.totals.samples);
    assert.equal(await page.locator("table.list tr.row").count(), 50);

    // A filter selection changes what is listed: only the samples with the right answer, not verified.
    const n0 = await renders(page);
    await page.selectOption('select[data-filter="verdict"]', "answerOnly");
    b = await ready(page, n0 + 1);
    assert.equal(Number(b["data-shown"]), summary.totals.answerOnly);
    assert.ok(page.url().includes("verdict=answerOnly"), page.url());
    const rows = await page.locator("table.list tr.row td:nth-child(6)").allTextContents();
    assert.ok(
      rows.length > 0 && rows.every((t) => t.startsWith("answer right, not verified")),
      rows.join(" | "),
    );

    // A second filter: op 6 samples with a missing node; the first row opens the one-sample view.
    const n1 = await renders(page);
    await page.selectOption('select[data-filter="verdict"]', "");
    await page.selectOption('select[data-filter="op"]', "6");
    await page.selectOption('select[data-filter="error"]', "missing");
    b = await ready(page, n1 + 3);
    assert.ok(Number(b["data-shown"]) > 0);
    const n2 = await renders(page);
    // (a sample whose trace parsed: a parse failure has no predicted node)
    await page.locator("table.list tr.row").filter({ hasNotText: "parse failure" }).first().click();
    b = await ready(page, n2 + 1);
    assert.equal(b["data-view"], "one");
    assert.equal(
      (await page.locator("li.step.mark-missing").count()) > 0,
      true,
      "a missing gold step is shown",
    );
    const pred = await graph(page, "graph-pred");
    const gold = await graph(page, "graph-gold");
    assert.ok(pred.nodes > 0 && pred.edges > 0, `predicted: ${JSON.stringify(pred)}`);
    assert.ok(gold.nodes >= 2 && gold.edges > 0, `gold: ${JSON.stringify(gold)}`);
    assert.equal((await page.locator("#graph-gold g.node.mark-missing").count()) > 0, true);
    await screenshotIsDrawn(page);

    // Next moves within the filtered list; a link with filters in the hash opens the same view.
    const cur = b["data-current"];
    if (Number(b["data-shown"]) > 1) {
      const n3 = await renders(page);
      await page.click('button[data-action="next"]');
      b = await ready(page, n3 + 1);
      assert.notEqual(b["data-current"], cur);
    }
    const linked = await browser.newPage();
    await linked.goto(`${pathToFileURL(join(d, "explorer.html")).href}#op=2-4&verdict=verified`);
    const lb = await ready(linked);
    assert.ok(Number(lb["data-shown"]) > 0 && Number(lb["data-shown"]) < summary.totals.samples);
    await linked.close();
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("a real sampled evaluation of an untrained model renders (parse failures, no predicted nodes)", async () => {
    const paths = microEvaluation(join(dir, "real-eval"), [2, 3], 2, 3);
    assert.ok(paths.explorer && existsSync(paths.explorer));
    assert.match(readFileSync(paths.report, "utf8"), /href="explorer\.html"/);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${pathToFileURL(paths.explorer).href}#view=one`);
    const b = await ready(page);
    assert.equal(b["data-view"], "one");
    assert.equal(Number(b["data-shown"]), 12);
    const gold = await graph(page, "graph-gold");
    assert.ok(gold.nodes >= 2, JSON.stringify(gold));
    await graph(page, "graph-pred");
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("compare: the changed-verdicts page shows both sides and the gold graph", async () => {
    const bin = fileURLToPath(new URL("../../../bin/interplay.js", import.meta.url));
    const a = join(dir, "cmp-a");
    const b = join(dir, "cmp-b");
    writeNoisyEvaluation(a, { ops: [3, 5], perOp: 8, seed: 9, samples: 3 });
    // The same problems (grid seed 9), other edits.
    writeNoisyEvaluation(b, { ops: [3, 5], perOp: 8, seed: 9, noise: 77, samples: 4 });
    const out = join(dir, "cmp.html");
    const r = spawnSync(
      process.execPath,
      [bin, "compare", "--before", a, "--after", b, "--out", out, "--resamples", "50"],
      {
        encoding: "utf8",
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const traces = join(dir, "cmp-traces.html");
    assert.ok(existsSync(traces), r.stderr);
    assert.match(readFileSync(out, "utf8"), /href="cmp-traces\.html"/);
    const page = await browser.newPage({ viewport: { width: 1300, height: 1200 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(pathToFileURL(traces).href);
    let s = await ready(page);
    assert.ok(Number(s["data-shown"]) > 0, "some problem changed class");
    const n = await renders(page);
    await page.locator("table.list tr.row").first().click();
    s = await ready(page, n + 1);
    assert.equal(s["data-view"], "one");
    for (const id of ["graph-before", "graph-after", "graph-gold"]) await graph(page, id);
    assert.ok((await graph(page, "graph-gold")).edges > 0);
    // Picking another sample of the after side re-renders that side.
    const picks = page.locator('button[data-pick^="b"]');
    assert.equal(await picks.count(), 4);
    const n4 = await renders(page);
    await picks.nth(1).click();
    s = await ready(page, n4 + 1);
    assert.ok(page.url().includes("b=1"), page.url());
    await screenshotIsDrawn(page);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
