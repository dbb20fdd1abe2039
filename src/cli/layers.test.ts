import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

/** The folders of src/, lowest layer first, as README.md's "Layout" lists them. */
const LAYERS = [
  "util",
  "world",
  "verify",
  "stats",
  "report",
  "engine",
  "model",
  "sample",
  "eval",
  "hf",
  "train",
  "rl",
  "interop",
  "serve",
  "studies",
  "cli",
];

/** Every non-test source file under `dir`. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (p.endsWith(".ts") && !p.endsWith(".test.ts") && !p.includes("/testing/")) out.push(p);
  }
  return out;
}

describe("layout", () => {
  it("a folder imports only from folders at or below it in README's list", () => {
    const folders = readdirSync("src", { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    assert.deepEqual([...folders].sort(), [...LAYERS].sort(), "every folder of src/ has a layer");
    const readme = readFileSync("README.md", "utf8");
    const listed = [...readme.matchAll(/^src\/([a-z]+)\/ /gm)].map((m) => m[1]);
    assert.deepEqual(listed, LAYERS, "README's Layout lists the same order");
    const bad: string[] = [];
    for (const file of sources("src")) {
      const from = file.split("/")[1];
      for (const m of readFileSync(file, "utf8").matchAll(/from "\.\.\/([a-z]+)\//g))
        if (LAYERS.indexOf(m[1]) > LAYERS.indexOf(from)) bad.push(`${file} imports ${m[1]}/`);
    }
    assert.deepEqual(bad, []);
  });
});
