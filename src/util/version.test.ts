import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { findPackageJson, readVersion, VERSION } from "./version.js";

const dir = mkdtempSync(join(tmpdir(), "interplay-version-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("version", () => {
  it("is the version of the project's package.json (read from dist/src/util/)", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8"));
    assert.equal(VERSION, pkg.version);
  });

  it("reads the nearest package.json above a folder, as after a global install", () => {
    const deep = join(dir, "lib", "node_modules", "interplay-lab", "dist", "src", "util");
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(dir, "lib", "node_modules", "interplay-lab", "package.json"), '{"version":"9.8.7"}');
    assert.equal(findPackageJson(deep), join(dir, "lib", "node_modules", "interplay-lab", "package.json"));
    assert.equal(readVersion(deep), "9.8.7");
    writeFileSync(join(dir, "lib", "node_modules", "interplay-lab", "package.json"), "{}");
    assert.throws(() => readVersion(deep), /has no "version" string/);
  });
});
