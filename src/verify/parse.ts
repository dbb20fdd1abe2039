/**
 * Parsing a generated trace into a predicted dependency graph Ĝ (verification.md §2).
 *
 * A hand-written single-pass scanner: no regular expressions in the hot path, work linear in the
 * input length (every cursor only moves forward, parenthesis depth and parent lists are bounded),
 * and it never throws on model output.
 */
import type { Lin } from "../world/linear.js";

/** One node of Ĝ: a `Define NAME as V;` step. */
export interface ParsedNode {
  /** Normalised name (trimmed, whitespace collapsed). */
  name: string;
  /** The variable the step defines (only used to link steps). */
  variable: string;
  /** Names of the parent nodes, in order of first use. */
  parents: string[];
  /** Value of the step's last assignment to its variable, or null when none could be read. */
  value: Lin | null;
  /** True when some equation of the step has a written result that disagrees with its operands. */
  slip: boolean;
}

/** The result of parsing one trace. */
export interface ParsedTrace {
  /** Nodes keyed by normalised name, in trace order (the first definition wins). */
  nodes: Map<string, ParsedNode>;
  /** The extracted final answer, or null when there is none. */
  answer: string | null;
  /** True when no `Define` step could be read at all. */
  parseFailed: boolean;
  /** True when the text has `Define` steps but reaches neither `</solution>` nor an answer. */
  truncated: boolean;
  /** Non-fatal problems found while parsing (duplicate definitions, malformed clauses, ...). */
  issues: string[];
}

/** Bounds that keep the parser's work linear on adversarial input. */
export interface ParseOptions {
  /** Most issues recorded verbatim; the rest are only counted (default 50). */
  maxIssues?: number;
  /** Most parents one node or intermediate variable may collect (default 64). */
  maxParents?: number;
  /** Deepest nesting of parentheses and unary signs the evaluator follows (default 200). */
  maxDepth?: number;
}

/** Default parse bounds. */
export const DEFAULT_PARSE_OPTIONS: Readonly<Required<ParseOptions>> = {
  maxIssues: 50,
  maxParents: 64,
  maxDepth: 200,
};

/** What a variable stands for: the nodes it came from and its value (null when unknown). */
interface Binding {
  deps: number[];
  ok: boolean;
  a: number;
  b: number;
}

/** Variable bindings; names of up to one letter and six digits use an allocation-free numeric key. */
class Env {
  private readonly num = new Map<number, Binding>();
  private readonly str = new Map<string, Binding>();
  get(text: string, a: number, b: number): Binding | undefined {
    const k = varKey(text, a, b);
    return k >= 0 ? this.num.get(k) : this.str.get(text.slice(a, b));
  }
  set(name: string, bnd: Binding): void {
    const k = varKey(name, 0, name.length);
    if (k >= 0) this.num.set(k, bnd);
    else this.str.set(name, bnd);
  }
}

/** Numeric key of a variable text[a, b) (a letter and up to six digits), or -1. */
function varKey(text: string, a: number, b: number): number {
  if (b - a > 7 || b <= a) return -1;
  const c = text.charCodeAt(a);
  let k = c >= 97 ? c - 97 + 26 : c - 65;
  if (k < 0 || k >= 52 || (c > 90 && c < 97)) return -1;
  let enc = 0;
  for (let i = a + 1; i < b; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    enc = enc * 11 + d + 1;
  }
  k += 52 * enc;
  return k;
}

// Character codes.
const SPACE = 32;
const SEMI = 59;
const EQ = 61;
const DOT = 46;
const PLUS = 43;
const MINUS = 45;
const STAR = 42;
const SLASH = 47;
const LPAREN = 40;
const RPAREN = 41;
const LT = 60;
const UNDERSCORE = 95;

const isWs = (c: number): boolean => c === SPACE || (c >= 9 && c <= 13) || c === 160;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isWordChar = (c: number): boolean => isLetter(c) || isDigit(c) || c === UNDERSCORE;

/** True when s is a variable name: one ASCII letter followed by digits. */
export function isVariable(s: string): boolean {
  if (s.length === 0 || !isLetter(s.charCodeAt(0))) return false;
  for (let i = 1; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

/** Trims and collapses every whitespace run to one space. */
export function normalizeName(s: string): string {
  let clean = true;
  let prevSpace = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === SPACE) {
      if (prevSpace) {
        clean = false;
        break;
      }
      prevSpace = true;
    } else if (isWs(c)) {
      clean = false;
      break;
    } else prevSpace = false;
  }
  if (clean && !prevSpace) return s;
  return s.replace(/\s+/g, " ").trim();
}

// ---------------------------------------------------------------------------------------------
// Linear arithmetic evaluator. It reads one term of an equation chain from P and stops at the first
// character that cannot continue the expression (`=`, `;`, `.`, ...), so splitting, variable
// collection and evaluation share one pass. Results go to module-level registers so the hot path
// allocates nothing; the parser is not re-entrant (it never calls back into user code).

let S = "";
let P = 0;
let END = 0;
let DEPTH = 0;
let MAX_DEPTH = DEFAULT_PARSE_OPTIONS.maxDepth;
/** The parser whose variables are in scope (null: only x is known). */
let PARSER: Parser | null = null;
let RA = 0;
let RB = 0;
// Shape of the last term read: counts of primaries, numbers, binary operators and parentheses.
let N_PRIM = 0;
let N_NUM = 0;
let N_OPS = 0;
let N_PAREN = 0;

function skipWs(): void {
  while (P < END && isWs(S.charCodeAt(P))) P++;
}

function evalExpr(): boolean {
  if (!evalTerm()) return false;
  let a = RA;
  let b = RB;
  for (;;) {
    skipWs();
    if (P >= END) break;
    const c = S.charCodeAt(P);
    if (c !== PLUS && c !== MINUS) break;
    P++;
    N_OPS++;
    if (!evalTerm()) return false;
    if (c === PLUS) {
      a += RA;
      b += RB;
    } else {
      a -= RA;
      b -= RB;
    }
  }
  RA = a;
  RB = b;
  return true;
}

function evalTerm(): boolean {
  if (!evalUnary()) return false;
  let a = RA;
  let b = RB;
  for (;;) {
    skipWs();
    if (P >= END) break;
    const c = S.charCodeAt(P);
    if (c !== STAR && c !== SLASH) break;
    P++;
    N_OPS++;
    if (!evalUnary()) return false;
    if (c === STAR) {
      if (a !== 0 && RA !== 0) return false; // x·x is not linear
      const na = a * RB + RA * b;
      b *= RB;
      a = na;
    } else {
      if (RA !== 0 || RB === 0) return false;
      a /= RB;
      b /= RB;
    }
  }
  RA = a;
  RB = b;
  return true;
}

function evalUnary(): boolean {
  skipWs();
  if (P >= END) return false;
  const c = S.charCodeAt(P);
  if (c === MINUS || c === PLUS) {
    if (++DEPTH > MAX_DEPTH) return false;
    P++;
    const ok = evalUnary();
    DEPTH--;
    if (ok && c === MINUS) {
      RA = -RA;
      RB = -RB;
    }
    return ok;
  }
  return evalPrimary();
}

function evalPrimary(): boolean {
  const c = S.charCodeAt(P);
  N_PRIM++;
  if (c === LPAREN) {
    if (++DEPTH > MAX_DEPTH) return false;
    P++;
    N_PAREN++;
    if (!evalExpr()) return false;
    skipWs();
    if (P >= END || S.charCodeAt(P) !== RPAREN) return false;
    P++;
    DEPTH--;
    return true;
  }
  if (isDigit(c)) {
    N_NUM++;
    return readNumber();
  }
  if (isLetter(c)) {
    const p0 = P;
    P++;
    let onlyDigits = true;
    while (P < END) {
      const d = S.charCodeAt(P);
      if (!isWordChar(d)) break;
      if (!isDigit(d)) onlyDigits = false;
      P++;
    }
    if (!onlyDigits) return false; // a word, not a variable
    const bnd = PARSER === null ? undefined : PARSER.useVar(p0, P);
    if (bnd === undefined) {
      if (P - p0 !== 1 || c !== 120 /* x */) return false;
      RA = 1; // the reverse-mode unknown, unless a step defines x
      RB = 0;
      return true;
    }
    if (!bnd.ok) return false;
    RA = bnd.a;
    RB = bnd.b;
    return true;
  }
  return false;
}

/** Reads digits with an optional fractional part into RB (RA = 0). */
function readNumber(): boolean {
  const p0 = P;
  let v = 0;
  while (P < END && isDigit(S.charCodeAt(P))) v = v * 10 + (S.charCodeAt(P++) - 48);
  if (P + 1 < END && S.charCodeAt(P) === DOT && isDigit(S.charCodeAt(P + 1))) {
    P++;
    while (P < END && isDigit(S.charCodeAt(P))) P++;
    v = Number(S.slice(p0, P));
  } else if (P - p0 > 15) v = Number(S.slice(p0, P));
  RA = 0;
  RB = v;
  return true;
}

/** Starts reading text from position a (exclusive bound b) with the given parser's variables in scope. */
function beginTerm(text: string, a: number, b: number, parser: Parser | null): void {
  S = text;
  P = a;
  END = b;
  DEPTH = 0;
  PARSER = parser;
  N_PRIM = 0;
  N_NUM = 0;
  N_OPS = 0;
  N_PAREN = 0;
}

/** Parses a linear expression in x ("2*x + 1", "-x", "7"); null when it is not one. */
export function parseLinear(s: string): Lin | null {
  if (typeof s !== "string") return null;
  MAX_DEPTH = DEFAULT_PARSE_OPTIONS.maxDepth;
  beginTerm(s, 0, s.length, null);
  const ok = evalExpr();
  skipWs();
  S = "";
  if (!ok || P !== s.length || !Number.isFinite(RA) || !Number.isFinite(RB)) return null;
  return { a: RA, b: RB };
}

/** If text[p] is a "." followed only by whitespace up to a ";" or b, that end; else -1. */
function terminalDot(text: string, p: number, b: number): number {
  let q = p + 1;
  while (q < b && isWs(text.charCodeAt(q))) q++;
  return q >= b || text.charCodeAt(q) === SEMI ? q : -1;
}

// ---------------------------------------------------------------------------------------------
// Markers.

const DEFINE = "Define";
const SOL_OPEN = "<solution>";
const SOL_CLOSE = "</solution>";
const ANS_OPEN = "<answer>";
const ANS_CLOSE = "</answer>";
const ANSWER_LINE = "Answer:";
const STEP_ENDS = ["We know", "Solution:", ANSWER_LINE] as const;

/** Next `Define` at a word start followed by whitespace, at or after `from`; -1 if none before `end`. */
function nextDefine(text: string, from: number, end: number): number {
  let i = from;
  for (;;) {
    i = text.indexOf(DEFINE, i);
    if (i < 0 || i >= end) return -1;
    const before = i === 0 ? SPACE : text.charCodeAt(i - 1);
    const after = i + DEFINE.length < text.length ? text.charCodeAt(i + DEFINE.length) : 0;
    if (!isWordChar(before) && isWs(after)) return i;
    i++;
  }
}

/** The answer written after `Answer:` at position k: the next word, a trailing "." removed. */
function answerAfter(text: string, k: number): string | null {
  let p = k + ANSWER_LINE.length;
  while (p < text.length && isWs(text.charCodeAt(p))) p++;
  let q = p;
  while (q < text.length) {
    const c = text.charCodeAt(q);
    if (isWs(c) || c === LT) break;
    q++;
  }
  return cleanAnswer(text.slice(p, q));
}

function cleanAnswer(raw: string): string | null {
  let s = raw.trim();
  if (s.endsWith(".")) s = s.slice(0, -1).trim();
  return s.length > 0 ? s : null;
}

// ---------------------------------------------------------------------------------------------
// The parser.

/** Mutable state of one parse. */
class Parser {
  readonly nodes: ParsedNode[] = [];
  readonly byName = new Map<string, number>();
  readonly parentIdx: number[][] = [];
  readonly env = new Env();
  /** Per node, the one-element dependency list of its own variable. */
  private readonly selfDeps: number[][] = [];
  readonly issues: string[] = [];
  private suppressed = 0;
  // Stamp arrays deduplicate parent indices per step and per clause in O(1).
  private stepMark: number[] = [];
  private clauseMark: number[] = [];
  private stepEpoch = 0;
  private clauseEpoch = 0;
  private stepDeps: number[] = [];
  private clauseDeps: number[] = [];
  private stepNo = 0;
  // The current step's value and slip flag, written by clause().
  private assigned = false;
  private valOk = false;
  private valA = 0;
  private valB = 0;
  private stepSlip = false;

  constructor(
    readonly text: string,
    readonly opts: Required<ParseOptions>,
  ) {}

  /** True when another issue may be recorded; otherwise counts it as suppressed. */
  room(): boolean {
    if (this.issues.length < this.opts.maxIssues) return true;
    this.suppressed++;
    return false;
  }

  issue(msg: string): void {
    this.issues.push(msg);
  }

  finishIssues(): void {
    if (this.suppressed > 0) this.issues.push(`... and ${this.suppressed} more issues`);
  }

  /** Parses the steps in text[start, end). Returns whether any `Define` was seen. */
  steps(start: number, end: number): boolean {
    const text = this.text;
    const ends = STEP_ENDS.map(() => -2);
    let pos = nextDefine(text, start, end);
    const seen = pos >= 0;
    while (pos >= 0) {
      const body = pos + DEFINE.length;
      const next = nextDefine(text, body, end);
      let stepEnd = next >= 0 ? next : end;
      for (let m = 0; m < STEP_ENDS.length; m++) {
        if (ends[m] !== -1 && ends[m] < body) ends[m] = text.indexOf(STEP_ENDS[m], body);
        if (ends[m] >= 0 && ends[m] < stepEnd) stepEnd = ends[m];
      }
      this.stepNo++;
      this.step(body, stepEnd);
      pos = next;
    }
    return seen;
  }

  /** One step: header `NAME as V;` in text[a, ...) then clauses up to b. */
  private step(a: number, b: number): void {
    const text = this.text;
    let semi = a;
    while (semi < b && text.charCodeAt(semi) !== SEMI) semi++;
    if (semi >= b) {
      if (this.room()) this.issue(`step ${this.stepNo}: no "Define NAME as V;" header`);
      return;
    }
    let h0 = a;
    let h1 = semi;
    while (h0 < h1 && isWs(text.charCodeAt(h0))) h0++;
    while (h1 > h0 && isWs(text.charCodeAt(h1 - 1))) h1--;
    const header = normalizeName(text.slice(h0, h1));
    const asAt = header.lastIndexOf(" as ");
    const name = asAt > 0 ? header.slice(0, asAt) : "";
    const variable = asAt > 0 ? header.slice(asAt + 4) : "";
    if (name.length === 0 || variable.length === 0) {
      if (this.room()) this.issue(`step ${this.stepNo}: malformed header "${clip(header)}"`);
      return;
    }
    if (!isVariable(variable) && this.room()) this.issue(`step ${this.stepNo}: "${clip(variable)}" is not a variable name`);

    let idx = this.byName.get(name);
    const duplicate = idx !== undefined;
    if (idx === undefined) {
      idx = this.nodes.length;
      this.byName.set(name, idx);
      this.nodes.push({ name, variable, parents: [], value: null, slip: false });
      this.parentIdx.push([]);
      this.selfDeps.push([idx]);
      this.stepMark.push(0);
      this.clauseMark.push(0);
    } else if (this.room()) this.issue(`step ${this.stepNo}: duplicate definition of "${clip(name)}" (the first is kept)`);

    this.stepEpoch++;
    this.stepDeps = [];
    this.assigned = false;
    this.stepSlip = false;
    let c0 = semi + 1;
    while (c0 < b) c0 = this.clause(c0, b, variable, idx) + 1;
    if (!this.assigned) {
      if (this.room()) this.issue(`step ${this.stepNo}: "${clip(variable)}" is never assigned`);
      this.env.set(variable, { deps: this.selfDeps[idx], ok: false, a: 0, b: 0 });
    }
    if (duplicate) return;
    const node = this.nodes[idx];
    node.value = this.assigned && this.valOk ? { a: this.valA, b: this.valB } : null;
    node.slip = this.stepSlip;
    const parents = this.parentIdx[idx];
    for (const d of this.stepDeps) if (d !== idx) parents.push(d);
  }

  /**
   * One clause `[so ]VAR = term = ... = term` starting at a (the step ends at b): binds VAR, records
   * slips, and sets the step's value when VAR is the step's variable. Returns where the clause ends
   * (its ";" or b).
   */
  private clause(a: number, b: number, nodeVar: string, nodeIdx: number): number {
    const text = this.text;
    while (a < b && isWs(text.charCodeAt(a))) a++;
    if (a >= b || text.charCodeAt(a) === SEMI) return a;
    if ((text.charCodeAt(a) | 32) === 115 /* s */ && a + 2 < b && text.charCodeAt(a + 1) === 111) {
      if (isWs(text.charCodeAt(a + 2))) {
        a += 3;
        while (a < b && isWs(text.charCodeAt(a))) a++;
      }
    }
    let eq = a;
    for (; eq < b; eq++) {
      const c = text.charCodeAt(eq);
      if (c === EQ || c === SEMI) break;
    }
    let l1 = eq;
    while (l1 > a && isWs(text.charCodeAt(l1 - 1))) l1--;
    if (eq >= b || text.charCodeAt(eq) === SEMI) {
      if (l1 > a && !(l1 - a === 1 && text.charCodeAt(a) === DOT)) {
        if (this.room()) this.issue(`step ${this.stepNo}: clause without "=": "${clip(text.slice(a, l1))}"`);
      }
      return eq;
    }
    const lhs = text.slice(a, l1);
    const lhsOk = isVariable(lhs);
    if (!lhsOk && this.room()) this.issue(`step ${this.stepNo}: "${clip(lhs)}" is not a variable name`);

    this.clauseEpoch++;
    this.clauseDeps = [];
    let prevOk = false;
    let pa = 0;
    let pb = 0;
    let nonBareSeen = false;
    let nonBareOk = false;
    let na = 0;
    let nb = 0;
    let numSeen = false;
    let num = 0;
    let s = eq + 1;
    let clauseEnd = b;
    for (;;) {
      while (s < b && isWs(text.charCodeAt(s))) s++;
      const c = s < b ? text.charCodeAt(s) : SEMI;
      let q: number;
      if (c === EQ || c === SEMI || (c === DOT && terminalDot(text, s, b) >= 0)) {
        if (this.room()) this.issue(`step ${this.stepNo}: empty term after "${clip(lhs)} ="`);
        q = s;
      } else {
        beginTerm(text, s, b, this);
        let ok = evalExpr();
        skipWs();
        q = P;
        PARSER = null;
        const d = q < b ? text.charCodeAt(q) : SEMI;
        if (!(d === EQ || d === SEMI || (d === DOT && terminalDot(text, q, b) >= 0))) {
          ok = false;
          q = this.skipTerm(q, b);
        }
        ok = ok && Number.isFinite(RA) && Number.isFinite(RB);
        if (ok && N_PRIM === 1 && N_NUM === 1 && N_OPS === 0 && N_PAREN === 0) {
          numSeen = true;
          num = RB;
        } else {
          nonBareSeen = true;
          nonBareOk = ok;
          na = RA;
          nb = RB;
        }
        if (ok) {
          if (prevOk && (Math.abs(RA - pa) > 1e-6 || Math.abs(RB - pb) > 1e-6)) this.stepSlip = true;
          pa = RA;
          pb = RB;
        }
        prevOk = ok;
      }
      const d = q < b ? text.charCodeAt(q) : SEMI;
      if (d === EQ) {
        s = q + 1;
        continue;
      }
      clauseEnd = d === DOT ? terminalDot(text, q, b) : q;
      break;
    }
    let ok = false;
    let va = 0;
    let vb = 0;
    if (nonBareSeen && nonBareOk) {
      ok = true;
      va = na;
      vb = nb;
    } else if (numSeen) {
      ok = true;
      vb = num;
    }
    if (!lhsOk) return clauseEnd;
    const target = lhs === nodeVar;
    this.env.set(lhs, { deps: target ? this.selfDeps[nodeIdx] : this.clauseDeps, ok, a: va, b: vb });
    if (target) {
      this.assigned = true;
      this.valOk = ok;
      this.valA = va;
      this.valB = vb;
    }
    return clauseEnd;
  }

  /** Resolves variable text[a, b) and adds the nodes behind it to the clause's and the step's parents. */
  useVar(a: number, b: number): Binding | undefined {
    const text = this.text;
    const bnd = this.env.get(text, a, b);
    if (bnd === undefined) {
      if (!(b - a === 1 && text.charCodeAt(a) === 120)) {
        if (this.room()) this.issue(`step ${this.stepNo}: unknown variable "${clip(text.slice(a, b))}"`);
      }
      return undefined;
    }
    const max = this.opts.maxParents;
    for (const d of bnd.deps) {
      if (this.clauseMark[d] !== this.clauseEpoch) {
        this.clauseMark[d] = this.clauseEpoch;
        if (this.clauseDeps.length < max) this.clauseDeps.push(d);
        else if (this.room()) this.issue(`step ${this.stepNo}: more than ${max} parents`);
      }
      if (this.stepMark[d] !== this.stepEpoch) {
        this.stepMark[d] = this.stepEpoch;
        if (this.stepDeps.length < max) this.stepDeps.push(d);
      }
    }
    return bnd;
  }

  /**
   * The unreadable rest of a term from p: collects its variables and returns the position of the
   * next "=" or ";" (or the "." ending the clause, or b).
   */
  private skipTerm(p: number, b: number): number {
    const text = this.text;
    while (p < b) {
      const c = text.charCodeAt(p);
      if (c === EQ || c === SEMI) return p;
      if (c === DOT && terminalDot(text, p, b) >= 0) return p;
      if (isDigit(c)) {
        while (p < b && isDigit(text.charCodeAt(p))) p++;
        continue;
      }
      if (!isLetter(c) && c !== UNDERSCORE) {
        p++;
        continue;
      }
      const p0 = p;
      let onlyDigits = c !== UNDERSCORE;
      p++;
      while (p < b) {
        const d = text.charCodeAt(p);
        if (!isWordChar(d)) break;
        if (!isDigit(d)) onlyDigits = false;
        p++;
      }
      if (onlyDigits) this.useVar(p0, p);
    }
    return b;
  }

  /** The nodes of Ĝ keyed by name, parents resolved to names. */
  result(): Map<string, ParsedNode> {
    const out = new Map<string, ParsedNode>();
    for (let i = 0; i < this.nodes.length; i++) {
      const n = this.nodes[i];
      n.parents = this.parentIdx[i].map((d) => this.nodes[d].name);
      out.set(n.name, n);
    }
    return out;
  }
}

/** Shortens a string for an issue message. */
function clip(s: string): string {
  return s.length <= 60 ? s : `${s.slice(0, 57)}...`;
}

/**
 * Parses a completion, a full model text (cut at the first `<solution>`) or a bare solution string
 * into Ĝ. Never throws: unreadable input gives a result with `parseFailed` set.
 */
export function parseTrace(text: string, opts: ParseOptions = {}): ParsedTrace {
  const o: Required<ParseOptions> = { ...DEFAULT_PARSE_OPTIONS, ...opts };
  if (typeof text !== "string") {
    return { nodes: new Map(), answer: null, parseFailed: true, truncated: false, issues: ["input is not a string"] };
  }
  MAX_DEPTH = o.maxDepth;
  const parser = new Parser(text, o);
  let answer: string | null = null;
  let truncated = false;
  try {
    const so = text.indexOf(SOL_OPEN);
    const start = so < 0 ? 0 : so + SOL_OPEN.length;
    const solClose = text.indexOf(SOL_CLOSE, start);
    const ansOpen = text.indexOf(ANS_OPEN, start);
    let end = text.length;
    if (solClose >= 0 && solClose < end) end = solClose;
    if (ansOpen >= 0 && ansOpen < end) end = ansOpen;

    let answerReached = false;
    if (ansOpen >= 0) {
      answerReached = true;
      const a0 = ansOpen + ANS_OPEN.length;
      const close = text.indexOf(ANS_CLOSE, a0);
      if (close >= 0) answer = cleanAnswer(text.slice(a0, close));
      else {
        // Unclosed (the stop string was cut off): up to any following tag such as <eos>.
        const lt = text.indexOf("<", a0);
        answer = cleanAnswer(text.slice(a0, lt < 0 ? text.length : lt));
      }
    } else {
      const k = text.lastIndexOf(ANSWER_LINE);
      if (k >= start) {
        answerReached = true;
        answer = answerAfter(text, k);
      }
    }
    const sawDefine = parser.steps(start, end);
    truncated = sawDefine && solClose < 0 && !answerReached;
  } catch (err) {
    // Defensive: no known input reaches this, but model output must never crash a training run.
    parser.issue(`internal parser error: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    S = "";
    PARSER = null;
  }
  parser.finishIssues();
  const nodes = parser.result();
  return { nodes, answer, parseFailed: nodes.size === 0, truncated, issues: parser.issues };
}
