import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CONTEXT_IDS, getContext } from "./contexts.js";
import { MAX_OP, strictline } from "./graph.js";
import { drawGraph, generateProblem } from "./problem.js";
import { solveFromText } from "./testing/text-solver.js";
import { MODES, type ProblemKey } from "./types.js";

/** Every (op 2..20, context, mode) cell, `perCell` problems each. */
function* cells(perCell: number, seed = 1): Generator<ProblemKey> {
  let index = 0;
  for (let op = 2; op <= 20; op++)
    for (const context of CONTEXT_IDS)
      for (const mode of MODES)
        for (let k = 0; k < perCell; k++) yield { seed, index: index++, op, context, mode };
}

describe("generator", () => {
  it("every problem of 5,000+ over all cells is solvable from its own text, with the requested op", () => {
    let n = 0;
    for (const key of cells(45)) {
      const p = generateProblem(key);
      let sol: ReturnType<typeof solveFromText>;
      try {
        sol = solveFromText(p.problem, p.question);
      } catch (e) {
        assert.fail(`${p.id}: ${(e as Error).message}\n${p.problem} ${p.question}`);
      }
      assert.equal(String(sol.answer), p.answer, `${p.id}: text solver answer`);
      assert.equal(sol.op, p.op, `${p.id}: op recomputed from the text`);
      assert.deepEqual(
        new Set(sol.nodes),
        new Set(p.graph.nodes.map((x) => x.name)),
        `${p.id}: solution nodes`,
      );
      n++;
    }
    assert.ok(n >= 5000, `only ${n} problems`);
  });

  it("is a pure function of the key: same bytes on regeneration, other bytes for another seed", () => {
    for (const key of cells(1, 7)) {
      const a = JSON.stringify(generateProblem(key));
      assert.equal(JSON.stringify(generateProblem({ ...key })), a);
      assert.notEqual(JSON.stringify(generateProblem({ ...key, seed: 8 })), a);
    }
  });

  it("writes the fields of the contract and a consistent model text", () => {
    for (const key of cells(1, 3)) {
      const p = generateProblem(key);
      assert.ok(p.solution.endsWith(`Answer: ${p.answer}.`));
      assert.ok(p.prompt.startsWith("<question> ") && p.prompt.endsWith(" </question> <solution>"));
      assert.ok(p.completion.endsWith(` </solution> <answer> ${p.answer} </answer>`));
      assert.equal(p.prompt, `<question> ${p.problem} ${p.question} </question> <solution>`);
      assert.equal(
        p.completion,
        ` ${p.solution.replace(/ Answer: \d+\.$/, "")} </solution> <answer> ${p.answer} </answer>`,
      );
      const last = p.graph.nodes[p.graph.nodes.length - 1];
      if (p.mode === "forward") assert.equal(String(last.value), p.answer);
      else assert.ok(Number(p.answer) >= 1 && Number(p.answer) <= 4, "reverse answers are 1..4");
      for (const node of p.graph.nodes) {
        assert.ok(
          Number.isInteger(node.value) && node.value > 0 && node.value <= 1000,
          `${p.id}: value ${node.value}`,
        );
      }
      assert.ok(p.op <= strictline(p.op));
    }
  });

  it("graph edges equal op and values follow the rules", () => {
    for (const key of cells(3, 5)) {
      const g = drawGraph(key);
      let edges = 0;
      for (const v of g.order) edges += g.defs[v]!.parents.length + (g.defs[v]!.rng ? 1 : 0);
      assert.equal(edges, key.op);
      for (const v of [...g.order, ...g.distractors]) {
        const d = g.defs[v]!;
        assert.ok(d.value > 0 && d.value <= 1000);
        if (d.constOp === "times") assert.ok(d.c >= 2 && d.c <= 4);
        if (d.constOp === "plus" || d.parents.length === 0) assert.ok(d.c >= 1 && d.c <= 4);
      }
    }
  });

  it("supports ops beyond 20 up to MAX_OP, solvable from text", () => {
    for (const op of [21, 25, 30, MAX_OP]) {
      for (const mode of MODES) {
        const p = generateProblem({ seed: 2, index: op, op, context: "zoo", mode });
        const sol = solveFromText(p.problem, p.question);
        assert.equal(String(sol.answer), p.answer);
        assert.equal(sol.op, op);
      }
    }
  });

  it("sequential letters change only the trace variables: same problem, same graph, still solvable", () => {
    for (const key of cells(1, 4)) {
      const a = generateProblem(key);
      const b = generateProblem(key, { letters: "sequential" });
      assert.equal(b.problem, a.problem);
      assert.deepEqual(b.graph, a.graph);
      assert.match(b.completion, /^ Define .+? as A;/);
      const vars = [...b.completion.matchAll(/Define .+? as ([A-Za-z]\d*);/g)].map((m) => m[1]);
      assert.equal(new Set(vars).size, vars.length, "never reused");
    }
  });

  it("draws place and item names uniformly and distinct within a problem (chi-square over 3,000 problems)", () => {
    const ctx = getContext("zoo");
    const counts = new Array(ctx.places.length).fill(0);
    let draws = 0;
    for (let i = 0; i < 3000; i++) {
      const g = drawGraph({ seed: 11, index: i, op: 8, context: "zoo", mode: "forward" });
      assert.equal(new Set(g.placeNames).size, g.placeNames.length, "distinct places");
      assert.equal(new Set(g.itemNames).size, g.itemNames.length, "distinct items");
      for (const p of g.placeNames) counts[p]++;
      draws += g.placeNames.length;
    }
    const expected = draws / counts.length;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    assert.ok(
      chi2 < 27.9,
      `chi-square ${chi2.toFixed(1)} over ${counts.length} places (p = 0.001 at 9 df: 27.9)`,
    );
  });

  it("rejects bad keys with clear errors", () => {
    const base: ProblemKey = { seed: 1, index: 0, op: 5, context: "zoo", mode: "forward" };
    assert.throws(() => generateProblem({ ...base, op: 1 }), /op must be an integer in 2\.\./);
    assert.throws(() => generateProblem({ ...base, op: MAX_OP + 1 }), /op must be/);
    assert.throws(() => generateProblem({ ...base, op: 2.5 }), /op must be/);
    assert.throws(() => generateProblem({ ...base, context: "mars" }), /unknown context "mars"/);
    assert.throws(() => generateProblem({ ...base, mode: "sideways" as never }), /mode must be/);
    assert.throws(() => generateProblem({ ...base, seed: -1 }), /seed must be/);
  });
});
