import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { type Lin, linEqual } from "../world/linear.js";
import { generateProblem } from "../world/problem.js";
import type { Problem } from "../world/types.js";
import {
  buildStep,
  changeWrittenResult,
  childrenOf,
  clausesOf,
  descendantsOf,
  goldLin,
  joinTrace,
  prng,
  problemGrid,
  type SplitTrace,
  shiftLin,
  splitTrace,
  stepVar,
} from "./fixtures.js";
import { allRewards, parseTrace, processReward, strictReward, type Verdict, verifyTrace } from "./index.js";

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
      assert.deepEqual(v.errors.arithmeticSlips, [], label);
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
        const text = joinTrace({ ...t, steps });
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
      const at = usesQ ? (rnd() < 0.5 ? 0 : t.steps.length) : Math.floor(rnd() * (t.steps.length + 1));
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
