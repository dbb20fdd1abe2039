import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { Problem } from "../world/types.js";
import { allRewards, type ParsedTrace, parseTrace, verifySample, verifyTrace } from "./index.js";
import { problemGrid, splitTrace } from "./testing/fixtures.js";

const gold: Problem[] = problemGrid(1, 11, [2, 5, 9, 14, 20]);

/** Structural invariants every parse result must satisfy. */
function checkShape(t: ParsedTrace): void {
  assert.ok(t.nodes instanceof Map);
  assert.equal(t.parseFailed, t.nodes.size === 0);
  assert.ok(Array.isArray(t.issues));
  assert.ok(t.answer === null || (typeof t.answer === "string" && t.answer.length > 0));
  for (const [key, n] of t.nodes) {
    assert.equal(key, n.name);
    for (const p of n.parents) assert.ok(t.nodes.has(p), `parent "${p}" is a node`);
    assert.ok(!n.parents.includes(n.name));
    if (n.value !== null) assert.ok(Number.isFinite(n.value.a) && Number.isFinite(n.value.b));
  }
}

/** Parses, verifies and scores without throwing; rewards stay in [0, 1]. */
function checkAll(text: string): void {
  const t = parseTrace(text);
  checkShape(t);
  const p = gold[text.length % gold.length];
  const v = verifyTrace(t, p);
  const s = verifySample(text, p, { alpha: 0.5, form: "linear" });
  assert.equal(s.verified, v.verified);
  for (const r of Object.values(allRewards(v, p.graph.nodes.length))) assert.ok(r >= 0 && r <= 1);
  // The policies only decide what counts: the categories stay; lenient passes whatever strict does.
  assert.equal(v.verified, v.verifiedAllowExtra, "the default allows extra nodes");
  assert.ok(!v.verifiedNoExtra || v.verified);
  const lenient = verifyTrace(t, p, { allowSlips: true, allowExtra: false });
  assert.deepEqual(lenient.errors, v.errors);
  assert.ok(lenient.processAcc >= v.processAcc);
  assert.ok(!v.verifiedNoExtra || lenient.verified);
}

const FRAGMENTS = [
  "Define ",
  "Define adult fox in South Zoo as A; ",
  "Define total number of adult animals in Pine Ridge as B; ",
  "adult bear in Mayer Aquarium",
  " as ",
  "A",
  "B1",
  "x",
  ";",
  " so ",
  "so ",
  " = ",
  "=",
  " + ",
  " - ",
  " * ",
  "(",
  ")",
  "2*x",
  "3",
  "-",
  ".",
  " ",
  "\n",
  "We know ",
  "We know B = 3, so we have 2*x + 1 = 3. ",
  ", so we have ",
  "Subtract 1 from both sides: ",
  "Divide both sides by 2: x = 1. ",
  ": ",
  ",",
  "0.5",
  "Solution: x = 1. ",
  "Solution: ",
  "Answer: ",
  "<solution>",
  "</solution>",
  "<answer>",
  "</answer>",
  "Lumière",
  "🐻",
  "\u0000",
];

const fragmentText = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 80 }).map((xs) => xs.join(""));

/** A gold completion with a random slice replaced by random text. */
const splicedGold = fc
  .record({
    k: fc.nat({ max: gold.length - 1 }),
    a: fc.nat(),
    len: fc.nat({ max: 200 }),
    ins: fc.oneof(fc.string({ maxLength: 20 }), fragmentText),
  })
  .map(({ k, a, len, ins }) => {
    const c = gold[k].completion;
    const at = a % (c.length + 1);
    return c.slice(0, at) + ins + c.slice(at + len);
  });

describe("fuzz: parseTrace never throws", () => {
  test("random strings (ASCII and full Unicode, including lone surrogates)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => checkAll(s)),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => checkAll(s)),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 100 }), (s) => checkAll(s)),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 300 }), (codes) =>
        checkAll(String.fromCharCode(...codes)),
      ),
      { numRuns: 300 },
    );
  });

  test("mixtures of real trace fragments and spliced gold traces", () => {
    fc.assert(
      fc.property(fragmentText, (s) => checkAll(s)),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(splicedGold, (s) => checkAll(s)),
      { numRuns: 1000 },
    );
  });

  test("adversarial shapes: huge repetitions, deep parentheses, long '=' chains", () => {
    const cases = [
      "Define ".repeat(20_000),
      "DefineDefine".repeat(10_000),
      `Define a as A; so A = ${"(".repeat(100_000)}`,
      `Define a as A; so A = ${"(".repeat(50_000)}1${")".repeat(50_000)}`,
      `Define a as A; so A = ${"-".repeat(100_000)}1`,
      `Define a as A; so A${" =".repeat(100_000)}`,
      `Define a as A; so A = ${"1 = ".repeat(50_000)}1.`,
      `Define a as A; so A = 1. Define b as B; so B = ${"A + ".repeat(50_000)}A.`,
      `${"<solution>".repeat(1000)}${"</solution>".repeat(1000)}${"<answer>".repeat(1000)}`,
      `Define a as A; so A = ${"9".repeat(5000)}.`,
      `Define a as A; so A = 1${".5".repeat(1000)}`,
      ";".repeat(100_000),
      ".".repeat(100_000),
      `Define a as A; so A = x. ${"We know ".repeat(20_000)}`,
      `Define a as A; so A = x. We know A = ${"(".repeat(100_000)}`,
      `Define a as A; so A = x. We know A${" =".repeat(100_000)}`,
      `Define a as A; so A = x. Solution: x${" = 1".repeat(50_000)}.`,
      `Define a as A; so A = x. We know A = 1, so we have ${"x + ".repeat(50_000)}x = 1.`,
    ];
    for (const text of cases) checkAll(text);
  });
});

/** Best-of-k wall time of f, in ms. */
function timeIt(f: () => void, k = 5): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < k; i++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

describe("linear time", () => {
  const patterns: [string, (n: number) => string][] = [
    ["Define Define ...", (n) => "Define ".repeat(Math.ceil(n / 7))],
    ["deep parentheses", (n) => `Define a as A; so A = ${"(".repeat(n)}`],
    ["'=' chain", (n) => `Define a as A; so A${" =".repeat(n / 2)}`],
    ["'x =' chain", (n) => `Define a as A; so A = ${"x = ".repeat(n / 4)}x.`],
    [
      "many steps",
      (n) =>
        Array.from({ length: n / 40 }, (_, i) => `Define n${i} as A${i}; so A${i} = x + ${i}. `).join(""),
    ],
    ["long sum", (n) => `Define a as A; so A = 1. Define b as B; so B = ${"A + ".repeat(n / 4)}1.`],
    ["unary chain", (n) => `Define a as A; so A = ${"- ".repeat(n / 2)}1.`],
    [
      "'We know' repeated",
      (n) => `Define a as A; so A = x. ${"We know A = 1, so we have x = 1. ".repeat(n / 34)}`,
    ],
    ["solving steps", (n) => `Define a as A; so A = x. We know A = 1. ${"Step: x = 1. ".repeat(n / 13)}`],
    ["'Solution:' without '.'", (n) => `Define a as A; so A = x. ${"Solution: x = 1 ".repeat(n / 16)}`],
    ["sentence without '='", (n) => `Define a as A; so A = x. We know ${"A ".repeat(n / 2)}`],
    ["'=' chain in a step", (n) => `Define a as A; so A = x. Step: x${" = 1".repeat(n / 4)}.`],
    [
      "wide intermediates",
      (n) => {
        const defs = Array.from({ length: 64 }, (_, i) => `Define p${i} as B${i}; so B${i} = 1.`).join(" ");
        const sum = Array.from({ length: 64 }, (_, i) => `B${i}`).join(" + ");
        return `${defs} Define q as Q; C = ${sum}; so Q = ${"C + ".repeat(n / 4)}C.`;
      },
    ],
    [
      "repeated gold steps",
      (n) => {
        const steps = splitTrace(gold[gold.length - 1]).steps.join(" ");
        return steps.repeat(Math.ceil(n / steps.length));
      },
    ],
    [
      "repeated gold reverse traces (steps and solving sections)",
      (n) => {
        const r = gold.filter((p) => p.mode === "reverse").at(-1)!;
        const trace = `${r.solution.replace(/ Answer: \S+$/, "")} `;
        return trace.repeat(Math.ceil(n / trace.length));
      },
    ],
  ];

  for (const [name, make] of patterns) {
    test(`${name}: 8× the input takes < 20× the time`, () => {
      const n = 40_000;
      const small = make(n);
      const big = make(8 * n);
      parseTrace(small); // warm up
      // A quadratic parser is 64× slower on 8× the input, every time; a machine busy with other work
      // can spoil one measurement, so a ratio over 20 is measured again (up to three times).
      let msg = "";
      let ok = false;
      for (let attempt = 0; attempt < 3 && !ok; attempt++) {
        const ts = timeIt(() => parseTrace(small));
        const tb = timeIt(() => parseTrace(big), 3);
        // A floor of 0.5 ms keeps timer noise on tiny times from failing the ratio.
        msg = `${name}: ${ts.toFixed(2)} ms → ${tb.toFixed(2)} ms`;
        ok = tb < 20 * Math.max(ts, 0.5);
      }
      if (process.env.VERIFY_TIMING) console.log(msg);
      assert.ok(ok, msg);
    });
  }

  test("10 MB of 'Define ' and 1 MB of '(' finish well under a second", () => {
    const define = "Define ".repeat(10_000_000 / 7);
    const parens = `Define a as A; so A = ${"(".repeat(1_000_000)}`;
    for (const text of [define, parens]) {
      const t0 = performance.now();
      const t = parseTrace(text);
      const ms = performance.now() - t0;
      assert.equal(t.parseFailed, text === define);
      const msg = `${text.slice(0, 10)}… (${text.length} chars): ${ms.toFixed(0)} ms`;
      if (process.env.VERIFY_TIMING) console.log(msg);
      assert.ok(ms < 1500, msg);
    }
  });
});
