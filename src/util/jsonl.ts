/** JSON and JSONL reading with file names and line numbers: every JSON(L) file of the project is read here. */
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { createInterface } from "node:readline";

/** One line of a JSONL file: its value, or why it could not be read; `text` is the line as written. */
export type JsonlLine =
  | { line: number; text: string; value: unknown; error?: undefined }
  | { line: number; text: string; value?: undefined; error: string };

/**
 * What a reader does with a line that is not JSON: "report" yields it with `error` set; "throw"
 * throws an Error naming file and line; "stop" ends the read there (an append-only log whose last
 * line a kill cut: nothing after it was written); "skip" drops it and reads on.
 */
export type BadLinePolicy = "report" | "throw" | "stop" | "skip";

/** Options of {@link readJsonl}, {@link readJsonlSync} and {@link parseJsonl}. */
export interface JsonlOptions {
  /** Lines that are not JSON (default "report"). */
  bad?: BadLinePolicy;
}

/** Line breaks as node:readline splits them (CRLF, LF, or a lone CR). */
const LINE_BREAK = /\r\n|\n|\r/;

/** Throws a clear error unless `path` is a readable, non-empty regular file. */
export function checkInputFile(path: string, what: string): void {
  if (!existsSync(path)) throw new Error(`${what} file ${path} does not exist`);
  const st = statSync(path);
  if (!st.isFile()) throw new Error(`${what} path ${path} is not a file`);
  if (st.size === 0) throw new Error(`${what} file ${path} is empty`);
}

/** The policy of the options, checked (an unknown one is an error naming it). */
function badPolicy(opts: JsonlOptions): BadLinePolicy {
  const bad = opts.bad ?? "report";
  if (bad !== "report" && bad !== "throw" && bad !== "stop" && bad !== "skip")
    throw new RangeError(
      `jsonl: bad must be "report", "throw", "stop" or "skip", got ${JSON.stringify(bad)}`,
    );
  return bad;
}

/**
 * Line `n` (1-based) of file `name` under the policy: its entry, null for a blank or skipped line,
 * or "stop". A byte-order mark before the first line is dropped.
 */
function lineEntry(raw: string, n: number, name: string, bad: BadLinePolicy): JsonlLine | null | "stop" {
  const text = n === 1 ? raw.replace(/^\uFEFF/, "") : raw;
  if (!text.trim()) return null;
  try {
    return { line: n, text, value: JSON.parse(text) };
  } catch (e) {
    const error = `not valid JSON (${(e as Error).message})`;
    if (bad === "throw") throw new Error(`${name}:${n}: ${error}`);
    if (bad === "stop") return "stop";
    if (bad === "skip") return null;
    return { line: n, text, error };
  }
}

/** Streams the non-blank lines of a JSONL file; a line that is not JSON is handled by `opts.bad`. */
export async function* readJsonl(path: string, opts: JsonlOptions = {}): AsyncGenerator<JsonlLine> {
  const bad = badPolicy(opts);
  const input = createReadStream(path, "utf8");
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  try {
    for await (const raw of rl) {
      const e = lineEntry(raw, ++n, path, bad);
      if (e === "stop") break;
      if (e) yield e;
    }
  } finally {
    // Ended early (stop, an error, or a caller that stopped reading): release the file now.
    rl.close();
    input.destroy();
  }
}

/** The non-blank lines of JSONL text; `name` (the file, in errors) defaults to "jsonl". */
export function parseJsonl(text: string, opts: JsonlOptions & { name?: string } = {}): JsonlLine[] {
  const bad = badPolicy(opts);
  const name = opts.name ?? "jsonl";
  const out: JsonlLine[] = [];
  const lines = text.split(LINE_BREAK);
  for (let i = 0; i < lines.length; i++) {
    const e = lineEntry(lines[i], i + 1, name, bad);
    if (e === "stop") break;
    if (e) out.push(e);
  }
  return out;
}

/** The non-blank lines of a JSONL file, read at once (same lines and policies as {@link readJsonl}). */
export function readJsonlSync(path: string, opts: JsonlOptions = {}): JsonlLine[] {
  return parseJsonl(readFileSync(path, "utf8"), { ...opts, name: path });
}

/** The values of a JSONL file's non-blank lines; a line that is not JSON throws unless `opts.bad` says otherwise. */
export function readJsonlValues<T = unknown>(
  path: string,
  opts: { bad?: Exclude<BadLinePolicy, "report"> } = {},
): T[] {
  return readJsonlSync(path, { bad: opts.bad ?? "throw" }).map((l) => l.value as T);
}

/** Parses a JSON file; errors (missing file, bad JSON) name the file. */
export function readJsonFile<T = unknown>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}
