import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { readJsonlValues } from "../util/jsonl.js";

const bin = fileURLToPath(new URL("../../../bin/interplay.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "interplay-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", cwd: dir });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
// biome-ignore lint/suspicious/noExplicitAny: the tests read problems, results and summaries alike
const lines = (f: string) => readJsonlValues<any>(join(dir, f));

describe("interplay generate", () => {
  it("writes the contract's fields, covers every cell, and is deterministic by seed", () => {
    const args = [
      "generate",
      "--ops",
      "2-20",
      "--contexts",
      "zoo,school,movie",
      "--modes",
      "forward,reverse",
      "--per-op",
      "12",
    ];
    assert.equal(run(...args, "--seed", "11", "--out", "a.jsonl").code, 0);
    assert.equal(run(...args, "--seed", "11", "--out", "b.jsonl").code, 0);
    assert.equal(run(...args, "--seed", "12", "--out", "c.jsonl").code, 0);
    const a = readFileSync(join(dir, "a.jsonl"));
    assert.ok(a.equals(readFileSync(join(dir, "b.jsonl"))), "same seed, same bytes");
    assert.ok(!a.equals(readFileSync(join(dir, "c.jsonl"))), "another seed, other bytes");
    const ps = lines("a.jsonl");
    assert.equal(ps.length, 19 * 12);
    assert.equal(new Set(ps.map((p) => `${p.op}/${p.context}/${p.mode}`)).size, 19 * 6);
    for (const k of [
      "id",
      "seed",
      "index",
      "context",
      "mode",
      "op",
      "problem",
      "question",
      "solution",
      "answer",
      "prompt",
      "completion",
      "graph",
    ]) {
      assert.ok(k in ps[0], `field ${k}`);
    }
    assert.equal(typeof ps[0].answer, "string");
    assert.equal(typeof ps[0].graph.nodes[0].value, "number");
  });

  it("draws from a mixture", () => {
    assert.equal(
      run("generate", "--mixture", "rl_op11-14", "--count", "50", "--seed", "1", "--out", "m.jsonl").code,
      0,
    );
    const ps = lines("m.jsonl");
    assert.equal(ps.length, 50);
    assert.ok(ps.every((p) => p.op >= 11 && p.op <= 14));
  });

  it("answers bad input with a clear error and writes nothing", () => {
    const cases: [string[], RegExp][] = [
      [["--ops", "1-5", "--per-op", "2"], /op 1 in "1-5" is out of range/],
      [
        ["--ops", "2-5", "--per-op", "2", "--contexts", "mars"],
        /Allowed choices are zoo, school, movie \(comma-separated\); got "mars"/,
      ],
      [["--ops", "2-5", "--per-op", "0"], /--per-op must be a positive integer/],
      [["--ops", "2-5"], /--ops needs --per-op/],
      [["--mixture", "id2-10_uniform"], /--mixture needs --count/],
      [["--mixture", "bad.json", "--count", "3"], /probabilities sum to 1\.8/],
      [
        ["--ops", "2-5", "--per-op", "2", "--modes", "sideways"],
        /Allowed choices are forward, reverse \(comma-separated\); got "sideways"/,
      ],
    ];
    writeFileSync(
      join(dir, "bad.json"),
      JSON.stringify({ contexts: { zoo: { p: 0.9, ops: { "2": 1 } }, school: { p: 0.9, ops: { "2": 1 } } } }),
    );
    for (const [args, msg] of cases) {
      const r = run("generate", ...args, "--seed", "1", "--out", "never.jsonl");
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.err}`);
      assert.match(r.err, msg);
      assert.ok(!existsSync(join(dir, "never.jsonl")));
    }
  });
});

describe("interplay verify", () => {
  it("verifies gold samples as correct, keeps sample order, and records bad lines in place", () => {
    run("generate", "--ops", "2-4", "--per-op", "6", "--seed", "3", "--out", "p.jsonl");
    const ps = lines("p.jsonl");
    const samples = [
      ...ps.map((p) => JSON.stringify({ id: p.id, completion: p.completion })),
      JSON.stringify({ id: ps[0].id, completion: ps[0].prompt + ps[0].completion }),
      "{not json",
      JSON.stringify({ id: "nope", completion: "x" }),
      JSON.stringify({ completion: "x" }),
    ];
    writeFileSync(join(dir, "s.jsonl"), `${samples.join("\n")}\n`);
    const r = run("verify", "--problems", "p.jsonl", "--samples", "s.jsonl", "--out", "r.jsonl");
    assert.equal(r.code, 2, "bad sample lines give exit code 2");
    assert.match(r.out, /pass@1/);
    assert.match(r.err, /s\.jsonl:20: not valid JSON/);
    assert.match(r.err, /unknown problem id "nope"/);
    const rs = lines("r.jsonl");
    assert.equal(rs.length, samples.length);
    for (let i = 0; i <= ps.length; i++) {
      assert.equal(rs[i].verified, true);
      assert.deepEqual(rs[i].rewards, { outcome: 1, process: 1, composite: 1, strict: 1 });
    }
    assert.equal(rs[ps.length + 1].error.startsWith("not valid JSON"), true);
    assert.equal(rs[ps.length + 2].id, "nope");
  });

  it("slips block verified unless --allow-slips; prints and writes verified with and without extra nodes", () => {
    run("generate", "--ops", "3-4", "--per-op", "4", "--modes", "forward", "--seed", "5", "--out", "q.jsonl");
    const ps = lines("q.jsonl");
    // Each completion's last written result changed (`= 3 + 2 = 12`), or an extra node added.
    const slipped = (c: string) =>
      c.replace(/= (\d+)\. <\/solution>/, (_, n) => `= ${Number(n) + 7}. </solution>`);
    const extra = (c: string) =>
      c.replace(" Define", " Define imaginary toad in Nowhere as Q9; so Q9 = 4. Define");
    const samples = ps.flatMap((p) => [
      JSON.stringify({ id: p.id, completion: slipped(p.completion) }),
      JSON.stringify({ id: p.id, completion: extra(p.completion) }),
    ]);
    writeFileSync(join(dir, "q-s.jsonl"), `${samples.join("\n")}\n`);
    const args = ["verify", "--problems", "q.jsonl", "--samples", "q-s.jsonl", "--out", "q-r.jsonl"];
    const r = run(...args, "--summary", "q-sum.json");
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /verified under: extra nodes allowed \(allowExtra true\), arithmetic slips not allowed/,
    );
    assert.match(r.out, /pass@1 extras allowed.*pass@1 no extras/);
    const rs = lines("q-r.jsonl");
    const slips = rs.filter((_, i) => i % 2 === 0);
    const extras = rs.filter((_, i) => i % 2 === 1);
    assert.ok(
      slips.every((x) => x.errors.arithmeticSlips.length === 1 && !x.verified && x.rewards.strict === 0),
    );
    assert.ok(extras.every((x) => x.verified && x.verifiedAllowExtra && !x.verifiedNoExtra));
    const sum = JSON.parse(readFileSync(join(dir, "q-sum.json"), "utf8"));
    assert.deepEqual(sum.verify, { allowExtra: true, allowSlips: false });
    assert.equal(sum.byExtra.allowExtra.perBand[0].passAtK[1].mean, 0.5);
    assert.equal(sum.byExtra.noExtra.perBand[0].passAtK[1].mean, 0);
    const lenient = run(...args, "--allow-slips", "--no-allow-extra", "--force");
    assert.equal(lenient.code, 0, lenient.err);
    assert.match(lenient.out, /extra nodes not allowed \(allowExtra false\), arithmetic slips allowed/);
    const ls = lines("q-r.jsonl");
    assert.ok(ls.filter((_, i) => i % 2 === 0).every((x) => x.verified && x.rewards.strict === 1));
    assert.ok(ls.filter((_, i) => i % 2 === 1).every((x) => !x.verified && x.verifiedAllowExtra));
  });

  it("rejects empty and malformed problem files, and empty sample files", () => {
    writeFileSync(join(dir, "empty.jsonl"), "");
    writeFileSync(join(dir, "badp.jsonl"), `${JSON.stringify({ id: "a", op: 2, answer: "3" })}\n`);
    let r = run("verify", "--problems", "empty.jsonl", "--samples", "s.jsonl", "--out", "x.jsonl");
    assert.match(r.err, /problems file .*empty\.jsonl is empty/);
    r = run("verify", "--problems", "badp.jsonl", "--samples", "s.jsonl", "--out", "x.jsonl");
    assert.match(r.err, /badp\.jsonl:1: "graph" must be/);
    r = run("verify", "--problems", "p.jsonl", "--samples", "empty.jsonl", "--out", "x.jsonl");
    assert.match(r.err, /samples file .*empty\.jsonl is empty/);
    assert.ok(!existsSync(join(dir, "x.jsonl")));
  });
});

describe("bad option values: one format, naming the flag, the value and what is expected", () => {
  /**
   * `error: option 'FLAG <ARG>' argument 'VALUE' is invalid. EXPECTED` (commander's format) and exit
   * 1, where FLAG and VALUE are the last two arguments.
   */
  function refusedValue(args: string[], arg: string, expected: string) {
    const r = run(...args);
    assert.equal(r.code, 1, `${args.join(" ")}: ${r.err}`);
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const [flag, value] = args.slice(-2);
    assert.match(
      r.err,
      new RegExp(
        `^error: option '${esc(`${flag} ${arg}`)}' argument '${esc(value)}' is invalid\\. ${esc(expected)}$`,
        "m",
      ),
      args.join(" "),
    );
  }
  const verify = ["verify", "--problems", "p.jsonl", "--samples", "s.jsonl", "--out", "x.jsonl"];
  const evalArgs = ["eval", "--model", "none", "--ops", "2", "--per-op", "1", "--out", "e"];

  it("a bad choice on two commands", () => {
    refusedValue(
      ["serve", "--reward", "best"],
      "<name>",
      "Allowed choices are outcome, process, composite, strict.",
    );
    refusedValue([...verify, "--estimator", "mean"], "<name>", "Allowed choices are unbiased, firstK.");
  });

  it("a bad element of a comma-separated choice list", () => {
    const generate = ["generate", "--ops", "2", "--per-op", "1", "--seed", "1", "--out", "x.jsonl"];
    refusedValue(
      [...generate, "--contexts", "zoo,,mars"],
      "<list>",
      'Allowed choices are zoo, school, movie (comma-separated); got "mars".',
    );
    refusedValue(
      [...evalArgs, "--modes", ","],
      "<list>",
      "Allowed choices are forward, reverse (comma-separated); got none.",
    );
  });

  it("a bad number, a bad natural, a bad positive integer, a bad integer range, a bad fraction", () => {
    const corpus = ["export-data", "--corpus", "--ops", "2", "--per-op", "1", "--seed", "1", "--out", "c"];
    for (const [args, arg, expected] of [
      [[...evalArgs, "--temperature", "warm"], "<t>", "--temperature must be a number."],
      [[...evalArgs, "--seed", "-1"], "<n>", "--seed must be a non-negative integer."],
      [[...evalArgs, "--top-k", "1.5"], "<k>", "--top-k must be a non-negative integer."],
      [[...evalArgs, "--samples", "0"], "<n>", "--samples must be a positive integer."],
      [[...corpus, "--level", "10"], "<n>", "--level must be an integer from 1 to 9."],
      [[...verify, "--alpha", "0.5abc"], "<a>", "--alpha must be a decimal number in [0, 1]."],
    ] as [string[], string, string][])
      refusedValue(args, arg, expected);
  });

  it("--backend bogus is refused by every command that takes --backend, and the list of them is complete", () => {
    const commands = [...run("--help").out.matchAll(/^ {2}([a-z][a-z-]*)(?: \[options\])?/gm)].map(
      (m) => m[1],
    );
    assert.ok(commands.includes("eval") && commands.includes("doctor"), commands.join(" "));
    const withBackend = commands.filter((c) => /--backend <name>/.test(run(c, "--help").out));
    assert.deepEqual(withBackend.sort(), ["decode", "edge", "eval", "midtrain", "pretrain", "rl"]);
    for (const c of withBackend) {
      assert.match(run(c, "--help").out.replace(/\s+/g, " "), /choices: "auto", "native", "reference"/, c);
      refusedValue([c, "--backend", "bogus"], "<name>", "Allowed choices are auto, native, reference.");
    }
  });
});

describe("interplay --version, doctor, and the old spelling of export --model", () => {
  it("--version is package.json's version", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8"));
    const r = run("--version");
    assert.equal(r.code, 0);
    assert.equal(r.out.trim(), pkg.version);
  });

  it("doctor names this machine's CPU and its flags and prints a measured sgemm rate, fast", () => {
    const t0 = performance.now();
    const r = run("doctor");
    const secs = (performance.now() - t0) / 1000;
    assert.match(r.out, /^CPU: .+ \(\d+ logical cores\)$/m);
    assert.match(r.out, /^SIMD\/AMX flags: /m);
    if (r.code === 0) {
      assert.match(r.out, /^sgemm 1024³: \d+\.\d GFLOP\/s measured on this machine/m);
      assert.match(
        r.out,
        /^bf16 products: (amx|avx512bf16|portable)( \(INTERPLAY_MATMUL=\w+\))?; AVX512_BF16 (yes|no), AMX (yes|no)/m,
      );
      assert.match(
        r.out,
        /^peak: fp32 FMA loop \d+\.\d GFLOP\/s, bf16 dot-product loop( \d+\.\d GFLOP\/s|: none \(this CPU has no AVX512_BF16\))/m,
      );
      if (/bf16 products: avx512bf16/.test(r.out))
        assert.match(r.out, /^bf16 product 1024³: \d+\.\d GFLOP\/s/m);
    }
    assert.doesNotMatch(r.out, /Zen 4|≈ 230/);
    assert.ok(secs < 3, `doctor took ${secs.toFixed(1)} s`);
  });

  it("INTERPLAY_MATMUL forces the bf16 path; a bad or unavailable value is a clear error", () => {
    const withEnv = (v: string) => {
      const r = spawnSync(process.execPath, [bin, "doctor"], {
        encoding: "utf8",
        cwd: dir,
        env: { ...process.env, INTERPLAY_MATMUL: v },
      });
      return { code: r.status, out: r.stdout, err: r.stderr };
    };
    const portable = withEnv("portable");
    if (portable.code !== 0) return; // no native engine: doctor says so, tested above
    assert.match(portable.out, /^bf16 products: portable \(INTERPLAY_MATMUL=portable\)/m);
    assert.match(portable.out, /bf16 runs the portable emulation \(slow; use fp32\)/);
    assert.match(withEnv("fp32").out, /^bf16 products: portable/m);
    const bad = withEnv("fast");
    assert.notEqual(bad.code, 0);
    assert.match(bad.out + bad.err, /INTERPLAY_MATMUL must be one of amx, avx512bf16, portable, fp32/);
    assert.match(
      withEnv("amx").out + withEnv("amx").err,
      /INTERPLAY_MATMUL=amx: this (CPU has no AMX|build has no AMX kernels yet)/,
    );
    // Training refuses too (no silent fallback to the reference kernels) and writes nothing.
    const t = spawnSync(
      process.execPath,
      [bin, "pretrain", "--preset", "micro", "--mixture", "op2-3", "--tokens", "100", "--out", "bad-env-run"],
      { encoding: "utf8", cwd: dir, env: { ...process.env, INTERPLAY_MATMUL: "fast" } },
    );
    assert.equal(t.status, 1);
    assert.match(t.stderr, /INTERPLAY_MATMUL must be one of/);
    assert.ok(!existsSync(join(dir, "bad-env-run")), "nothing written");
  });

  it("study --plan prints the stages and the time at this machine's measured rates, and writes nothing", () => {
    const r = run("study", "depth", "--scale", "tiny", "--out", "plan-only", "--plan");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^base +pretrain +tiny/m);
    assert.match(
      r.out,
      /^total ≈ \d\.\d+e\+\d+ FLOPs \((\d+\.\d h at this machine's measured (rates: training at the bf16 product rate \d+ GFLOP\/s, sampling at the sgemm rate \d+|sgemm rate, \d+) GFLOP\/s|no time estimate: .*)\)$/m,
    );
    assert.ok(!existsSync(join(dir, "plan-only")));
  });

  it("export takes --model; --run still works but is not in the help", () => {
    const help = run("export", "--help").out;
    assert.match(help, /--model <run>/);
    assert.doesNotMatch(help, /--run/);
    const viaRun = run("export", "--run", "missing-run", "--out", "hf");
    const viaModel = run("export", "--model", "missing-run", "--out", "hf");
    assert.equal(viaRun.code, 1);
    assert.doesNotMatch(viaRun.err, /required option/);
    assert.equal(viaRun.err, viaModel.err, "the old spelling reads the same run");
    assert.match(run("export", "--out", "hf").err, /required option '--model <run>' not specified/);
  });
});
