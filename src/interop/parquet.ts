/**
 * Parquet files of nested rows, streamed to disk row group by row group and renamed into place
 * when complete (hyparquet-writer does the encoding). A small schema language describes the rows;
 * it maps to the schema pyarrow writes for the same Python objects: every field optional, strings
 * as UTF8/STRING, lists in the three-level LIST layout, structs as groups.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { ByteWriter, ParquetWriter, type SchemaElement } from "hyparquet-writer";
import { tempPath } from "../util/atomic.js";

/** The type of a field: a scalar, a struct of named fields, or a list of one item type. */
export type FieldType = "string" | "int64" | "double" | "boolean" | { struct: Field[] } | { list: FieldType };

/** A named field of a struct or of the root. */
export interface Field {
  name: string;
  type: FieldType;
}

/** The flat parquet schema (depth-first SchemaElements, root first) of top-level fields. */
export function parquetSchema(fields: Field[]): SchemaElement[] {
  const out: SchemaElement[] = [{ name: "schema", num_children: fields.length }];
  const add = (name: string, t: FieldType): void => {
    if (t === "string") {
      out.push({
        name,
        type: "BYTE_ARRAY",
        converted_type: "UTF8",
        logical_type: { type: "STRING" },
        repetition_type: "OPTIONAL",
      });
    } else if (t === "int64") out.push({ name, type: "INT64", repetition_type: "OPTIONAL" });
    else if (t === "double") out.push({ name, type: "DOUBLE", repetition_type: "OPTIONAL" });
    else if (t === "boolean") out.push({ name, type: "BOOLEAN", repetition_type: "OPTIONAL" });
    else if ("struct" in t) {
      out.push({ name, repetition_type: "OPTIONAL", num_children: t.struct.length });
      for (const f of t.struct) add(f.name, f.type);
    } else {
      out.push({
        name,
        repetition_type: "OPTIONAL",
        converted_type: "LIST",
        logical_type: { type: "LIST" },
        num_children: 1,
      });
      out.push({ name: "list", repetition_type: "REPEATED", num_children: 1 });
      add("element", t.list);
    }
  };
  for (const f of fields) add(f.name, f.type);
  return out;
}

/**
 * Converts a JS value to what the encoder expects for its field type (int64 → BigInt), checking
 * the shape on the way; `where` names the value in errors.
 */
export function toParquetValue(v: unknown, t: FieldType, where: string): unknown {
  if (v === null || v === undefined) return null;
  if (t === "string") {
    if (typeof v !== "string") throw new TypeError(`${where} must be a string`);
    return v;
  }
  if (t === "int64") {
    if (typeof v === "bigint") return v;
    if (typeof v !== "number" || !Number.isSafeInteger(v)) throw new TypeError(`${where} must be an integer`);
    return BigInt(v);
  }
  if (t === "double") {
    if (typeof v !== "number") throw new TypeError(`${where} must be a number`);
    return v;
  }
  if (t === "boolean") {
    if (typeof v !== "boolean") throw new TypeError(`${where} must be a boolean`);
    return v;
  }
  if ("struct" in t) {
    if (typeof v !== "object" || Array.isArray(v)) throw new TypeError(`${where} must be an object`);
    const o = v as Record<string, unknown>;
    const r: Record<string, unknown> = {};
    for (const f of t.struct) r[f.name] = toParquetValue(o[f.name], f.type, `${where}.${f.name}`);
    return r;
  }
  if (!Array.isArray(v)) throw new TypeError(`${where} must be an array`);
  return v.map((x, i) => toParquetValue(x, t.list, `${where}[${i}]`));
}

/** A hyparquet-writer sink that appends each finished row group to a file descriptor. */
class FileSink extends ByteWriter {
  constructor(private readonly fd: number) {
    super(1 << 20);
  }
  flush(): void {
    if (this.index > 0) writeSync(this.fd, new Uint8Array(this.buffer, 0, this.index));
    this.index = 0;
  }
  override finish(): void {
    this.flush();
  }
}

/** Options of ParquetFileWriter. */
export interface ParquetFileOptions {
  /** Rows buffered per row group (default 10,000). */
  rowGroupRows?: number;
  /** Key-value metadata stored in the footer. */
  metadata?: Record<string, string>;
}

/**
 * Writes rows of a fixed schema to a parquet file: rows are buffered, encoded one row group at a
 * time, and the file appears at `path` only on close(); abort() leaves nothing behind.
 */
export class ParquetFileWriter {
  private readonly tmp: string;
  private readonly fd: number;
  private readonly sink: FileSink;
  private readonly writer: ParquetWriter;
  private readonly rowGroupRows: number;
  private buffered: Record<string, unknown>[] = [];
  private done = false;
  /** Rows written so far (including buffered ones). */
  rows = 0;

  constructor(
    readonly path: string,
    readonly fields: Field[],
    opts: ParquetFileOptions = {},
  ) {
    this.rowGroupRows = opts.rowGroupRows ?? 10_000;
    if (!Number.isInteger(this.rowGroupRows) || this.rowGroupRows < 1)
      throw new RangeError(`rowGroupRows must be a positive integer, got ${this.rowGroupRows}`);
    mkdirSync(dirname(path), { recursive: true });
    this.tmp = tempPath(path);
    this.fd = openSync(this.tmp, "w");
    this.sink = new FileSink(this.fd);
    const kv = Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value }));
    this.writer = new ParquetWriter({
      writer: this.sink,
      schema: parquetSchema(fields),
      kvMetadata: kv.length ? kv : undefined,
      createdBy: "interplay (hyparquet-writer)",
    });
  }

  /** Adds one row (an object with the schema's top-level fields); throws naming a field of the wrong shape. */
  add(row: Record<string, unknown>): void {
    if (this.done) throw new Error(`parquet writer for ${this.path} is closed`);
    const r: Record<string, unknown> = {};
    for (const f of this.fields)
      r[f.name] = toParquetValue(row[f.name], f.type, `row ${this.rows}: ${f.name}`);
    this.buffered.push(r);
    this.rows++;
    if (this.buffered.length >= this.rowGroupRows) this.flushGroup();
  }

  private flushGroup(): void {
    const n = this.buffered.length;
    if (n === 0) return;
    const rows = this.buffered;
    this.buffered = [];
    const columnData = this.fields.map((f) => ({ name: f.name, data: rows.map((r) => r[f.name]) }));
    this.writer.write({ columnData, rowGroupSize: n });
  }

  /** Writes the last row group and the footer, then renames the file into place. */
  close(): void {
    if (this.done) throw new Error(`parquet writer for ${this.path} is closed`);
    try {
      this.flushGroup();
      this.writer.finish();
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.done = true;
      renameSync(this.tmp, this.path);
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  /** Discards the temporary file. */
  abort(): void {
    if (!this.done) {
      this.done = true;
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
    }
    rmSync(this.tmp, { force: true });
  }
}
