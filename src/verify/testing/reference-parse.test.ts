import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { formatLin } from "../../world/linear.js";
import type { Problem } from "../../world/types.js";
import { type ParsedTrace, parseLinear, parseTrace } from "../parse.js";
import { changeWrittenResult, goldLin, MODES, prng, problemGrid, resolved, splitTrace } from "./fixtures.js";
import { referenceParse } from "./reference-parse.js";

// 19 ops × 3 contexts × 2 modes × 18 = 2,052 gold problems.
const problems: Problem[] = problemGrid(18, 3);

/** What decides a parse result (and where its steps are): everything but the wording of issues and slips. */
function decisive(t: ParsedTrace): unknown {
  return {
    nodes: [...t.nodes.entries()].map(([key, n]) => [key, n.name, n.variable, n.parents, n.value, n.slip]),
    answer: t.answer,
    parseFailed: t.parseFailed,
    truncated: t.truncated,
    spans: t.spans,
    solve:
      t.solve === null
        ? null
        : {
            node: t.solve.node,
            hasGiven: t.solve.hasGiven,
            givenNode: t.solve.givenNode,
            given: t.solve.given,
            solution: t.solve.solution,
            slip: t.solve.slip,
            slips: t.solve.slips.length,
          },
  };
}

/** Asserts the fast parser agrees with the reference on a text. */
function agree(text: string, label = ""): void {
  assert.deepEqual(
    decisive(parseTrace(text)),
    decisive(referenceParse(text)),
    `${label}\n${JSON.stringify(text)}`,
  );
}

/** Sentences of a completion (each with its "."); joined with " " they give it back. */
const sentencesOf = (text: string): string[] => text.split(/(?<=\.) /);

const GARBAGE = [
  "Define ",
  "Define adult fox in South Zoo as A; ",
  "; ",
  " so ",
  " = ",
  "=",
  " + ",
  " * ",
  "(",
  ")",
  "2*x",
  "x",
  "B1",
  ".",
  "0.5",
  ": ",
  "We know ",
  "Solution: x = 1. ",
  "Answer: 3",
  "</solution>",
  "<answer>",
  "as",
];

type Mutation = (text: string, p: Problem, r: () => number) => string;

const pick = <T>(xs: readonly T[], r: () => number): T => xs[Math.floor(r() * xs.length)];
const at = (n: number, r: () => number): number => Math.floor(r() * (n + 1));

/** Mutations of a trace; each uses r for its sites. */
const MUTATIONS: Record<string, Mutation> = {
  deleteSentence: (t, _p, r) => {
    const s = sentencesOf(t);
    s.splice(Math.floor(r() * s.length), 1);
    return s.join(" ");
  },
  duplicateSentence: (t, _p, r) => {
    const s = sentencesOf(t);
    const k = Math.floor(r() * s.length);
    s.splice(k, 0, s[k]);
    return s.join(" ");
  },
  swapSentences: (t, _p, r) => {
    const s = sentencesOf(t);
    const i = Math.floor(r() * s.length);
    const j = Math.floor(r() * s.length);
    [s[i], s[j]] = [s[j], s[i]];
    return s.join(" ");
  },
  deleteClause: (t, _p, r) => {
    const c = t.split("; ");
    c.splice(Math.floor(r() * c.length), 1);
    return c.join("; ");
  },
  changeNumber: (t, _p, r) => {
    const nums = [...t.matchAll(/\d+(\.\d+)?/g)];
    if (nums.length === 0) return t;
    const m = pick(nums, r);
    const v = pick(["0", "1", String(Number(m[0]) + 1), String(Number(m[0]) - 1), "2.5", "1000000"], r);
    return t.slice(0, m.index) + v + t.slice(m.index + m[0].length);
  },
  changeVariable: (t, _p, r) => {
    const vars = [...t.matchAll(/\b[A-Za-z][0-9]*\b/g)];
    if (vars.length === 0) return t;
    const m = pick(vars, r);
    return t.slice(0, m.index) + pick(["x", "A", "z", "Q7", "B1", "ab"], r) + t.slice(m.index + m[0].length);
  },
  changeName: (t, _p, r) => {
    const words = [...t.matchAll(/\b(adult|in|as|Define|the|Zoo|so)\b/g)];
    if (words.length === 0) return t;
    const m = pick(words, r);
    return (
      t.slice(0, m.index) +
      pick(["", "young", "In", "as as", "Defined", "so so"], r) +
      t.slice(m.index + m[0].length)
    );
  },
  changeOperator: (t, _p, r) => {
    const ops = [...t.matchAll(/[-+*/=;:,]/g)];
    if (ops.length === 0) return t;
    const m = pick(ops, r);
    return (
      t.slice(0, m.index) + pick(["+", "-", "*", "/", "=", ";", "", ".", "(", ")"], r) + t.slice(m.index + 1)
    );
  },
  truncate: (t, _p, r) => t.slice(0, at(t.length, r)),
  garbage: (t, _p, r) => {
    const k = at(t.length, r);
    return t.slice(0, k) + pick(GARBAGE, r) + t.slice(k);
  },
  whitespace: (t, _p, r) => {
    const spaces = [...t.matchAll(/ /g)];
    if (spaces.length === 0) return t;
    const m = pick(spaces, r);
    return t.slice(0, m.index) + pick(["", "  ", "\n", "\t", " \n ", "\u00a0"], r) + t.slice(m.index + 1);
  },
  writtenResult: (t, p, r) => {
    if (t !== p.completion) return t;
    const k = Math.floor(r() * p.graph.nodes.length);
    const v = goldLin(p, k);
    return changeWrittenResult(p, k, { a: v.a, b: v.b + pick([1, -2, 7], r) }, r() < 0.5).text;
  },
  resolve: (t, p, r) => {
    if (t !== p.completion || p.mode !== "reverse") return t;
    const steps = splitTrace(p).steps;
    const v = goldLin(p, steps.length - 1);
    return (
      splitTrace(p).head + steps.join(" ") + resolved(p, steps, { a: v.a + pick([0, 1], r), b: v.b + 1 }).tail
    );
  },
};
const KINDS = Object.keys(MUTATIONS);

/** A gold completion (or full text) with one to three mutations, picked by fast-check. */
const mutated = fc
  .record({
    k: fc.nat({ max: problems.length - 1 }),
    full: fc.boolean(),
    kinds: fc.array(fc.constantFrom(...KINDS), { minLength: 1, maxLength: 3 }),
    seed: fc.nat(),
  })
  .map(({ k, full, kinds, seed }) => {
    const p = problems[k];
    const r = prng(seed);
    let text = p.completion;
    for (const kind of kinds) text = MUTATIONS[kind](text, p, r);
    return { text: full ? p.prompt + text : text, label: `${p.id} ${kinds.join("+")}` };
  });

describe("the fast parser agrees with the reference parser", () => {
  test("on 2,052 gold traces (every op, context and mode), as completion (and a quarter as full text)", () => {
    assert.ok(problems.length >= 2000);
    assert.deepEqual(new Set(problems.map((p) => p.mode)), new Set(MODES));
    problems.forEach((p, i) => {
      agree(p.completion, p.id);
      if (i % 4 === 0) agree(p.prompt + p.completion, `${p.id} (full)`);
    });
    // The reference is not vacuous: it reads the gold graph.
    const p = problems[problems.length - 1];
    const ref = referenceParse(p.completion);
    assert.deepEqual(
      [...ref.nodes.keys()],
      p.graph.nodes.map((n) => n.name),
    );
    assert.equal(ref.answer, p.answer);
  });

  test("on mutated traces (lines deleted, duplicated, swapped; numbers, names, operators changed; cut; garbage; whitespace)", () => {
    fc.assert(
      fc.property(mutated, ({ text, label }) => agree(text, label)),
      { numRuns: Number(process.env.REFERENCE_PARSE_RUNS ?? 2000) },
    );
  });

  test("each mutation kind changes some parse (the mutations are not no-ops)", () => {
    const r = prng(4);
    for (const kind of KINDS) {
      let changed = 0;
      for (const p of problems.slice(0, 200)) {
        const text = MUTATIONS[kind](p.completion, p, r);
        agree(text, `${p.id} ${kind}`);
        if (
          JSON.stringify(parseTrace(text), mapReplacer) !==
          JSON.stringify(parseTrace(p.completion), mapReplacer)
        )
          changed++;
      }
      assert.ok(changed >= 10, `${kind}: ${changed} of 200 changed the parse`);
    }
  });
});

describe("cases where the two parsers disagreed", () => {
  test("a header variable followed by Unicode whitespace is trimmed, as the rest of the header is", () => {
    // The fast path of the header split kept "A\u2028" as the variable (never assigned, value null)
    // where the general path and the reference trim it to "A" (value 3).
    for (const ws of ["\u2028", "\u2029", "\u3000", "\ufeff", "\u2003"]) {
      const text = `Define a as A${ws}; so A = 3. Define b as B; so B = A + 1 = 4.`;
      agree(text, JSON.stringify(ws));
      const t = parseTrace(text);
      assert.deepEqual(t.nodes.get("a")?.variable, "A");
      assert.deepEqual(t.nodes.get("a")?.value, { a: 0, b: 3 });
      assert.deepEqual(t.nodes.get("b")?.parents, ["a"]);
    }
  });
});

describe("parsing is re-entrant: a result does not depend on what was parsed before", () => {
  const texts: string[] = [];
  const r = prng(8);
  for (const p of problems.slice(0, 300)) {
    texts.push(
      p.completion,
      MUTATIONS.deleteSentence(p.completion, p, r),
      MUTATIONS.changeVariable(p.completion, p, r),
    );
  }
  const alone = texts.map((t) => JSON.stringify(parseTrace(t), mapReplacer));

  test("a batch parsed forward, reversed and interleaved gives the same results", () => {
    const reversed = [...texts].reverse().map((t) => JSON.stringify(parseTrace(t), mapReplacer));
    assert.deepEqual(reversed.reverse(), alone);
    const order = texts
      .map((_, i) => i)
      .sort((i, j) => ((i * 7919) % texts.length) - ((j * 7919) % texts.length));
    for (const i of order) {
      parseLinear("2*x + 1");
      assert.equal(JSON.stringify(parseTrace(texts[i]), mapReplacer), alone[i]);
    }
  });

  test("two async tasks interleaved with awaits give the same results", async () => {
    const task = async (from: number): Promise<string[]> => {
      const out: string[] = [];
      for (let i = from; i < texts.length; i += 2) {
        await new Promise((res) => setImmediate(res));
        out.push(JSON.stringify(parseTrace(texts[i]), mapReplacer));
        assert.deepEqual(parseLinear(formatLin({ a: i, b: 1 })), { a: i, b: 1 });
      }
      return out;
    };
    const [even, odd] = await Promise.all([task(0), task(1)]);
    assert.deepEqual(
      even,
      alone.filter((_, i) => i % 2 === 0),
    );
    assert.deepEqual(
      odd,
      alone.filter((_, i) => i % 2 === 1),
    );
  });

  test("a variable bound by an earlier parse is unknown in the next one", () => {
    const before = parseTrace("Define a as A; so A = 3. Define b as B; so B = A + 1 = 4.");
    assert.deepEqual(before.nodes.get("b")?.parents, ["a"]);
    const after = parseTrace("Define b as B; so B = A + 1 = 4.");
    assert.deepEqual(after.nodes.get("b")?.parents, []);
    assert.ok(after.issues.some((s) => s.includes('unknown variable "A"')));
  });
});

/** JSON.stringify replacer that writes Maps as entry lists. */
function mapReplacer(_key: string, value: unknown): unknown {
  return value instanceof Map ? [...value.entries()] : value;
}
