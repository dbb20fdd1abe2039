/**
 * Exporting a problem file (as `generate` writes it) for GPU trainers: verl parquet, TRL JSONL or
 * parquet, or the lab's JSONL. Streams line by line; the output appears only when complete.
 */
import { AtomicWriter } from "../util/atomic.js";
import { checkInputFile, readJsonl } from "../util/jsonl.js";
import type { Problem } from "../world/types.js";
import { ParquetFileWriter } from "./parquet.js";
import {
  type DataFormat,
  jsonlRow,
  problemLineError,
  type TrlPromptStyle,
  trlFields,
  trlRow,
  VERL_FIELDS,
  type VerlOptions,
  verlRow,
} from "./rows.js";

/** Options of exportProblems. */
export interface ExportOptions extends VerlOptions {
  /** Input problem JSONL. */
  problems: string;
  format: DataFormat;
  /** Output file; verl writes parquet; trl writes parquet when it ends in `.parquet`, else JSONL. */
  out: string;
  /** TRL prompt style (default "text", TRL's standard format). */
  trlPrompt?: TrlPromptStyle;
  /** Rows per parquet row group. */
  rowGroupRows?: number;
  /** Called every 10,000 rows. */
  onProgress?: (rows: number) => void;
}

/** Counts of an export. */
export interface ExportStats {
  rows: number;
  /** Rows per op. */
  byOp: Record<string, number>;
  /** "parquet" or "jsonl". */
  container: "parquet" | "jsonl";
}

/** The container an export writes for a format and output path. */
export function exportContainer(format: DataFormat, out: string): "parquet" | "jsonl" {
  if (format === "verl") return "parquet";
  if (format === "trl") return out.toLowerCase().endsWith(".parquet") ? "parquet" : "jsonl";
  return "jsonl";
}

/** Exports a problem file; malformed lines and duplicate ids are errors naming file and line. */
export async function exportProblems(opts: ExportOptions): Promise<ExportStats> {
  const { format, out } = opts;
  if (format !== "verl" && format !== "trl" && format !== "jsonl")
    throw new Error(`unknown format "${format as string}" (verl, trl, jsonl)`);
  if (format === "verl" && !out.toLowerCase().endsWith(".parquet"))
    throw new Error(`--format verl writes parquet: give an --out path ending in .parquet (got ${out})`);
  if (format === "jsonl" && out.toLowerCase().endsWith(".parquet"))
    throw new Error("--format jsonl writes JSONL: give an --out path that does not end in .parquet");
  checkInputFile(opts.problems, "problems");
  const style = opts.trlPrompt ?? "text";
  if (style !== "text" && style !== "chat") throw new Error(`TRL prompt style must be text or chat`);
  const container = exportContainer(format, out);
  const stats: ExportStats = { rows: 0, byOp: {}, container };
  const ids = new Set<string>();
  const meta = {
    "interplay.format": format,
    "interplay.source": opts.problems,
    ...(format === "verl"
      ? {
          "interplay.prompt": "chat: one user message whose content is the model-format prompt (world.md §7)",
        }
      : {}),
  };
  const pq =
    container === "parquet"
      ? new ParquetFileWriter(out, format === "verl" ? VERL_FIELDS : trlFields(style), {
          rowGroupRows: opts.rowGroupRows,
          metadata: meta,
        })
      : null;
  const jw = container === "jsonl" ? new AtomicWriter(out) : null;
  try {
    let lines: string[] = [];
    for await (const l of readJsonl(opts.problems, { bad: "throw" })) {
      const err = problemLineError(l.value);
      if (err) throw new Error(`${opts.problems}:${l.line}: ${err}`);
      const p = l.value as Problem;
      if (ids.has(p.id)) throw new Error(`${opts.problems}:${l.line}: duplicate id "${p.id}"`);
      ids.add(p.id);
      const row =
        format === "verl" ? verlRow(p, stats.rows, opts) : format === "trl" ? trlRow(p, style) : jsonlRow(p);
      if (pq) pq.add(row as unknown as Record<string, unknown>);
      else {
        lines.push(JSON.stringify(row));
        if (lines.length >= 1000) {
          await jw!.write(`${lines.join("\n")}\n`);
          lines = [];
        }
      }
      stats.rows++;
      stats.byOp[p.op] = (stats.byOp[p.op] ?? 0) + 1;
      if (stats.rows % 10_000 === 0) opts.onProgress?.(stats.rows);
    }
    if (stats.rows === 0) throw new Error(`problems file ${opts.problems} holds no problems`);
    if (jw) {
      if (lines.length) await jw.write(`${lines.join("\n")}\n`);
      await jw.commit();
    } else pq!.close();
  } catch (e) {
    pq?.abort();
    await jw?.abort();
    throw e;
  }
  return stats;
}
