/**
 * Size and speed of the trace explorer on a large evaluation: writes an evaluation folder of
 * `--samples` (5,000) samples (gold traces with seeded edits, verified by the real verifier; ops 2–20),
 * then for the default page bound (2,000 samples, a stratified subset) and for a page carrying every
 * sample: the time to build and write explorer.html, its size, and in headless Chromium (driven by
 * playwright-core) the time from navigation to the first list view, to a filter change, and to one
 * sample with both graphs laid out, each the median of `--repeats` (5). There is no anchor: no other
 * tool makes this page (the reference has scripts and W&B).
 *
 *   node dist/bench/explorer.js [--samples 5000] [--repeats 5] [--out DIR] [--json]
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { EXPLORER_FILE, writeExplorer } from "../src/eval/explore.js";
import { writeNoisyEvaluation } from "../src/eval/testing/noisy-eval.js";

interface Args {
  samples: number;
  repeats: number;
  out?: string;
  json: boolean;
}

function args(argv: string[]): Args {
  const a: Args = { samples: 5000, repeats: 5, json: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!(Number.isInteger(v) && v > 0)) throw new Error(`${k} needs a positive integer, got ${argv[i]}`);
      return v;
    };
    if (k === "--samples") a.samples = num();
    else if (k === "--repeats") a.repeats = num();
    else if (k === "--out") a.out = argv[++i];
    else if (k === "--json") a.json = true;
    else throw new Error(`unknown option ${k}`);
  }
  return a;
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

interface BodyAttrs {
  getAttribute(n: string): string | null;
}
declare const document: { body: BodyAttrs };
declare const location: { hash: string };

async function main(): Promise<void> {
  const a = args(process.argv.slice(2));
  const dir = a.out ?? mkdtempSync(join(tmpdir(), "interplay-bench-explorer-"));
  const ops = Array.from({ length: 19 }, (_, i) => i + 2);
  const samplesPerProblem = 8;
  const perOp = Math.ceil(a.samples / (ops.length * samplesPerProblem));
  const t0 = performance.now();
  writeNoisyEvaluation(dir, { ops, perOp, seed: 1, samples: samplesPerProblem });
  const folderSeconds = (performance.now() - t0) / 1000;
  const total = ops.length * perOp * samplesPerProblem;

  let pw: typeof import("playwright-core") | null = null;
  try {
    pw = await import("playwright-core");
  } catch {
    pw = null;
  }
  const chromium = process.env.INTERPLAY_CHROMIUM ?? "/usr/bin/chromium";
  const browser = pw
    ? await pw.chromium.launch({ executablePath: chromium, args: ["--no-sandbox", "--disable-gpu"] })
    : null;

  const rows: Record<string, number | string>[] = [];
  for (const maxSamples of [2000, total]) {
    const file = join(dir, maxSamples === total ? "explorer-all.html" : EXPLORER_FILE);
    const builds: number[] = [];
    for (let r = 0; r < a.repeats; r++) {
      const t = performance.now();
      writeExplorer(dir, { out: file, maxSamples });
      builds.push((performance.now() - t) / 1000);
    }
    const row: Record<string, number | string> = {
      page: maxSamples === total ? `every sample (${total})` : `default bound (2,000 of ${total})`,
      mb: statSync(file).size / 1e6,
      buildS: median(builds),
    };
    if (browser) {
      const list: number[] = [];
      const filter: number[] = [];
      const one: number[] = [];
      const url = pathToFileURL(file).href;
      for (let r = 0; r < a.repeats; r++) {
        const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
        const ready = (n: number) =>
          page.waitForFunction(
            (k) => Number(document.body.getAttribute("data-explorer-ready") ?? 0) >= k,
            n,
            {
              timeout: 120_000,
            },
          );
        let t = performance.now();
        await page.goto(url);
        await ready(1);
        list.push((performance.now() - t) / 1000);
        t = performance.now();
        await page.selectOption('select[data-filter="verdict"]', "answerOnly");
        await ready(2);
        filter.push((performance.now() - t) / 1000);
        t = performance.now();
        await page.evaluate(() => {
          location.hash = "#op=12&view=one";
        });
        await ready(3);
        one.push((performance.now() - t) / 1000);
        await page.close();
      }
      Object.assign(row, { listS: median(list), filterS: median(filter), oneS: median(one) });
    }
    rows.push(row);
  }
  await browser?.close();
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const result = {
    date: new Date().toISOString().slice(0, 10),
    cpu,
    samples: total,
    folderSeconds,
    rows,
    dir,
  };
  if (a.json) console.log(JSON.stringify(result));
  else {
    console.log(
      `trace explorer of ${total} samples (${cpu}); folder written in ${folderSeconds.toFixed(1)} s`,
    );
    console.log("page                                size MB  build s  list s  filter s  one sample s");
    for (const r of rows)
      console.log(
        `${String(r.page).padEnd(36)}${(r.mb as number).toFixed(2).padStart(7)}${(r.buildS as number).toFixed(2).padStart(9)}` +
          (r.listS === undefined
            ? "   (no browser: install playwright-core and chromium)"
            : `${(r.listS as number).toFixed(2).padStart(8)}${(r.filterS as number).toFixed(2).padStart(10)}${(r.oneS as number).toFixed(2).padStart(14)}`),
      );
  }
  if (a.out === undefined) rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
