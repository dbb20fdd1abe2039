import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type SampleResult, verifySample } from "../verify/index.js";
import { generateProblem } from "../world/problem.js";
import {
  buildEvalSummary,
  EVAL_ERROR_KEYS,
  EVAL_SUMMARY_FORMAT,
  type EvalRecord,
  type EvalRow,
  parseEvalSummary,
} from "./evaluation.js";

const near = (a: number, b: number, msg?: string) =>
  assert.ok(Math.abs(a - b) < 1e-12, `${msg ?? ""}: ${a} vs ${b}`);

/**
 * Hand-made records. p1 (op 3): samples 1 and 3 verified, sample 0 has the right answer but a
 * missing node (a false positive of answer-only grading). p2 (op 3, given out of order): nothing
 * verified, sample 2 answer-only, sample 0 a parse failure. p3 (op 12): both samples verified, no
 * ProcessAcc.
 */
const RECORDS: EvalRecord[] = [
  {
    problemId: "p1",
    op: 3,
    context: "zoo",
    sample: 0,
    verified: false,
    answerCorrect: true,
    processAcc: 0.5,
    errors: { missing: ["a"] },
  },
  {
    problemId: "p1",
    op: 3,
    context: "zoo",
    sample: 1,
    verified: true,
    answerCorrect: true,
    processAcc: 1,
    errors: {},
  },
  {
    problemId: "p1",
    op: 3,
    context: "zoo",
    sample: 2,
    verified: false,
    answerCorrect: false,
    processAcc: 0.5,
    errors: { wrongValue: 2, arithmeticSlips: ["x"] },
  },
  {
    problemId: "p1",
    op: 3,
    context: "zoo",
    sample: 3,
    verified: true,
    answerCorrect: true,
    processAcc: 1,
    errors: { extra: ["z"] },
  },
  {
    problemId: "p2",
    op: 3,
    context: "school",
    sample: 3,
    verified: false,
    answerCorrect: false,
    processAcc: 0.25,
  },
  {
    problemId: "p2",
    op: 3,
    context: "school",
    sample: 0,
    verified: false,
    answerCorrect: false,
    processAcc: 0,
    parseFailed: true,
    errors: { missing: 3 },
  },
  {
    problemId: "p2",
    op: 3,
    context: "school",
    sample: 2,
    verified: false,
    answerCorrect: true,
    processAcc: 0.5,
  },
  {
    problemId: "p2",
    op: 3,
    context: "school",
    sample: 1,
    verified: false,
    answerCorrect: false,
    processAcc: 0.25,
    truncated: true,
  },
  { problemId: "p3", op: 12, context: "zoo", sample: 0, verified: true, answerCorrect: true },
  { problemId: "p3", op: 12, context: "zoo", sample: 1, verified: true, answerCorrect: true },
];

function within(row: EvalRow): void {
  const check = (c: { mean: number; lo: number; hi: number }, what: string) =>
    assert.ok(c.lo <= c.mean + 1e-12 && c.mean <= c.hi + 1e-12, `${row.key} ${what}: ${JSON.stringify(c)}`);
  for (const k of row.ks) {
    check(row.passAtK[k], `pass@${k}`);
    check(row.passAtKFirst[k], `first pass@${k}`);
  }
  check(row.answerAcc, "answerAcc");
  check(row.answerOnly, "answerOnly");
  for (const key of EVAL_ERROR_KEYS) check(row.errors[key].rate, key);
}

describe("buildEvalSummary", () => {
  const s = buildEvalSummary(RECORDS, { resamples: 200, meta: { model: "m1" } });

  test("rows: ops ascending, non-empty bands only, default k grid per row", () => {
    assert.equal(s.format, EVAL_SUMMARY_FORMAT);
    assert.deepEqual(
      s.perOp.map((r) => r.key),
      ["op 3", "op 12"],
    );
    assert.deepEqual(
      s.perBand.map((r) => r.key),
      ["ID", "OOD-edge"],
    );
    assert.deepEqual(s.perOp[0].ks, [1, 2, 4]);
    assert.deepEqual(s.perOp[1].ks, [1, 2]);
    assert.equal(s.perOp[0].problems, 2);
    assert.equal(s.perOp[0].samples, 4);
    assert.deepEqual(s.meta, { model: "m1" });
    for (const r of [...s.perOp, ...s.perBand]) within(r);
  });

  test("pass@k, unbiased and first k, by hand", () => {
    const op3 = s.perOp[0];
    // p1: n=4, c=2 → pass@1 = 1/2, pass@2 = 1 − C(2,2)/C(4,2) = 5/6, pass@4 = 1; p2: c=0 → 0.
    near(op3.passAtK[1].mean, 0.25, "pass@1");
    near(op3.passAtK[2].mean, 5 / 12, "pass@2");
    near(op3.passAtK[4].mean, 0.5, "pass@4");
    // p1's first verified sample is sample 1: first-k pass@1 = 0, pass@2 = pass@4 = 1.
    near(op3.passAtKFirst[1].mean, 0, "first pass@1");
    near(op3.passAtKFirst[2].mean, 0.5, "first pass@2");
    near(op3.passAtKFirst[4].mean, 0.5, "first pass@4");
    const op12 = s.perOp[1];
    near(op12.passAtK[1].mean, 1, "op 12 pass@1");
    assert.deepEqual(op12.passAtK[1], { mean: 1, lo: 1, hi: 1 });
    // Band rows equal the op rows when a band holds one op.
    assert.deepEqual(s.perBand[0].passAtK, op3.passAtK);
    assert.deepEqual(s.perBand[0].ops, [2, 10]);
  });

  test("answer-only vs verified: accuracy, false positives and counts", () => {
    const op3 = s.perOp[0];
    near(op3.answerAcc.mean, (3 / 4 + 1 / 4) / 2, "answerAcc");
    near(op3.answerOnly.mean, (1 / 4 + 1 / 4) / 2, "answerOnly");
    assert.deepEqual(op3.counts, {
      samples: 8,
      verified: 2,
      answerCorrect: 4,
      answerOnly: 2,
      truncated: 1,
      parseFailed: 1,
    });
    near(op3.truncated.mean, 1 / 8, "truncated");
    // answer accuracy = verified accuracy + answer-only rate, per problem and so on average.
    near(op3.answerAcc.mean, op3.passAtK[1].mean + op3.answerOnly.mean, "identity");
    assert.equal(s.perOp[1].counts.answerOnly, 0);
    assert.deepEqual(
      { ...s.totals, ops: s.totals.ops, contexts: s.totals.contexts },
      {
        samples: 10,
        verified: 4,
        answerCorrect: 6,
        answerOnly: 2,
        truncated: 1,
        parseFailed: 1,
        problems: 3,
        ops: [3, 12],
        contexts: ["school", "zoo"],
      },
    );
  });

  test("error-category rates and counts per sample, by hand", () => {
    const e = s.perOp[0].errors;
    // rate: mean over problems of the fraction of samples with the error; perSample: of the count.
    near(e.missing.rate.mean, (1 / 4 + 1 / 4) / 2, "missing rate");
    near(e.missing.perSample.mean, (1 / 4 + 3 / 4) / 2, "missing per sample");
    assert.equal(e.missing.samples, 2);
    near(e.wrongValue.rate.mean, 1 / 8, "wrongValue rate");
    near(e.wrongValue.perSample.mean, 2 / 8, "wrongValue per sample");
    near(e.arithmeticSlips.rate.mean, 1 / 8, "slips");
    near(e.extra.rate.mean, 1 / 8, "extra");
    near(e.wrongDependency.rate.mean, 0, "wrongDependency");
    near(e.wrongAnswer.rate.mean, (1 / 4 + 3 / 4) / 2, "wrongAnswer");
    assert.equal(e.wrongAnswer.samples, 4);
    near(e.parseFailure.rate.mean, 1 / 8, "parseFailure");
    for (const key of EVAL_ERROR_KEYS) near(s.perOp[1].errors[key].rate.mean, 0, `op 12 ${key}`);
  });

  test("ProcessAcc over the problems that carry it; per-problem stats", () => {
    const op3 = s.perOp[0];
    assert.ok(op3.processAcc);
    near(op3.processAcc.mean, (0.75 + 0.25) / 2, "processAcc");
    assert.equal(op3.processAcc.n, 2);
    assert.equal(s.perOp[1].processAcc, undefined);
    assert.deepEqual(s.problems, [
      {
        id: "p1",
        op: 3,
        context: "zoo",
        n: 4,
        verified: 2,
        firstVerified: 1,
        answerCorrect: 3,
        processAcc: 0.75,
        byExtra: {
          allowExtra: { verified: 2, firstVerified: 1 },
          noExtra: { verified: 1, firstVerified: 1 },
        },
      },
      {
        id: "p2",
        op: 3,
        context: "school",
        n: 4,
        verified: 0,
        firstVerified: null,
        answerCorrect: 1,
        processAcc: 0.25,
        byExtra: {
          allowExtra: { verified: 0, firstVerified: null },
          noExtra: { verified: 0, firstVerified: null },
        },
      },
      {
        id: "p3",
        op: 12,
        context: "zoo",
        n: 2,
        verified: 2,
        firstVerified: 0,
        answerCorrect: 2,
        byExtra: {
          allowExtra: { verified: 2, firstVerified: 0 },
          noExtra: { verified: 2, firstVerified: 0 },
        },
      },
    ]);
  });

  test("verified with and without extra nodes side by side: pass@k by hand, whichever policy the run used", () => {
    // p1's sample 3 is verified with an extra node: a pass with extras allowed, not without.
    const op3 = s.perOp[0];
    assert.ok(op3.byExtra);
    near(op3.byExtra.allowExtra.passAtK[1].mean, (2 / 4 + 0) / 2, "allowExtra pass@1");
    near(op3.byExtra.noExtra.passAtK[1].mean, (1 / 4 + 0) / 2, "noExtra pass@1");
    near(op3.byExtra.noExtra.passAtK[4].mean, (1 + 0) / 2, "noExtra pass@4");
    assert.equal(op3.byExtra.allowExtra.verified, 2);
    assert.equal(op3.byExtra.noExtra.verified, 1);
    assert.deepEqual(op3.byExtra.allowExtra.passAtK, op3.passAtK, "the records' verified allowed extras");
    const id = s.perBand.find((r) => r.key === "ID")!;
    assert.equal(id.byExtra!.noExtra.verified, 1);
    assert.ok(id.byExtra!.noExtra.passAtK[1].lo <= id.byExtra!.noExtra.passAtK[1].mean);
    assert.equal(s.verify, undefined, "no record and no option says the policy: not recorded");
    // The same samples verified under allowExtra: false: both figures are unchanged.
    const strict = RECORDS.map(
      (r): EvalRecord => ({
        ...r,
        verified: r.verified && r.errors?.extra === undefined,
        verifiedAllowExtra: r.verified,
        policy: { allowExtra: false, allowSlips: false },
      }),
    );
    const t = buildEvalSummary(strict, { resamples: 200 });
    assert.deepEqual(t.verify, { allowExtra: false, allowSlips: false });
    assert.deepEqual(t.perOp[0].byExtra, op3.byExtra);
    assert.deepEqual(t.perOp[0].passAtK, op3.byExtra.noExtra.passAtK);
    // Without verifiedAllowExtra and with extras blocked, a record with extras cannot tell: omitted.
    const unknown = strict.map(({ verifiedAllowExtra: _, ...r }) => r);
    const u = buildEvalSummary(unknown, { resamples: 200 });
    assert.equal(u.perOp[0].byExtra, undefined);
    assert.equal(u.problems[0].byExtra, undefined);
    // The policy may come from the options; records verified under two policies are rejected.
    const lenient = { allowExtra: true, allowSlips: true };
    assert.deepEqual(buildEvalSummary(RECORDS, { resamples: 50, verify: lenient }).verify, lenient);
    assert.throws(
      () => buildEvalSummary([{ ...RECORDS[0], policy: lenient }, ...strict.slice(1)], { resamples: 50 }),
      /verified under/,
    );
    assert.throws(() => buildEvalSummary(strict, { resamples: 50, verify: lenient }), /verify option/);
  });

  test("deterministic for a seed, survives JSON, and record order does not matter", () => {
    const a = buildEvalSummary(RECORDS, { resamples: 200, seed: 5 });
    const b = buildEvalSummary([...RECORDS].reverse(), { resamples: 200, seed: 5 });
    assert.deepEqual(a.perOp, b.perOp);
    assert.deepEqual(a.perBand, b.perBand);
    const round = parseEvalSummary(JSON.parse(JSON.stringify(a)));
    assert.equal(round.perOp[0].passAtK[2].mean, a.perOp[0].passAtK[2].mean);
  });

  test("custom bands and ks", () => {
    const t = buildEvalSummary(RECORDS, {
      resamples: 50,
      ks: [1, 4],
      bands: [
        { name: "all", lo: 1, hi: 20 },
        { name: "none", lo: 30, hi: 40 },
      ],
    });
    assert.deepEqual(
      t.perBand.map((r) => r.key),
      ["all"],
    );
    assert.deepEqual(t.perBand[0].ks, [1]);
    assert.deepEqual(t.perOp[0].ks, [1, 4]);
    assert.deepEqual(t.options.ks, [1, 4]);
  });

  test("malformed input is rejected with a message naming the problem", () => {
    const r = (over: Partial<EvalRecord>): EvalRecord => ({ ...RECORDS[0], ...over });
    assert.throws(() => buildEvalSummary([]), /no records/);
    assert.throws(() => buildEvalSummary([r({}), r({ sample: 0 })]), /sample 0 appears more than once/);
    assert.throws(() => buildEvalSummary([r({}), r({ sample: 1, op: 4 })]), /op 4 differs/);
    assert.throws(() => buildEvalSummary([r({ verified: true, answerCorrect: false })]), /verified requires/);
    assert.throws(() => buildEvalSummary([r({}), r({ sample: 1, processAcc: undefined })]), /all or none/);
    assert.throws(() => buildEvalSummary([r({ errors: { missing: -1 } })]), /errors.missing/);
    assert.throws(() => buildEvalSummary([r({ sample: 1.5 })]), /sample must be an integer/);
    assert.throws(() => parseEvalSummary({ format: "x" }), /not an evaluation summary/);
    assert.throws(() => buildEvalSummary([r({ verifiedNoExtra: true })]), /verifiedNoExtra but not verified/);
    assert.throws(
      () => buildEvalSummary([r({ verified: true, answerCorrect: true, verifiedAllowExtra: false })]),
      /not verifiedAllowExtra/,
    );
    assert.throws(() => buildEvalSummary([r({ policy: { allowExtra: 1 } as never })]), /policy must be/);
  });

  test("a verifySample result spread into a record summarises (gold trace verified, cut trace not)", () => {
    const p = generateProblem({ seed: 3, index: 0, op: 4, context: "zoo", mode: "forward" });
    const record = (sample: number, r: SampleResult): EvalRecord => ({
      problemId: p.id,
      op: p.op,
      context: p.context,
      sample,
      ...r,
    });
    const gold = verifySample(p.completion, p);
    const cut = verifySample(p.completion.slice(0, Math.floor(p.completion.length / 3)), p);
    const t = buildEvalSummary([record(0, gold), record(1, cut)], { resamples: 20 });
    assert.equal(gold.verified, true);
    assert.equal(t.problems[0].verified, 1);
    near(t.perOp[0].passAtK[1].mean, 0.5, "pass@1");
    assert.ok(t.perOp[0].errors.missing.rate.mean > 0);
    assert.deepEqual(t.verify, { allowExtra: true, allowSlips: false }, "the records' policy is recorded");
    assert.deepEqual(t.perOp[0].byExtra?.noExtra.passAtK, t.perOp[0].passAtK);
  });
});
