import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { native } from "../engine/native.js";
import { presetConfig } from "../model/config.js";
import { Model } from "../model/model.js";
import { WorldTokenizer } from "../model/tokenizer.js";
import { readJsonlValues } from "../util/jsonl.js";
import { Rng } from "../util/rng.js";
import { measureEdge } from "./edge-run.js";
import { gridProblems, runEvaluation } from "./runner.js";

const tok = new WorldTokenizer();
const model = new Model(native, presetConfig("micro", tok.vocabSize));
const rng = new Rng(1);
model.init(() => rng.next(), 0.5);
const dir = mkdtempSync(join(tmpdir(), "interplay-eval-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const settings = {
  model: "micro",
  problems: "grid",
  samples: 3,
  temperature: 1,
  topP: 1,
  topK: 0,
  maxNew: 12,
  seed: 5,
};
const problems = gridProblems({ ops: [2, 3], perOp: 2, seed: 5, modes: ["forward"] });

describe("runEvaluation", () => {
  it("writes one sample and one result line per completion; a cut run resumes to the same bytes", () => {
    const full = join(dir, "full");
    const a = runEvaluation({ model, tokenizer: tok, problems, out: full, settings, batch: 4 });
    assert.equal(a.results.length, problems.length * 3);
    const samples = readFileSync(join(full, "samples.jsonl"), "utf8").trim().split("\n");
    assert.equal(samples.length, 12);
    // A "killed" run: the first 5 sample lines, the 6th cut in half, results lagging behind.
    const cut = join(dir, "cut");
    const partial = `${samples.slice(0, 5).join("\n")}\n${samples[5].slice(0, 20)}`;
    mkdirSync(cut, { recursive: true });
    writeFileSync(join(cut, "eval.json"), readFileSync(join(full, "eval.json")));
    writeFileSync(join(cut, "samples.jsonl"), partial);
    writeFileSync(join(cut, "results.jsonl"), "");
    const b = runEvaluation({ model, tokenizer: tok, problems, out: cut, settings, batch: 2 });
    assert.equal(b.stats?.completions, 12 - 5, "only the missing completions are sampled");
    const key = (l: string) => {
      const x = JSON.parse(l);
      return `${x.id}#${x.sample}`;
    };
    const sortLines = (p: string) =>
      readFileSync(p, "utf8")
        .trim()
        .split("\n")
        .sort((x, y) => key(x).localeCompare(key(y)));
    assert.deepEqual(sortLines(join(cut, "samples.jsonl")), sortLines(join(full, "samples.jsonl")));
    assert.deepEqual(sortLines(join(cut, "results.jsonl")), sortLines(join(full, "results.jsonl")));
    assert.deepEqual(b.results, a.results);
  });

  it("runs with a half-precision cache and records it in eval.json", () => {
    const out = join(dir, "f16");
    const r = runEvaluation({
      model,
      tokenizer: tok,
      problems,
      out,
      settings: { ...settings, kvCache: "f16" },
    });
    assert.equal(r.results.length, problems.length * 3);
    assert.equal(JSON.parse(readFileSync(join(out, "eval.json"), "utf8")).kvCache, "f16");
    assert.throws(
      () =>
        runEvaluation({
          model,
          tokenizer: tok,
          problems,
          out: join(dir, "f8"),
          settings: { ...settings, kvCache: "f8" as never },
        }),
      /kv cache must be "f32" or "f16"/,
    );
  });

  it("records the verification policies in eval.json and results; a resume may change them", () => {
    const out = join(dir, "policy");
    const a = runEvaluation({ model, tokenizer: tok, problems, out, settings });
    const cfg = () => JSON.parse(readFileSync(join(out, "eval.json"), "utf8"));
    assert.equal(cfg().allowExtra, true);
    assert.equal(cfg().allowSlips, false, "the default: slips block verified");
    assert.deepEqual(a.results[0].policy, { allowExtra: true, allowSlips: false });
    // Same samples, other policy: nothing is sampled again, results and eval.json follow the policy.
    const b = runEvaluation({ model, tokenizer: tok, problems, out, settings, verify: { allowSlips: true } });
    assert.equal(b.stats, null);
    assert.equal(cfg().allowSlips, true);
    assert.deepEqual(b.results[0].policy, { allowExtra: true, allowSlips: true });
    const line = JSON.parse(readFileSync(join(out, "results.jsonl"), "utf8").split("\n")[0]);
    assert.deepEqual(line.policy, { allowExtra: true, allowSlips: true });
    // An eval.json written before the policies were recorded resumes too.
    const { allowExtra: _e, allowSlips: _s, ...old } = cfg();
    writeFileSync(join(out, "eval.json"), JSON.stringify(old));
    assert.equal(runEvaluation({ model, tokenizer: tok, problems, out, settings }).stats, null);
    assert.equal(cfg().allowSlips, false);
  });

  it("completions stop at </answer> (a model that always writes it)", () => {
    // Every embedding row is u = 1 except " </answer>", 2u; all other weights 0: the residual stream
    // is the input row, and the tied head gives " </answer>" twice the logit of any other token.
    const m = new Model(native, presetConfig("micro", tok.vocabSize));
    const C = m.config.hidden;
    const stop = tok.id(" </answer>") as number;
    m.params.flat.fill(0);
    const E = m.params.byName.get("model.embed_tokens.weight") as Float32Array;
    for (let v = 0; v < tok.vocabSize; v++) E.fill(v === stop ? 2 : 1, v * C, (v + 1) * C);
    m.params.byName.get("model.norm.weight")?.fill(1);
    const out = join(dir, "stop");
    runEvaluation({ model: m, tokenizer: tok, problems, out, settings: { ...settings, maxNew: 30 } });
    const lines = readJsonlValues<{ finish: string; tokens: number }>(join(out, "samples.jsonl"));
    assert.equal(lines.length, 12);
    for (const l of lines) {
      assert.equal(l.finish, "stop");
      assert.equal(l.tokens, 1);
    }
  });

  it("refuses other settings in the same folder, and bad input, with clear errors", () => {
    const out = join(dir, "full");
    assert.throws(
      () => runEvaluation({ model, tokenizer: tok, problems, out, settings: { ...settings, samples: 4 } }),
      /other settings \(samples: 3 → 4\)/,
    );
    assert.throws(
      () =>
        runEvaluation({ model, tokenizer: tok, problems, out, settings: { ...settings, kvCache: "f16" } }),
      /other settings \(kvCache: undefined → f16\)/,
      "a half-precision cache is a different evaluation",
    );
    const o2 = join(dir, "bad");
    assert.throws(
      () => runEvaluation({ model, tokenizer: tok, problems: [], out: o2, settings }),
      /no problems/,
    );
    assert.throws(
      () =>
        runEvaluation({ model, tokenizer: tok, problems, out: o2, settings: { ...settings, samples: 0 } }),
      /positive integer/,
    );
    assert.throws(
      () =>
        runEvaluation({
          model,
          tokenizer: tok,
          problems,
          out: o2,
          settings: { ...settings, temperature: -1 },
        }),
      /temperature/,
    );
    const digits = new WorldTokenizer({ digits: true });
    assert.throws(
      () => runEvaluation({ model, tokenizer: digits, problems, out: o2, settings }),
      /tokenizer has 419 tokens but the model's vocabulary is 2401/,
    );
    const odd = [{ ...problems[0], prompt: `${problems[0].prompt} flibbertigibbet` }];
    assert.throws(
      () => runEvaluation({ model, tokenizer: tok, problems: odd, out: o2, settings }),
      /cannot encode its prompt.*flibbertigibbet/,
    );
  });
});

describe("measureEdge", () => {
  it("keeps its measured samples as an evaluation folder with problems and a trace explorer", () => {
    const out = join(dir, "edge");
    const e = measureEdge({
      model,
      tokenizer: tok,
      modelName: "micro",
      ops: [2, 3],
      perOp: 2,
      samples: 2,
      temperature: 1,
      maxNew: 8,
      seed: 3,
      modes: ["forward"],
      out,
    });
    assert.equal(e.perOp.length, 2);
    const m = join(out, "measure");
    assert.equal(readJsonlValues(join(m, "problems.jsonl")).length, 4);
    const html = readFileSync(join(m, "explorer.html"), "utf8");
    assert.ok(html.includes("All 8 samples of the evaluation are on this page"));
    assert.ok(!html.includes("Back to the report"), "the measure folder has no report to go back to");
  });
});
