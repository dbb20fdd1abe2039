/**
 * The lab's version, read once from its package.json: the first package.json above this file, which
 * is the project's in a clone (this file runs as dist/src/util/version.js) and the installed
 * package's after `npm install -g`.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package.json nearest above `from` (a folder); throws when there is none. */
export function findPackageJson(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) return file;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** The `version` field of the package.json nearest above `from` (default: this file's folder). */
export function readVersion(from = dirname(fileURLToPath(import.meta.url))): string {
  const file = findPackageJson(from);
  const { version } = JSON.parse(readFileSync(file, "utf8")) as { version?: unknown };
  if (typeof version !== "string") throw new Error(`${file} has no "version" string`);
  return version;
}

/** The lab's version (package.json's `version`). */
export const VERSION: string = readVersion();
