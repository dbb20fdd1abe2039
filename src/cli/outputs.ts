/**
 * Checks of a command's output paths against its inputs, before anything is written.
 *
 * - No output is one of the command's inputs: the same path after resolving symlinks, or the same
 *   file by device and inode (a hard link, a symlink to it).
 * - A folder output (a run, an evaluation, a corpus) does not lie inside an input folder, and no input
 *   lies inside it: the command writes and replaces files there.
 * - A file output never shares its path with another output of the command.
 * - A single-file output that exists is replaced only with `--force` (or when the command names it
 *   as its own derived file, as `report` does with an evaluation's report.html); a folder output
 *   keeps its command's rules (resume, new or empty).
 *
 * Every refusal names the flag and the path and happens before the command writes anything.
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { isMixtureName } from "../world/mixture.js";

/** A path given by a flag (or an argument, named like "study file"). */
export interface PathFlag {
  flag: string;
  path: string | undefined;
}

/** What a command reads and writes. */
export interface OutputPlan {
  /** Files and folders the command reads; those that do not exist are skipped. */
  inputs: PathFlag[];
  /** Single-file outputs. */
  files?: PathFlag[];
  /** Folder outputs. */
  folders?: PathFlag[];
  /** Replace existing single-file outputs. */
  force?: boolean;
  /** Files the command replaces without --force (its own derived files). */
  replaceable?: string[];
}

/** The file a `--mixture NAME|FILE` (or `--prompts`) value reads: none for a preset or a pattern. */
export function mixtureFile(nameOrFile: string | undefined): string | undefined {
  return nameOrFile !== undefined && !isMixtureName(nameOrFile) ? nameOrFile : undefined;
}

/** The absolute path with the symlinks of its longest existing prefix resolved. */
export function realPath(p: string): string {
  const tail: string[] = [];
  let head = resolve(p);
  for (;;) {
    try {
      return join(realpathSync(head), ...tail);
    } catch {
      const up = dirname(head);
      if (up === head) return join(head, ...tail);
      tail.unshift(basename(head));
      head = up;
    }
  }
}

/** device:inode of an existing path (symlinks followed), else undefined. */
function fileId(p: string): string | undefined {
  try {
    const st = statSync(p, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** Whether two paths name the same file or folder. */
export function samePath(a: string, b: string): boolean {
  if (realPath(a) === realPath(b)) return true;
  const ia = fileId(a);
  return ia !== undefined && ia === fileId(b);
}

/** Whether `p` lies strictly inside the folder `folder` (by real path, or by the folder's inode). */
export function insidePath(p: string, folder: string): boolean {
  const id = fileId(folder);
  const root = realPath(folder);
  let cur = realPath(p);
  for (;;) {
    const up = dirname(cur);
    if (up === cur) return false;
    cur = up;
    if (cur === root || (id !== undefined && fileId(cur) === id)) return true;
  }
}

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

const show = (x: { flag: string; path: string }) => `${x.flag} ${x.path}`;

/** Throws, naming the flag and the path, when an output would replace or sit inside an input. */
export function checkOutputs(plan: OutputPlan): void {
  type Named = { flag: string; path: string };
  const given = (xs: PathFlag[] = []) => xs.filter((x): x is Named => x.path !== undefined);
  const inputs = given(plan.inputs).filter((x) => existsSync(x.path));
  const files = given(plan.files);
  const folders = given(plan.folders);
  const outputs = [...files, ...folders];
  for (const o of outputs) {
    for (const i of inputs) {
      if (samePath(o.path, i.path))
        throw new Error(
          `${show(o)} is the same ${isDir(i.path) ? "folder" : "file"} as ${show(i)}, an input of this command; choose another ${o.flag} (nothing was written)`,
        );
    }
  }
  for (const f of folders) {
    for (const i of inputs) {
      if (insidePath(i.path, f.path))
        throw new Error(
          `${show(i)} is inside ${show(f)}, the folder this command writes into; choose another ${f.flag} (nothing was written)`,
        );
      if (isDir(i.path) && insidePath(f.path, i.path))
        throw new Error(
          `${show(f)} is inside ${show(i)}, an input folder of this command; choose another ${f.flag} (nothing was written)`,
        );
    }
  }
  // Two folders may coincide (a study's --cache in its --out); a file never shares its path.
  for (let a = 0; a < files.length; a++)
    for (let b = a + 1; b < outputs.length; b++)
      if (samePath(outputs[a].path, outputs[b].path))
        throw new Error(
          `${show(outputs[b])} is the same path as ${show(outputs[a])}; give each output its own path (nothing was written)`,
        );
  const replaceable = plan.replaceable ?? [];
  for (const f of files) {
    if (!existsSync(f.path)) continue;
    if (isDir(f.path)) throw new Error(`${show(f)} is a folder; give a file path (nothing was written)`);
    if (!plan.force && !replaceable.some((r) => samePath(r, f.path)))
      throw new Error(
        `${show(f)} already exists; pass --force to replace it, or choose another ${f.flag} (nothing was written)`,
      );
  }
  for (const f of folders) {
    if (existsSync(f.path) && !isDir(f.path))
      throw new Error(`${show(f)} exists and is not a folder (nothing was written)`);
  }
}
