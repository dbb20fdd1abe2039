import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { readJsonlValues } from "../util/jsonl.js";

const bin = fileURLToPath(new URL("../../../bin/interplay.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "interplay-train-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const args = (out: string) => [
  bin,
  "pretrain",
  "--preset",
  "micro",
  "--mixture",
  "op2-3",
  "--tokens",
  String(40 * 4 * 32),
  "--seed",
  "3",
  "--batch",
  "4",
  "--seq-len",
  "32",
  "--ckpt-every",
  "2",
  "--eval-every",
  "5",
  "--out",
  out,
];
/** One engine thread per child: test files run two at a time on two cores. */
const env = { ...process.env, INTERPLAY_THREADS: "1" };
const losses = (run: string) => readJsonlValues<{ step: number; loss: number }>(join(run, "metrics.jsonl"));

describe("pretrain CLI", () => {
  it("resumes after kill -9 and reproduces the losses of an uninterrupted run", async () => {
    const full = join(dir, "full");
    assert.equal(spawnSync(process.execPath, args(full), { encoding: "utf8", env }).status, 0);
    const ref = losses(full);
    assert.equal(ref.length, 40);
    // The run's page, rewritten at each checkpoint: the last one covers every step.
    const page = readFileSync(join(full, "report.html"), "utf8");
    assert.match(page, /40 steps recorded in metrics\.jsonl/);
    for (const id of ["run-loss-tokens", "run-loss-time", "run-lr", "run-gradnorm", "run-throughput"])
      assert.match(page, new RegExp(`id="${id}"`));
    const again = join(dir, "again.html");
    const rr = spawnSync(process.execPath, [bin, "report", "--run", full, "--out", again], {
      encoding: "utf8",
      env,
    });
    assert.equal(rr.status, 0, rr.stderr);
    assert.match(readFileSync(again, "utf8"), /40 steps recorded/);
    const both = spawnSync(process.execPath, [bin, "report", "--run", full, "--eval", full], {
      encoding: "utf8",
      env,
    });
    assert.equal(both.status, 1);
    assert.match(both.stderr, /give one of --eval DIR, --run DIR or --index DIR/);
    const cut = join(dir, "cut");
    const child = spawn(process.execPath, args(cut), { stdio: "ignore", env });
    // Kill it hard once a checkpoint beyond the first exists.
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        const ck = join(cut, "checkpoints");
        if (
          existsSync(ck) &&
          readdirSync(ck)
            .filter((d) => d.startsWith("step-"))
            .some((d) => d >= "step-0000004")
        ) {
          clearInterval(t);
          child.kill("SIGKILL");
          resolve();
        }
      }, 5);
      child.on("exit", () => {
        clearInterval(t);
        resolve();
      });
      setTimeout(() => reject(new Error("run never checkpointed")), 60_000);
    });
    await new Promise((r) => child.once("exit", r).once("close", r) && setTimeout(r, 200));
    const r = spawnSync(process.execPath, [...args(cut), "--resume"], { encoding: "utf8", env });
    assert.equal(r.status, 0, r.stderr);
    const got = losses(cut);
    assert.equal(got.length, 40, "no lost or repeated steps");
    for (let i = 0; i < 40; i++) {
      assert.equal(got[i].step, i + 1);
      assert.ok(
        Math.abs(got[i].loss - ref[i].loss) <= 1e-6 * Math.max(1, ref[i].loss),
        `step ${i + 1}: ${got[i].loss} vs ${ref[i].loss}`,
      );
    }
  });

  it("reports a corrupt checkpoint clearly and keeps the run folder", () => {
    const run = join(dir, "full");
    const latest = readFileSync(join(run, "checkpoints", "latest"), "utf8").trim();
    const f = join(run, "checkpoints", latest, "model.safetensors");
    const good = readFileSync(f);
    writeFileSync(f, good.subarray(0, good.length >> 1));
    const r = spawnSync(process.execPath, [bin, "export", "--run", run, "--out", join(dir, "hf")], {
      encoding: "utf8",
      env,
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /truncated/);
    assert.ok(!existsSync(join(dir, "hf")));
    writeFileSync(f, good);
  });

  it("answers unknown presets and existing runs without touching anything", () => {
    let r = spawnSync(
      process.execPath,
      [
        bin,
        "pretrain",
        "--preset",
        "giant",
        "--mixture",
        "op2-3",
        "--tokens",
        "100",
        "--out",
        join(dir, "g"),
      ],
      { encoding: "utf8", env },
    );
    assert.match(
      r.stderr,
      /option '--preset <name>' argument 'giant' is invalid\. Allowed choices are micro, tiny, compact, small, paper, bench\./,
    );
    assert.ok(!existsSync(join(dir, "g", "config.json")));
    const before = readFileSync(join(dir, "full", "metrics.jsonl"));
    r = spawnSync(process.execPath, args(join(dir, "full")), { encoding: "utf8", env });
    assert.match(r.stderr, /already holds a run/);
    assert.ok(readFileSync(join(dir, "full", "metrics.jsonl")).equals(before));
  });
  it("--resume needs only --out, extends --tokens, and refuses a changed flag naming both values", () => {
    const run = join(dir, "full");
    const run2 = join(dir, "grow-cli");
    const copy = spawnSync("cp", ["-r", run, run2]);
    assert.equal(copy.status, 0);
    const resume = (...extra: string[]) =>
      spawnSync(process.execPath, [bin, "pretrain", "--resume", "--out", run2, ...extra], {
        encoding: "utf8",
        env,
      });
    let r = resume();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /40 steps/);
    r = resume("--tokens", String(44 * 4 * 32));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /--tokens 5632 extends the run from 5120/);
    assert.equal(losses(run2).length, 44);
    const before = readFileSync(join(run2, "metrics.jsonl"));
    r = resume("--lr", "0.01");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--resume: --lr 0\.01 differs from the run's 0\.002 .*only --tokens may grow/);
    r = resume("--seed", "4");
    assert.match(r.stderr, /--seed 4 differs from the run's 3/);
    r = resume("--seed", "3", "--preset", "micro", "--mixture", "op2-3", "--batch", "4");
    assert.equal(r.status, 0, "the run's own values are no change");
    assert.ok(readFileSync(join(run2, "metrics.jsonl")).equals(before), "nothing was redone or lost");
    r = spawnSync(process.execPath, [bin, "pretrain", "--out", join(dir, "new")], { encoding: "utf8", env });
    assert.match(r.stderr, /a new pretrain run needs --mixture/);
  });
  it("rl --resume --steps extends the run (it did nothing before) and needs no --from, --prompts or --steps", () => {
    const out = join(dir, "rl-cli");
    const small = ["--prompts-per-step", "2", "--rollouts", "2", "--mini-batches", "1", "--micro", "4"];
    const rl = (...a: string[]) =>
      spawnSync(process.execPath, [bin, "rl", "--out", out, ...a], { encoding: "utf8", env });
    let r = rl(
      "--from",
      join(dir, "full"),
      "--prompts",
      "op2-3_forward",
      "--steps",
      "1",
      "--max-new",
      "12",
      ...small,
    );
    assert.equal(r.status, 0, r.stderr);
    r = rl("--resume", "--steps", "2");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /--steps 2 extends the run from 1 steps/);
    assert.deepEqual(
      losses(out).map((m) => m.step),
      [1, 2],
    );
    const page = readFileSync(join(out, "report.html"), "utf8");
    assert.match(page, /2 steps recorded/);
    for (const id of [
      "run-reward",
      "run-verified",
      "run-kl",
      "run-clip",
      "run-length",
      "run-entropy",
      "run-time-split",
    ])
      assert.match(page, new RegExp(`id="${id}"`), id);
    r = rl("--resume", "--kl-coef", "0");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--kl-coef 0 differs from the run's 0\.001/);
  });
  it("--min-lr-ratio sets the floor as a fraction of the peak, and refuses --min-lr beside it", () => {
    const out = join(dir, "ratio");
    const a = args(out).map((x) => (x === String(40 * 4 * 32) ? String(4 * 4 * 32) : x));
    let r = spawnSync(process.execPath, [...a, "--lr", "4e-3", "--min-lr-ratio", "0.1"], {
      encoding: "utf8",
      env,
    });
    assert.equal(r.status, 0, r.stderr);
    const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    assert.ok(Math.abs(cfg.minLr - 4e-4) < 1e-12, `floor ${cfg.minLr}`);
    const lrs = losses(out) as unknown as { lr: number }[];
    assert.ok(Math.abs(lrs[lrs.length - 1].lr - 4e-4) < 1e-3 * 4e-3, "the last step is at the floor");
    r = spawnSync(
      process.execPath,
      [...args(join(dir, "ratio2")), "--min-lr", "1e-4", "--min-lr-ratio", "0.1"],
      {
        encoding: "utf8",
        env,
      },
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, /give --min-lr or --min-lr-ratio, not both/);
    assert.ok(!existsSync(join(dir, "ratio2")), "nothing written");
  });
});
