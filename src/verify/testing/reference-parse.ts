/**
 * A slow, plain reference parser for traces, written from the format as documented
 * (docs/format.md, docs/verification.md "Parsing", spec verification.md §2), not from parse.ts. It
 * cuts the text with string searches and splits, tokenizes every term into an array and evaluates it
 * with a small recursive descent over that array; nothing is cached or reused between calls.
 *
 * It returns the fast parser's result type. It decides everything that decides the parse result:
 * node names, variables, parents, values, slips, the answer, `parseFailed`, `truncated` and the
 * solving section (`node`, `hasGiven`, `givenNode`, `given`, `solution`, `slip`). Left out: the
 * wording of `issues` (always empty here) and of `solve.slips` (one fixed line per failed check,
 * so only their count is meaningful), and `ParseOptions` (the default bounds are used).
 */
import type { Lin } from "../../world/linear.js";
import type { ParsedNode, ParsedSolve, ParsedTrace, StepSpan } from "../parse.js";

/** The default bounds of the documented parser: parents per node, nesting depth of a term. */
const MAX_PARENTS = 64;
const MAX_DEPTH = 200;
/** Two numbers are equal within this. */
const TOL = 1e-6;

/** Whitespace in the trace's structure (names are collapsed with JavaScript's `\s`). */
const WS = " \t\n\v\f\r\u00a0";
const isSpace = (ch: string | undefined): boolean => ch !== undefined && ch.length === 1 && WS.includes(ch);
const isWordChar = (ch: string | undefined): boolean => ch !== undefined && /^[A-Za-z0-9_]$/.test(ch);
/** A variable name: one ASCII letter and digits. */
const isVariableName = (s: string): boolean => /^[A-Za-z][0-9]*$/.test(s);

/** Trims the structural whitespace from both ends. */
function trim(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isSpace(s[a])) a++;
  while (b > a && isSpace(s[b - 1])) b--;
  return s.slice(a, b);
}

/** A name with every whitespace run collapsed to one space, trimmed. */
function collapse(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

/** Both linear forms are the same within TOL. */
function sameLin(p: Lin, q: Lin): boolean {
  return Math.abs(p.a - q.a) <= TOL && Math.abs(p.b - q.b) <= TOL;
}

// -------------------------------------------------------------------------------------------
// Terms: linear arithmetic in x over numbers, step variables, + - * / and parentheses.

type Token = { kind: "num"; value: number } | { kind: "word"; text: string } | { kind: "op"; text: string };

/** The tokens of a term, or null when it holds a character no term may hold. */
function tokenize(s: string): Token[] | null {
  const out: Token[] = [];
  const re = /[ \t\n\v\f\r\u00a0]+|(\d+(?:\.\d+)?)|([A-Za-z][A-Za-z0-9_]*)|([-+*/()])|(.)/gsy;
  for (const m of s.matchAll(re)) {
    if (m[1] !== undefined) out.push({ kind: "num", value: Number(m[1]) });
    else if (m[2] !== undefined) out.push({ kind: "word", text: m[2] });
    else if (m[3] !== undefined) out.push({ kind: "op", text: m[3] });
    else if (m[4] !== undefined) return null;
  }
  return out;
}

/** How a variable is read inside a term: its value, or its written result. */
type Reading = "value" | "written";

/** What one variable stands for. */
interface RefBinding {
  /** Node indices behind it. */
  deps: number[];
  /** The node it is the variable of (-1: an intermediate variable). */
  node: number;
  /** Its value (null: unknown). */
  value: Lin | null;
  /** Its written result, the last evaluable link of its clause (null: unknown). */
  written: Lin | null;
}

/** A term's evaluation: its value (null: not linear / unreadable) and whether it used bound variables. */
interface TermResult {
  value: Lin | null;
  /** Some bound variable was read (a term without one is "written without step variables"). */
  usesVariables: boolean;
  /** Some variable read has a value different from its written result. */
  twoFaced: boolean;
}

/** Evaluates a term with the given variables (lookup returns undefined: unbound). */
function evaluate(s: string, lookup: (name: string) => RefBinding | undefined, reading: Reading): TermResult {
  const res: TermResult = { value: null, usesVariables: false, twoFaced: false };
  const toks = tokenize(s);
  if (toks === null || toks.length === 0) return res;
  let i = 0;
  const peekOp = (): string | null => {
    const t = toks[i];
    return t !== undefined && t.kind === "op" ? t.text : null;
  };
  const expr = (depth: number): Lin | null => {
    let left = product(depth);
    while (left !== null && (peekOp() === "+" || peekOp() === "-")) {
      const op = peekOp();
      i++;
      const right = product(depth);
      if (right === null) return null;
      left =
        op === "+"
          ? { a: left.a + right.a, b: left.b + right.b }
          : { a: left.a - right.a, b: left.b - right.b };
    }
    return left;
  };
  const product = (depth: number): Lin | null => {
    let left = signed(depth);
    while (left !== null && (peekOp() === "*" || peekOp() === "/")) {
      const op = peekOp();
      i++;
      const right = signed(depth);
      if (right === null) return null;
      if (op === "*") {
        if (left.a !== 0 && right.a !== 0) return null; // x times x is not linear
        left = { a: left.a * right.b + right.a * left.b, b: left.b * right.b };
      } else {
        if (right.a !== 0 || right.b === 0) return null;
        left = { a: left.a / right.b, b: left.b / right.b };
      }
    }
    return left;
  };
  const signed = (depth: number): Lin | null => {
    const op = peekOp();
    if (op === "+" || op === "-") {
      if (depth + 1 > MAX_DEPTH) return null;
      i++;
      const v = signed(depth + 1);
      return v === null ? null : op === "-" ? { a: -v.a, b: -v.b } : v;
    }
    return atom(depth);
  };
  const atom = (depth: number): Lin | null => {
    const t = toks[i];
    if (t === undefined) return null;
    i++;
    if (t.kind === "num") return { a: 0, b: t.value };
    if (t.kind === "word") {
      if (!isVariableName(t.text)) return null;
      const bnd = lookup(t.text);
      if (bnd === undefined) return t.text === "x" ? { a: 1, b: 0 } : null;
      res.usesVariables = true;
      if (reading === "written") return bnd.written;
      if (bnd.value === null) return null;
      if (bnd.written !== null && !sameLin(bnd.value, bnd.written)) res.twoFaced = true;
      return bnd.value;
    }
    if (t.text !== "(" || depth + 1 > MAX_DEPTH) return null;
    const v = expr(depth + 1);
    if (v === null || peekOp() !== ")") return null;
    i++;
    return v;
  };
  const v = expr(0);
  if (v !== null && i === toks.length && Number.isFinite(v.a) && Number.isFinite(v.b)) res.value = v;
  return res;
}

/** The variable names written in a term, in order (digit runs are numbers, not names). */
function variablesIn(s: string): string[] {
  return [...s.matchAll(/[0-9]+|[A-Za-z_][A-Za-z0-9_]*/g)].map((m) => m[0]).filter(isVariableName);
}

/** A link read both ways: as its value and as its written result (the same unless it names a two-faced variable). */
interface Link {
  value: Lin | null;
  written: Lin | null;
  usesVariables: boolean;
}

function readLink(s: string, lookup: (name: string) => RefBinding | undefined): Link {
  const byValue = evaluate(s, lookup, "value");
  let written = byValue.value;
  if (byValue.value !== null && byValue.twoFaced)
    written = evaluate(s, lookup, "written").value ?? byValue.value;
  return { value: byValue.value, written, usesVariables: byValue.usesVariables };
}

/** Two links disagree when no reading of one equals any reading of the other. */
function linksDisagree(p: Link, q: Link): boolean {
  const ps = [p.value!, p.written!];
  const qs = [q.value!, q.written!];
  return !ps.some((u) => qs.some((v) => sameLin(u, v)));
}

// -------------------------------------------------------------------------------------------
// The trace.

/** A `Define` that starts a step: at a word start, followed by whitespace. */
function defineStarts(text: string, from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = text.indexOf("Define", from); i >= 0 && i < to; i = text.indexOf("Define", i + 1)) {
    if (!isWordChar(text[i - 1]) && isSpace(text[i + 6])) out.push(i);
  }
  return out;
}

/** The answer text cleaned: trimmed, a trailing "." removed, null when empty. */
function cleanAnswer(raw: string): string | null {
  let s = raw.trim();
  if (s.endsWith(".")) s = s.slice(0, -1).trim();
  return s === "" ? null : s;
}

/** The reference parse of one trace (see the file comment for what it covers). */
export function referenceParse(text: string): ParsedTrace {
  if (typeof text !== "string") {
    return {
      nodes: new Map(),
      answer: null,
      parseFailed: true,
      truncated: false,
      issues: [],
      solve: null,
      spans: [],
    };
  }
  const solOpen = text.indexOf("<solution>");
  const start = solOpen < 0 ? 0 : solOpen + "<solution>".length;
  const solClose = text.indexOf("</solution>", start);
  const ansOpen = text.indexOf("<answer>", start);
  const end = Math.min(...[solClose, ansOpen, text.length].filter((i) => i >= 0));

  // The answer: the <answer> tag's text, else the word after the last "Answer:".
  let answer: string | null = null;
  let answerReached = false;
  if (ansOpen >= 0) {
    answerReached = true;
    const body = text.slice(ansOpen + "<answer>".length);
    const close = body.indexOf("</answer>");
    answer = cleanAnswer(close >= 0 ? body.slice(0, close) : body.split("<")[0]);
  } else {
    const k = text.lastIndexOf("Answer:");
    if (k >= start) {
      answerReached = true;
      const rest = text.slice(k + "Answer:".length).replace(/^[ \t\n\v\f\r\u00a0]+/, "");
      answer = cleanAnswer(rest.split(/[ \t\n\v\f\r\u00a0<]/)[0]);
    }
  }
  const openEnd = solClose < 0 && !answerReached;

  const st = new TraceState(text);
  const defines = defineStarts(text, start, end);
  const spans: StepSpan[] = [];
  defines.forEach((at, k) => {
    const body = at + "Define".length;
    const limit = k + 1 < defines.length ? defines[k + 1] : end;
    const marker = (m: string): number => {
      const i = text.indexOf(m, body);
      return i >= 0 && i < limit ? i : limit;
    };
    const weKnow = marker("We know");
    const solution = marker("Solution:");
    const answerAt = marker("Answer:");
    const stepEnd = Math.min(weKnow, solution, answerAt);
    const head = st.step(text.slice(body, stepEnd));
    spans.push({ start: at, end: limit, name: head?.name ?? null, duplicate: head?.duplicate ?? false });
    if (stepEnd < limit && stepEnd !== answerAt) {
      st.solving(text.slice(stepEnd, answerAt), openEnd && answerAt === text.length);
    }
  });

  return {
    nodes: st.result(),
    answer,
    parseFailed: st.nodes.length === 0,
    truncated: defines.length > 0 && openEnd,
    issues: [],
    solve: st.solveResult(),
    spans,
  };
}

/** The state of one reference parse. */
class TraceState {
  readonly nodes: { name: string; variable: string; parents: number[]; value: Lin | null; slip: boolean }[] =
    [];
  private readonly env = new Map<string, RefBinding>();
  // The solving section.
  private solveSeen = false;
  private given: { variable: string; node: number; g: Lin | null } | null = null;
  private solution: number | null = null;
  private solveSlips: string[] = [];
  /** The last equation of the solving chain as p·x = q (null: none). */
  private chain: { p: number; q: number } | null = null;

  constructor(readonly text: string) {}

  private lookup = (name: string): RefBinding | undefined => this.env.get(name);

  /** One step: `NAME as V;` then clauses separated by ";". Its node, null when the header is unreadable. */
  step(body: string): { name: string; duplicate: boolean } | null {
    const semi = body.indexOf(";");
    if (semi < 0) return null;
    const header = collapse(body.slice(0, semi));
    const asAt = header.lastIndexOf(" as ");
    if (asAt <= 0) return null;
    const name = header.slice(0, asAt);
    const variable = header.slice(asAt + 4);
    if (name === "" || variable === "") return null;
    let idx = this.nodes.findIndex((n) => n.name === name);
    const duplicate = idx >= 0;
    if (!duplicate) {
      idx = this.nodes.length;
      this.nodes.push({ name, variable, parents: [], value: null, slip: false });
    }
    const stepDeps: number[] = [];
    let assigned = false;
    let value: Lin | null = null;
    let slip = false;
    for (const raw of body.slice(semi + 1).split(";")) {
      const c = this.clause(raw, variable, idx, stepDeps);
      if (c === null) continue;
      slip ||= c.slip;
      if (c.target) {
        assigned = true;
        value = c.value;
      }
    }
    if (!assigned) this.env.set(variable, { deps: [idx], node: idx, value: null, written: null });
    if (duplicate) return { name, duplicate };
    const node = this.nodes[idx];
    node.value = value;
    node.slip = slip;
    node.parents = stepDeps.filter((d) => d !== idx);
    return { name, duplicate };
  }

  /** One clause `[so ]VAR = L1 = … = Ln`; binds VAR. Null when it is not an equation. */
  private clause(
    raw: string,
    nodeVar: string,
    nodeIdx: number,
    stepDeps: number[],
  ): { target: boolean; value: Lin | null; slip: boolean } | null {
    let s = trim(raw);
    if (s.endsWith(".")) s = trim(s.slice(0, -1));
    if (/^[sS]o[ \t\n\v\f\r\u00a0]/.test(s)) s = trim(s.slice(3));
    const eq = s.indexOf("=");
    if (eq < 0) return null;
    const lhs = trim(s.slice(0, eq));
    const texts = s
      .slice(eq + 1)
      .split("=")
      .map(trim)
      .filter((t) => t !== "");
    // Parents: every variable written in the clause, through the bindings it names.
    const clauseDeps: number[] = [];
    for (const t of texts) {
      for (const v of variablesIn(t)) {
        const bnd = this.env.get(v);
        if (bnd === undefined) continue;
        for (const d of bnd.deps) {
          if (!clauseDeps.includes(d) && clauseDeps.length < MAX_PARENTS) clauseDeps.push(d);
          if (!stepDeps.includes(d) && stepDeps.length < MAX_PARENTS) stepDeps.push(d);
        }
      }
    }
    const links = texts.map((t) => readLink(t, this.lookup));
    let slip = false;
    for (let k = 1; k < links.length; k++) {
      if (links[k - 1].value !== null && links[k].value !== null && linksDisagree(links[k - 1], links[k]))
        slip = true;
    }
    const value = chooseValue(links);
    const lastReadable = links.filter((l) => l.value !== null).pop();
    if (!isVariableName(lhs)) return { target: false, value: null, slip };
    const target = lhs === nodeVar;
    this.env.set(lhs, {
      deps: target ? [nodeIdx] : clauseDeps,
      node: target ? nodeIdx : -1,
      value,
      written: lastReadable === undefined ? null : lastReadable.written,
    });
    return { target, value, slip };
  }

  // -----------------------------------------------------------------------------------------
  // The solving section (docs/verification.md, "The solving section").

  /** A solving section: sentences cut at "." (not a decimal point) and before `We know` / `Solution:`. */
  solving(section: string, cut: boolean): void {
    this.solveSeen = true;
    const sentences: string[] = [];
    let cur = "";
    for (let i = 0; i < section.length; i++) {
      const ch = section[i];
      if (ch === "." && !/[0-9]/.test(section[i + 1] ?? "")) {
        sentences.push(cur);
        cur = "";
        continue;
      }
      if (cur !== "" && (section.startsWith("We know", i) || section.startsWith("Solution:", i))) {
        sentences.push(cur);
        cur = "";
      }
      cur += ch;
    }
    if (cur !== "" && !cut) sentences.push(cur);
    for (const s of sentences) this.sentence(trim(s));
  }

  private sentence(s: string): void {
    if (s === "") return;
    if (s.startsWith("We know")) this.givenSentence(s);
    else if (s.startsWith("Solution:")) this.solutionSentence(s);
    else {
      const eq = s.indexOf("=");
      if (eq < 0) return; // prose
      const colon = s.slice(0, eq).indexOf(":");
      const e = this.equation(colon >= 0 ? s.slice(colon + 1) : withoutSo(s));
      if (e === null) return;
      if (e.midDisagree) this.fail(s);
      if (this.chain !== null && !sameSolutions(this.chain, e.pq)) this.fail(s);
      this.chain = e.pq;
    }
  }

  /** `We know VAR = g[, so we have L = R]`. */
  private givenSentence(s: string): void {
    this.chain = null;
    const rest = s.slice("We know".length);
    const eq = rest.indexOf("=");
    if (eq < 0) return;
    const variable = trim(rest.slice(0, eq));
    const after = rest.slice(eq + 1);
    const gEnd = Math.min(
      ...[after.indexOf(","), after.indexOf(";"), after.indexOf("so we have"), after.length].filter(
        (i) => i >= 0,
      ),
    );
    const g = evaluate(after.slice(0, gEnd), () => undefined, "value").value;
    const bnd = isVariableName(variable) ? this.env.get(variable) : undefined;
    if (bnd === undefined) this.fail(s);
    if (this.given === null) this.given = { variable, node: bnd === undefined ? -1 : bnd.node, g };
    else {
      const first = this.given;
      const sameG = first.g === null ? g === null : g !== null && sameLin(first.g, g);
      if (variable !== first.variable || !sameG) this.fail(s);
    }
    if (bnd?.value != null && g !== null) this.chain = { p: bnd.value.a - g.a, q: g.b - bnd.value.b };
    let tail = after.slice(gEnd).replace(/^[,; \t\n\v\f\r\u00a0]+/, "");
    tail = tail.startsWith("so we have") ? tail.slice("so we have".length) : withoutSo(tail);
    if (!tail.includes("=")) return;
    const e = this.equation(tail);
    if (e === null) return;
    if (bnd !== undefined && (bnd.value !== null || bnd.written !== null)) {
      const known = [bnd.value, bnd.written].filter((v): v is Lin => v !== null);
      const sides = [e.left.value, e.left.written];
      if (!known.some((k) => sides.some((l) => sameLin(l, k)))) this.fail(s);
    }
    if (g !== null && !sameLin(e.right, g)) this.fail(s);
    if (e.midDisagree) this.fail(s);
    this.chain = e.pq;
  }

  /** `Solution: x = v`. */
  private solutionSentence(s: string): void {
    const e = this.equation(s.slice("Solution:".length));
    if (e === null) return;
    if (e.midDisagree) this.fail(s);
    const { p, q } = e.pq;
    if (Math.abs(p) <= TOL) this.fail(s);
    else {
      const v = q / p;
      this.solution = v;
      const c = this.chain;
      if (c !== null) {
        const solves =
          Math.abs(c.p) > TOL
            ? Math.abs(c.q / c.p - v) <= TOL * Math.max(1, Math.abs(v))
            : Math.abs(c.q) <= TOL;
        if (!solves) this.fail(s);
      }
    }
    this.chain = e.pq;
  }

  /** `L1 = L2 = … = Ln` read as L1 = Ln (p·x = q); null when L1 or Ln cannot be read. */
  private equation(s: string): {
    left: { value: Lin; written: Lin };
    right: Lin;
    pq: { p: number; q: number };
    midDisagree: boolean;
  } | null {
    const parts = s.split("=").map(trim);
    if (parts.length < 2) return null;
    const links = parts.map((t) => (t === "" ? null : readLink(t, this.lookup)));
    const first = links[0];
    const last = links[links.length - 1];
    if (first === null || first.value === null || last === null || last.value === null) return null;
    let midDisagree = false;
    for (let k = 2; k < links.length; k++) {
      const a = links[k - 1];
      const b = links[k];
      if (a !== null && a.value !== null && b !== null && b.value !== null && linksDisagree(a, b))
        midDisagree = true;
    }
    const right = last.value;
    return {
      left: { value: first.value, written: first.written! },
      right,
      pq: { p: first.value.a - right.a, q: right.b - first.value.b },
      midDisagree,
    };
  }

  private fail(s: string): void {
    if (this.solveSlips.length < 16) this.solveSlips.push(`"${s.slice(0, 61)}": a check failed`);
  }

  /** The solving section's summary (null when the trace has none). */
  solveResult(): ParsedSolve | null {
    if (!this.solveSeen) return null;
    let u = this.nodes.findIndex(
      (n) => n.value !== null && sameLin(n.value, { a: 1, b: 0 }) && n.parents.length === 0,
    );
    if (u < 0) u = this.nodes.length - 1;
    const g = this.given;
    return {
      node: u >= 0 ? this.nodes[u].name : null,
      hasGiven: g !== null,
      givenNode: g !== null && g.node >= 0 ? this.nodes[g.node].name : null,
      given: g?.g != null && Math.abs(g.g.a) <= TOL ? g.g.b : null,
      solution: this.solution,
      slip: this.solveSlips.length > 0,
      slips: this.solveSlips,
    };
  }

  /** The nodes keyed by name, parents as names. */
  result(): Map<string, ParsedNode> {
    const out = new Map<string, ParsedNode>();
    for (const n of this.nodes) {
      out.set(n.name, { ...n, parents: n.parents.map((i) => this.nodes[i].name) });
    }
    return out;
  }
}

/**
 * The value of a clause from its links (docs/verification.md, "Which number is the value"): the first
 * link without step variables unless it is the written result; else the link before the written
 * result, read the way the result agrees with; a single link itself; else the last evaluable link.
 */
function chooseValue(links: Link[]): Lin | null {
  const n = links.length;
  const closed = links.findIndex((l) => l.value !== null && !l.usesVariables);
  if (closed >= 0 && (closed < n - 1 || n === 1)) return links[closed].value;
  if (n === 1) return links[0].value;
  if (n >= 2 && links[n - 2].value !== null) {
    const prev = links[n - 2];
    const cur = links[n - 1];
    if (cur.value === null) return prev.value;
    const agrees = (p: Lin): boolean => sameLin(p, cur.value!) || sameLin(p, cur.written!);
    return !agrees(prev.value!) && agrees(prev.written!) ? prev.written : prev.value;
  }
  return links.filter((l) => l.value !== null).pop()?.value ?? null;
}

/** The text less a leading "so " (or "So "). */
function withoutSo(s: string): string {
  const t = s.replace(/^[ \t\n\v\f\r\u00a0]+/, "");
  return /^[sS]o[ \t\n\v\f\r\u00a0]/.test(t) ? t.slice(3) : t;
}

/** Whether p1·x = q1 and p2·x = q2 have the same solutions (one value, every x, or none). */
function sameSolutions(e1: { p: number; q: number }, e2: { p: number; q: number }): boolean {
  const one1 = Math.abs(e1.p) > TOL;
  const one2 = Math.abs(e2.p) > TOL;
  if (one1 !== one2) return false;
  if (one1) {
    const v = e1.q / e1.p;
    return Math.abs(v - e2.q / e2.p) <= TOL * Math.max(1, Math.abs(v));
  }
  return Math.abs(e1.q) <= TOL === Math.abs(e2.q) <= TOL;
}
