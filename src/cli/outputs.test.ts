import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { writeEvalOutputs } from "../report/io.js";
import { syntheticRecords } from "../report/testing/fixtures.js";
import { buildEvalSummary } from "../stats/evaluation.js";

const bin = fileURLToPath(new URL("../../../bin/interplay.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "interplay-outputs-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const env = { ...process.env, INTERPLAY_THREADS: "1" };

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd: dir, env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const at = (f: string) => join(dir, f);
const read = (f: string) => readFileSync(at(f));
/** Every file under `d` with its bytes: what a refused command must leave as it was. */
function snapshot(d = dir): Map<string, string> {
  const m = new Map<string, string>();
  const walk = (p: string) => {
    for (const e of readdirSync(p, { withFileTypes: true })) {
      const q = join(p, e.name);
      if (e.isDirectory()) walk(q);
      else m.set(q, e.isSymbolicLink() ? "link" : readFileSync(q, "base64"));
    }
  };
  walk(d);
  return m;
}
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Runs a command that must be refused: exit 1, a message matching `re`, and no file changed. */
function refused(args: string[], re: RegExp) {
  const before = snapshot();
  const r = run(...args);
  assert.equal(r.code, 1, `${args.join(" ")}: exit ${r.code}\n${r.err}`);
  assert.match(r.err, re, args.join(" "));
  assert.deepEqual(snapshot(), before, `${args.join(" ")} changed files`);
}

const PROTO = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"];

/** The refusal of a comma-separated list `value` of `flag` whose element `bad` is not among `names`. */
const list = (flag: string, value: string, names: string, bad = value) =>
  new RegExp(
    `error: option '${esc(flag)} <list>' argument '${esc(value)}' is invalid\\. Allowed choices are ${esc(names)} \\(comma-separated\\); got ${esc(JSON.stringify(bad))}\\.`,
  );

/** Commander's refusal of `value` for option `flag` whose choices are `names`. */
const choice = (flag: string, value: string, names: string) =>
  new RegExp(
    `error: option '${esc(flag)} <[^>]+>' argument '${esc(value)}' is invalid\\. Allowed choices are ${esc(names)}\\.`,
  );

describe("names from the command line are looked up by own key", () => {
  before(() => {
    mkdirSync(at("names"), { recursive: true });
  });

  it("pretrain --preset (issue 13.6), study names and scales, bench workloads, mixtures", () => {
    for (const name of PROTO) {
      const q = esc(JSON.stringify(name));
      refused(
        ["pretrain", "--preset", name, "--mixture", "op2-3", "--tokens", "100", "--out", "names/run"],
        choice("--preset", name, "micro, tiny, compact, small, paper, bench"),
      );
      refused(
        ["generate", "--mixture", name, "--count", "3", "--seed", "1", "--out", "names/m.jsonl"],
        new RegExp(`mixture ${q} is neither a preset \\(id2-10_uniform, .*rl_opA-B\\) nor a readable file`),
      );
      refused(
        ["pretrain", "--mixture", name, "--tokens", "100", "--out", "names/run"],
        new RegExp(`mixture ${q} is neither a preset`),
      );
      refused(
        ["study", name, "--out", "names/s", "--plan"],
        new RegExp(`${q} is neither a study \\(depth, breadth, allocation, reward\\)`),
      );
      refused(
        ["study", "depth", "--scale", name, "--out", "names/s", "--plan"],
        choice("--scale", name, "tiny, small, paper"),
      );
      refused(
        ["bench", name],
        new RegExp(
          `command-argument value '${esc(name)}' is invalid for argument 'workload'\\. Allowed choices are train, pretrain, sample, world, matmul\\.`,
        ),
      );
    }
  });

  it("--backend and the other choices of eval, edge, decode, rl, verify, export-data, stats, generate", () => {
    const backend = (name: string) => choice("--backend", name, "auto, native, reference");
    const e = ["eval", "--model", "names/none", "--ops", "2", "--per-op", "1", "--out", "names/e"];
    const r = ["rl", "--from", "names/none", "--prompts", "op2-3", "--steps", "1", "--out", "names/r"];
    for (const name of PROTO) {
      refused([...e, "--backend", name], backend(name));
      refused([...r, "--backend", name], backend(name));
    }
    const v = ["verify", "--problems", "none.jsonl", "--samples", "none.jsonl", "--out", "names/v.jsonl"];
    const x = ["export-data", "--problems", "none.jsonl", "--out", "names/x.jsonl"];
    const c = ["export-data", "--corpus", "--ops", "2", "--per-op", "1", "--seed", "1", "--out", "names/c"];
    const g = ["generate", "--ops", "2", "--per-op", "1", "--seed", "1", "--out", "names/g.jsonl"];
    // Each choice with a prototype name, the five names in turn.
    type Choice = [args: (name: string) => string[], re: (name: string) => RegExp];
    const backends: ((n: string) => string[])[] = [
      (n) => ["edge", "--model", "names/none", "--ops", "2", "--out", "names/e", "--backend", n],
      (n) => ["decode", "--model", "names/none", "--backend", n],
      (n) => [
        "midtrain",
        "--from",
        "names/none",
        "--mixture",
        "op2-3",
        "--tokens",
        "1",
        "--out",
        "names/r",
        "--backend",
        n,
      ],
      (n) => ["pretrain", "--mixture", "op2-3", "--tokens", "1", "--out", "names/r", "--backend", n],
    ];
    const choices: Choice[] = backends.map((f) => [f, backend]);
    choices.push(
      [(n) => [...e, "--kv-cache", n], (n) => choice("--kv-cache", n, "f32, f16")],
      [(n) => [...e, "--products", n], (n) => choice("--products", n, "f32, bf16")],
      [(n) => [...v, "--composite", n], (n) => choice("--composite", n, "gated, linear")],
      [(n) => [...v, "--estimator", n], (n) => choice("--estimator", n, "unbiased, firstK")],
      [(n) => [...x, "--format", n], (n) => choice("--format", n, "verl, trl, jsonl, text, tokens")],
      [(n) => [...x, "--format", "trl", "--prompt", n], (n) => choice("--prompt", n, "text, chat")],
      [(n) => [...c, "--compress", n], (n) => choice("--compress", n, "gzip, none")],
      [(n) => [...c, "--format", n], (n) => choice("--format", n, "verl, trl, jsonl, text, tokens")],
      [
        (n) => ["stats", "--ops", "2", "--per-op", "1", "--mode", n],
        (n) => choice("--mode", n, "forward, reverse"),
      ],
      [(n) => [...g, "--contexts", n], (n) => list("--contexts", n, "zoo, school, movie")],
      [(n) => [...g, "--modes", n], (n) => list("--modes", n, "forward, reverse")],
      [(n) => [...r, "--reward", n], (n) => choice("--reward", n, "outcome, process, composite, strict")],
      [(n) => [...r, "--advantage", n], (n) => choice("--advantage", n, "grpo, drgrpo")],
      [(n) => [...r, "--rollout-cache", n], (n) => choice("--rollout-cache", n, "f32, f16")],
      [(n) => [...r, "--rollout-products", n], (n) => choice("--rollout-products", n, "f32, bf16")],
      [(n) => ["serve", "--reward", n], (n) => choice("--reward", n, "outcome, process, composite, strict")],
      [(n) => ["serve", "--composite", n], (n) => choice("--composite", n, "gated, linear")],
      [
        (n) => ["compare", "--before", "a", "--after", "b", "--out", "names/c.html", "--estimator", n],
        (n) => choice("--estimator", n, "unbiased, firstK"),
      ],
      [
        (n) => ["pretrain", "--mixture", "op2-3", "--tokens", "1", "--out", "names/r", "--packing", n],
        (n) => choice("--packing", n, "aligned, fit, stream"),
      ],
      [
        (n) => ["decode", "--model", "names/none", "--modes", `forward,${n}`],
        (n) => list("--modes", `forward,${n}`, "forward, reverse", n),
      ],
      [
        (n) => [...e, "--contexts", `zoo,${n}`],
        (n) => list("--contexts", `zoo,${n}`, "zoo, school, movie", n),
      ],
    );
    choices.forEach(([args, re], i) => {
      const name = PROTO[i % PROTO.length];
      refused(args(name), re(name));
    });
  });
});

describe("an output is never one of the command's inputs; existing files need --force", () => {
  before(() => {
    assert.equal(run("generate", "--ops", "2-3", "--per-op", "3", "--seed", "1", "--out", "p.jsonl").code, 0);
    const ps = read("p.jsonl")
      .toString()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    writeFileSync(
      at("s.jsonl"),
      ps.map((p) => JSON.stringify({ id: p.id, completion: p.completion })).join("\n"),
    );
    symlinkSync("p.jsonl", at("p-link.jsonl"));
    linkSync(at("p.jsonl"), at("p-hard.jsonl"));
    writeFileSync(
      at("mix.json"),
      JSON.stringify({ contexts: { zoo: { p: 1, ops: { "2": 1 } } }, modes: { forward: 1 } }),
    );
    const records = syntheticRecords({ seed: 1, ops: [2, 3], problemsPerOp: 3, samples: 2 });
    writeEvalOutputs(at("eval-a"), buildEvalSummary(records, { resamples: 20 }));
    writeEvalOutputs(at("eval-b"), buildEvalSummary(records, { resamples: 20 }));
    mkdirSync(at("run"));
    writeFileSync(at("run/config.json"), "{}");
    mkdirSync(at("runs/rl"), { recursive: true });
    writeFileSync(at("runs/rl/prompts.jsonl"), read("p.jsonl"));
    writeFileSync(at("eval-a/p.jsonl"), read("p.jsonl"));
  });

  it("verify --out P.jsonl --problems P.jsonl (issue 13.7) and every other way to name an input", () => {
    const v = (...x: string[]) => ["verify", "--problems", "p.jsonl", "--samples", "s.jsonl", ...x];
    const same = (flag: string, path: string, input: string, inputPath: string) =>
      new RegExp(
        `^interplay: ${flag} ${esc(path)} is the same file as ${input} ${esc(inputPath)}, an input`,
        "m",
      );
    refused(v("--out", "p.jsonl"), same("--out", "p.jsonl", "--problems", "p.jsonl"));
    refused(v("--out", "p.jsonl", "--force"), same("--out", "p.jsonl", "--problems", "p.jsonl"));
    refused(v("--out", "s.jsonl", "--force"), same("--out", "s.jsonl", "--samples", "s.jsonl"));
    refused(v("--out", "./x/../p.jsonl"), same("--out", "./x/../p.jsonl", "--problems", "p.jsonl"));
    refused(v("--out", at("p.jsonl")), same("--out", at("p.jsonl"), "--problems", "p.jsonl"));
    refused(v("--out", "p-link.jsonl", "--force"), same("--out", "p-link.jsonl", "--problems", "p.jsonl"));
    refused(v("--out", "p-hard.jsonl", "--force"), same("--out", "p-hard.jsonl", "--problems", "p.jsonl"));
    refused(
      v("--out", "r.jsonl", "--summary", "s.jsonl"),
      same("--summary", "s.jsonl", "--samples", "s.jsonl"),
    );
    refused(
      v("--out", "r.jsonl", "--summary", "r.jsonl"),
      /--summary r\.jsonl is the same path as --out r\.jsonl/,
    );
    assert.ok(!existsSync(at("r.jsonl")));
  });

  it("verify and generate refuse an existing --out unless --force, and then replace it", () => {
    const v = ["verify", "--problems", "p.jsonl", "--samples", "s.jsonl"];
    assert.equal(run(...v, "--out", "r.jsonl", "--summary", "sum.json").code, 0);
    writeFileSync(at("r.jsonl"), "old");
    refused([...v, "--out", "r.jsonl"], /--out r\.jsonl already exists; pass --force to replace it/);
    refused([...v, "--out", "r2.jsonl", "--summary", "sum.json"], /--summary sum\.json already exists/);
    assert.ok(!existsSync(at("r2.jsonl")));
    assert.equal(run(...v, "--out", "r.jsonl", "--summary", "sum.json", "--force").code, 0);
    assert.notEqual(read("r.jsonl").toString(), "old");

    const g = ["generate", "--ops", "2", "--per-op", "2", "--seed", "9"];
    writeFileSync(at("g.jsonl"), "old");
    refused([...g, "--out", "g.jsonl"], /--out g\.jsonl already exists; pass --force/);
    refused(
      [...g, "--out", "p.jsonl", "--exclude", "p.jsonl", "--force"],
      /--out p\.jsonl is the same file as --exclude p\.jsonl/,
    );
    refused(
      [...g, "--out", "p-link.jsonl", "--exclude", "p.jsonl", "--force"],
      /is the same file as --exclude p\.jsonl/,
    );
    refused(
      ["generate", "--mixture", "mix.json", "--count", "2", "--seed", "1", "--out", "mix.json", "--force"],
      /--out mix\.json is the same file as --mixture mix\.json/,
    );
    refused([...g, "--out", "eval-a"], /--out eval-a is a folder/);
    assert.equal(run(...g, "--out", "g.jsonl", "--force").code, 0);
    assert.equal(read("g.jsonl").toString().trim().split("\n").length, 2);
  });

  it("export-data: problems file and corpus folder", () => {
    const x = ["export-data", "--problems", "p.jsonl", "--format", "jsonl"];
    refused([...x, "--out", "p.jsonl", "--force"], /--out p\.jsonl is the same file as --problems p\.jsonl/);
    refused([...x, "--out", "p-hard.jsonl", "--force"], /is the same file as --problems p\.jsonl/);
    refused([...x, "--out", "g.jsonl"], /--out g\.jsonl already exists; pass --force/);
    assert.equal(run(...x, "--out", "g.jsonl", "--force").code, 0);
    const c = ["export-data", "--corpus", "--ops", "2", "--per-op", "2", "--seed", "1"];
    refused(
      [...c, "--exclude", "p.jsonl", "--out", "p.jsonl"],
      /--out p\.jsonl is the same file as --exclude p\.jsonl/,
    );
    refused([...c, "--out", "corpus", "--force"], /--force replaces a problems export/);
  });

  it("report and compare: never onto a summary; the evaluation's own report.html is re-rendered", () => {
    refused(
      ["report", "--eval", "eval-a", "--out", "eval-a/summary.json"],
      /--out eval-a\/summary\.json is the same file as --eval/,
    );
    refused(
      ["report", "--eval", "eval-a/summary.json", "--out", "eval-a/summary.json", "--force"],
      /is the same file as --eval eval-a\/summary\.json/,
    );
    refused(
      ["report", "--eval", "eval-a", "--out", "p.jsonl"],
      /--out p\.jsonl already exists; pass --force/,
    );
    writeFileSync(at("eval-a/report.html"), "old");
    assert.equal(run("report", "--eval", "eval-a").code, 0);
    assert.match(read("eval-a/report.html").toString(), /^<!doctype html>/);
    assert.equal(run("report", "--eval", "eval-a", "--out", "eval-a/report.html").code, 0);
    const cmp = ["compare", "--before", "eval-a", "--after", "eval-b", "--resamples", "20"];
    refused(
      [...cmp, "--out", "eval-b/summary.json", "--force"],
      /--out eval-b\/summary\.json is the same file as --after/,
    );
    refused(
      [...cmp, "--out", "c.html", "--json", "eval-a/summary.json"],
      /--json eval-a\/summary\.json is the same file as --before/,
    );
    refused(
      [...cmp, "--out", "c.html", "--json", "c.html"],
      /--json c\.html is the same path as --out c\.html/,
    );
    assert.equal(run(...cmp, "--out", "c.html").code, 0);
    refused([...cmp, "--out", "c.html"], /--out c\.html already exists; pass --force/);
    assert.equal(run(...cmp, "--out", "c.html", "--force").code, 0);
  });

  it("folder outputs: not an input folder, not inside one, and no input inside them", () => {
    refused(["export", "--model", "run", "--out", "run"], /--out run is the same folder as --model run/);
    // The old spelling --run is named as given.
    refused(["export", "--run", "run", "--out", "run"], /--out run is the same folder as --run run/);
    refused(
      ["export", "--run", "run", "--out", "run/hf"],
      /--out run\/hf is inside --run run, an input folder/,
    );
    refused(
      ["eval", "--model", "run", "--ops", "2", "--per-op", "1", "--out", "run"],
      /--out run is the same folder as --model run/,
    );
    refused(
      ["eval", "--model", "run", "--ops", "2", "--per-op", "1", "--out", "run/eval"],
      /inside --model run/,
    );
    refused(
      ["eval", "--model", "run", "--problems", "eval-a/p.jsonl", "--out", "eval-a"],
      /--problems eval-a\/p\.jsonl is inside --out eval-a, the folder this command writes into/,
    );
    refused(
      ["edge", "--model", "run", "--ops", "2", "--out", "./run/"],
      /--out \.\/run\/ is the same folder as --model run/,
    );
    refused(
      ["midtrain", "--from", "run", "--mixture", "op2-3", "--tokens", "10", "--out", "run", "--resume"],
      /--out run is the same folder as --from run/,
    );
    refused(
      [
        "pretrain",
        "--preset",
        "micro",
        "--mixture",
        "run/config.json",
        "--tokens",
        "10",
        "--out",
        "run",
        "--resume",
      ],
      /--mixture run\/config\.json is inside --out run/,
    );
    refused(
      [
        "rl",
        "--from",
        "run",
        "--prompts",
        "runs/rl/prompts.jsonl",
        "--steps",
        "1",
        "--out",
        "runs/rl",
        "--resume",
      ],
      /--prompts runs\/rl\/prompts\.jsonl is inside --out runs\/rl/,
    );
    refused(
      ["rl", "--from", "run", "--prompts", "op2-3", "--steps", "1", "--out", "p.jsonl"],
      /--out p\.jsonl exists and is not a folder/,
    );
    writeFileSync(at("eval-b/study.json"), "{}");
    refused(
      ["study", "eval-b/study.json", "--out", "eval-b"],
      /study file eval-b\/study\.json is inside --out eval-b/,
    );
    refused(["demo", "--out", "p.jsonl"], /--out p\.jsonl exists and is not a folder/);
  });

  it("same and inside: by real path (symlinked folders) and by inode", async () => {
    const { insidePath, samePath } = await import("./outputs.js");
    mkdirSync(at("real/sub"), { recursive: true });
    symlinkSync("real", at("alias"));
    assert.ok(samePath(at("alias/sub"), at("real/sub")));
    assert.ok(samePath(at("alias/new.jsonl"), at("real/new.jsonl")), "paths that do not exist yet");
    assert.ok(samePath(at("p-hard.jsonl"), at("p.jsonl")));
    assert.ok(!samePath(at("g.jsonl"), at("p.jsonl")));
    assert.ok(insidePath(at("alias/sub/x"), at("real")));
    assert.ok(insidePath(at("real/sub"), at("alias")));
    assert.ok(!insidePath(at("real"), at("real")));
    assert.ok(!insidePath(at("realx"), at("real")));
  });
});
