/** Atomic writes: data goes to a temporary file beside the target, renamed into place when complete. */
import { createWriteStream, mkdirSync, renameSync, rmSync, type WriteStream, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** A temporary name beside `path`, unique to this process and call (`tag` names its kind). */
export function tempPath(path: string, tag = "tmp"): string {
  return `${path}.${tag}-${process.pid}-${Math.floor(Math.random() * 1e9)}`;
}

/** Writes a whole file atomically (temp file + rename). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPath(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** A streamed file that appears at its path only on commit(); abort() leaves the old file untouched. */
export class AtomicWriter {
  private readonly tmp: string;
  private readonly stream: WriteStream;
  private error: Error | null = null;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.tmp = tempPath(path);
    this.stream = createWriteStream(this.tmp, { encoding: "utf8" });
    this.stream.on("error", (e) => {
      this.error = e;
    });
  }

  /** Appends text, waiting when the stream's buffer is full. */
  async write(text: string): Promise<void> {
    if (this.error) throw this.error;
    if (!this.stream.write(text)) {
      await new Promise<void>((resolve, reject) => {
        const onError = (e: Error) => reject(e);
        this.stream.once("error", onError);
        this.stream.once("drain", () => {
          this.stream.off("error", onError);
          resolve();
        });
      });
    }
  }

  /** Flushes and renames the temporary file into place. */
  async commit(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.stream.end((e?: Error | null) => (e ? reject(e) : resolve()));
    });
    if (this.error) throw this.error;
    renameSync(this.tmp, this.path);
  }

  /** Discards the temporary file. */
  async abort(): Promise<void> {
    await new Promise<void>((resolve) => this.stream.end(() => resolve()));
    rmSync(this.tmp, { force: true });
  }
}
