/**
 * Corpus export for pre-training at scale: the problems of a plan (a mixture or an op grid, as in
 * `generate`) written as shards of model text (JSONL) or of token ids (little-endian binary), gzip
 * or plain, generated, tokenized and compressed on every core, with a manifest of counts per op,
 * context and mode, the seed, and per-shard checksums.
 *
 * Problem j of the corpus is generateProblem(slotKey(plan, j)): with a mixture plan and no dedup
 * this is exactly the sequence the lab's own pre-training streams (src/train/data.ts), so a model
 * trained on GPUs from the export sees the same data as one trained here.
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { WorldTokenizer } from "../model/tokenizer.js";
import { tempPath } from "../util/atomic.js";
import { type Plan, planSize, problemHash, slotKey } from "../world/corpus.js";
import { WORLD_VERSION } from "../world/graph.js";
import { generateProblem, modelText, type RenderOptions } from "../world/problem.js";
import type { ProblemKey } from "../world/types.js";
import { runOrdered } from "./pool.js";

/** What a shard holds: model text as JSONL, or token ids. */
export const CORPUS_KINDS = ["text", "tokens"] as const;
export type CorpusKind = (typeof CORPUS_KINDS)[number];
/** Shard compression. */
export const COMPRESSIONS = ["gzip", "none"] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/** How chunks are encoded (sent to the workers). */
export interface EncodeSpec {
  plan: Plan;
  kind: CorpusKind;
  compression: Compression;
  /** gzip level 1–9. */
  level: number;
  /** Digit-level world tokenizer (tokens only). */
  digits: boolean;
  /** Return per-problem dedup hashes. */
  hashes: boolean;
}

/** One encoded chunk of consecutive problems. */
export interface ChunkResult {
  /** Shard bytes of the chunk (a gzip member when compressed; members concatenate into one valid gzip file). */
  payload: Uint8Array;
  problems: number;
  tokens: number;
  /** Uncompressed size. */
  rawBytes: number;
  /** Problems per cell "op|context|mode". */
  counts: Record<string, number>;
  hashes?: string[];
}

/** A job: slots [start, end) of the plan. */
export interface ChunkJob {
  start: number;
  end: number;
  shard: number;
}

/** Rendering options of a plan (a mixture may ask for sequential trace letters). */
export function planRender(plan: Plan): RenderOptions {
  return plan.kind === "mixture" ? { letters: plan.mixture.letters } : {};
}

/** The cell key of a problem key, as counted in manifests. */
function cell(k: ProblemKey): string {
  return `${k.op}|${k.context}|${k.mode}`;
}

/** Encodes the problems of `keys` (in order) as shard bytes. */
export function encodeChunk(keys: ProblemKey[], spec: EncodeSpec, tok: WorldTokenizer | null): ChunkResult {
  const render = planRender(spec.plan);
  const counts: Record<string, number> = {};
  const hashes: string[] | undefined = spec.hashes ? [] : undefined;
  let raw: Uint8Array;
  let tokens = 0;
  if (spec.kind === "text") {
    const lines: string[] = [];
    for (const k of keys) {
      const p = generateProblem(k, render);
      hashes?.push(problemHash(p));
      counts[cell(k)] = (counts[cell(k)] ?? 0) + 1;
      lines.push(
        JSON.stringify({ id: p.id, op: p.op, context: p.context, mode: p.mode, text: modelText(p) }),
      );
    }
    raw = new TextEncoder().encode(lines.length ? `${lines.join("\n")}\n` : "");
  } else {
    if (!tok) throw new Error("a tokenized corpus needs a tokenizer");
    const wide = tok.vocabSize > 65536;
    const ids: number[] = [];
    for (const k of keys) {
      const p = generateProblem(k, render);
      hashes?.push(problemHash(p));
      counts[cell(k)] = (counts[cell(k)] ?? 0) + 1;
      for (const id of tok.encode(modelText(p))) ids.push(id);
      ids.push(tok.eosId);
    }
    tokens = ids.length;
    const arr = wide ? Uint32Array.from(ids) : Uint16Array.from(ids);
    // Little-endian on every platform Node runs on that matters here; checked once at start-up.
    raw = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
  }
  const payload = spec.compression === "gzip" ? new Uint8Array(gzipSync(raw, { level: spec.level })) : raw;
  return { payload, problems: keys.length, tokens, rawBytes: raw.byteLength, counts, hashes };
}

/** Keys of slots [start, end), round 0. */
export function chunkKeys(plan: Plan, start: number, end: number): ProblemKey[] {
  const keys: ProblemKey[] = [];
  for (let j = start; j < end; j++) keys.push(slotKey(plan, j));
  return keys;
}

/** Options of exportCorpus. */
export interface CorpusExportOptions {
  plan: Plan;
  /** Output folder: must not exist, or be empty. */
  out: string;
  kind?: CorpusKind;
  compression?: Compression;
  /** gzip level (default 6). */
  level?: number;
  /** Problems per shard (default 1,000,000). */
  shardProblems?: number;
  /** Digit-level tokenizer for `tokens`. */
  digits?: boolean;
  /** Replace duplicate problems (within the corpus and against `exclude`), as `generate` does. Off by default: the export then equals the pre-training stream. */
  dedup?: boolean;
  /** Dedup hashes of other splits (implies dedup). */
  exclude?: Set<string>;
  /** Files the exclude hashes came from (recorded in the manifest). */
  excludeFiles?: string[];
  /** Worker threads (default: every core); 0 or 1 encodes in the calling thread. */
  workers?: number;
  /** Problems per work unit (default 2,000). Part of the bytes when gzip is on (one gzip member per chunk). */
  chunk?: number;
  /** Called after each chunk with (problems done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** One shard in the manifest. */
export interface ShardInfo {
  file: string;
  /** First slot of the shard. */
  first: number;
  problems: number;
  tokens?: number;
  bytes: number;
  rawBytes: number;
  sha256: string;
}

/** The manifest written beside the shards (`manifest.json`). */
export interface CorpusManifest {
  format: "interplay-corpus";
  version: 1;
  /** Revision of the world's draw the problems come from (WORLD_VERSION). */
  world: number;
  kind: CorpusKind;
  compression: Compression;
  problems: number;
  tokens?: number;
  seed: number;
  plan: Plan;
  /** How problem j was made. */
  rule: string;
  dedup: { enabled: boolean; replaced: number; exclude: string[] };
  chunk: number;
  text?: { fields: string[]; eos: false };
  tokenizer?: {
    kind: "world";
    digits: boolean;
    vocabSize: number;
    eosId: number;
    padId: number;
    dtype: "uint16" | "uint32";
    endianness: "little";
    file: "tokenizer.json";
  };
  shards: ShardInfo[];
  counts: {
    byOp: Record<string, number>;
    byContext: Record<string, number>;
    byMode: Record<string, number>;
    byOpContext: Record<string, Record<string, number>>;
    byCell: Record<string, number>;
  };
}

const MAX_ROUNDS = 50;

/** Shard file name. */
function shardName(i: number, kind: CorpusKind, compression: Compression): string {
  const ext = kind === "text" ? "jsonl" : "bin";
  return `shard-${String(i).padStart(5, "0")}.${ext}${compression === "gzip" ? ".gz" : ""}`;
}

/** Checks the output folder: absent or empty. */
function checkOutDir(out: string): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new Error(`--out ${out} exists and is not a folder`);
  if (readdirSync(out).length > 0)
    throw new Error(`--out ${out} is not empty (a corpus is written into a new or empty folder)`);
}

/** Writes a sharded corpus; returns its manifest. The folder appears complete or not at all. */
export async function exportCorpus(opts: CorpusExportOptions): Promise<CorpusManifest> {
  const plan = opts.plan;
  const total = planSize(plan);
  const kind = opts.kind ?? "text";
  const compression = opts.compression ?? "gzip";
  const level = opts.level ?? 6;
  const shardProblems = opts.shardProblems ?? 1_000_000;
  const chunk = opts.chunk ?? 2000;
  const exclude = opts.exclude ?? new Set<string>();
  const dedup = (opts.dedup ?? false) || exclude.size > 0;
  if (kind !== "text" && kind !== "tokens")
    throw new Error(`corpus kind must be text or tokens, got "${kind}"`);
  if (compression !== "gzip" && compression !== "none")
    throw new Error(`--compress must be gzip or none, got "${compression}"`);
  if (!Number.isInteger(level) || level < 1 || level > 9)
    throw new Error(`gzip level must be 1–9, got ${level}`);
  if (!Number.isInteger(shardProblems) || shardProblems < 1)
    throw new Error(`problems per shard must be a positive integer, got ${shardProblems}`);
  if (!Number.isInteger(chunk) || chunk < 1)
    throw new Error(`chunk must be a positive integer, got ${chunk}`);
  if (total < 1) throw new Error("the plan has no problems");
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1)
    throw new Error("token shards need a little-endian host");
  checkOutDir(opts.out);

  const tok = kind === "tokens" ? new WorldTokenizer({ digits: opts.digits ?? false }) : null;
  const spec: EncodeSpec = { plan, kind, compression, level, digits: opts.digits ?? false, hashes: dedup };
  const jobs: ChunkJob[] = [];
  for (let s = 0, shard = 0; s < total; s += shardProblems, shard++) {
    const end = Math.min(total, s + shardProblems);
    for (let a = s; a < end; a += chunk) jobs.push({ start: a, end: Math.min(end, a + chunk), shard });
  }
  const nShards = jobs[jobs.length - 1].shard + 1;

  const parent = dirname(opts.out);
  mkdirSync(parent, { recursive: true });
  const tmp = tempPath(join(parent, `.${basename(opts.out)}`), "partial");
  mkdirSync(tmp);
  const shards: ShardInfo[] = [];
  const byCell: Record<string, number> = {};
  const seen = new Set<string>(exclude);
  let replaced = 0;
  let done = 0;
  let fd = -1;
  let hash = createHash("sha256");
  let current: ShardInfo | null = null;

  const closeShard = () => {
    if (!current) return;
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    current.sha256 = hash.digest("hex");
    shards.push(current);
    current = null;
  };
  const deliver = (res: ChunkResult, job: ChunkJob) => {
    let r = res;
    if (dedup) {
      const keys = chunkKeys(plan, job.start, job.end);
      const hashes = r.hashes!;
      let changed = false;
      for (let i = 0; i < keys.length; i++) {
        let round = 0;
        let h = hashes[i];
        while (seen.has(h)) {
          if (++round > MAX_ROUNDS)
            throw new Error(
              `slot ${job.start + i}: ${MAX_ROUNDS} replacements were all duplicates; the plan cannot fill ${total} distinct problems`,
            );
          keys[i] = slotKey(plan, job.start + i, round);
          h = problemHash(generateProblem(keys[i], planRender(plan)));
        }
        if (round > 0) {
          replaced++;
          changed = true;
        }
        seen.add(h);
      }
      if (changed) r = encodeChunk(keys, spec, tok);
    }
    if (!current || current.file !== shardName(job.shard, kind, compression)) {
      closeShard();
      const file = shardName(job.shard, kind, compression);
      fd = openSync(join(tmp, file), "w");
      hash = createHash("sha256");
      current = { file, first: job.start, problems: 0, bytes: 0, rawBytes: 0, sha256: "" };
      if (kind === "tokens") current.tokens = 0;
    }
    writeSync(fd, r.payload);
    hash.update(r.payload);
    current.problems += r.problems;
    current.bytes += r.payload.byteLength;
    current.rawBytes += r.rawBytes;
    if (current.tokens !== undefined) current.tokens += r.tokens;
    for (const [c, n] of Object.entries(r.counts)) byCell[c] = (byCell[c] ?? 0) + n;
    done += r.problems;
    opts.onProgress?.(done, total);
  };

  try {
    const nWorkers = Math.min(opts.workers ?? availableParallelism(), jobs.length);
    if (nWorkers <= 1) {
      for (const job of jobs) deliver(encodeChunk(chunkKeys(plan, job.start, job.end), spec, tok), job);
    } else {
      const url = new URL("./corpus-worker.js", import.meta.url);
      await runOrdered<ChunkJob, ChunkResult>(url, spec, jobs, { workers: nWorkers }, deliver);
    }
    closeShard();
    if (shards.length !== nShards) throw new Error(`internal: wrote ${shards.length} of ${nShards} shards`);
    const manifest = buildManifest(opts, spec, shards, byCell, replaced, chunk, tok);
    if (tok) {
      writeFileSync(join(tmp, "tokenizer.json"), `${JSON.stringify(tok.toHuggingFace())}\n`);
      writeFileSync(
        join(tmp, "tokenizer_config.json"),
        `${JSON.stringify(tok.toHuggingFaceConfig(), null, 2)}\n`,
      );
    }
    writeFileSync(join(tmp, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    if (existsSync(opts.out)) rmdirSync(opts.out);
    renameSync(tmp, opts.out);
    return manifest;
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

function buildManifest(
  opts: CorpusExportOptions,
  spec: EncodeSpec,
  shards: ShardInfo[],
  byCell: Record<string, number>,
  replaced: number,
  chunk: number,
  tok: WorldTokenizer | null,
): CorpusManifest {
  const byOp: Record<string, number> = {};
  const byContext: Record<string, number> = {};
  const byMode: Record<string, number> = {};
  const byOpContext: Record<string, Record<string, number>> = {};
  const cells = Object.keys(byCell).sort((a, b) => {
    const [oa, ...ra] = a.split("|");
    const [ob, ...rb] = b.split("|");
    return Number(oa) - Number(ob) || ra.join("|").localeCompare(rb.join("|"));
  });
  const sortedCells: Record<string, number> = {};
  for (const c of cells) {
    const n = byCell[c];
    sortedCells[c] = n;
    const [op, context, mode] = c.split("|");
    byOp[op] = (byOp[op] ?? 0) + n;
    byContext[context] = (byContext[context] ?? 0) + n;
    byMode[mode] = (byMode[mode] ?? 0) + n;
    byOpContext[op] ??= {};
    byOpContext[op][context] = (byOpContext[op][context] ?? 0) + n;
  }
  const problems = shards.reduce((s, x) => s + x.problems, 0);
  const m: CorpusManifest = {
    format: "interplay-corpus",
    version: 1,
    world: WORLD_VERSION,
    kind: spec.kind,
    compression: spec.compression,
    problems,
    seed: spec.plan.seed,
    plan: spec.plan,
    rule: "problem j = generateProblem(slotKey(plan, j, r)) with r = 0, or with the first r > 0 whose problem is new when dedup is on (its index is then j + r·problems); its id names (context, mode, op, seed, index)",
    dedup: { enabled: spec.hashes, replaced, exclude: opts.excludeFiles ?? [] },
    chunk,
    shards,
    counts: { byOp, byContext, byMode, byOpContext, byCell: sortedCells },
  };
  if (spec.kind === "text") m.text = { fields: ["id", "op", "context", "mode", "text"], eos: false };
  if (tok) {
    m.tokens = shards.reduce((s, x) => s + (x.tokens ?? 0), 0);
    m.tokenizer = {
      kind: "world",
      digits: tok.digits,
      vocabSize: tok.vocabSize,
      eosId: tok.eosId,
      padId: tok.padId,
      dtype: tok.vocabSize > 65536 ? "uint32" : "uint16",
      endianness: "little",
      file: "tokenizer.json",
    };
  }
  return m;
}
