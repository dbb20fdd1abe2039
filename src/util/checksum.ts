/**
 * Checksums of written files (training.md, "Integrity"): a SHA-256 and the byte count of every file
 * a checkpoint, an exported model folder or a finished study stage consists of, kept in a small JSON
 * manifest that seals itself (its `check` field is the SHA-256 of the rest), so a reader can tell a
 * flipped bit, a truncated or replaced file, a missing file and a damaged manifest apart, and name
 * the file.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";

/** What a manifest records of one file. */
export interface FileEntry {
  bytes: number;
  sha256: string;
}

/** Files by path relative to the folder of their manifest. */
export type FileTable = Record<string, FileEntry>;

/** A file whose bytes are not what was recorded (or a record that cannot be trusted). */
export class IntegrityError extends Error {
  constructor(
    /** The file at fault (the data file, or the manifest itself). */
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = "IntegrityError";
  }
}

/** SHA-256 of bytes or of a string's UTF-8, as hex. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The entry of data about to be written. */
export function entryOf(data: Uint8Array | string): FileEntry {
  return {
    bytes: typeof data === "string" ? Buffer.byteLength(data) : data.byteLength,
    sha256: sha256Hex(data),
  };
}

/** The entry of a file on disk, read in chunks (for files that are checked but not otherwise read). */
export function hashFile(path: string, limit = Number.POSITIVE_INFINITY): FileEntry {
  const h = createHash("sha256");
  const buf = Buffer.allocUnsafe(1 << 22);
  const fd = openSync(path, "r");
  let bytes = 0;
  try {
    for (;;) {
      const want = Math.min(buf.length, limit - bytes);
      if (want <= 0) break;
      const n = readSync(fd, buf, 0, want, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      bytes += n;
    }
  } finally {
    closeSync(fd);
  }
  return { bytes, sha256: h.digest("hex") };
}

/** Throws an IntegrityError naming `path` when `data` is not what `entry` records. */
export function checkBytes(path: string, data: Uint8Array, entry: FileEntry): void {
  if (data.byteLength !== entry.bytes) {
    const how = data.byteLength < entry.bytes ? "is truncated:" : "has";
    throw new IntegrityError(
      path,
      `${path} ${how} ${data.byteLength} bytes, its manifest records ${entry.bytes}`,
    );
  }
  const got = sha256Hex(data);
  if (got !== entry.sha256)
    throw new IntegrityError(
      path,
      `${path} fails its checksum: sha256 ${got}, its manifest records ${entry.sha256}`,
    );
}

/** Reads a file and checks it against its entry (one read, one hash). */
export function readVerified(path: string, entry: FileEntry): Buffer {
  if (!existsSync(path)) throw new IntegrityError(path, `${path} is missing (its manifest lists it)`);
  const data = readFileSync(path);
  checkBytes(path, data, entry);
  return data;
}

/** Checks a file on disk against its entry without keeping its bytes (size first, then the hash). */
export function verifyFile(path: string, entry: FileEntry): void {
  if (!existsSync(path)) throw new IntegrityError(path, `${path} is missing (its manifest lists it)`);
  const size = statSync(path).size;
  if (size !== entry.bytes) {
    const how = size < entry.bytes ? "is truncated:" : "has";
    throw new IntegrityError(path, `${path} ${how} ${size} bytes, its manifest records ${entry.bytes}`);
  }
  const got = hashFile(path).sha256;
  if (got !== entry.sha256)
    throw new IntegrityError(
      path,
      `${path} fails its checksum: sha256 ${got}, its manifest records ${entry.sha256}`,
    );
}

const isEntry = (e: unknown): e is FileEntry =>
  typeof e === "object" &&
  e !== null &&
  Number.isInteger((e as FileEntry).bytes) &&
  (e as FileEntry).bytes >= 0 &&
  typeof (e as FileEntry).sha256 === "string" &&
  /^[0-9a-f]{64}$/.test((e as FileEntry).sha256);

/** Checks that a parsed value is a file table; errors name `where`. */
export function checkTable(t: unknown, where: string): FileTable {
  if (typeof t !== "object" || t === null || Array.isArray(t))
    throw new IntegrityError(where, `${where}: its file list is not an object`);
  for (const [name, e] of Object.entries(t))
    if (!isEntry(e)) throw new IntegrityError(where, `${where}: the entry of ${name} is malformed`);
  return t as FileTable;
}

/** JSON text of a record sealed with `check`, the SHA-256 of the record's compact JSON. */
export function sealJson(record: Record<string, unknown>): string {
  const { check: _, ...body } = record;
  return `${JSON.stringify({ ...body, check: sha256Hex(JSON.stringify(body)) }, null, 2)}\n`;
}

/**
 * Parses a sealed record. Returns `{ record, sealed: false }` for a record written without a seal
 * (older files); throws an IntegrityError naming the file when it does not parse or its seal does
 * not match its contents.
 */
export function openSealed<T extends object>(path: string, text: string): { record: T; sealed: boolean } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new IntegrityError(path, `${path} is corrupt (invalid JSON: ${(e as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new IntegrityError(path, `${path} is corrupt (not a JSON object)`);
  const { check, ...body } = parsed as Record<string, unknown>;
  if (check === undefined) return { record: parsed as T, sealed: false };
  if (check !== sha256Hex(JSON.stringify(body)))
    throw new IntegrityError(path, `${path} is corrupt: its own checksum does not match its contents`);
  return { record: body as T, sealed: true };
}
