import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { generateProblem } from "../world/problem.js";
import { isVariable, normalizeName, parseLinear, parseTrace, verifyTrace } from "./index.js";
import { problemGrid } from "./testing/fixtures.js";

const node = (text: string, name: string) => {
  const n = parseTrace(text).nodes.get(name);
  assert.ok(n, `no node "${name}"`);
  return n;
};

describe("parseTrace: structure", () => {
  test("forward steps: parents through intermediates, values from the substituted arithmetic", () => {
    const text =
      " Define adult bear in South Zoo as O; so O = 2. Define adult fox in South Zoo as A; so A = 3." +
      " Define adult wolf in Pine Ridge as U; E = O = 2; so U = 1 + E = 1 + 2 = 3." +
      " Define total number of adult animals in South Zoo as G; K = O + A = 2 + 3 = 5; F = K + U = 5 + 3 = 8;" +
      " so G = 2 * F = 2 * 8 = 16. </solution> <answer> 16 </answer>";
    const t = parseTrace(text);
    assert.equal(t.parseFailed, false);
    assert.equal(t.truncated, false);
    assert.deepEqual(t.issues, []);
    assert.equal(t.answer, "16");
    assert.deepEqual(
      [...t.nodes.keys()],
      [
        "adult bear in South Zoo",
        "adult fox in South Zoo",
        "adult wolf in Pine Ridge",
        "total number of adult animals in South Zoo",
      ],
    );
    assert.deepEqual(t.nodes.get("adult wolf in Pine Ridge"), {
      name: "adult wolf in Pine Ridge",
      variable: "U",
      parents: ["adult bear in South Zoo"],
      value: { a: 0, b: 3 },
      slip: false,
    });
    const g = t.nodes.get("total number of adult animals in South Zoo")!;
    assert.deepEqual(g.parents, [
      "adult bear in South Zoo",
      "adult fox in South Zoo",
      "adult wolf in Pine Ridge",
    ]);
    assert.deepEqual(g.value, { a: 0, b: 16 });
  });

  test("intermediate variables of earlier steps resolve to their nodes", () => {
    const text =
      "Define a in P as A; so A = 2. Define b in P as B; K = A + 1 = 3; so B = K = 3. Define c in P as C; so C = K = 3.";
    assert.deepEqual(node(text, "c in P").parents, ["a in P"]);
  });

  test("reverse steps: x is the unknown, values are linear in x", () => {
    const text =
      "Define adult racoon in Pine Ridge as p; so p = x. Define total number of adult animals in Pine Ridge as w; so w = p = x." +
      " Define adult fox in South Zoo as o; z = p + w = x + x = 2*x; so o = 1 + z = 1 + (2*x) = 2*x + 1." +
      " Define adult owl in South Zoo as q; so q = o - 4 * p = (2*x + 1) - 4 * x = -2*x + 1." +
      " We know o = 3, so we have 2*x + 1 = 3. Subtract 1 from both sides: 2*x = 2. Divide both sides by 2: x = 1." +
      " Solution: x = 1. Answer: 1.";
    const t = parseTrace(text);
    assert.deepEqual(t.issues, []);
    assert.deepEqual(t.nodes.get("adult racoon in Pine Ridge")!.value, { a: 1, b: 0 });
    assert.deepEqual(t.nodes.get("adult racoon in Pine Ridge")!.parents, []);
    const o = t.nodes.get("adult fox in South Zoo")!;
    assert.deepEqual(o.value, { a: 2, b: 1 });
    assert.deepEqual(o.parents, [
      "adult racoon in Pine Ridge",
      "total number of adult animals in Pine Ridge",
    ]);
    assert.deepEqual(t.nodes.get("adult owl in South Zoo")!.value, { a: -2, b: 1 });
    assert.equal(t.answer, "1");
    assert.equal(t.nodes.size, 4);
  });

  test("a step that defines x explicitly shadows the unknown", () => {
    const text = "Define a in P as x; so x = 5. Define b in P as B; so B = x + 1 = 5 + 1 = 6.";
    const b = node(text, "b in P");
    assert.deepEqual(b.parents, ["a in P"]);
    assert.deepEqual(b.value, { a: 0, b: 6 });
  });

  test("variable letters are arbitrary: relabelled gold traces give the same graph", () => {
    for (const p of problemGrid(1, 3)) {
      const relabelled = p.completion.replace(
        /(?<![\p{L}\p{N}_])([A-Za-wyz])([0-9]*)(?![\p{L}\p{N}_])/gu,
        (_, l: string, d: string) => `${l}${d}9`,
      );
      const v = verifyTrace(relabelled, p, { allowExtra: false, allowSlips: false });
      assert.ok(v.verified, `${p.id}: ${relabelled}`);
    }
  });

  test("step spans: one per Define in text order, naming its node; duplicates and bad headers marked", () => {
    for (const p of problemGrid(2, 7)) {
      const t = parseTrace(p.completion);
      assert.deepEqual(
        t.spans.map((s) => s.name),
        p.graph.nodes.map((n) => normalizeName(n.name)),
        p.id,
      );
      let prev = 0;
      for (const s of t.spans) {
        assert.ok(s.start >= prev && s.end > s.start, `${p.id}: span order`);
        assert.ok(p.completion.startsWith("Define", s.start), `${p.id}: span starts at its Define`);
        assert.equal(s.duplicate, false);
        prev = s.end;
      }
      // Every step's text lies between its Define and the next one.
      const last = t.spans[t.spans.length - 1];
      assert.ok(!p.completion.slice(t.spans[0].start, last.end).includes("</solution>"), p.id);
    }
    const t = parseTrace("Define a in P as A; so A = 2. Define garbage. Define a in P as B; so B = 3.");
    assert.deepEqual(
      t.spans.map((s) => [s.name, s.duplicate]),
      [
        ["a in P", false],
        [null, false],
        ["a in P", true],
      ],
    );
    assert.deepEqual(parseTrace("no steps at all").spans, []);
  });

  test("names are normalised (whitespace) and Unicode-safe", () => {
    const t = parseTrace(
      "Define  calm  road movie in\n Festival Lumière de Valmont  as\tR ; so R = 4. Answer: 4.",
    );
    assert.deepEqual([...t.nodes.keys()], ["calm road movie in Festival Lumière de Valmont"]);
    assert.equal(normalizeName("  a \t b\n"), "a b");
    assert.equal(normalizeName("a b"), "a b");
    const u = parseTrace("Define 🐻 in 北京 as B; so B = 2 + 🐻 = 3. Define ü in Z as C; so C = B = 3.");
    assert.deepEqual(u.nodes.get("ü in Z")!.parents, ["🐻 in 北京"]);
  });
});

describe("parseTrace: values and slips", () => {
  test("a written result that disagrees with its operands is a slip; the value follows the arithmetic", () => {
    const n = node("Define a in P as A; so A = 2. Define b in P as B; so B = 3 * A = 3 * 2 = 7.", "b in P");
    assert.equal(n.slip, true);
    assert.deepEqual(n.value, { a: 0, b: 6 });
    const s = node("Define a in P as A; so A = 2. Define b in P as B; so B = 3 * A = 3 * 5 = 15.", "b in P");
    assert.equal(s.slip, true, "3 * A = 3 * 5 is false with A = 2 as written");
    assert.deepEqual(s.value, { a: 0, b: 15 }, "the value is the substituted arithmetic, 3 * 5");
    const r = node("Define a in P as A; so A = x. Define b in P as B; so B = 2 * A = 2 * x = 3*x.", "b in P");
    assert.equal(r.slip, true);
    assert.deepEqual(r.value, { a: 2, b: 0 }, "reverse mode too: the value is 2 * x, not the written 3*x");
    const c = node("Define a in P as A; so A = 2. Define b in P as B; so B = A = 5.", "b in P");
    assert.equal(c.slip, true, "a copy B = A = 5 with A = 2 is a false equation");
    assert.deepEqual(c.value, { a: 0, b: 2 }, "without substituted arithmetic: the expression on variables");
    const v = node("Define a in P as A; so A = 2. Define b in P as B; so B = A + 1 = 5.", "b in P");
    assert.equal(v.slip, true);
    assert.deepEqual(v.value, { a: 0, b: 3 });
  });

  test("docs example: one slip, then a wrong intermediate carried downstream gives wrong values, not slips", () => {
    const head =
      "Define u in P as U; so U = 3. Define o in P as O; so O = 2. Define r in P as R; so R = U + O = 3 + 2 = 12.";
    const carried = parseTrace(`${head} Define s in P as S; so S = R + 1 = 12 + 1 = 13.`).nodes;
    assert.deepEqual(carried.get("r in P")!.value, { a: 0, b: 5 }, "r is its arithmetic, 3 + 2");
    assert.equal(carried.get("r in P")!.slip, true);
    assert.deepEqual(carried.get("s in P")!.value, { a: 0, b: 13 }, "s carries r as written, 12");
    assert.equal(carried.get("s in P")!.slip, false, "R + 1 = 12 + 1 holds with R as written");
    const notCarried = parseTrace(`${head} Define s in P as S; so S = R + 1 = 5 + 1 = 6.`).nodes;
    assert.deepEqual(notCarried.get("s in P")!.value, { a: 0, b: 6 });
    assert.equal(notCarried.get("s in P")!.slip, false, "R + 1 = 5 + 1 holds with R's value");
    // Through a copy: S = R = 12 carries the written result, S = R = 5 the value; neither is a slip.
    const copy = parseTrace(
      `${head} Define s in P as S; so S = R = 12. Define t in P as T; so T = S + 1 = 12 + 1 = 13.`,
    ).nodes;
    assert.deepEqual(copy.get("s in P")!.value, { a: 0, b: 12 });
    assert.deepEqual(copy.get("t in P")!.value, { a: 0, b: 13 });
    assert.equal(copy.get("s in P")!.slip || copy.get("t in P")!.slip, false);
    const copyRight = parseTrace(`${head} Define s in P as S; so S = R = 5.`).nodes.get("s in P")!;
    assert.deepEqual(copyRight.value, { a: 0, b: 5 });
    assert.equal(copyRight.slip, false);
  });

  test("docs example: a substituted operand that disagrees with its variable is a slip and a wrong value", () => {
    const t = parseTrace(
      "Define r in P as R; so R = 5. Define s in P as S; so S = R + 1 = 7 + 1 = 8." +
        " Define t in P as T; so T = S * 2 = 8 * 2 = 16.",
    ).nodes;
    const s = t.get("s in P")!;
    assert.equal(s.slip, true, "R + 1 = 7 + 1 is false with R = 5");
    assert.deepEqual(s.value, { a: 0, b: 8 }, "the value is the arithmetic written, 7 + 1");
    const u = t.get("t in P")!;
    assert.equal(u.slip, false, "t's arithmetic is right on s as written");
    assert.deepEqual(u.value, { a: 0, b: 16 });
  });

  test("reverse mode: a wrong linear result carried downstream is a wrong value there, not a slip", () => {
    const t = parseTrace(
      "Define a in P as A; so A = x. Define b in P as B; so B = 2 * A = 2 * x = 3*x." +
        " Define c in P as C; so C = B + 1 = (3*x) + 1 = 3*x + 1.",
    ).nodes;
    assert.equal(t.get("b in P")!.slip, true);
    assert.deepEqual(t.get("b in P")!.value, { a: 2, b: 0 });
    assert.equal(t.get("c in P")!.slip, false);
    assert.deepEqual(t.get("c in P")!.value, { a: 3, b: 1 });
  });

  test("slips in intermediate clauses belong to the step; a copy of the intermediate carries its written result", () => {
    const n = node(
      "Define a in P as A; so A = 2. Define b in P as B; E = A + 1 = 2 + 1 = 4; so B = E = 4.",
      "b in P",
    );
    assert.equal(n.slip, true);
    assert.deepEqual(n.value, { a: 0, b: 4 }, "B = E = 4 copies E as written");
    const m = node(
      "Define a in P as A; so A = 2. Define b in P as B; E = A + 1 = 2 + 1 = 4; so B = 2 * E = 2 * 4 = 8.",
      "b in P",
    );
    assert.equal(m.slip, true);
    assert.deepEqual(m.value, { a: 0, b: 8 });
  });

  test("unevaluable terms fall back to the last number written", () => {
    const n = node("Define a in P as A; so A = x. Define b in P as B; so B = A * A = x * x = 9.", "b in P");
    assert.deepEqual(n.value, { a: 0, b: 9 });
    assert.equal(n.slip, false);
    assert.equal(node("Define a in P as A; so A = ((1 + 2) = 4.", "a in P").value?.b, 4);
    assert.equal(node("Define a in P as A; so A = 2x.", "a in P").value, null);
    assert.equal(node("Define a in P as A; so A = 6 / 3 = 2.", "a in P").value?.b, 2);
    assert.equal(node("Define a in P as A; so A = -3.", "a in P").value?.b, -3);
    assert.equal(node("Define a in P as A; so A = 2.5 + 1 = 3.5.", "a in P").value?.b, 3.5);
  });

  test("a step that never assigns its variable has no value", () => {
    const t = parseTrace("Define a in P as A; so B = 2.");
    assert.equal(t.nodes.get("a in P")!.value, null);
    assert.ok(t.issues.some((i) => i.includes("never assigned")));
  });

  test("parseLinear reads canonical linear forms", () => {
    assert.deepEqual(parseLinear("2*x + 1"), { a: 2, b: 1 });
    assert.deepEqual(parseLinear("-x + 5"), { a: -1, b: 5 });
    assert.deepEqual(parseLinear("3*x - 2"), { a: 3, b: -2 });
    assert.deepEqual(parseLinear("x"), { a: 1, b: 0 });
    assert.deepEqual(parseLinear("7"), { a: 0, b: 7 });
    assert.equal(parseLinear("x*x"), null);
    assert.equal(parseLinear("y"), null);
    assert.equal(parseLinear(""), null);
    assert.equal(isVariable("A12"), true);
    assert.equal(isVariable("AB"), false);
  });
});

describe("parseTrace: answers, boundaries and flags", () => {
  const p = generateProblem({ seed: 5, index: 0, op: 6, context: "zoo", mode: "forward" });

  test("answer extraction: closed, unclosed, fallback, none", () => {
    assert.equal(parseTrace(p.completion).answer, p.answer);
    assert.equal(parseTrace(p.prompt + p.completion).answer, p.answer);
    assert.equal(parseTrace(p.solution).answer, p.answer);
    assert.equal(parseTrace(" ... </solution> <answer> 12. </answer>").answer, "12");
    assert.equal(parseTrace(" ... </solution> <answer> 12 ").answer, "12");
    assert.equal(parseTrace(" ... </solution> <answer> 12 <eos>").answer, "12");
    assert.equal(parseTrace("Answer: 3. and later Answer: 5.").answer, "5");
    assert.equal(parseTrace("<answer></answer>").answer, null);
    assert.equal(parseTrace("no answer here").answer, null);
  });

  test("Define starts a step only as a word followed by whitespace", () => {
    const t = parseTrace(
      "Define a in P as A; so A = 2. ReDefine b in P as B; so B = 3. Defined c in P as C; so C = 1.",
    );
    assert.deepEqual([...t.nodes.keys()], ["a in P"]);
  });

  test("the prompt is cut at the first <solution>", () => {
    const t = parseTrace(
      "<question> Define decoy as D; so D = 1. </question> <solution> Define a in P as A; so A = 2. </solution>",
    );
    assert.deepEqual([...t.nodes.keys()], ["a in P"]);
  });

  test("steps end at We know / Solution: / Answer: / </solution>; nothing after </solution> is a step", () => {
    const t = parseTrace(
      "Define a in P as A; so A = 2. We know A = 2, so B = 7. Define b in P as B; so B = A = 2. Solution: C = 9." +
        " </solution> <answer> 2 </answer> Define c in P as C; so C = 1.",
    );
    assert.deepEqual([...t.nodes.keys()], ["a in P", "b in P"]);
    assert.deepEqual(t.nodes.get("a in P")!.parents, []);
    assert.deepEqual(t.nodes.get("b in P")!.parents, ["a in P"]);
    // The text after a step's end marker is a solving section: here its equations name variables
    // not defined yet (B, C), so they are unreadable (issues), not slips.
    assert.deepEqual(t.issues, [
      'solving: unreadable equation "We know A = 2, so B = 7"',
      'solving: unreadable equation "Solution: C = 9"',
    ]);
    assert.equal(t.solve?.slip, false);
  });

  test("truncated: Define steps but neither </solution> nor an answer", () => {
    assert.equal(parseTrace(p.completion.slice(0, p.completion.length / 2)).truncated, true);
    assert.equal(parseTrace(p.completion).truncated, false);
    assert.equal(parseTrace(p.solution).truncated, false);
    assert.equal(parseTrace(" Define a in P as A; so A = 2. </solution>").truncated, false);
    assert.equal(parseTrace(" Define a in P as A; so A = 2. <answer> 2").truncated, false);
    assert.equal(parseTrace("just words").truncated, false);
  });

  test("parse failure: no readable Define step", () => {
    for (const text of [
      "",
      "hello",
      "Define",
      "Define Define Define",
      "<answer> 3 </answer>",
      "Define as ;",
    ]) {
      assert.equal(parseTrace(text).parseFailed, true, JSON.stringify(text));
    }
    assert.equal(parseTrace("Define a as A;").parseFailed, false);
    assert.equal(parseTrace(undefined as unknown as string).parseFailed, true);
  });

  test("duplicate definitions keep the first and are reported", () => {
    const t = parseTrace(
      "Define a in P as A; so A = 2. Define a in P as B; so B = 5. Define c in P as C; so C = B = 5.",
    );
    assert.deepEqual(t.nodes.get("a in P")!.value, { a: 0, b: 2 });
    assert.deepEqual(t.nodes.get("c in P")!.parents, ["a in P"]);
    assert.ok(t.issues.some((i) => i.includes("duplicate")));
  });

  test("malformed pieces are reported as issues, not thrown", () => {
    const t = parseTrace(
      "Define a in P as A; so A = 2; junk; 3 + = 4; B = = 1; so A = Z. Define b in P as 7; so 7 = 1.",
    );
    assert.ok(t.issues.some((i) => i.includes('without "="')));
    assert.ok(t.issues.some((i) => i.includes("not a variable")));
    assert.ok(t.issues.some((i) => i.includes("empty term")));
    assert.ok(t.issues.some((i) => i.includes("unknown variable")));
    assert.equal(t.nodes.size, 2);
  });

  test("bounds: parents per node, nesting depth; options fall back to their defaults", () => {
    const defs = Array.from({ length: 70 }, (_, i) => `Define p${i} in P as B${i}; so B${i} = 1.`).join(" ");
    const sum = Array.from({ length: 70 }, (_, i) => `B${i}`).join(" + ");
    const t = parseTrace(`${defs} Define q in P as Q; so Q = ${sum} = 70.`);
    assert.equal(t.nodes.get("q in P")!.parents.length, 64);
    assert.ok(t.issues.some((i) => i.includes("more than 64 parents")));
    assert.equal(
      parseTrace(`${defs} Define q in P as Q; so Q = ${sum}.`, { maxParents: 100 }).nodes.get("q in P")!
        .parents.length,
      70,
    );
    const deep = (n: number) => `Define a in P as A; so A = ${"(".repeat(n)}1${")".repeat(n)}.`;
    assert.equal(node(deep(150), "a in P").value?.b, 1);
    assert.equal(node(deep(250), "a in P").value, null);
    assert.equal(parseTrace(deep(250), { maxDepth: 300 }).nodes.get("a in P")!.value?.b, 1);
    const many = "Define ".repeat(100);
    assert.equal(parseTrace(many, { maxIssues: undefined }).issues.length, 51);
    assert.equal(parseTrace(many, { maxIssues: 3 }).issues.length, 4);
  });

  test("issues are capped", () => {
    const t = parseTrace("Define ".repeat(1000));
    assert.ok(t.issues.length <= 51);
    assert.match(t.issues.at(-1)!, /more issues/);
  });
});

describe("parseTrace: the solving section (reverse mode)", () => {
  // The docs' running example: the unknown p = x, the given o = 2*x + 1 = 3, so x = 1.
  const steps =
    "Define adult racoon in Pine Ridge as p; so p = x. Define total number of adult animals in Pine Ridge as w; so w = p = x." +
    " Define adult fox in South Zoo as o; z = p + w = x + x = 2*x; so o = 1 + z = 1 + (2*x) = 2*x + 1.";
  const GOLD =
    " We know o = 3, so we have 2*x + 1 = 3. Subtract 1 from both sides: 2*x = 2. Divide both sides by 2: x = 1." +
    " Solution: x = 1.";
  const solve = (section: string, tail = " Answer: 1.") => {
    const t = parseTrace(steps + section + tail);
    assert.ok(t.solve, "no solving section");
    return t.solve;
  };
  /** The failed checks of a section, without the sentence quoted before each reason. */
  const why = (section: string, tail?: string) =>
    solve(section, tail).slips.map((m) => m.replace(/^".*": /, ""));

  test("the gold section is read: its given, its solution, no slip, no issue", () => {
    const t = parseTrace(steps + GOLD + " Answer: 1.");
    assert.deepEqual(t.issues, []);
    assert.deepEqual(t.solve, {
      node: "adult racoon in Pine Ridge",
      hasGiven: true,
      givenNode: "adult fox in South Zoo",
      given: 3,
      solution: 1,
      slip: false,
      slips: [],
    });
    // Every generated reverse trace reads the same way (gold.test.ts checks all 5,000+).
    for (const q of problemGrid(1, 3).filter((r) => r.mode === "reverse")) {
      const s = parseTrace(q.completion).solve!;
      assert.equal(s.slip, false, q.id);
      assert.equal(s.given, q.graph.nodes.at(-1)!.value, q.id);
      assert.equal(s.givenNode, q.graph.nodes.at(-1)!.name, q.id);
      assert.equal(s.solution, Number(q.answer), q.id);
      assert.equal(s.node, q.graph.nodes.find((n) => n.expr === "x" && n.parents.length === 0)!.name, q.id);
    }
  });

  test("rule 1: VAR is a variable of the trace, LHS its value, RHS the given g", () => {
    assert.deepEqual(why(GOLD.replace("We know o", "We know Z")), ['"Z" is not a variable of the trace']);
    assert.deepEqual(why(GOLD.replace("We know o", "We know x")), ['"x" is not a variable of the trace']);
    // LHS changed: a slip, and the next step follows the equation as written (no second slip there:
    // 2*x + 2 = 3 gives 2*x = 1, not 2*x = 2).
    assert.deepEqual(why(GOLD.replace("have 2*x + 1", "have 2*x + 2")), [
      "its left side is not the value of o",
      "does not follow from the equation before it",
    ]);
    assert.deepEqual(why(GOLD.replace("2*x + 1 = 3", "2*x + 1 = 4")), [
      "its right side is not the given g",
      "does not follow from the equation before it",
    ]);
    // g changed alone: RHS no longer equals it (the given's value itself is checked by verifyTrace).
    const s = solve(GOLD.replace("We know o = 3", "We know o = 5"));
    assert.deepEqual(
      s.slips.map((m) => m.replace(/^".*": /, "")),
      ["its right side is not the given g"],
    );
    assert.equal(s.given, 5);
    // The left side may name the variable itself, or its written result after a slip in its step.
    assert.deepEqual(why(GOLD.replace("have 2*x + 1", "have o")), []);
    const slipped = steps.replace("= 2*x + 1.", "= 2*x + 5.");
    assert.equal(parseTrace(slipped + GOLD).nodes.get("adult fox in South Zoo")!.slip, true);
    assert.equal(parseTrace(slipped + GOLD).solve!.slip, false, "the value 2*x + 1 is o's value");
    const carried = GOLD.replace("2*x + 1 = 3", "2*x + 5 = 3")
      .replace("Subtract 1", "Subtract 5")
      .replace("2*x = 2", "2*x = -2")
      .replace(/x = 1\./g, "x = -1.");
    assert.equal(parseTrace(slipped + carried).solve!.slip, false, "2*x + 5 is o's written result");
    // A second given must repeat the first.
    assert.deepEqual(why(`${GOLD} We know o = 4.`), ["contradicts the first given"]);
    assert.deepEqual(why(`${GOLD} We know o = 3.`), []);
  });

  test("rule 2: each step equation has the same solution as the one before it", () => {
    assert.deepEqual(why(GOLD.replace("2*x = 2", "2*x = 4")), [
      "does not follow from the equation before it",
      "does not follow from the equation before it",
    ]);
    // Carried on: one slip, where the false equation is written.
    const carried = GOLD.replace("2*x = 2", "2*x = 4").replace(/x = 1\./g, "x = 2.");
    assert.deepEqual(why(carried), ["does not follow from the equation before it"]);
    // Any wording, equivalent forms, decimals, negatives, a step without ":", links on the right.
    assert.deepEqual(why(GOLD.replace("2*x = 2.", "2 * x = 3 - 1.")), []);
    assert.deepEqual(why(GOLD.replace("2*x = 2.", "x + x = 2 = 4 - 2.")), []);
    // L1 = L2 = … = Ln is read as L1 = Ln (the last link is the written result), its links checked.
    assert.deepEqual(why(GOLD.replace("2*x = 2.", "2*x = 2 = 5.")), [
      "its right side's links disagree",
      "does not follow from the equation before it",
      "does not follow from the equation before it",
    ]);
    assert.deepEqual(why(GOLD.replace("Subtract 1 from both sides: 2*x = 2.", "So 2*x = 2.")), []);
    assert.deepEqual(why(GOLD.replace("Divide both sides by 2: x = 1.", "Halve: 4*x = 4. Then: x = 1.")), []);
    assert.deepEqual(
      why(
        " We know o = 4, so we have 2*x + 1 = 4. Subtract 1 from both sides: 2*x = 3. Divide: x = 1.5. Solution: x = 1.5.",
      ),
      [],
    );
    assert.deepEqual(why(" We know o = -3, so we have 2*x + 1 = -3. Add 1: 2*x = -4. Solution: x = -2."), []);
    assert.deepEqual(why(" We know o = 3, so we have 2*x + 1 = 3. Then: 2*x + 1 = 2*x + 1."), [
      "does not follow from the equation before it",
    ]);
  });

  test("rule 3: Solution: x = v solves the last equation and determines x", () => {
    assert.deepEqual(why(GOLD.replace("Solution: x = 1", "Solution: x = 8")), [
      "does not solve the equation before it",
    ]);
    assert.equal(solve(GOLD.replace("Solution: x = 1", "Solution: x = 8")).solution, 8);
    assert.deepEqual(why(GOLD.replace("Solution: x = 1", "Solution: x = x")), ["does not determine x"]);
    assert.deepEqual(why(GOLD.replace("Solution: x = 1", "Solution: 3*x = 3")), []);
    // Without a step, it solves the "so we have" equation; without a given, nothing comes before it.
    assert.deepEqual(why(" We know o = 3, so we have 2*x + 1 = 3. Solution: x = 1."), []);
    assert.deepEqual(why(" We know o = 3, so we have 2*x + 1 = 3. Solution: x = 2."), [
      "does not solve the equation before it",
    ]);
    assert.deepEqual(why(" Solution: x = 7."), []);
  });

  test("no section, prose, unreadable or truncated sections: never a slip by themselves, never a throw", () => {
    assert.equal(parseTrace(`${steps} Answer: 1.`).solve, null);
    assert.equal(parseTrace(`${steps} </solution> <answer> 1 </answer>`).solve, null);
    const fwd = generateProblem({ seed: 5, index: 0, op: 6, context: "zoo", mode: "forward" });
    assert.equal(parseTrace(fwd.completion).solve, null);
    // Prose without "=" is skipped; an equation that cannot be read is an issue.
    assert.deepEqual(why(`${GOLD.slice(0, -1)}, as we wanted.`), []);
    const t = parseTrace(`${steps} We know o = 3, so we have 2*x + 1 = three. Solution: x = one.`);
    assert.equal(t.solve!.slip, false);
    assert.equal(t.issues.filter((i) => i.startsWith("solving: unreadable")).length, 2);
    assert.ok(parseTrace(`${steps} We know that o is 3.`).issues.some((i) => i.includes("unreadable")));
    // g that is not a number: no given value (verifyTrace counts that as a wrong given).
    assert.equal(solve(" We know o = p + 2, so we have 2*x + 1 = 3.").given, null);
    // Truncated: every cut of the section parses; a cut-off last sentence is not judged.
    for (let cut = 0; cut <= GOLD.length; cut++) {
      const r = parseTrace(steps + GOLD.slice(0, cut));
      assert.equal(r.truncated, true);
      assert.equal(r.solve?.slip ?? false, false, JSON.stringify(GOLD.slice(0, cut)));
    }
    // ... but a finished sentence is, truncated or not.
    assert.equal(parseTrace(`${steps} We know o = 3, so we have 2*x + 1 = 4. Subtr`).solve!.slip, true);
  });

  test("the slips belong to the node defined as the unknown, else to the trace's last node", () => {
    assert.equal(solve(GOLD).node, "adult racoon in Pine Ridge");
    const noUnknown = "Define a in P as A; so A = 2. Define b in P as B; so B = A + 1 = 2 + 1 = 3.";
    const t = parseTrace(`${noUnknown} We know B = 4, so we have 3 = 4. Solution: x = 1.`);
    assert.equal(t.solve!.node, "b in P");
    assert.deepEqual(
      t.solve!.slips.map((m) => m.replace(/^".*": /, "")),
      ["does not solve the equation before it"],
    );
  });

  test("sections between steps are read with the variables defined so far", () => {
    const t = parseTrace(
      "Define u in P as U; so U = x. Define v in P as V; so V = U + 1 = x + 1. We know V = 3, so we have x + 1 = 3." +
        " Define w in P as W; so W = V = x + 1. Subtract 1 from both sides: x = 2. Solution: x = 2. Answer: 2.",
    );
    assert.equal(t.solve!.slip, false);
    assert.equal(t.solve!.givenNode, "v in P");
    assert.deepEqual([...t.nodes.keys()], ["u in P", "v in P", "w in P"]);
  });
});

describe("docs: the solving section's worked examples (docs/verification.md)", () => {
  const A = "adult blue jay in X";
  const C = "adult owl in X";
  const V = "total number of adult animals in X";
  const steps =
    `Define ${A} as A; so A = x. Define ${C} as C; M = A = x; so C = 3 + M = 3 + x = x + 3.` +
    ` Define ${V} as V; so V = A + C = x + (x + 3) = 2*x + 3.`;
  const gold = {
    graph: {
      nodes: [
        { name: A, value: 1, parents: [], expr: "x" },
        { name: C, value: 4, parents: [A], expr: "x + 3" },
        { name: V, value: 5, parents: [A, C], expr: "2*x + 3" },
      ],
    },
    answer: "1",
  };
  const GOLD =
    "We know V = 5, so we have 2*x + 3 = 5. Subtract 3 from both sides: 2*x = 2. Divide both sides by 2: x = 1. Solution: x = 1.";
  const rows: [string, string, string, boolean][] = [
    // [label, section, answer, verified under allowSlips]; every changed row is one slip at A.
    ["Solution: x = 8", GOLD.replace("Solution: x = 1", "Solution: x = 8"), "1", true],
    ["2*x = 4, the rest kept", GOLD.replace("2*x = 2", "2*x = 4"), "1", true],
    ["2*x = 4 carried", GOLD.replace("2*x = 2", "2*x = 4").replace(/x = 1\./g, "x = 2."), "2", false],
    ["We know V = 7", GOLD.replace("V = 5", "V = 7"), "1", true],
    [
      "We know V = 7, solved for it",
      "We know V = 7, so we have 2*x + 3 = 7. Subtract 3 from both sides: 2*x = 4. Divide both sides by 2: x = 2. Solution: x = 2.",
      "2",
      false,
    ],
    [
      "We know C = 5 (another node)",
      "We know C = 5, so we have x + 3 = 5. Subtract 3 from both sides: x = 2. Solution: x = 2.",
      "2",
      false,
    ],
    ["so we have 2*x + 5 = 5", GOLD.replace("have 2*x + 3", "have 2*x + 5"), "1", true],
    ["We know Q = 5", GOLD.replace("We know V", "We know Q"), "1", true],
  ];

  test("gold, left out: no slip, verified", () => {
    for (const text of [`${steps} ${GOLD} Answer: 1.`, `${steps} Answer: 1.`]) {
      const v = verifyTrace(text, gold);
      assert.equal(v.verified, true, text);
      for (const e of Object.values(v.errors)) assert.deepEqual(e, []);
    }
  });

  for (const [label, section, answer, lenient] of rows) {
    test(`${label}: one slip, at the unknown's node; --allow-slips: ${lenient ? "" : "not "}verified`, () => {
      const text = `${steps} ${section} Answer: ${answer}.`;
      const v = verifyTrace(text, gold);
      assert.deepEqual(v.errors.arithmeticSlips, [A]);
      for (const cat of ["missing", "extra", "wrongValue", "wrongDependency"] as const)
        assert.deepEqual(v.errors[cat], [], cat);
      assert.equal(v.verified, false);
      assert.equal(v.processAcc, 2 / 3);
      assert.equal(v.answerCorrect, answer === "1");
      assert.equal(verifyTrace(text, gold, { allowSlips: true }).verified, lenient);
    });
  }

  test("cut off inside the section: truncated, no slip, not verified", () => {
    const v = verifyTrace(`${steps} ${GOLD.slice(0, GOLD.indexOf("2*x = 2") + 5)}`, gold);
    assert.equal(v.truncated, true);
    assert.deepEqual(v.errors.arithmeticSlips, []);
    assert.equal(v.verified, false);
  });
});
