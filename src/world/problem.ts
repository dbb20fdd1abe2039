/**
 * A problem as a pure function of (seed, index, op, context, mode): graph, wording (world.md §4–7)
 * and gold graph (verification.md §1).
 */
import { hashSeed, Rng } from "../util/rng.js";
import { type Context, getContext } from "./contexts.js";
import { checkOp, type Def, drawOnce, type WorldGraph } from "./graph.js";
import { formatLin, formatTerm, type Lin, lin } from "./linear.js";
import type { GoldGraph, GraphNode, Mode, Problem, ProblemKey } from "./types.js";

/** Variable letters of traces: A–Z then a–z, without "x" (the unknown of reverse mode). */
const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwyz";

/** Draws that may be rejected before giving up (never reached in practice; a guard against bad configs). */
const MAX_ATTEMPTS = 1_000_000;

/** A drawn graph plus, in reverse mode, the unknown and the linear value of every solution node. */
interface Drawn {
  g: WorldGraph;
  unknown: number;
  lins: Map<number, Lin> | null;
}

/** The stable id of a problem. */
export function problemId(key: ProblemKey): string {
  return `${key.context}-${key.mode === "forward" ? "f" : "r"}-op${key.op}-s${key.seed}-i${key.index}`;
}

/** Checks a key's fields; throws a clear error naming the bad one. */
export function checkKey(key: ProblemKey): Context {
  checkOp(key.op);
  if (!Number.isSafeInteger(key.seed) || key.seed < 0)
    throw new RangeError(`seed must be a non-negative integer, got ${key.seed}`);
  if (!Number.isSafeInteger(key.index) || key.index < 0) {
    throw new RangeError(`index must be a non-negative integer, got ${key.index}`);
  }
  if (key.mode !== "forward" && key.mode !== "reverse") {
    throw new RangeError(`mode must be "forward" or "reverse", got "${key.mode}"`);
  }
  return getContext(key.context);
}

/** Draws until every rule of the requested mode holds. */
function draw(key: ProblemKey, ctx: Context): Drawn {
  const rng = new Rng(hashSeed(key.seed, key.index, key.op, ctx.id, key.mode));
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const g = drawOnce(key.op, ctx.places.length, ctx.items.length, rng);
    if (!g) continue;
    const full = g as WorldGraph;
    full.attempts = attempt;
    if (key.mode === "forward") return { g: full, unknown: -1, lins: null };
    const rev = chooseUnknown(full, rng);
    if (rev) return { g: full, ...rev };
  }
  throw new Error(`could not draw a problem for ${problemId(key)} in ${MAX_ATTEMPTS} attempts`);
}

/**
 * Reverse mode: the unknown is a constant leaf of the solution (not the last node); every solution
 * node's value becomes linear in x, and the last node's coefficient must not vanish.
 */
function chooseUnknown(g: WorldGraph, rng: Rng): { unknown: number; lins: Map<number, Lin> } | null {
  const last = g.order[g.order.length - 1];
  const leaves = g.order.filter((v) => v !== last && g.defs[v]!.parents.length === 0);
  rng.shuffle(leaves);
  for (const u of leaves) {
    const lins = new Map<number, Lin>();
    for (const v of g.order) lins.set(v, v === u ? lin(0, 1) : evalLin(g.defs[v]!, lins));
    if (lins.get(last)!.a !== 0) return { unknown: u, lins };
  }
  return null;
}

function evalLin(d: Def, lins: Map<number, Lin>): Lin {
  if (d.parents.length === 0) return lin(d.c);
  const ps = d.parents.map((u) => lins.get(u)!);
  let inner: Lin;
  if (d.combine === "diff") inner = lin(ps[0].b - ps[1].b, ps[0].a - ps[1].a);
  else inner = ps.reduce((s, p) => lin(s.b + p.b, s.a + p.a), lin(0));
  if (d.constOp === "plus") return lin(d.c + inner.b, inner.a);
  if (d.constOp === "times") return lin(d.c * inner.b, d.c * inner.a);
  return inner;
}

/** Everything the wording needs about one context's names (computed once per problem). */
class Namer {
  private readonly names: string[];
  private readonly mentions: string[];
  constructor(
    private ctx: Context,
    private g: WorldGraph,
  ) {
    this.names = g.params.map((p) => {
      const place = ctx.places[g.placeNames[p.place]];
      return p.abstract ? `${ctx.total} in ${place}` : `${ctx.items[g.itemNames[p.item]]} in ${place}`;
    });
    this.mentions = g.params.map((p, v) =>
      p.abstract ? `the ${this.names[v]}` : `the number of ${this.names[v]}`,
    );
  }
  /** Node name as used in traces and graphs. */
  name(v: number): string {
    return this.names[v];
  }
  /** Mention inside a sentence: "the number of …" / "the total number of … in …". */
  mention(v: number): string {
    return this.mentions[v];
  }
  /** Sentence subject, capitalised. */
  subject(v: number): string {
    return `The ${this.mentions[v].slice(4)}`;
  }
  question(v: number): string {
    const p = this.g.params[v];
    const place = this.ctx.places[this.g.placeNames[p.place]];
    if (p.abstract) return `What is ${this.mentions[v]}?`;
    return `How many ${this.ctx.items[this.g.itemNames[p.item]]} does ${place} have?`;
  }
}

/** "P", "P and Q", "P, Q, and R". */
function listOf(xs: string[]): string {
  if (xs.length <= 2) return xs.join(" and ");
  return `${xs.slice(0, -1).join(", ")}, and ${xs[xs.length - 1]}`;
}

/** The problem sentence that defines an instance parameter. */
function sentence(v: number, d: Def, nm: Namer): string {
  const ms = d.parents.map((u) => nm.mention(u));
  let rhs: string;
  if (ms.length === 0) rhs = String(d.c);
  else {
    const inner =
      ms.length === 1
        ? ms[0]
        : d.combine === "diff"
          ? `the difference between ${ms[0]} and ${ms[1]}`
          : `the sum of ${listOf(ms)}`;
    rhs =
      d.constOp === "plus" ? `${d.c} plus ${inner}` : d.constOp === "times" ? `${d.c} times ${inner}` : inner;
  }
  return `${nm.subject(v)} equals ${rhs}.`;
}

/** One "Define … ;" step of the trace. Values are linear (forward mode: constants). */
function step(
  name: string,
  X: string,
  d: Def,
  pv: string[],
  pl: Lin[],
  val: Lin,
  fresh: () => string,
): string {
  const head = `Define ${name} as ${X}; `;
  const k = pv.length;
  if (k === 0) return `${head}so ${X} = ${formatLin(val)}.`;
  const clauses: string[] = [];
  let innerVar = pv[0];
  let innerVal = pl[0];
  let final = "";
  if (k === 2) {
    const o = d.combine === "diff" ? "-" : "+";
    const res =
      d.combine === "diff"
        ? lin(pl[0].b - pl[1].b, pl[0].a - pl[1].a)
        : lin(pl[0].b + pl[1].b, pl[0].a + pl[1].a);
    const body = `${pv[0]} ${o} ${pv[1]} = ${formatTerm(pl[0])} ${o} ${formatTerm(pl[1])} = ${formatLin(res)}`;
    if (d.rng) {
      innerVar = fresh();
      innerVal = res;
      clauses.push(`${innerVar} = ${body}`);
    } else final = `so ${X} = ${body}`;
  } else if (k >= 3) {
    let acc = pv[0];
    let accVal = pl[0];
    for (let i = 1; i < k; i++) {
      const sum = lin(accVal.b + pl[i].b, accVal.a + pl[i].a);
      const body = `${acc} + ${pv[i]} = ${formatTerm(accVal)} + ${formatTerm(pl[i])} = ${formatLin(sum)}`;
      if (i === k - 1 && !d.rng) final = `so ${X} = ${body}`;
      else {
        acc = fresh();
        clauses.push(`${acc} = ${body}`);
      }
      accVal = sum;
    }
    innerVar = acc;
    innerVal = accVal;
  }
  if (d.rng) {
    if (k === 1) {
      innerVar = fresh();
      clauses.push(`${innerVar} = ${pv[0]} = ${formatLin(pl[0])}`);
    }
    const o = d.constOp === "plus" ? "+" : "*";
    final = `so ${X} = ${d.c} ${o} ${innerVar} = ${d.c} ${o} ${formatTerm(innerVal)} = ${formatLin(val)}`;
  } else if (k === 1) final = `so ${X} = ${pv[0]} = ${formatLin(val)}`;
  clauses.push(final);
  return head + clauses.join("; ") + ".";
}

/** The reverse-mode equation and its solution in named steps. */
function solveText(X: string, f: Lin, given: number, x: number): string {
  const parts = [`We know ${X} = ${given}, so we have ${formatLin(f)} = ${given}.`];
  let rhs = given;
  if (f.b !== 0) {
    rhs = given - f.b;
    const verb = f.b > 0 ? `Subtract ${f.b} from` : `Add ${-f.b} to`;
    parts.push(`${verb} both sides: ${formatLin(lin(0, f.a))} = ${rhs}.`);
  }
  if (f.a !== 1) parts.push(`Divide both sides by ${f.a}: x = ${x}.`);
  parts.push(`Solution: x = ${x}.`);
  return parts.join(" ");
}

/** How trace variables are lettered: "random" (the reference: fresh letters in random order) or "sequential" (A, B, C, … in order of use). */
export type LetterStyle = "random" | "sequential";

/** Rendering options; the default renders exactly the reference's format. */
export interface RenderOptions {
  letters?: LetterStyle;
}

/** Generates one problem; the same key (and options) always gives the same bytes. */
export function generateProblem(key: ProblemKey, opts: RenderOptions = {}): Problem {
  return generateDrawn(key, opts).problem;
}

/** A problem and the graph it was worded from (for statistics: one draw, not two). */
export function generateDrawn(
  key: ProblemKey,
  opts: RenderOptions = {},
): { problem: Problem; graph: WorldGraph } {
  const ctx = checkKey(key);
  const { g, unknown, lins } = draw(key, ctx);
  const nm = new Namer(ctx, g);
  const rng = new Rng(hashSeed(key.seed, key.index, 0x7e47));
  const last = g.order[g.order.length - 1];
  const reverse = key.mode === "reverse";

  // Problem sentences.
  const sentences: string[] = [];
  for (const v of [...g.order, ...g.distractors]) {
    const d = g.defs[v]!;
    if (g.params[v].abstract) continue;
    if (v === unknown) sentences.push(`${nm.subject(v)} exists, and its number is greater than 0.`);
    else sentences.push(sentence(v, d, nm));
  }
  if (reverse) sentences.push(`${nm.subject(last)} equals ${g.defs[last]!.value}.`);
  rng.shuffle(sentences);
  const questionNode = reverse ? unknown : last;
  const question = nm.question(questionNode);
  const answer = String(g.defs[questionNode]!.value);

  // Trace and gold graph.
  // Fresh letters in random order, drawn lazily (a partial Fisher–Yates over the alphabet).
  const letters = LETTERS.split("");
  let used = 0;
  const fresh = () => {
    const k = used % letters.length;
    const round = Math.floor(used / letters.length);
    if (round === 0 && opts.letters !== "sequential") {
      const j = k + Math.floor(rng.next() * (letters.length - k));
      const t = letters[k];
      letters[k] = letters[j];
      letters[j] = t;
    }
    used++;
    return round === 0 ? letters[k] : `${letters[k]}${round}`;
  };
  const varOf = new Map<number, string>();
  const steps: string[] = [];
  const nodes: GraphNode[] = [];
  for (const v of g.order) {
    const d = g.defs[v]!;
    const X = fresh();
    varOf.set(v, X);
    const val = lins ? lins.get(v)! : lin(d.value);
    const name = nm.name(v);
    if (v === unknown) steps.push(`Define ${name} as ${X}; so ${X} = x.`);
    else {
      const pv = d.parents.map((u) => varOf.get(u)!);
      const pl = d.parents.map((u) => (lins ? lins.get(u)! : lin(g.defs[u]!.value)));
      steps.push(step(name, X, d, pv, pl, val, fresh));
    }
    const node: GraphNode = {
      name,
      value: d.value,
      parents: v === unknown ? [] : d.parents.map((u) => nm.name(u)),
    };
    if (lins && val.a !== 0) node.expr = formatLin(val);
    nodes.push(node);
  }
  if (reverse)
    steps.push(solveText(varOf.get(last)!, lins!.get(last)!, g.defs[last]!.value, g.defs[unknown]!.value));
  const trace = steps.join(" ");
  const problem = sentences.join(" ");
  const prompt = `<question> ${problem} ${question} </question> <solution>`;
  const graph: GoldGraph = { nodes };
  const problemOut: Problem = {
    id: problemId(key),
    seed: key.seed,
    index: key.index,
    context: ctx.id,
    mode: key.mode,
    op: key.op,
    problem,
    question,
    solution: `${trace} Answer: ${answer}.`,
    answer,
    prompt,
    completion: ` ${trace} </solution> <answer> ${answer} </answer>`,
    graph,
  };
  return { problem: problemOut, graph: g };
}

/** Drawn graph of a problem (for statistics and tests); same randomness as generateProblem. */
export function drawGraph(key: ProblemKey): WorldGraph {
  return draw(key, checkKey(key)).g;
}

/** The full model text of a problem (world.md §7), without the end-of-sequence token. */
export function modelText(p: Pick<Problem, "prompt" | "completion">): string {
  return p.prompt + p.completion;
}

export type { Mode };
