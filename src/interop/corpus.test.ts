import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { WorldTokenizer } from "../model/tokenizer.js";
import { TokenStream } from "../train/data.js";
import { parseJsonl, readJsonlValues } from "../util/jsonl.js";
import { type Plan, problemHash } from "../world/corpus.js";
import { resolveMixture } from "../world/mixture.js";
import { generateProblem, modelText } from "../world/problem.js";
import type { ProblemKey } from "../world/types.js";
import { exportCorpus } from "./corpus.js";

const dir = mkdtempSync(join(tmpdir(), "interplay-corpus-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A line of a text shard: the problem's key fields, id and model text. */
type ShardRow = Omit<ProblemKey, "seed" | "index"> & { id: string; text: string };

const mixture = resolveMixture("id2-10_uniform");
const plan: Plan = { kind: "mixture", seed: 7, mixture, count: 1300 };

function shardBytes(out: string): Buffer {
  const files = readdirSync(out)
    .filter((f) => f.startsWith("shard-"))
    .sort();
  return Buffer.concat(files.map((f) => readFileSync(join(out, f))));
}

describe("export-data --corpus", () => {
  it("tokens: same bytes with and without workers, equal to the pre-training stream, manifest counts", async () => {
    const a = join(dir, "tok-a");
    const b = join(dir, "tok-b");
    const opts = {
      plan,
      kind: "tokens" as const,
      compression: "none" as const,
      shardProblems: 500,
      chunk: 200,
    };
    const ma = await exportCorpus({ ...opts, out: a, workers: 0 });
    const mb = await exportCorpus({ ...opts, out: b, workers: 2 });
    assert.ok(shardBytes(a).equals(shardBytes(b)), "worker count does not change the bytes");
    assert.equal(
      readFileSync(join(a, "manifest.json"), "utf8"),
      readFileSync(join(b, "manifest.json"), "utf8"),
    );
    assert.deepEqual(
      ma.shards.map((s) => [s.file, s.first, s.problems]),
      [
        ["shard-00000.bin", 0, 500],
        ["shard-00001.bin", 500, 500],
        ["shard-00002.bin", 1000, 300],
      ],
    );
    assert.equal(mb.problems, 1300);
    const sum = (r: Record<string, number>) => Object.values(r).reduce((s, x) => s + x, 0);
    assert.equal(sum(ma.counts.byOp), 1300);
    assert.equal(sum(ma.counts.byContext), 1300);
    assert.equal(sum(ma.counts.byMode), 1300);
    assert.deepEqual(Object.keys(ma.counts.byOp).map(Number), [2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const bytes = shardBytes(a);
    const ids = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
    assert.equal(ids.length, ma.tokens);
    const tok = WorldTokenizer.fromHuggingFace(JSON.parse(readFileSync(join(a, "tokenizer.json"), "utf8")));
    const stream = new TokenStream(tok, mixture, plan.seed);
    const expect = new Int32Array(ids.length);
    stream.fill(expect);
    assert.deepEqual(Array.from(ids), Array.from(expect), "the export is the lab's pre-training stream");
    assert.equal(ids[ids.length - 1], tok.eosId);
  });

  it("text gzip: shards gunzip to JSONL model text; deterministic across worker counts", async () => {
    const a = join(dir, "txt-a");
    const b = join(dir, "txt-b");
    const opts = { plan, kind: "text" as const, shardProblems: 1000, chunk: 300 };
    const m = await exportCorpus({ ...opts, out: a, workers: 2 });
    await exportCorpus({ ...opts, out: b, workers: 1 });
    assert.ok(shardBytes(a).equals(shardBytes(b)));
    assert.deepEqual(
      m.shards.map((s) => s.file),
      ["shard-00000.jsonl.gz", "shard-00001.jsonl.gz"],
    );
    const lines = m.shards.flatMap((s) =>
      parseJsonl(gunzipSync(readFileSync(join(a, s.file))).toString("utf8"), {
        bad: "throw",
        name: s.file,
      }).map((l) => l.value as ShardRow),
    );
    assert.equal(lines.length, 1300);
    const p = generateProblem({ ...lines[17], seed: 7, index: 17 }, { letters: mixture.letters });
    assert.equal(lines[17].id, p.id);
    assert.equal(lines[17].text, modelText(p));
  });

  it("dedup with exclude: no excluded problem appears, replacements counted", async () => {
    const small: Plan = {
      kind: "grid",
      seed: 3,
      ops: [2],
      contexts: ["zoo"],
      modes: ["forward"],
      perOp: 300,
    };
    const firstKeys = Array.from({ length: 50 }, (_, index) => ({
      seed: 3,
      index,
      op: 2,
      context: "zoo",
      mode: "forward" as const,
    }));
    const exclude = new Set(firstKeys.map((k) => problemHash(generateProblem(k))));
    const excluded = new Set(firstKeys.map((k) => modelText(generateProblem(k))));
    const out = join(dir, "grid-dedup");
    const m = await exportCorpus({
      plan: small,
      out,
      kind: "text",
      compression: "none",
      exclude,
      workers: 2,
      chunk: 64,
    });
    assert.ok(m.dedup.enabled);
    assert.ok(m.dedup.replaced >= 50);
    const rows = readJsonlValues<ShardRow>(join(out, "shard-00000.jsonl"));
    assert.equal(rows.length, 300);
    assert.equal(new Set(rows.map((r) => r.text)).size, 300, "no duplicates within the corpus");
    assert.ok(rows.every((r) => !excluded.has(r.text)));
  });

  it("refuses a non-empty folder and leaves nothing behind on failure", async () => {
    const busy = join(dir, "busy");
    mkdirSync(busy);
    writeFileSync(join(busy, "x"), "x");
    await assert.rejects(exportCorpus({ plan, out: busy }), /is not empty/);
    const tiny: Plan = { kind: "grid", seed: 1, ops: [2], contexts: ["zoo"], modes: ["forward"], perOp: 5 };
    const out = join(dir, "fails");
    await assert.rejects(exportCorpus({ plan: tiny, out, level: 12 }), /gzip level/);
    assert.ok(!existsSync(out));
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes("partial")),
      [],
    );
  });
});
