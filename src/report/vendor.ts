/** Browser libraries inlined into reports (read from node_modules at render time, so pages open offline). */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** An inlined script and its version. */
export interface VendorScript {
  source: string;
  version: string;
}

const cache = new Map<string, VendorScript>();
const require = createRequire(import.meta.url);

/** Source of `file` next to a package's main entry, escaped for a <script> element. */
function load(pkg: string, file: string, version: (source: string) => string): VendorScript {
  const hit = cache.get(pkg);
  if (hit) return hit;
  let main: string;
  try {
    main = require.resolve(pkg);
  } catch {
    throw new Error(`${pkg} is not installed (run npm install): the HTML reports inline it`);
  }
  const raw = readFileSync(join(dirname(main), file), "utf8");
  const out = { source: raw.replace(/<\/script/gi, "<\\/script"), version: version(raw) };
  cache.set(pkg, out);
  return out;
}

/** Chart.js's minified UMD build (defines the global `Chart`). */
export function chartJs(): VendorScript {
  // The package exports no subpaths of dist/, so the bundle is found from the main entry.
  return load(
    "chart.js",
    "chart.umd.min.js",
    (s) => /Chart\.js v(\d+\.\d+\.\d+)/.exec(s.slice(0, 200))?.[1] ?? "unknown",
  );
}

/** dagre's minified browser build (defines the global `dagre`, graphlib included): layered graph layout. */
export function dagreJs(): VendorScript {
  return load("@dagrejs/dagre", "dagre.min.js", () => {
    const pkg = require("@dagrejs/dagre/package.json") as { version?: string };
    return pkg.version ?? "unknown";
  });
}
