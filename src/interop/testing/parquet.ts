/** Reading exported parquet back in tests, with an independent implementation (arrow-rs via parquet-wasm, then Arrow JS). */
import { readFileSync } from "node:fs";
import { tableFromIPC, Vector } from "apache-arrow";
import { readParquet } from "parquet-wasm";

/** Arrow values (vectors, struct rows, int64 bigints) as plain JS. */
export function plain(v: unknown): unknown {
  if (typeof v === "bigint") return Number(v);
  if (v === null || typeof v !== "object") return v;
  if (v instanceof Vector) return [...v].map(plain);
  if (Array.isArray(v)) return v.map(plain);
  const o =
    typeof (v as { toJSON?: unknown }).toJSON === "function" ? (v as { toJSON(): object }).toJSON() : v;
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, plain(x)]));
}

/** A parquet file's Arrow schema (as text) and its rows as plain JS. */
export function readBack(path: string): { schema: string; rows: unknown[] } {
  const table = tableFromIPC(readParquet(readFileSync(path)).intoIPCStream());
  return { schema: table.schema.toString(), rows: table.toArray().map(plain) };
}
