import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { readJsonlValues } from "../util/jsonl.js";
import { verifySample } from "../verify/index.js";
import { generateProblem } from "../world/problem.js";
import type { Mode, Problem } from "../world/types.js";
import { exportProblems } from "./export.js";
import { importGraph, jsonlRow, type TrlRow, trlRow, verlRow } from "./rows.js";
import { readBack } from "./testing/parquet.js";

const dir = mkdtempSync(join(tmpdir(), "interplay-interop-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const problems: Problem[] = [];
for (let op = 2; op <= 20; op += 3) {
  for (const mode of ["forward", "reverse"] as Mode[]) {
    for (const context of ["zoo", "school", "movie"]) {
      problems.push(generateProblem({ seed: 5, index: problems.length, op, context, mode }));
    }
  }
}
const src = join(dir, "problems.jsonl");
writeFileSync(src, problems.map((p) => JSON.stringify(p)).join("\n") + "\n");

describe("export-data: verl parquet", () => {
  it("reads back (arrow-rs) equal to the source rows, with verl's schema", async () => {
    const out = join(dir, "train.parquet");
    const stats = await exportProblems({
      problems: src,
      format: "verl",
      out,
      split: "train",
      rowGroupRows: 7,
    });
    assert.equal(stats.rows, problems.length);
    const { schema, rows } = readBack(out);
    assert.deepEqual(
      rows,
      problems.map((p, i) => verlRow(p, i, { split: "train" })),
    );
    for (const f of [
      "data_source: Utf8",
      "prompt: List<Struct<{role:Utf8, content:Utf8}>>",
      "ability: Utf8",
      "reward_model: Struct<{style:Utf8, ground_truth:Utf8}>",
      "gold_graph:Struct<{nodes:List<Struct<{name:Utf8, value:Float64, parents:List<Utf8>, expr:Utf8}>>}>",
    ])
      assert.ok(schema.includes(f), `${f} in ${schema}`);
    // A reward computed from the row alone equals the library's on the problem.
    for (const [i, r] of (rows as ReturnType<typeof verlRow>[]).entries()) {
      const gold = { graph: importGraph(r.extra_info.gold_graph), answer: r.reward_model.ground_truth };
      const p = problems[i];
      assert.deepEqual(gold.graph, p.graph);
      const bad = p.completion.replace(/Define [^;]*;[^.]*\. /, "");
      assert.deepEqual(verifySample(bad, gold), verifySample(bad, p));
    }
  });

  it("refuses an --out that is not .parquet and leaves nothing on a bad line", async () => {
    await assert.rejects(
      exportProblems({ problems: src, format: "verl", out: join(dir, "x.jsonl") }),
      /ending in \.parquet/,
    );
    const badSrc = join(dir, "bad.jsonl");
    writeFileSync(badSrc, `${JSON.stringify(problems[0])}\n{"id": "x", "op": 3}\n`);
    const out = join(dir, "bad.parquet");
    await assert.rejects(exportProblems({ problems: badSrc, format: "verl", out }), /bad\.jsonl:2: "answer"/);
    assert.ok(!existsSync(out));
    const dup = join(dir, "dup.jsonl");
    writeFileSync(dup, `${JSON.stringify(problems[0])}\n${JSON.stringify(problems[0])}\n`);
    await assert.rejects(
      exportProblems({ problems: dup, format: "trl", out: join(dir, "d.jsonl") }),
      /:2: duplicate id/,
    );
    assert.ok(!existsSync(join(dir, "d.jsonl")));
    const notJson = join(dir, "nj.jsonl");
    writeFileSync(notJson, "{oops\n");
    await assert.rejects(
      exportProblems({ problems: notJson, format: "jsonl", out: join(dir, "o.jsonl") }),
      /:1: not valid JSON/,
    );
  });
});

describe("export-data: TRL and JSONL", () => {
  it("TRL JSONL: standard prompt plus reward columns, equal to the source rows", async () => {
    const out = join(dir, "trl.jsonl");
    await exportProblems({ problems: src, format: "trl", out });
    const rows = readJsonlValues<TrlRow>(out);
    assert.deepEqual(
      rows,
      problems.map((p) => trlRow(p, "text")),
    );
    assert.equal(typeof rows[0].prompt, "string");
    assert.ok(String(rows[0].prompt).endsWith("<solution>"));
  });

  it("TRL parquet (conversational prompt) reads back equal", async () => {
    const out = join(dir, "trl.parquet");
    await exportProblems({ problems: src, format: "trl", out, trlPrompt: "chat" });
    assert.deepEqual(
      readBack(out).rows,
      problems.map((p) => trlRow(p, "chat")),
    );
  });

  it("JSONL: the interop layout, equal to the source problems", async () => {
    const out = join(dir, "sub", "copy.jsonl");
    mkdirSync(join(dir, "sub"), { recursive: true });
    await exportProblems({ problems: src, format: "jsonl", out });
    const rows = readJsonlValues<Problem>(out);
    assert.deepEqual(rows, problems.map(jsonlRow));
    assert.deepEqual(rows, problems);
  });
});

describe("interplay export-data (command line)", () => {
  const bin = fileURLToPath(new URL("../../../bin/interplay.js", import.meta.url));
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [bin, "export-data", ...args], { encoding: "utf8", cwd: dir });

  it("exports problems and corpora, and names what is wrong", () => {
    const ok = run("--problems", src, "--format", "verl", "--out", "cli/train.parquet");
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(readBack(join(dir, "cli/train.parquet")).rows.length, problems.length);
    const corpus = run(
      "--corpus",
      "--ops",
      "2-3",
      "--per-op",
      "30",
      "--seed",
      "4",
      "--format",
      "tokens",
      "--out",
      "cli/corpus",
      "--workers",
      "0",
    );
    assert.equal(corpus.status, 0, corpus.stderr);
    const m = JSON.parse(readFileSync(join(dir, "cli/corpus/manifest.json"), "utf8"));
    assert.deepEqual(m.counts.byOp, { 2: 30, 3: 30 });
    assert.equal(m.tokenizer.dtype, "uint16");
    for (const [args, re] of [
      [["--problems", src, "--out", "x.parquet"], /give --format verl, trl or jsonl/],
      [
        ["--problems", src, "--format", "parquet", "--out", "x.parquet"],
        /Allowed choices are verl, trl, jsonl, text, tokens/,
      ],
      [
        ["--problems", "missing.jsonl", "--format", "trl", "--out", "x.jsonl"],
        /problems file missing\.jsonl does not exist/,
      ],
      [["--corpus", "--mixture", "id2-10_uniform", "--count", "5", "--out", "c2"], /--corpus needs --seed/],
      [["--corpus", "--mixture", "nope", "--count", "5", "--seed", "1", "--out", "c2"], /mixture "nope"/],
      [
        ["--corpus", "--ops", "2", "--per-op", "5", "--seed", "1", "--format", "verl", "--out", "c2"],
        /text or tokens/,
      ],
    ] as [string[], RegExp][]) {
      const r = run(...args);
      assert.equal(r.status, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
  });
});
