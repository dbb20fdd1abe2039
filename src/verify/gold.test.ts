import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { linEqual } from "../world/linear.js";
import type { Problem } from "../world/types.js";
import { allRewards, parseTrace, verifySample, verifyTrace } from "./index.js";
import { CONTEXTS, goldLin, MODES, OPS, problemGrid } from "./testing/fixtures.js";

const PER_CELL = 44; // 19 ops × 3 contexts × 2 modes × 44 = 5,016 problems
const problems: Problem[] = problemGrid(PER_CELL, 1);

/** Checks that a text parses to exactly the gold graph of p; returns a description of the first mismatch. */
function mismatch(p: Problem, text: string): string | null {
  const t = parseTrace(text);
  if (t.parseFailed) return "parse failed";
  if (t.truncated) return "truncated";
  if (t.issues.length > 0) return `issues: ${t.issues.join(" | ")}`;
  if (t.answer !== p.answer) return `answer ${t.answer} != ${p.answer}`;
  const names = [...t.nodes.keys()];
  const gold = p.graph.nodes.map((n) => n.name);
  if (names.join("\n") !== gold.join("\n"))
    return `names ${JSON.stringify(names)} != ${JSON.stringify(gold)}`;
  for (let k = 0; k < gold.length; k++) {
    const g = p.graph.nodes[k];
    const n = t.nodes.get(g.name)!;
    const got = [...n.parents].sort();
    const want = [...new Set(g.parents)].sort();
    if (got.join("\n") !== want.join("\n")) return `${g.name}: parents ${got} != ${want}`;
    if (n.value === null || !linEqual(n.value, goldLin(p, k))) {
      return `${g.name}: value ${JSON.stringify(n.value)} != ${g.expr ?? g.value}`;
    }
    if (n.slip) return `${g.name}: slip`;
  }
  return null;
}

describe("gold traces parse to the gold graph", () => {
  test(`covers every (op, context, mode) cell with ${PER_CELL} problems (>= 5,000 in all)`, () => {
    assert.ok(problems.length >= 5000);
    const cells = new Set(problems.map((p) => `${p.op}/${p.context}/${p.mode}`));
    assert.equal(cells.size, OPS.length * CONTEXTS.length * MODES.length);
    assert.ok(problems.some((p) => p.graph.nodes.some((n) => n.expr !== undefined)));
    assert.ok(problems.some((p) => p.mode === "reverse" && p.graph.nodes.some((n) => n.expr === undefined)));
  });

  test("the completion, the solution field and prompt + completion give exactly the gold graph", () => {
    const bad: string[] = [];
    for (const p of problems) {
      for (const [kind, text] of [
        ["completion", p.completion],
        ["solution", p.solution],
        ["full", p.prompt + p.completion],
      ] as const) {
        const m = mismatch(p, text);
        if (m !== null && bad.length < 5) bad.push(`${p.id} (${kind}): ${m}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  test("every gold trace is verified under every policy (allowExtra, allowSlips) and earns every reward in full", () => {
    const bad: string[] = [];
    for (const p of problems) {
      const n = p.graph.nodes.length;
      for (const text of [p.completion, p.solution, p.prompt + p.completion]) {
        const parsed = parseTrace(text);
        for (const [allowExtra, allowSlips] of [
          [true, false],
          [false, false],
          [true, true],
          [false, true],
        ]) {
          const v = verifyTrace(parsed, p, { allowExtra, allowSlips });
          const rewards = [
            allRewards(v, n, { alpha: 0.2, form: "gated" }),
            allRewards(v, n, { alpha: 0.5, form: "gated" }),
            allRewards(v, n, { alpha: 0.2, form: "linear" }),
            allRewards(v, n, { alpha: 0.5, form: "linear" }),
          ];
          const ok =
            v.verified &&
            v.verifiedAllowExtra &&
            v.verifiedNoExtra &&
            v.answerCorrect &&
            v.processAcc === 1 &&
            !v.parseFailed &&
            !v.truncated &&
            Object.values(v.errors).every((e) => e.length === 0) &&
            rewards.every((r) => r.outcome === 1 && r.process === 1 && r.composite === 1 && r.strict === 1);
          if (!ok && bad.length < 5) bad.push(`${p.id}: ${JSON.stringify(v)} ${JSON.stringify(rewards)}`);
        }
      }
      const s = verifySample(p.completion, p);
      if (!s.verified || Object.values(s.rewards).some((r) => r !== 1)) bad.push(`${p.id}: verifySample`);
    }
    assert.deepEqual(bad, []);
  });
});
