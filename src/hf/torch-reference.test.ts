/**
 * Exported folders read by an independent implementation: integrations/python/qwen2_torch.py, a
 * PyTorch Qwen2ForCausalLM forward written from transformers' modeling_qwen2 semantics, run with
 * Debian's /usr/bin/python3 (skipped, saying why, where it or its torch is absent).
 *
 * Two small models from the project's own init (seeded; `micro`, GQA 2 query heads : 1 kv head,
 * and a 4 : 2 GQA one with rope_theta 1e6 so that the head → kv-head mapping and the theta are
 * exercised), biases and norm weights then randomised (the init leaves them 0 and 1, which would
 * hide a bias or norm-weight mix-up). Each is exported with saveHfModel, real problem texts of the
 * world are tokenized, and Python's logits are compared with the engine's; then Python re-saves the
 * folders in Hugging Face layout (fp32, bf16, sharded, with an lm_head copy) and the engine loads
 * each one.
 *
 * Tolerance: per sequence, rel = max_i |engine_i − torch_i| / max_i |torch_i| over all T·V logits
 * (one scale per sequence, so tiny logits are not judged on their own relative error).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { loadKernels } from "../engine/backend.js";
import type { Kernels } from "../engine/kernels.js";
import { reference } from "../engine/reference.js";
import { type ModelConfig, presetConfig } from "../model/config.js";
import { greedy } from "../model/greedy.js";
import { Model } from "../model/model.js";
import { WorldTokenizer } from "../model/tokenizer.js";
import { Rng } from "../util/rng.js";
import { CONTEXT_IDS } from "../world/contexts.js";
import { generateProblem, modelText } from "../world/problem.js";
import { loadHfModel, saveHfModel } from "./model-io.js";

const PYTHON = "/usr/bin/python3";
const root = fileURLToPath(new URL("../../../", import.meta.url));
const SCRIPT = join(root, "integrations", "python", "qwen2_torch.py");
/** fp32 engine vs fp32 torch on the same weights. */
const TOL = 1e-4;
const MAX_NEW = 16;

function whyUnavailable(): string | undefined {
  const r = spawnSync(PYTHON, ["-c", "import torch, numpy"], { encoding: "utf8" });
  if (r.error) return `${PYTHON} is not available (${r.error.message})`;
  if (r.status !== 0) return `${PYTHON} has no torch/numpy (${r.stderr.trim().split("\n").pop()})`;
  return undefined;
}
const skip = whyUnavailable();
if (skip) console.log(`# torch reference skipped: ${skip}`);

const tok = new WorldTokenizer();
const micro = presetConfig("micro", tok.vocabSize);
const gqa: ModelConfig = { ...micro, hidden: 64, heads: 4, kvHeads: 2, mlp: 96, ropeTheta: 1e6 };

/** The project's init (seeded, std 0.2 so attention is far from uniform), then random biases and norm weights. */
function initModel(k: Kernels, c: ModelConfig, seed: number): Float32Array {
  const rng = new Rng(seed);
  const m = new Model(k, c);
  m.init(() => rng.next(), 0.2);
  for (const s of m.params.specs) {
    const v = m.params.byName.get(s.name) as Float32Array;
    if (s.name.endsWith(".bias")) for (let i = 0; i < v.length; i++) v[i] = (rng.next() - 0.5) * 0.4;
    if (s.name.endsWith("norm.weight")) for (let i = 0; i < v.length; i++) v[i] = 0.5 + rng.next();
  }
  return Float32Array.from(m.params.flat);
}

/** Real problem texts of the world: both modes, ops 2–4, four contexts. */
const problems = [0, 1, 2, 3].map((i) =>
  generateProblem({
    seed: 20_251,
    index: i,
    op: 2 + (i % 3),
    context: CONTEXT_IDS[i % CONTEXT_IDS.length],
    mode: i % 2 ? "reverse" : "forward",
  }),
);
const texts = problems.map((p) => tok.encode(modelText(p)));
const prompts = problems.map((p) => tok.encode(p.prompt));

function engineLogits(k: Kernels, c: ModelConfig, flat: Float32Array, seqs: number[][]): Float32Array[] {
  const m = new Model(k, c, flat);
  return seqs.map((s) => {
    m.forward(Int32Array.from(s), 1, s.length);
    return m.logits().slice(0, s.length * c.vocabSize);
  });
}

function readLogits(file: string, shapes: number[][]): Float32Array[] {
  const b = readFileSync(file);
  const all = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  let at = 0;
  return shapes.map(([T, V]) => {
    const r = all.slice(at, at + T * V);
    at += T * V;
    return r;
  });
}

/** max |a−b| / max |b| (b: the reference). */
function rel(a: Float32Array, b: Float32Array): { rel: number; abs: number } {
  assert.equal(a.length, b.length);
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return { rel: d / m, abs: d };
}

function python(args: string[]): unknown {
  const r = spawnSync(PYTHON, [SCRIPT, ...args], {
    encoding: "utf8",
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1", OMP_NUM_THREADS: "1" },
    maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, `qwen2_torch.py ${args[0]} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe("exported folders against an independent PyTorch Qwen2 (integrations/python/qwen2_torch.py)", {
  skip,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "interplay-torch-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const models = { micro, gqa } as const;
  type Name = keyof typeof models;
  const names = Object.keys(models) as Name[];
  let kernels: Kernels;
  const flats = {} as Record<Name, Float32Array>;
  type Results = {
    logits: Record<string, Float32Array[]>;
    greedy: Record<string, number[][]>;
  };
  const py: Results = { logits: {}, greedy: {} };
  const measured: string[] = [];

  it("builds, exports and runs both models through Python in one process", async () => {
    kernels = await loadKernels("auto");
    const jobs: Record<string, unknown>[] = [];
    const saved: Record<string, { from: Name; dtype: string; shards: number; lm_head?: boolean }> = {
      "micro-fp32": { from: "micro", dtype: "fp32", shards: 1 },
      "micro-bf16-sharded": { from: "micro", dtype: "bf16", shards: 3, lm_head: true },
      "gqa-bf16": { from: "gqa", dtype: "bf16", shards: 1 },
      "gqa-fp32-sharded": { from: "gqa", dtype: "fp32", shards: 2, lm_head: true },
    };
    for (const [i, n] of names.entries()) {
      flats[n] = initModel(kernels, models[n], 1234 + i);
      saveHfModel(join(dir, n), models[n], flats[n], tok);
    }
    for (const d of [...names, ...Object.keys(saved)]) {
      if (d in saved) {
        const s = saved[d];
        jobs.push({ cmd: "save", dir: join(dir, s.from), out: join(dir, d), ...s });
      }
      jobs.push({ cmd: "logits", dir: join(dir, d), ids: texts, out: join(dir, `${d}.f32`) });
      jobs.push({ cmd: "greedy", dir: join(dir, d), ids: prompts, max_new: MAX_NEW });
    }
    writeFileSync(join(dir, "jobs.json"), JSON.stringify(jobs));
    const t0 = Date.now();
    const res = python(["jobs", join(dir, "jobs.json")]) as Record<string, unknown>[];
    measured.push(`python jobs: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    jobs.forEach((j, i) => {
      const d = (j.dir as string).slice(dir.length + 1);
      const r = res[i] as { shapes?: number[][]; completions?: number[][]; files?: string[] };
      if (j.cmd === "logits") py.logits[d] = readLogits(j.out as string, r.shapes as number[][]);
      if (j.cmd === "greedy") py.greedy[d] = r.completions as number[][];
      if (j.cmd === "save") {
        const n = (j as { shards: number }).shards;
        assert.equal(r.files?.length, n, `${j.out}: ${n} weight file(s)`);
      }
    });
    for (const n of names) {
      assert.equal(py.logits[n].length, texts.length);
      assert.ok(
        texts.every((t) => t.length > 40),
        "real problem texts, not a handful of tokens",
      );
    }
  });

  it(`the engine's logits match PyTorch's within ${TOL} (max |Δ| / max |logit| per sequence), greedy completions equal`, (t) => {
    assert.ok(kernels, "the first test ran");
    // The default backend (native when built) and the reference kernels.
    const backends = kernels.info().name === reference.info().name ? [kernels] : [kernels, reference];
    for (const k of backends)
      for (const n of names) {
        const ours = engineLogits(k, models[n], flats[n], texts);
        let worst = { rel: 0, abs: 0 };
        ours.forEach((o, i) => {
          const r = rel(o, py.logits[n][i]);
          assert.ok(r.rel <= TOL, `${n} sequence ${i}: rel ${r.rel.toExponential(2)} (abs ${r.abs})`);
          if (r.rel > worst.rel) worst = r;
        });
        measured.push(
          `${n} fp32 (${k.info().name}): max rel ${worst.rel.toExponential(2)}, max abs ${worst.abs.toExponential(2)}`,
        );
        if (k !== kernels) continue; // greedy on the slow reference kernels would take tens of seconds
        const m = new Model(k, models[n], flats[n]);
        const ourGreedy = prompts.map((p) => greedy(m, p, { maxNew: MAX_NEW }));
        assert.deepEqual(ourGreedy, py.greedy[n], `${n}: greedy completions (${k.info().name})`);
        assert.ok(new Set(ourGreedy.flat()).size > 3, `${n}: completions are not one repeated token`);
      }
    t.diagnostic(measured.join("; "));
  });

  it("loads Python's fp32 re-saves (single file and sharded with an lm_head copy) bit-exactly: same logits and completions", (t) => {
    assert.ok(kernels, "the first test ran");
    for (const [d, from] of [
      ["micro-fp32", "micro"],
      ["gqa-fp32-sharded", "gqa"],
    ] as const) {
      const warnings: string[] = [];
      const m = loadHfModel(join(dir, d), { warn: (w) => warnings.push(w) });
      assert.deepEqual(m.dtypes, ["F32"]);
      assert.deepEqual(m.config, models[from]);
      assert.ok(
        Buffer.from(m.flat.buffer).equals(Buffer.from(flats[from].buffer)),
        `${d}: bit-exact weights`,
      );
      // Python copied our tokenizer files but (rightly) not our manifest: loads unverified, saying so.
      assert.ok(
        warnings.some((w) => /no interplay-manifest\.json/.test(w)),
        warnings.join("\n"),
      );
      const ours = engineLogits(kernels, m.config, m.flat, texts);
      let worst = 0;
      ours.forEach((o, i) => {
        worst = Math.max(worst, rel(o, py.logits[d][i]).rel);
        // The same bytes in, the same engine: identical to the engine on the original weights.
        assert.ok(rel(o, engineLogits(kernels, models[from], flats[from], [texts[i]])[0]).abs === 0);
      });
      assert.ok(worst <= TOL, `${d}: rel ${worst}`);
      const mm = new Model(kernels, m.config, m.flat);
      assert.deepEqual(
        prompts.map((p) => greedy(mm, p, { maxNew: MAX_NEW })),
        py.greedy[d],
        `${d}: greedy completions`,
      );
      assert.deepEqual(
        py.greedy[d],
        py.greedy[from],
        `${d}: Python's own completions unchanged by re-saving`,
      );
      measured.push(
        `${d} (${m.weightFiles?.length} file(s)): engine vs torch max rel ${worst.toExponential(2)}`,
      );
    }
    t.diagnostic(measured.slice(-2).join("; "));
  });

  it("loads Python's bf16 re-saves: the engine on the loaded weights matches PyTorch on the bf16-rounded weights, greedy equal", (t) => {
    assert.ok(kernels, "the first test ran");
    for (const [d, from] of [
      ["micro-bf16-sharded", "micro"],
      ["gqa-bf16", "gqa"],
    ] as const) {
      const m = loadHfModel(join(dir, d), { warn: () => {} });
      assert.deepEqual(m.dtypes, ["BF16"]);
      // Round to nearest even: every weight within half a bf16 ulp (2^-9 relative) of the original.
      const orig = flats[from];
      for (let i = 0; i < orig.length; i++)
        assert.ok(Math.abs(m.flat[i] - orig[i]) <= Math.abs(orig[i]) * 2 ** -8, `weight ${i}`);
      const ours = engineLogits(kernels, m.config, m.flat, texts);
      let worst = { rel: 0, abs: 0 };
      let rounding = 0;
      ours.forEach((o, i) => {
        const r = rel(o, py.logits[d][i]);
        assert.ok(r.rel <= TOL, `${d} sequence ${i}: rel ${r.rel.toExponential(2)}`);
        if (r.rel > worst.rel) worst = r;
        rounding = Math.max(rounding, rel(py.logits[d][i], py.logits[from][i]).rel);
      });
      // The bf16 folder really is bf16: rounding moves the logits far more than the engines differ.
      assert.ok(
        rounding > 10 * worst.rel,
        `${d}: bf16 rounding ${rounding} vs engine difference ${worst.rel}`,
      );
      const mm = new Model(kernels, m.config, m.flat);
      assert.deepEqual(
        prompts.map((p) => greedy(mm, p, { maxNew: MAX_NEW })),
        py.greedy[d],
        `${d}: greedy completions`,
      );
      measured.push(
        `${d}: engine vs torch (same bf16 weights) max rel ${worst.rel.toExponential(2)}, max abs ${worst.abs.toExponential(2)}; bf16 vs fp32 weights max rel ${rounding.toExponential(2)}`,
      );
    }
    t.diagnostic(measured.slice(-2).join("; "));
  });

  it("the command line: greedy and logits print JSON the same as the engine's", () => {
    assert.ok(kernels, "the first test ran");
    const d = join(dir, "gqa");
    const g = python(["greedy", d, "--ids", JSON.stringify(prompts[0]), "--max-new", "6"]) as {
      completions: number[][];
    };
    assert.deepEqual(g.completions, [py.greedy.gqa[0].slice(0, 6)]);
    const short = texts[1].slice(0, 12);
    const l = python(["logits", d, "--ids", JSON.stringify(short)]) as { logits: number[][][] };
    const ours = engineLogits(kernels, gqa, flats.gqa, [short])[0];
    assert.ok(rel(ours, Float32Array.from(l.logits[0].flat())).rel <= TOL);
  });
});
