import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { native } from "../engine/native.js";
import { reference } from "../engine/reference.js";
import { WorldTokenizer } from "../model/tokenizer.js";
import { readJsonlValues } from "../util/jsonl.js";
import { resolveMixture } from "../world/mixture.js";
import { documentStarts, TokenStream } from "./data.js";
import { lrAt } from "./schedule.js";
import { type StepMetrics, type TrainOptions, train } from "./trainer.js";

const dir = mkdtempSync(join(tmpdir(), "interplay-train-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const metrics = (run: string): StepMetrics[] => readJsonlValues(join(run, "metrics.jsonl"));

const base = (out: string): TrainOptions => ({
  stage: "pretrain",
  out,
  preset: "micro",
  mixture: "rl_op2-3",
  tokens: 12 * 2 * 32,
  seed: 5,
  overrides: { batch: 2, seqLen: 32, evalEvery: 4, evalBatches: 1, ckptEvery: 4, lr: 3e-3 },
});

describe("token stream", () => {
  it("is deterministic, packs problems with <eos>, and resumes from a cursor", () => {
    const tok = new WorldTokenizer();
    const mix = resolveMixture("rl_op2-4");
    const a = new TokenStream(tok, mix, 1);
    const t1 = new Int32Array(64);
    const y1 = new Int32Array(64);
    a.nextBatch(2, 32, t1, y1);
    for (let i = 0; i < 63; i++) assert.equal(y1[i], t1[i + 1], "targets are inputs shifted by one");
    const cursor = { ...a.cursor };
    const t2 = new Int32Array(64);
    const y2 = new Int32Array(64);
    a.nextBatch(2, 32, t2, y2);
    assert.equal(t2[0], y1[63], "the next batch starts with the last target");
    const b = new TokenStream(tok, mix, 1, cursor);
    const t3 = new Int32Array(64);
    const y3 = new Int32Array(64);
    b.nextBatch(2, 32, t3, y3);
    assert.deepEqual(t3, t2);
    assert.deepEqual(y3, y2);
    const big = new Int32Array(4000);
    new TokenStream(tok, mix, 1).fill(big);
    assert.ok(big.includes(tok.eosId));
    assert.ok(tok.decode(big.subarray(0, 40)).startsWith("<question> The"));
  });
});

describe("aligned packing", () => {
  it("starts every row at a problem, pads the rest with ignored targets, and resumes from a cursor", () => {
    const tok = new WorldTokenizer();
    const mix = resolveMixture("rl_op2-3");
    const B = 3;
    const T = 400;
    const a = new TokenStream(tok, mix, 2, undefined, "aligned");
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    const counted = a.nextBatch(B, T, x, y);
    const q = tok.encode("<question>")[0];
    let n = 0;
    for (let b = 0; b < B; b++) {
      assert.equal(x[b * T], q, `row ${b} starts a problem`);
      for (let t = 0; t < T; t++) {
        const i = b * T + t;
        if (y[i] >= 0) {
          n++;
          if (t + 1 < T) assert.equal(y[i], x[i + 1]);
        } else assert.ok(x[i] === tok.eosId || x[i] === tok.padId, "only the end of a row is ignored");
      }
      // Whole problems only: every <question> in the row has its </answer> and <eos> in the row.
      const row = tok.decode(x.subarray(b * T, (b + 1) * T));
      assert.equal(row.split("<question>").length, row.split("</answer>").length);
    }
    assert.equal(counted, n);
    const cursor = { ...a.cursor };
    a.nextBatch(B, T, x, y);
    const b2 = new TokenStream(tok, mix, 2, cursor, "aligned");
    const x2 = new Int32Array(B * T);
    const y2 = new Int32Array(B * T);
    b2.nextBatch(B, T, x2, y2);
    assert.deepEqual(x2, x);
    assert.deepEqual(y2, y);
  });
});

describe("document starts", () => {
  it("start each token's document after the last <eos> before it, per row", () => {
    const E = 9;
    const tokens = Int32Array.of(1, 2, E, 3, E, 4, /* row 2 */ E, 5, 6, 7, 8, E);
    const got = documentStarts(tokens, 2, 6, E, new Int32Array(12));
    assert.deepEqual([...got], [0, 0, 0, 3, 3, 5, 0, 1, 1, 1, 1, 1]);
  });
});

describe("fit packing", () => {
  it("fills rows with whole problems first-fit, loses and repeats none, and resumes with its waiting list", () => {
    const tok = new WorldTokenizer();
    const mix = resolveMixture("rl_op2-3");
    const B = 4;
    const T = 300;
    const q = tok.encode("<question>")[0];
    const a = new TokenStream(tok, mix, 3, undefined, "fit");
    const al = new TokenStream(tok, mix, 3, undefined, "aligned");
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    let questions = 0;
    let fit = 0;
    let aligned = 0;
    let cursor = { ...a.cursor };
    for (let i = 0; i < 30; i++) {
      if (i === 17) cursor = { ...a.cursor, pending: [...(a.cursor.pending ?? [])] };
      fit += a.nextBatch(B, T, x, y);
      aligned += al.nextBatch(B, T, new Int32Array(B * T), new Int32Array(B * T));
      for (let b = 0; b < B; b++) {
        assert.equal(x[b * T], q, `batch ${i} row ${b} starts a problem`);
        const ids = x.subarray(b * T, (b + 1) * T);
        const row = tok.decode(ids);
        const [nq, na] = [row.split("<question>").length, row.split("</answer>").length];
        // Whole problems only, except one longer than a row, which fills it alone (truncated).
        if (nq !== na) assert.ok(nq === 2 && na === 1 && !ids.includes(tok.padId), `batch ${i} row ${b}`);
      }
      for (const t of x) if (t === q) questions++;
    }
    // Every problem drawn so far was placed exactly once or is still waiting.
    assert.equal(questions + (a.cursor.pending?.length ?? 0), a.cursor.index);
    assert.ok(fit > aligned, `fit packs more targets (${fit}) than aligned (${aligned})`);
    // Resuming from the cursor saved at batch 17 reproduces batches 17.. exactly.
    const b2 = new TokenStream(tok, mix, 3, cursor, "fit");
    const r = new TokenStream(tok, mix, 3, undefined, "fit");
    const x2 = new Int32Array(B * T);
    const y2 = new Int32Array(B * T);
    for (let i = 0; i < 17; i++) r.nextBatch(B, T, x2, y2);
    for (let i = 17; i < 20; i++) {
      r.nextBatch(B, T, x, y);
      b2.nextBatch(B, T, x2, y2);
      assert.deepEqual(x2, x);
      assert.deepEqual(y2, y);
    }
  });
});

describe("solution-only loss", () => {
  it("counts exactly the targets after each problem's <solution>, under aligned and fit packing", () => {
    const tok = new WorldTokenizer();
    const mix = resolveMixture("rl_op2-4");
    const sol = [tok.id("<solution>"), tok.id(" <solution>")];
    const [B, T] = [4, 300];
    for (const packing of ["aligned", "fit"] as const) {
      const all = new TokenStream(tok, mix, 4, undefined, packing);
      const s = new TokenStream(tok, mix, 4, undefined, packing, "solution");
      for (let i = 0; i < 12; i++) {
        const [x, y, x2, y2] = [0, 0, 0, 0].map(() => new Int32Array(B * T));
        const nAll = all.nextBatch(B, T, x, y);
        const nSol = s.nextBatch(B, T, x2, y2);
        assert.deepEqual(x2, x, "the same rows: only the targets differ");
        let n = 0;
        for (let b = 0; b < B; b++) {
          // Walk the row: a target counts iff it lies after the <solution> of its problem.
          let inSolution = false;
          for (let t = 0; t < T; t++) {
            const k = b * T + t;
            if (sol.includes(x[k])) inSolution = true;
            if (x[k] === tok.eosId) inSolution = false;
            const want: number = inSolution && y[k] >= 0 ? y[k] : -1;
            assert.equal(y2[k], want, `${packing} batch ${i} row ${b} position ${t}`);
            if (want >= 0) n++;
          }
        }
        assert.equal(nSol, n);
        assert.ok(nSol > 0 && nSol < 0.5 * nAll, `solutions are a minority of targets (${nSol} of ${nAll})`);
      }
    }
    assert.throws(
      () => new TokenStream(tok, mix, 4, undefined, "stream", "solution"),
      /needs rows that start at problems/,
    );
  });
});

describe("trainer", () => {
  it("warms up, then decays by cosine to the floor", () => {
    const s = { peak: 1, floor: 0.1, warmup: 0.1, steps: 100 };
    assert.ok(lrAt(0, s) < lrAt(9, s));
    assert.equal(lrAt(9, s), 1);
    assert.ok(Math.abs(lrAt(99, s) - 0.1) < 1e-9);
    for (let i = 10; i < 99; i++) assert.ok(lrAt(i + 1, s) <= lrAt(i, s) + 1e-12);
  });

  it("writes a run folder, lowers the loss, and resumes to the same losses as an uninterrupted run", async () => {
    const full = join(dir, "full");
    const r = await train(base(full), reference);
    assert.equal(r.steps, 12);
    const ms = metrics(full);
    assert.equal(ms.length, 12);
    assert.ok(ms[11].loss < ms[0].loss, `loss ${ms[0].loss} → ${ms[11].loss}`);
    assert.ok(ms.filter((m) => m.valLoss !== undefined).length >= 3);
    for (const f of ["config.json", "tokenizer.json", "checkpoints/latest"])
      assert.ok(existsSync(join(full, f)), f);
    // Interrupted: stop after the first step (time limit 0), then resume twice.
    const cut = join(dir, "cut");
    const first = await train({ ...base(cut), minutes: 0 }, reference);
    assert.equal(first.steps, 1);
    assert.ok(first.stoppedEarly);
    // A checkpoint a killed process left half written is cleared on resume; a corrupt one moved aside is kept.
    for (const d of [".tmp-step-0000004-999999", "corrupt-step-0000001"])
      mkdirSync(join(cut, "checkpoints", d), { recursive: true });
    await train({ ...base(cut), resume: true }, reference);
    assert.ok(
      !existsSync(join(cut, "checkpoints", ".tmp-step-0000004-999999")),
      "partial checkpoint removed",
    );
    assert.ok(existsSync(join(cut, "checkpoints", "corrupt-step-0000001")), "corrupt checkpoint kept");
    const resumed = metrics(cut);
    assert.equal(resumed.length, 12, "no lost or repeated metrics lines");
    for (let i = 0; i < 12; i++) {
      assert.equal(resumed[i].step, i + 1);
      assert.ok(
        Math.abs(resumed[i].loss - ms[i].loss) < 1e-9,
        `step ${i + 1}: ${resumed[i].loss} vs ${ms[i].loss}`,
      );
    }
  });

  it("--precision bf16 is recorded and trains in bf16; fp32 is the absent key; resume refuses a change", async () => {
    const fp = join(dir, "prec-fp32");
    const bf = join(dir, "prec-bf16");
    const short = (out: string, precision: "fp32" | "bf16") => ({
      ...base(out),
      tokens: 4 * 2 * 32,
      overrides: { ...base(out).overrides, precision },
    });
    const a = await train(short(fp, "fp32"), native);
    const b = await train(short(bf, "bf16"), native);
    const cfg = (run: string) => JSON.parse(readFileSync(join(run, "config.json"), "utf8"));
    assert.ok(!("precision" in cfg(fp)), "fp32 is not written (old configs and hashes keep their meaning)");
    assert.equal(cfg(bf).precision, "bf16");
    // Same data and initialisation: the losses agree to bf16 accuracy but are not identical.
    const [la, lb] = [metrics(fp), metrics(bf)];
    assert.equal(la.length, lb.length);
    for (let i = 0; i < la.length; i++) assert.ok(Math.abs(la[i].loss - lb[i].loss) / la[i].loss < 0.02);
    assert.notEqual(a.finalLoss, b.finalLoss);
    await assert.rejects(
      train({ ...short(bf, "fp32"), resume: true }, native),
      /--precision fp32 differs from the run's bf16/,
    );
    await assert.rejects(
      train({ ...short(fp, "bf16"), resume: true }, native),
      /--precision bf16 differs from the run's fp32/,
    );
    await train({ ...short(fp, "fp32"), tokens: 5 * 2 * 32, resume: true }, native); // fp32 given = absent
    await assert.rejects(
      train({ ...short(join(dir, "prec-bad"), "fp16" as "fp32") }, native),
      /precision must be one of fp32, bf16, got "fp16"/,
    );
  });

  it("--loss-on solution is recorded (all is the absent key), trains, and resume refuses a change", async () => {
    const out = join(dir, "loss-solution");
    const o = (lossOn: "all" | "solution") => ({
      ...base(out),
      tokens: 4 * 2 * 128,
      overrides: { ...base(out).overrides, seqLen: 128, packing: "fit" as const, lossOn },
    });
    await train(o("solution"), reference);
    const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    assert.equal(cfg.lossOn, "solution");
    assert.ok(metrics(out).every((m) => Number.isFinite(m.loss)));
    await assert.rejects(
      train({ ...o("all"), tokens: 5 * 2 * 128, resume: true }, reference),
      /--loss-on all differs from the run's solution/,
    );
    const plain = join(dir, "loss-all");
    await train({ ...o("all"), out: plain }, reference);
    assert.ok(!("lossOn" in JSON.parse(readFileSync(join(plain, "config.json"), "utf8"))));
    await assert.rejects(
      train(
        {
          ...o("solution"),
          out: join(dir, "loss-stream"),
          overrides: { ...o("solution").overrides, packing: "stream" },
        },
        reference,
      ),
      /needs --packing aligned or fit/,
    );
  });

  it("--minutes without --tokens sizes the schedule from measured tokens/s and ends on its floor in time", async () => {
    const out = join(dir, "budget");
    const notes: string[] = [];
    const minutes = 0.05;
    const t0 = performance.now();
    const r = await train(
      {
        ...base(out),
        tokens: undefined,
        minutes,
        overrides: { ...base(out).overrides, evalEvery: 100_000, ckptEvery: 100_000 },
        log: (m) => notes.push(m),
      },
      native,
    );
    const secs = (performance.now() - t0) / 1000;
    const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    assert.equal(cfg.budget.minutes, minutes);
    assert.ok(cfg.budget.tokensPerSec > 0);
    assert.equal(cfg.tokens % (2 * 32), 0, "whole steps");
    const share = cfg.tokens / (cfg.budget.tokensPerSec * minutes * 60);
    assert.ok(share > 0.5 && share <= 0.93, `the schedule takes ${share} of the budget at the measured rate`);
    // The budget always holds (the deadline stops a run a loaded machine slowed down, with a
    // checkpoint); on a steady machine the run reaches its schedule's end, on the floor LR.
    assert.ok(secs < minutes * 60 * 1.5 + 1, `took ${secs.toFixed(1)} s for a ${minutes * 60} s budget`);
    const ms = metrics(out);
    if (!r.stoppedEarly) {
      assert.equal(r.steps, cfg.tokens / (2 * 32), "the run reached the end of its schedule");
      assert.ok(Math.abs(ms[ms.length - 1].lr - cfg.minLr) < 0.01 * cfg.lr, "ends on the floor LR");
    } else assert.ok(r.steps < cfg.tokens / (2 * 32));
    assert.match(notes.join("\n"), /measured \d+ tokens\/s, so the schedule spans \d+ steps/);
    await assert.rejects(
      train({ ...base(join(dir, "budget-none")), tokens: undefined }, native),
      /needs --tokens, or --minutes to size its schedule/,
    );
  });

  it("mid-trains from a run's checkpoint with another mixture", async () => {
    const src = join(dir, "full");
    const mid = join(dir, "mid");
    const r = await train(
      {
        stage: "midtrain",
        out: mid,
        from: src,
        mixture: "rl_op4-5",
        tokens: 4 * 2 * 32,
        seed: 6,
        overrides: { batch: 2, seqLen: 32, evalBatches: 1 },
      },
      reference,
    );
    assert.equal(r.steps, 4);
    assert.equal(r.config.from?.run, src);
    assert.equal(r.config.warmup, 0.15);
  });

  it("--resume needs no flag the run saved, and extends --tokens at the floor LR, keeping the schedule's span", async () => {
    const run = join(dir, "grow");
    await train(base(run), reference);
    const cfgBefore = readFileSync(join(run, "config.json"), "utf8");
    const finished = await train({ stage: "pretrain", out: run, resume: true }, reference);
    assert.equal(finished.steps, 12, "a finished run resumed with no flags: nothing to do");
    assert.equal(finished.finalLoss, metrics(run)[11].loss, "its last figures are read back");
    const longer = await train({ stage: "pretrain", out: run, resume: true, tokens: 18 * 2 * 32 }, reference);
    assert.equal(longer.steps, 18);
    assert.equal(longer.config.tokens, 18 * 2 * 32);
    const ms = metrics(run);
    assert.deepEqual(
      ms.map((m) => m.step),
      Array.from({ length: 18 }, (_, i) => i + 1),
    );
    const full = metrics(join(dir, "full"));
    for (let i = 0; i < 12; i++) assert.equal(ms[i].loss, full[i].loss, `step ${i + 1} as before`);
    const floor = 1e-4; // STAGE_DEFAULTS.pretrain.minLr
    for (const m of ms.slice(12)) assert.equal(m.lr, floor, `step ${m.step} runs at the floor`);
    assert.ok(ms[11].lr === floor, "the schedule still ended at step 12");
    assert.equal(readFileSync(join(run, "config.json"), "utf8"), cfgBefore, "config.json is untouched");
    // The extension is recorded in the checkpoint: a plain --resume keeps it, a shorter length is refused.
    const again = await train({ stage: "pretrain", out: run, resume: true }, reference);
    assert.equal(again.steps, 18);
    await assert.rejects(
      train({ stage: "pretrain", out: run, resume: true, tokens: 12 * 2 * 32 }, reference),
      /--resume: --tokens 768 is less than the run's 1152 .*can only be extended/,
    );
  });

  it("--resume refuses a flag that changes the run, naming it and both values, and checks the config again", async () => {
    const run = join(dir, "full");
    const before = readFileSync(join(run, "metrics.jsonl"));
    const refused = async (o: Partial<TrainOptions>, re: RegExp) =>
      assert.rejects(train({ stage: "pretrain", out: run, resume: true, ...o }, reference), re);
    await refused(
      { overrides: { lr: 1e-3 } },
      /--resume: --lr 0\.001 differs from the run's 0\.003 .*config\.json.*only --tokens may grow/,
    );
    await refused({ seed: 6 }, /--seed 6 differs from the run's 5/);
    await refused({ mixture: "rl_op4-5" }, /--mixture rl_op4-5 differs from the run's/);
    await refused({ overrides: { seqLen: 16 } }, /--seq-len 16 differs from the run's 32/);
    await refused({ overrides: { docMask: false } }, /--no-doc-mask differs from the run's docMask true/);
    await refused({ preset: "tiny" }, /--preset tiny differs from the run's micro/);
    await assert.rejects(
      train({ stage: "midtrain", out: run, resume: true }, reference),
      /is a "pretrain" run, not midtrain/,
    );
    assert.ok(readFileSync(join(run, "metrics.jsonl")).equals(before), "nothing was touched");
    // Same values are no change; a run killed before its first checkpoint has its config.json checked again.
    await train({ ...base(run), resume: true }, reference);
    const early = join(dir, "early");
    await train(
      { ...base(early), minutes: 0, overrides: { ...base(early).overrides, ckptEvery: 100 } },
      reference,
    );
    rmSync(join(early, "checkpoints"), { recursive: true });
    const cfg = JSON.parse(readFileSync(join(early, "config.json"), "utf8"));
    writeFileSync(join(early, "config.json"), JSON.stringify({ ...cfg, batch: 0 }));
    await assert.rejects(
      train({ stage: "pretrain", out: early, resume: true }, reference),
      /batch must be a positive integer, got 0/,
    );
  });

  it("refuses to overwrite a run and explains bad options", async () => {
    await assert.rejects(train(base(join(dir, "full")), reference), /already holds a run; pass --resume/);
    await assert.rejects(train({ ...base(join(dir, "x")), resume: true }, reference), /has no config\.json/);
    await assert.rejects(
      train({ ...base(join(dir, "y")), preset: "giant" }, reference),
      /unknown preset "giant"/,
    );
    await assert.rejects(train({ ...base(join(dir, "z")), mixture: "nope" }, reference), /neither a preset/);
    await assert.rejects(
      train({ ...base(join(dir, "w")), overrides: { seqLen: 4096 } }, reference),
      /exceeds the model context/,
    );
    await assert.rejects(
      train({ ...base(join(dir, "v")), overrides: { lr_: 1, batch: 2 } as never }, reference),
      /unknown training option "lr_" \(known: digits, batch, seqLen/,
    );
    assert.ok(!existsSync(join(dir, "v")), "nothing written");
    await assert.rejects(
      train({ stage: "midtrain", out: join(dir, "m2"), mixture: "rl_op4-5", tokens: 10, seed: 1 }, reference),
      /midtrain needs --from/,
    );
  });
});
