/** The Chart.js UMD bundle, read from node_modules at render time so reports open offline. */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

let cached: { source: string; version: string } | null = null;

/** Chart.js's minified UMD build (defines the global `Chart`) and its version. */
export function chartJs(): { source: string; version: string } {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  let main: string;
  try {
    // The package exports no subpaths of dist/, so locate it from the main entry.
    main = require.resolve("chart.js");
  } catch {
    throw new Error("chart.js is not installed (run npm install): the HTML report inlines it");
  }
  const file = join(dirname(main), "chart.umd.min.js");
  const source = readFileSync(file, "utf8");
  const m = /Chart\.js v(\d+\.\d+\.\d+)/.exec(source.slice(0, 200));
  cached = { source, version: m ? m[1] : "unknown" };
  return cached;
}
