/** `interplay export-data`: problem files for verl/TRL, and sharded pre-training corpora. */
import type { Command } from "commander";
import {
  COMPRESSIONS,
  CORPUS_KINDS,
  type Compression,
  type CorpusKind,
  exportCorpus,
} from "../interop/corpus.js";
import { exportProblems } from "../interop/export.js";
import { DATA_FORMATS, type DataFormat, TRL_PROMPT_STYLES, type TrlPromptStyle } from "../interop/rows.js";
import { CONTEXT_IDS } from "../world/contexts.js";
import { checkGridPlan, type Plan, planSize, readHashes } from "../world/corpus.js";
import { resolveMixture } from "../world/mixture.js";
import { MODES, type Mode } from "../world/types.js";
import { choiceListOption, choiceOption, parseIntIn, parseNat, parseOps, parsePos } from "./args.js";
import { checkOutputs, mixtureFile } from "./outputs.js";
import { startProgress } from "./progress.js";

interface ExportDataOpts {
  problems?: string;
  format?: DataFormat | CorpusKind;
  out: string;
  split: string;
  dataSource: string;
  prompt: TrlPromptStyle;
  corpus?: boolean;
  mixture?: string;
  count?: number;
  ops?: number[];
  perOp?: number;
  contexts: string[];
  modes: Mode[];
  seed?: number;
  shardProblems: number;
  compress: Compression;
  level: number;
  digits?: boolean;
  dedup?: boolean;
  exclude: string[];
  workers?: number;
  force?: boolean;
}

/** "a, b or c". */
function orList(names: readonly string[]): string {
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
}

/** Whether `name` is one of `names`. */
function isOneOf<T extends string>(names: readonly T[], name: string): name is T {
  return (names as readonly string[]).includes(name);
}

/** Registers the export-data command. */
export function registerExportData(program: Command): void {
  program
    .command("export-data")
    .description(
      "export problems for GPU trainers (--problems FILE --format verl|trl|jsonl) or a sharded pre-training corpus (--corpus)",
    )
    .requiredOption(
      "--out <path>",
      "output file (problems; an existing file needs --force) or new or empty folder (--corpus); written atomically",
    )
    .option("--problems <file>", "problem JSONL as written by generate")
    .addOption(
      choiceOption(
        "--format <name>",
        "problems: verl (parquet), trl (JSONL, or parquet if --out ends in .parquet), jsonl; --corpus: text or tokens",
        [...DATA_FORMATS, ...CORPUS_KINDS],
      ),
    )
    .option("--split <name>", "verl extra_info.split", "train")
    .option("--data-source <name>", "verl data_source (what compute_score dispatches on)", "interplay")
    .addOption(
      choiceOption(
        "--prompt <style>",
        "TRL prompt: text (standard) or chat (conversational)",
        TRL_PROMPT_STYLES,
      ).default("text"),
    )
    .option("--corpus", "write a pre-training corpus from --mixture/--count or --ops/--per-op instead")
    .option("--mixture <name|file>", "corpus: mixture preset or JSON file")
    .option("--count <n>", "corpus: problems drawn from the mixture", parsePos("--count"))
    .option("--ops <ops>", "corpus: ops of a grid, e.g. 2-20", parseOps)
    .option("--per-op <n>", "corpus: problems per op of the grid", parsePos("--per-op"))
    .addOption(
      choiceListOption("--contexts <list>", "corpus grid: contexts to cycle through", CONTEXT_IDS).default([
        ...CONTEXT_IDS,
      ]),
    )
    .addOption(
      choiceListOption("--modes <list>", "corpus grid: modes to cycle through", MODES).default([...MODES]),
    )
    .option("--seed <n>", "corpus: seed (same seed and options → same bytes)", parseNat("--seed"))
    .option("--shard-problems <n>", "corpus: problems per shard", parsePos("--shard-problems"), 1_000_000)
    .addOption(choiceOption("--compress <c>", "corpus: shard compression", COMPRESSIONS).default("gzip"))
    .option("--level <n>", "corpus: gzip level 1-9", parseIntIn("--level", 1, 9), 6)
    .option("--digits", "corpus tokens: digit-level world tokenizer")
    .option(
      "--dedup",
      "corpus: replace duplicate problems as generate does (off: the export equals the pre-training stream)",
    )
    .option(
      "--exclude <files...>",
      "corpus: problem files of other splits none of whose problems may appear (implies --dedup)",
      [],
    )
    .option("--workers <n>", "corpus: worker threads (default: all cores)", parseNat("--workers"))
    .option("--force", "problems: replace an existing --out file (never --problems)")
    .action(async (o: ExportDataOpts) => {
      if (o.corpus) return corpus(o);
      checkOutputs({
        inputs: [{ flag: "--problems", path: o.problems }],
        files: [{ flag: "--out", path: o.out }],
        force: o.force,
      });
      if (!o.problems) throw new Error("give --problems FILE (or --corpus for a pre-training corpus)");
      if (!o.format) throw new Error(`give --format ${orList(DATA_FORMATS)}`);
      if (!isOneOf(DATA_FORMATS, o.format))
        throw new Error(
          `--format must be ${orList(DATA_FORMATS)} for problems (${orList(CORPUS_KINDS)} is for --corpus)`,
        );
      const t0 = performance.now();
      const stats = await exportProblems({
        problems: o.problems,
        format: o.format,
        out: o.out,
        split: o.split,
        dataSource: o.dataSource,
        trlPrompt: o.prompt,
        onProgress: (n) => process.stderr.write(`\r${n} rows`),
      });
      if (stats.rows >= 10_000) process.stderr.write("\n");
      const secs = (performance.now() - t0) / 1000;
      console.error(
        `wrote ${stats.rows} ${o.format} rows (${stats.container}) to ${o.out} in ${secs.toFixed(1)} s`,
      );
    });
}

async function corpus(o: ExportDataOpts): Promise<void> {
  if (o.problems) throw new Error("--corpus draws its own problems: drop --problems");
  if (o.force)
    throw new Error("--force replaces a problems export; a corpus goes to a new or empty --out folder");
  checkOutputs({
    inputs: [
      { flag: "--mixture", path: mixtureFile(o.mixture) },
      ...o.exclude.map((path) => ({ flag: "--exclude", path })),
    ],
    folders: [{ flag: "--out", path: o.out }],
  });
  const kind = o.format ?? "text";
  if (!isOneOf(CORPUS_KINDS, kind))
    throw new Error(`with --corpus, --format is ${orList(CORPUS_KINDS)}, got "${o.format}"`);
  if (o.seed === undefined) throw new Error("--corpus needs --seed");
  let plan: Plan;
  if (o.mixture !== undefined) {
    if (o.ops || o.perOp) throw new Error("use either --mixture with --count, or --ops with --per-op");
    if (o.count === undefined) throw new Error("--mixture needs --count");
    plan = { kind: "mixture", seed: o.seed, mixture: resolveMixture(o.mixture), count: o.count };
  } else {
    if (!o.ops) throw new Error("--corpus needs --mixture (with --count) or --ops (with --per-op)");
    if (o.perOp === undefined) throw new Error("--ops needs --per-op");
    plan = {
      kind: "grid",
      seed: o.seed,
      ops: o.ops,
      contexts: o.contexts,
      modes: o.modes,
      perOp: o.perOp,
    };
    checkGridPlan(plan);
  }
  const exclude = await readHashes(o.exclude);
  const total = planSize(plan);
  const bar = startProgress("export", total);
  const t0 = performance.now();
  const m = await exportCorpus({
    plan,
    out: o.out,
    kind,
    compression: o.compress,
    level: o.level,
    shardProblems: o.shardProblems,
    digits: o.digits ?? false,
    dedup: o.dedup ?? false,
    exclude,
    excludeFiles: o.exclude,
    workers: o.workers,
    onProgress: (done) => bar.update(done),
  });
  bar.stop();
  const secs = (performance.now() - t0) / 1000;
  const bytes = m.shards.reduce((s, x) => s + x.bytes, 0);
  console.error(
    `wrote ${m.problems} problems${m.tokens !== undefined ? ` (${m.tokens} tokens)` : ""} in ${m.shards.length} shard(s), ` +
      `${(bytes / 1e6).toFixed(1)} MB, to ${o.out} in ${secs.toFixed(1)} s` +
      (m.dedup.replaced ? ` (${m.dedup.replaced} duplicates replaced)` : ""),
  );
}
