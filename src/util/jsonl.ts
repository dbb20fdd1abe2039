/** JSONL reading with line numbers: malformed lines become errors that name file and line. */
import { createReadStream, existsSync, statSync } from "node:fs";
import { createInterface } from "node:readline";

/** One line of a JSONL file: its value, or why it could not be read. */
export type JsonlLine =
  | { line: number; value: unknown; error?: undefined }
  | { line: number; value?: undefined; error: string };

/** Throws a clear error unless `path` is a readable, non-empty regular file. */
export function checkInputFile(path: string, what: string): void {
  if (!existsSync(path)) throw new Error(`${what} file ${path} does not exist`);
  const st = statSync(path);
  if (!st.isFile()) throw new Error(`${what} path ${path} is not a file`);
  if (st.size === 0) throw new Error(`${what} file ${path} is empty`);
}

/** Streams the non-blank lines of a JSONL file; a line that is not JSON yields an error entry. */
export async function* readJsonl(path: string): AsyncGenerator<JsonlLine> {
  const rl = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  for await (const raw of rl) {
    n++;
    const text = n === 1 ? raw.replace(/^\uFEFF/, "") : raw;
    if (!text.trim()) continue;
    try {
      yield { line: n, value: JSON.parse(text) };
    } catch (e) {
      yield { line: n, error: `not valid JSON (${(e as Error).message})` };
    }
  }
}
