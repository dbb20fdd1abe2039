import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { formatLin, type Lin, linEqual } from "../world/linear.js";
import { generateProblem } from "../world/problem.js";
import type { Problem } from "../world/types.js";
import {
  allRewards,
  parseLinear,
  parseTrace,
  processReward,
  strictReward,
  type Verdict,
  verifyTrace,
} from "./index.js";
import {
  buildStep,
  changeWrittenResult,
  childrenOf,
  clausesOf,
  descendantsOf,
  goldLin,
  joinSolving,
  joinTrace,
  prng,
  problemGrid,
  resolved,
  type SplitTrace,
  shiftLin,
  solvingText,
  splitSolving,
  splitTrace,
  stepVar,
  unknownOf,
} from "./testing/fixtures.js";

// 19 ops × 3 contexts × 2 modes × 6 = 684 problems, forward and reverse.
const problems: Problem[] = problemGrid(6, 7);
const names = (p: Problem, ks: number[]): string[] => ks.map((k) => p.graph.nodes[k].name);
const sorted = (xs: string[]): string[] => [...xs].sort();
const nGold = (p: Problem): number => p.graph.nodes.length;

/** Asserts the verdict is not verified and no reward is full. */
function assertRejected(v: Verdict, p: Problem, label: string): void {
  assert.equal(v.verified, false, `${label}: verified`);
  assert.ok(processReward(v, nGold(p)).reward < 1, `${label}: process reward`);
  assert.equal(strictReward(v, nGold(p)).reward, 0, `${label}: strict reward`);
}

describe("mutations are caught in their own category", () => {
  test("drop a step → missing (children lose a parent → wrongDependency), nothing else", () => {
    const rnd = prng(1);
    let n = 0;
    for (const p of problems) {
      const t = splitTrace(p);
      assert.equal(joinTrace(t), p.completion);
      assert.equal(t.steps.length, nGold(p));
      const k = Math.floor(rnd() * t.steps.length);
      const steps = t.steps.filter((_, i) => i !== k);
      const v = verifyTrace(joinTrace({ ...t, steps }), p);
      const label = `${p.id} drop ${k}`;
      assert.deepEqual(v.errors.missing, names(p, [k]), label);
      assert.deepEqual(sorted(v.errors.wrongDependency), sorted(names(p, childrenOf(p, k))), label);
      assert.deepEqual(v.errors.wrongValue, [], label);
      assert.deepEqual(v.errors.extra, [], label);
      // In reverse mode, dropping the given's step leaves `We know VAR = g` naming no variable of
      // the trace: a slip of the solving section, at the unknown's node.
      const givenDropped = p.mode === "reverse" && k === t.steps.length - 1;
      assert.deepEqual(v.errors.arithmeticSlips, givenDropped ? names(p, [unknownOf(p)]) : [], label);
      assert.ok(v.answerCorrect, label);
      assertRejected(v, p, label);
      n++;
    }
    assert.ok(n >= 600);
  });

  test("change a value consistently → wrongValue", () => {
    const rnd = prng(2);
    for (const p of problems) {
      const t = splitTrace(p);
      for (const k of [t.steps.length - 1, Math.floor(rnd() * t.steps.length)]) {
        const { header, clauses } = clausesOf(t.steps[k]);
        const last = clauses.length - 1;
        const links = clauses[last].split(" = ");
        // Every operand-bearing term gets "+ 1"; the written result is the new value.
        for (let i = 1; i < links.length - 1; i++) links[i] = `${links[i]} + 1`;
        const r = links.length - 1;
        links[r] = shiftLin(goldLin(p, k), 1);
        const steps = [...t.steps];
        steps[k] = buildStep(header, [...clauses.slice(0, last), links.join(" = ")]);
        // Consistently: in reverse mode a changed given is solved again (the answer tag follows x).
        const moved = p.mode === "reverse" && k === t.steps.length - 1;
        const tail = moved ? resolved(p, steps, parseLinear(links[r])!).tail : t.tail;
        const text = joinTrace({ ...t, steps, tail });
        const v = verifyTrace(text, p);
        const label = `${p.id} value ${k}: ${steps[k]}`;
        const parsed = parseTrace(text).nodes.get(p.graph.nodes[k].name)!;
        assert.ok(
          parsed.value && linEqual(parsed.value, { ...goldLin(p, k), b: goldLin(p, k).b + 1 }),
          label,
        );
        assert.ok(v.errors.wrongValue.includes(p.graph.nodes[k].name), label);
        assert.deepEqual(v.errors.missing, [], label);
        assert.deepEqual(v.errors.extra, [], label);
        assert.deepEqual(v.errors.wrongDependency, [], label);
        assert.equal(parsed.slip, false, label);
        if (k === t.steps.length - 1) {
          // The last node has no children: the change shows nowhere else.
          assert.deepEqual(v.errors.wrongValue, names(p, [k]), label);
          assert.deepEqual(v.errors.arithmeticSlips, [], label);
        } else {
          // Children that substitute the old value now show a slip (unless another of their parents
          // moved with it, as a copy `so C = P = 1` of the changed node does).
          const moved = descendantsOf(p, k).map((i) => p.graph.nodes[i].name);
          for (const c of childrenOf(p, k)) {
            const g = p.graph.nodes[c];
            if (g.parents.some((q) => q !== p.graph.nodes[k].name && moved.includes(q))) continue;
            assert.ok(v.errors.arithmeticSlips.includes(g.name), `${label}: child ${c}`);
          }
        }
        assertRejected(v, p, label);
      }
    }
  });

  test("change a parent (same value, arithmetic consistent) → wrongDependency only", () => {
    const rnd = prng(3);
    let n = 0;
    for (const p of problems) {
      const t = splitTrace(p);
      const vars = t.steps.map(stepVar);
      const g = p.graph.nodes;
      const sites: [number, number, number][] = [];
      for (let k = 0; k < g.length; k++) {
        for (const parent of g[k].parents) {
          const u = g.findIndex((x) => x.name === parent);
          for (let w = 0; w < k; w++) {
            if (w === u || g[k].parents.includes(g[w].name)) continue;
            if (linEqual(goldLin(p, w), goldLin(p, u))) sites.push([k, u, w]);
          }
        }
      }
      if (sites.length === 0) continue;
      const [k, u, w] = sites[Math.floor(rnd() * sites.length)];
      const semi = t.steps[k].indexOf(";");
      const re = new RegExp(`\\b${vars[u]}\\b`, "g");
      const steps = [...t.steps];
      steps[k] = t.steps[k].slice(0, semi) + t.steps[k].slice(semi).replace(re, vars[w]);
      assert.notEqual(steps[k], t.steps[k]);
      const text = joinTrace({ ...t, steps });
      const v = verifyTrace(text, p);
      const label = `${p.id} parent ${k}: ${vars[u]} → ${vars[w]}`;
      assert.deepEqual(v.errors.wrongDependency, names(p, [k]), label);
      assert.deepEqual(v.errors.wrongValue, [], label);
      assert.deepEqual(v.errors.missing, [], label);
      assert.deepEqual(v.errors.extra, [], label);
      assert.deepEqual(v.errors.arithmeticSlips, [], label);
      const node = parseTrace(text).nodes.get(g[k].name)!;
      assert.ok(node.parents.includes(g[w].name) && !node.parents.includes(g[u].name), label);
      assert.equal(v.processAcc, (g.length - 1) / g.length, label);
      assertRejected(v, p, label);
      n++;
    }
    assert.ok(n >= 200, `only ${n} problems had a same-valued substitute parent`);
  });

  test("add a hallucinated node → extra; verified only when extras are allowed; strict reward 0", () => {
    const rnd = prng(4);
    const extra = "Define adult wolf in Nowhere as Q; so Q = 2.";
    for (const p of problems) {
      const t = splitTrace(p);
      const usesQ = t.steps.some((s) => /\bQ\b/.test(s));
      // A Q defined after the steps would, in reverse mode, be the Q that `We know Q = g` names.
      const atEnd = rnd() >= 0.5 && p.mode === "forward";
      const at = usesQ ? (atEnd ? t.steps.length : 0) : Math.floor(rnd() * (t.steps.length + 1));
      const steps = [...t.steps.slice(0, at), extra, ...t.steps.slice(at)];
      const text = joinTrace({ ...t, steps });
      const label = `${p.id} extra at ${at}`;
      const v = verifyTrace(text, p);
      assert.deepEqual(v.errors.extra, ["adult wolf in Nowhere"], label);
      for (const cat of ["missing", "wrongValue", "wrongDependency", "arithmeticSlips"] as const) {
        assert.deepEqual(v.errors[cat], [], `${label} ${cat}`);
      }
      assert.equal(v.verified, true, label);
      assert.equal(v.processAcc, 1);
      // Both figures, whichever policy `verified` follows.
      assert.equal(v.verifiedAllowExtra, true, label);
      assert.equal(v.verifiedNoExtra, false, label);
      const strict = verifyTrace(text, p, { allowExtra: false });
      assert.equal(strict.verified, false, label);
      assert.equal(strict.verifiedAllowExtra, true, label);
      assert.equal(strict.verifiedNoExtra, false, label);
      const r = allRewards(v, nGold(p));
      assert.equal(r.strict, 0, label);
      assert.equal(r.outcome, 1, label);
      assert.ok(Math.abs(r.process - Math.max(0, 1 - 1 / nGold(p))) < 1e-12, label);
    }
  });

  test("wrong answer → answerCorrect false, process reward < 1, no node errors", () => {
    for (const p of problems) {
      const wrong = String(Number(p.answer) + 1);
      const text = p.completion.replace(`<answer> ${p.answer} </answer>`, `<answer> ${wrong} </answer>`);
      assert.notEqual(text, p.completion);
      const v = verifyTrace(text, p);
      assert.equal(v.answer, wrong);
      assert.equal(v.answerCorrect, false);
      assert.equal(v.processAcc, 1);
      for (const e of Object.values(v.errors)) assert.deepEqual(e, []);
      const r = allRewards(v, nGold(p));
      assert.equal(r.outcome, 0);
      assert.equal(r.composite, 0);
      assert.ok(Math.abs(r.process - Math.max(0, 1 - 1 / nGold(p))) < 1e-12);
      assertRejected(v, p, p.id);
      // The solution field's "Answer: N." is the fallback when there is no <answer> tag.
      const sol = p.solution.replace(/Answer: \d+\.$/, `Answer: ${wrong}.`);
      assert.equal(verifyTrace(sol, p).answer, wrong);
    }
  });

  test("truncated output → truncated, missing non-empty, not verified", () => {
    const rnd = prng(7);
    for (const p of problems) {
      const c = p.completion;
      const first = c.indexOf("Define ") + "Define ".length + 1;
      const lastHeaderEnd = c.indexOf(";", c.lastIndexOf("Define "));
      const cut = first + Math.floor(rnd() * (lastHeaderEnd - first));
      const v = verifyTrace(c.slice(0, cut), p);
      const label = `${p.id} cut at ${cut}`;
      assert.equal(v.truncated, true, label);
      assert.ok(v.errors.missing.includes(p.graph.nodes[nGold(p) - 1].name), label);
      assert.equal(v.answer, null, label);
      assertRejected(v, p, label);
      assert.equal(allRewards(v, nGold(p)).outcome, 0);
      // The full model text cut the same way is truncated too.
      assert.equal(verifyTrace(p.prompt + c.slice(0, cut), p).truncated, true, label);
    }
  });

  test("random bytes → parseFailed, every reward 0", () => {
    const rnd = prng(8);
    for (let i = 0; i < 300; i++) {
      const p = problems[i % problems.length];
      const bytes = Buffer.from(
        Array.from({ length: 1 + Math.floor(rnd() * 3000) }, () => Math.floor(rnd() * 256)),
      );
      for (const text of [bytes.toString("latin1"), bytes.toString("utf8")]) {
        const v = verifyTrace(text, p);
        assert.equal(v.parseFailed, true);
        assert.equal(v.verified, false);
        assert.equal(v.processAcc, 0);
        assert.deepEqual(sorted(v.errors.missing), sorted(p.graph.nodes.map((n) => n.name)));
        for (const alpha of [0.2, 0.5]) {
          for (const form of ["gated", "linear"] as const) {
            assert.deepEqual(allRewards(v, nGold(p), { alpha, form }), {
              outcome: 0,
              process: 0,
              composite: 0,
              strict: 0,
            });
          }
        }
      }
    }
  });
});

/** Node k's step ends in an equation with operands (`so X = A + B = 2 + 3 = 5` or `so X = A = 2`). */
const hasOperands = (t: SplitTrace, k: number): boolean =>
  clausesOf(t.steps[k]).clauses.at(-1)!.split(" = ").length >= 3;

/** The gold value of node k shifted by 7: a written result no operand of the trace gives. */
const wrongResult = (p: Problem, k: number): Lin => ({ ...goldLin(p, k), b: goldLin(p, k).b + 7 });

/** The checks common to a changed written result at node k: one slip, there, and the value kept. */
function assertSlipAt(p: Problem, text: string, k: number, label: string): Verdict {
  const name = p.graph.nodes[k].name;
  const v = verifyTrace(text, p);
  assert.deepEqual(v.errors.arithmeticSlips, [name], `${label}: slips`);
  assert.deepEqual(v.errors.missing, [], `${label}: missing`);
  assert.deepEqual(v.errors.extra, [], `${label}: extra`);
  assert.deepEqual(v.errors.wrongDependency, [], `${label}: wrongDependency`);
  assert.ok(!v.errors.wrongValue.includes(name), `${label}: the changed node keeps its arithmetic's value`);
  const parsed = parseTrace(text).nodes.get(name)!;
  assert.ok(parsed.value && linEqual(parsed.value, goldLin(p, k)), `${label}: value`);
  // The default policy: never verified, the slip costs 1 in the penalty, the step is not correct.
  assertRejected(v, p, label);
  assert.equal(v.policy.allowSlips, false);
  assert.ok(v.processAcc < 1, `${label}: processAcc`);
  const pen = processReward(v, nGold(p)).penalty;
  assert.equal(pen.arithmeticSlips, 1, `${label}: penalty slips`);
  assert.equal(pen.slipsCounted, 1, `${label}: penalty counts the slip`);
  assert.ok(allRewards(v, nGold(p)).composite < 1, `${label}: composite`);
  return v;
}

/** Under allowSlips the slip is reported but blocks nothing: verified, every reward 1. */
function assertLenientPass(p: Problem, text: string, label: string): void {
  const v = verifyTrace(text, p, { allowSlips: true });
  assert.equal(v.errors.arithmeticSlips.length, 1, `${label}: slip still reported`);
  assert.equal(v.verified, true, `${label}: verified under allowSlips`);
  assert.equal(v.processAcc, 1, `${label}: processAcc under allowSlips`);
  assert.deepEqual(allRewards(v, nGold(p)), { outcome: 1, process: 1, composite: 1, strict: 1 }, label);
}

describe("changed written results (issue 12): a slip where the false equation is written", () => {
  test("(a) the last written result changed → one slip at the last node, never verified by default", () => {
    const byMode = { forward: 0, reverse: 0 };
    for (const p of problems) {
      const t = splitTrace(p);
      const k = t.steps.length - 1;
      if (!hasOperands(t, k)) continue;
      const c = changeWrittenResult(p, k, wrongResult(p, k), false);
      const label = `${p.id} (a) ${c.steps[k]}`;
      const v = assertSlipAt(p, c.text, k, label);
      assert.deepEqual(v.errors.wrongValue, [], label);
      assert.equal(v.answerCorrect, true, label);
      assert.equal(v.processAcc, (nGold(p) - 1) / nGold(p), label);
      assertLenientPass(p, c.text, label);
      byMode[p.mode]++;
    }
    assert.ok(byMode.forward >= 300 && byMode.reverse >= 300, JSON.stringify(byMode));
  });

  test("(b) an intermediate written result changed and carried forward → one slip, wrong values downstream", () => {
    const rnd = prng(11);
    const byMode = { forward: 0, reverse: 0 };
    let copies = 0;
    for (const p of problems) {
      const t = splitTrace(p);
      const sites = t.steps
        .map((_, k) => k)
        .filter((k) => k < t.steps.length - 1 && hasOperands(t, k) && childrenOf(p, k).length > 0);
      // Sites in a random order; the first whose change reaches some later value.
      for (let i = sites.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [sites[i], sites[j]] = [sites[j], sites[i]];
      }
      for (const k of sites) {
        assert.equal(changeWrittenResult(p, k, goldLin(p, k), true).text, p.completion, `${p.id}: fixture`);
        const c = changeWrittenResult(p, k, wrongResult(p, k), true);
        const wrong = p.graph.nodes
          .map((_, i) => i)
          .filter((i) => i !== k && !linEqual(c.written[i], goldLin(p, i)));
        if (wrong.length === 0) continue;
        const label = `${p.id} (b) at ${k}: ${c.steps[k]}`;
        const v = assertSlipAt(p, c.text, k, label);
        assert.deepEqual(v.errors.wrongValue, names(p, wrong), `${label}: wrong values downstream`);
        for (const i of wrong) assert.ok(descendantsOf(p, k).includes(i), `${label}: ${i} downstream`);
        assert.equal(v.answer, c.answer, label);
        assert.equal(v.processAcc, (nGold(p) - 1 - wrong.length) / nGold(p), label);
        const lenient = verifyTrace(c.text, p, { allowSlips: true });
        assert.equal(lenient.verified, false, `${label}: wrong values fail under allowSlips too`);
        assert.deepEqual(lenient.errors, v.errors, label);
        assert.ok(processReward(lenient, nGold(p)).reward < 1, label);
        if (c.steps[k].split(" = ").length === 3) copies++;
        byMode[p.mode]++;
        break;
      }
    }
    assert.ok(byMode.forward >= 250 && byMode.reverse >= 250, JSON.stringify(byMode));
    assert.ok(copies >= 20, `only ${copies} sites were copies (so X = P = v)`);
  });

  test("(c) an intermediate written result changed, not carried → one slip, no wrong value", () => {
    const rnd = prng(12);
    const byMode = { forward: 0, reverse: 0 };
    for (const p of problems) {
      const t = splitTrace(p);
      const sites = t.steps
        .map((_, k) => k)
        .filter((k) => k < t.steps.length - 1 && hasOperands(t, k) && childrenOf(p, k).length > 0);
      if (sites.length === 0) continue;
      const k = sites[Math.floor(rnd() * sites.length)];
      const c = changeWrittenResult(p, k, wrongResult(p, k), false);
      const label = `${p.id} (c) at ${k}: ${c.steps[k]}`;
      const v = assertSlipAt(p, c.text, k, label);
      assert.deepEqual(v.errors.wrongValue, [], label);
      assert.equal(v.answerCorrect, true, label);
      assert.equal(v.processAcc, (nGold(p) - 1) / nGold(p), label);
      assertLenientPass(p, c.text, label);
      byMode[p.mode]++;
    }
    assert.ok(byMode.forward >= 250 && byMode.reverse >= 250, JSON.stringify(byMode));
  });

  test("property: any change of a written result, carried or not, is one slip there (fast-check)", () => {
    const contexts = ["zoo", "school", "movie"];
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.nat(1_000_000),
          op: fc.integer({ min: 2, max: 20 }),
          context: fc.constantFrom(...contexts),
          mode: fc.constantFrom("forward" as const, "reverse" as const),
          pick: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
          shift: fc.integer({ min: -50, max: 50 }).filter((d) => d !== 0),
          carry: fc.boolean(),
        }),
        ({ seed, op, context, mode, pick, shift, carry }) => {
          const p = generateProblem({ seed, index: 0, op, context, mode });
          const t = splitTrace(p);
          const sites = t.steps.map((_, k) => k).filter((k) => hasOperands(t, k));
          if (sites.length === 0) return;
          const k = sites[Math.floor(pick * sites.length)];
          const c = changeWrittenResult(p, k, { ...goldLin(p, k), b: goldLin(p, k).b + shift }, carry);
          const label = `${p.id} at ${k} ${shift} ${carry}: ${c.steps[k]}`;
          const v = assertSlipAt(p, c.text, k, label);
          const moved = p.graph.nodes.map((_, i) => i).filter((i) => !linEqual(c.written[i], goldLin(p, i)));
          const wrong = moved.filter((i) => i !== k);
          assert.deepEqual(v.errors.wrongValue, names(p, wrong), label);
          if (!carry) assert.deepEqual(wrong, [], label);
          assert.equal(
            verifyTrace(c.text, p, { allowSlips: true }).verified,
            wrong.length === 0 && v.answerCorrect,
          );
        },
      ),
      { numRuns: 400 },
    );
  });
});

// The solving section (reverse mode): "We know VAR = g, so we have f = g.", step equations,
// "Solution: x = v." A false equation there is a slip at the unknown's node.
const reverse = problems.filter((p) => p.mode === "reverse");

/** The number at the end of a sentence "… = N." */
const END_NUMBER = /= (-?\d+(?:\.\d+)?)\.$/;

/** The sentence with its final number replaced. */
const withEndNumber = (sentence: string, f: (n: number) => number): string =>
  sentence.replace(END_NUMBER, (_, n) => `= ${f(Number(n))}.`);

/** A section's text with the answer tag set to `answer`. */
const withAnswer = (p: Problem, text: string, answer: string): string =>
  text.replace(`<answer> ${p.answer} </answer>`, `<answer> ${answer} </answer>`);

/** The checks common to every change of the solving section: one slip, at the unknown's node, and nothing else. */
function assertSolveSlip(p: Problem, text: string, label: string): Verdict {
  const u = unknownOf(p);
  assert.ok(u >= 0, `${label}: the gold graph has an unknown`);
  const v = verifyTrace(text, p);
  assert.deepEqual(v.errors.arithmeticSlips, names(p, [u]), `${label}: slips`);
  for (const cat of ["missing", "extra", "wrongDependency", "wrongValue"] as const)
    assert.deepEqual(v.errors[cat], [], `${label}: ${cat}`);
  assertRejected(v, p, label);
  assert.equal(v.processAcc, (nGold(p) - 1) / nGold(p), `${label}: processAcc`);
  const pen = processReward(v, nGold(p)).penalty;
  assert.equal(pen.arithmeticSlips, 1, `${label}: penalty slips`);
  assert.equal(pen.slipsCounted, 1, `${label}: penalty counts the slip`);
  assert.ok(allRewards(v, nGold(p)).composite < 1, `${label}: composite`);
  return v;
}

/** A changed answer: wrong, and not verified under allowSlips either (the slip is still reported). */
function assertWrongAnswerEvenLenient(p: Problem, text: string, v: Verdict, label: string): void {
  assert.equal(v.answerCorrect, false, `${label}: answer`);
  const lenient = verifyTrace(text, p, { allowSlips: true });
  assert.equal(lenient.verified, false, `${label}: not verified under allowSlips`);
  assert.deepEqual(lenient.errors, v.errors, label);
}

describe("the solving section (reverse mode): a false equation there is a slip at the unknown's node", () => {
  test("fixtures: the grid's reverse problems cover ops 2-20 and every context; the section splits and re-solves exactly", () => {
    assert.equal(new Set(reverse.map((p) => `${p.op}/${p.context}`)).size, 19 * 3);
    for (const p of reverse) {
      const s = splitSolving(p);
      assert.equal(joinSolving(s), p.completion, p.id);
      assert.match(s.sentences[0], /^We know \S+ = -?\d+, so we have .+ = -?\d+\.$/, p.id);
      assert.match(s.sentences.at(-1)!, /^Solution: x = -?\d+\.$/, p.id);
      const last = nGold(p) - 1;
      const t = splitTrace(p);
      assert.equal(resolved(p, t.steps, goldLin(p, last)).tail, t.tail, p.id);
    }
  });

  test("(a) Solution: x = v changed (answer tag kept) → one slip; verified only under allowSlips", () => {
    for (const p of reverse) {
      const s = splitSolving(p);
      const sentences = [...s.sentences];
      sentences[sentences.length - 1] = withEndNumber(sentences.at(-1)!, (n) => n + 7);
      const text = joinSolving({ ...s, sentences });
      const label = `${p.id} (a) ${sentences.at(-1)}`;
      const v = assertSolveSlip(p, text, label);
      assert.equal(v.answerCorrect, true, label);
      assert.equal(parseTrace(text).solve!.solution, Number(p.answer) + 7, label);
      assertLenientPass(p, text, label);
    }
  });

  test("(b) an intermediate step's result changed (2*x = 4), not carried → one slip; verified only under allowSlips", () => {
    const rnd = prng(21);
    let n = 0;
    for (const p of reverse) {
      const s = splitSolving(p);
      const sites = s.sentences.map((_, j) => j).slice(1, -1);
      if (sites.length === 0) continue;
      const j = sites[Math.floor(rnd() * sites.length)];
      const sentences = [...s.sentences];
      sentences[j] = withEndNumber(sentences[j], (r) => r + 7);
      const text = joinSolving({ ...s, sentences });
      const label = `${p.id} (b) ${sentences[j]}`;
      const v = assertSolveSlip(p, text, label);
      assert.equal(v.answerCorrect, true, label);
      assertLenientPass(p, text, label);
      n++;
    }
    assert.ok(n >= 250, `only ${n} sections had a step`);
  });

  test("(b') the first step's result changed and carried to the Solution and the answer → one slip, wrong answer", () => {
    let n = 0;
    for (const p of reverse) {
      const s = splitSolving(p);
      if (s.sentences.length < 3) continue;
      // After the first step every equation is "x = v": with a*x = r + 7, v = (r + 7) / a.
      const sentences = [...s.sentences];
      const first = sentences[1];
      const a = parseLinear(first.slice(first.indexOf(": ") + 2, first.lastIndexOf(" = ")))!.a;
      let x = 0;
      sentences[1] = withEndNumber(first, (r) => {
        x = (r + 7) / a;
        return r + 7;
      });
      for (let j = 2; j < sentences.length; j++) sentences[j] = withEndNumber(sentences[j], () => x);
      const text = withAnswer(p, joinSolving({ ...s, sentences }), String(x));
      const label = `${p.id} (b') ${sentences.slice(1).join(" ")}`;
      const v = assertSolveSlip(p, text, label);
      assert.deepEqual(parseTrace(text).solve!.slips.length, 1, `${label}: one failed check`);
      assertWrongAnswerEvenLenient(p, text, v, label);
      n++;
    }
    assert.ok(n >= 250, `only ${n} sections had a step`);
  });

  test("(c) We know VAR = g changed to another g → one slip (a wrong given); the answer tag decides under allowSlips", () => {
    for (const p of reverse) {
      const s = splitSolving(p);
      const given = p.graph.nodes[nGold(p) - 1].value;
      const sentences = [...s.sentences];
      sentences[0] = sentences[0].replace(` = ${given}, so`, ` = ${given + 7}, so`);
      assert.notEqual(sentences[0], s.sentences[0]);
      const text = joinSolving({ ...s, sentences });
      const label = `${p.id} (c) ${sentences[0]}`;
      const v = assertSolveSlip(p, text, label);
      assert.equal(parseTrace(text).solve!.given, given + 7, label);
      // The answer tag was kept: lenient passes it, as any slip.
      assert.equal(v.answerCorrect, true, label);
      assertLenientPass(p, text, label);
    }
  });

  test("(c') the given changed and the section solved again for it → consistent in itself, still a slip (checked against the gold given)", () => {
    for (const p of reverse) {
      const t = splitTrace(p);
      const last = nGold(p) - 1;
      const f = goldLin(p, last);
      const given = p.graph.nodes[last].value + 7;
      const { text: section, x } = solvingText(stepVar(t.steps[last]), f, given);
      const text = `${splitSolving(p).head} ${section} </solution> <answer> ${x} </answer>`;
      const label = `${p.id} (c') ${section}`;
      const parsed = parseTrace(text).solve!;
      assert.equal(parsed.slip, false, `${label}: the section is consistent in itself`);
      assert.equal(parsed.given, given, label);
      const v = assertSolveSlip(p, text, label);
      assertWrongAnswerEvenLenient(p, text, v, label);
    }
  });

  test("(c'') the given stated of another node (solved consistently for it) → a slip", () => {
    let n = 0;
    for (const p of reverse) {
      const t = splitTrace(p);
      const last = nGold(p) - 1;
      const given = p.graph.nodes[last].value;
      // Another node that depends on x (the unknown itself always does).
      const k = p.graph.nodes.findIndex((_, i) => i !== last && goldLin(p, i).a !== 0);
      const { text: section, x } = solvingText(stepVar(t.steps[k]), goldLin(p, k), given);
      const text = `${splitSolving(p).head} ${section} </solution> <answer> ${x} </answer>`;
      const label = `${p.id} (c'') ${section}`;
      const parsed = parseTrace(text).solve!;
      assert.equal(parsed.slip, false, label);
      assert.equal(parsed.givenNode, p.graph.nodes[k].name, label);
      const v = assertSolveSlip(p, text, label);
      if (String(x) !== p.answer) assertWrongAnswerEvenLenient(p, text, v, label);
      n++;
    }
    assert.equal(n, reverse.length);
  });

  test("(d) the 'so we have' equation's left side changed → one slip; the answer tag decides under allowSlips", () => {
    for (const p of reverse) {
      const s = splitSolving(p);
      const f = goldLin(p, nGold(p) - 1);
      const sentences = [...s.sentences];
      sentences[0] = sentences[0].replace(
        `have ${formatLin(f)} =`,
        `have ${formatLin({ a: f.a, b: f.b + 7 })} =`,
      );
      assert.notEqual(sentences[0], s.sentences[0]);
      const text = joinSolving({ ...s, sentences });
      const label = `${p.id} (d) ${sentences[0]}`;
      const v = assertSolveSlip(p, text, label);
      assert.equal(v.answerCorrect, true, label);
      assertLenientPass(p, text, label);
    }
  });

  test("a missing or truncated section is not a slip: the answer and node checks judge it", () => {
    for (const p of reverse) {
      const s = splitSolving(p);
      const dropped = `${s.head}${s.tail}`;
      const v = verifyTrace(dropped, p);
      assert.deepEqual(v.errors.arithmeticSlips, [], p.id);
      assert.equal(v.verified, true, `${p.id}: no section, answer right: verified`);
      const section = s.sentences.join(" ");
      for (const cut of [1, 9, section.length >> 1, section.length - 1]) {
        const text = `${s.head} ${section.slice(0, cut)}`;
        const c = verifyTrace(text, p);
        const label = `${p.id} cut at ${cut}`;
        assert.equal(c.truncated, true, label);
        assert.deepEqual(c.errors.arithmeticSlips, [], label);
        assertRejected(c, p, label);
      }
    }
  });
});
