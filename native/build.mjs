#!/usr/bin/env node
// Builds the native engine (native/build/Release/interplay_native.node) with node-gyp, offline:
// node-gyp is npm's bundled copy and the headers are the local Node installation's.
// Run by `npm install` (package.json "install") or directly: `node native/build.mjs`.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const fail = (msg) => {
  console.error(`\n[interplay native] ${msg}\n`);
  process.exit(1);
};
const has = (cmd, args = ["--version"]) => {
  const r = spawnSync(cmd, args, { stdio: "ignore" });
  return !r.error && r.status === 0;
};

// 1. A compiler toolchain (gyp's make backend compiles C with cc and links with c++).
if (process.platform !== "win32") {
  const cc = process.env.CC ?? "cc";
  const cxx = process.env.CXX ?? "c++";
  const missing = [cc, cxx, "make"].filter((c) => !has(c));
  if (missing.length > 0)
    fail(
      `cannot build the native engine: ${missing.join(", ")} not found.\n` +
        "Install a C/C++ toolchain (Debian/Ubuntu: apt-get install build-essential python3; " +
        "macOS: xcode-select --install), then run `node native/build.mjs`.",
    );
  if (!has("python3")) fail("cannot build the native engine: python3 (needed by node-gyp) not found.");
}

// 2. node-gyp: npm's bundled copy (npm sets npm_config_node_gyp), else next to npm itself.
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  const nodeDir = dirname(process.execPath);
  candidates.push(
    join(nodeDir, "../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"),
    join(nodeDir, "node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"),
    "/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
    "/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
    "/usr/share/nodejs/node-gyp/bin/node-gyp.js",
  );
  const npmRoot = spawnSync("npm", ["root", "-g"], { encoding: "utf8" });
  if (npmRoot.status === 0 && npmRoot.stdout.trim())
    candidates.push(join(npmRoot.stdout.trim(), "npm/node_modules/node-gyp/bin/node-gyp.js"));
  try {
    candidates.push(createRequire(import.meta.url).resolve("node-gyp/bin/node-gyp.js"));
  } catch {}
  return candidates.find((c) => existsSync(c));
}
const gyp = findNodeGyp();
if (!gyp)
  fail("node-gyp not found (it ships with npm): reinstall npm, or set npm_config_node_gyp to node-gyp.js.");

// 3. Local headers: the folder above the node binary when it has include/node/node_api.h.
const args = [gyp, "rebuild", "-C", here, "--loglevel=warn"];
const prefix = resolve(dirname(process.execPath), "..");
const nodedir = [process.env.npm_config_nodedir, prefix].find(
  (d) => d && existsSync(join(d, "include/node/node_api.h")),
);
if (nodedir) args.push(`--nodedir=${nodedir}`);
else console.warn("[interplay native] local Node headers not found; node-gyp may try to download them");

const blas = spawnSync(process.execPath, [join(here, "detect-blas.mjs"), "summary"], { encoding: "utf8" });
console.log(`[interplay native] BLAS: ${blas.stdout.trim() || "detection failed"}`);
console.log(`[interplay native] ${process.execPath} ${args.join(" ")}`);
const r = spawnSync(process.execPath, args, { stdio: "inherit", cwd: here });
if (r.error || r.status !== 0)
  fail(`node-gyp failed (exit ${r.status ?? r.error?.message}); see the output above.`);
const out = join(here, "build/Release/interplay_native.node");
if (!existsSync(out)) fail(`build finished but ${out} is missing`);
console.log(`[interplay native] built ${out}`);
