/**
 * Parsing a generated trace into a predicted dependency graph Ĝ (verification.md §2).
 *
 * Structure (`Define`, `;`, `=`, end markers) is found with native `indexOf` through cursors that
 * only move forward, and each term is read once by a tokenizer under a small recursive-descent
 * evaluator, so the work is linear in the input length (nesting depth, parent lists and recorded
 * issues are bounded); the solving section is read sentence by sentence in one forward pass. The
 * only regular expressions are linear whitespace checks on names, and no input makes the parser
 * throw.
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
  /**
   * Value of the step's last assignment to its variable, or null when none could be read: the
   * substituted arithmetic (the first link written without step variables, unless it is the written
   * result itself), else the expression on variables before the written result, else the last link
   * that could be evaluated (docs/verification.md, "Which number is the value").
   */
  value: Lin | null;
  /**
   * True when some equation (`=`) of the step is false in the trace's own terms (an arithmetic
   * slip). The solving section's slips are in `ParsedTrace.solve`; verifyTrace adds them to its node.
   */
  slip: boolean;
}

/**
 * The solving section of a reverse-mode trace: `We know VAR = g, so we have LHS = RHS.`, the step
 * equations `…: LHS = RHS.` and `Solution: x = v.` (docs/verification.md, "The solving section").
 * Its slips are arithmetic slips of `node`; whether g is the problem's given value is checked
 * against the gold graph by verifyTrace.
 */
export interface ParsedSolve {
  /**
   * The node the section's slips are attributed to: the first node defined as the unknown (value x,
   * no parents: `so X = x`), else the trace's last node; null when the trace has no node.
   */
  node: string | null;
  /** A `We know VAR = g` sentence was read (its VAR and g below are those of the first one). */
  hasGiven: boolean;
  /** The node whose variable VAR is (null: no given, or VAR is no node's variable). */
  givenNode: string | null;
  /** g when it is a number (null: no given, or g is not a number). */
  given: number | null;
  /** v of the last `Solution: x = v` read (null: none). */
  solution: number | null;
  /** Some equation of the section does not follow (rules 1–3 of the docs, in the trace's own terms). */
  slip: boolean;
  /** What did not follow, in trace order (the first 16). */
  slips: string[];
}

/** Where one `Define` step is in the text (for showing traces step by step). */
export interface StepSpan {
  /** Offset of its `Define`. */
  start: number;
  /** Offset where it ends: the next `Define`, or the end of the steps (its solving section included). */
  end: number;
  /** The node it defines (normalised name), or null when its header could not be read. */
  name: string | null;
  /** An earlier step defined the same node (this one is ignored). */
  duplicate: boolean;
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
  /** The solving section (`We know …`, `Solution: …` after a step), null when the trace has none. */
  solve: ParsedSolve | null;
  /** Every `Define` step read, in text order. */
  spans: StepSpan[];
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

// Character codes.
const SPACE = 32;
const DOT = 46;
const PLUS = 43;
const MINUS = 45;
const STAR = 42;
const SLASH = 47;
const LPAREN = 40;
const RPAREN = 41;
const LT = 60;
const EQ = 61;
const COLON = 58;
const COMMA = 44;
const SEMICOLON = 59;
const UPPER_S = 83;
const UPPER_W = 87;
const LOWER_S = 115;
const UNDERSCORE = 95;
const LOWER_X = 120;

const isWs = (c: number): boolean => (c <= SPACE ? c === SPACE || (c >= 9 && c <= 13) : c === 160);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isLetter = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isWordChar = (c: number): boolean => isLetter(c) || isDigit(c) || c === UNDERSCORE;

/** Whitespace other than single spaces (checked natively on names before normalising). */
const UNNORMAL_WS = /[^\S ]| {2}/;

/** True when s is a variable name: one ASCII letter followed by digits. */
export function isVariable(s: string): boolean {
  if (typeof s !== "string" || s.length === 0 || !isLetter(s.charCodeAt(0))) return false;
  for (let i = 1; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

/** Trims and collapses every whitespace run to one space. */
export function normalizeName(s: string): string {
  const n = s.length;
  if (n > 0 && !isWs(s.charCodeAt(0)) && !isWs(s.charCodeAt(n - 1)) && !UNNORMAL_WS.test(s)) return s;
  return s.replace(/\s+/g, " ").trim();
}

/**
 * What a variable stands for: the nodes it came from, its value (ok = false: unknown) and its
 * written result, the last link of its assignment as written (wok = false: unknown). The two differ
 * only after a slip (`r = 3 + 2 = 12`: value 5, written 12); `two` says so.
 */
interface Binding {
  deps: number[];
  ok: boolean;
  a: number;
  b: number;
  wok: boolean;
  wa: number;
  wb: number;
  two: boolean;
}

/** A binding whose value and written result are the same reading. */
function plainBinding(deps: number[], ok: boolean, a: number, b: number): Binding {
  return { deps, ok, a, b, wok: ok, wa: a, wb: b, two: false };
}

const TOL = 1e-6;
const same = (a1: number, b1: number, a2: number, b2: number): boolean =>
  Math.abs(a1 - a2) <= TOL && Math.abs(b1 - b2) <= TOL;

/**
 * Whether two consecutive links disagree under every reading: each link is read as its value (a, b)
 * and as its written result (wa, wb), and a variable may stand for either, so they disagree only
 * when no pair of readings is the same.
 */
const disagree = (
  pa: number,
  pb: number,
  pwa: number,
  pwb: number,
  a: number,
  b: number,
  wa: number,
  wb: number,
): boolean =>
  !same(pa, pb, a, b) && !same(pa, pb, wa, wb) && !same(pwa, pwb, a, b) && !same(pwa, pwb, wa, wb);

/**
 * Numeric key of the variable text[a, b) when it is a letter and up to six digits (-1 otherwise),
 * so the common lookups allocate no string.
 */
function varKey(text: string, a: number, b: number): number {
  if (b - a > 7 || b <= a) return -1;
  const c = text.charCodeAt(a);
  let k: number;
  if (c >= 65 && c <= 90) k = c - 65;
  else if (c >= 97 && c <= 122) k = c - 71;
  else return -1;
  let enc = 0;
  for (let i = a + 1; i < b; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    enc = enc * 11 + d + 1;
  }
  return k + 52 * enc;
}

/** Keys below this (one letter) index an array of the parse instead of a map. */
const SMALL_KEYS = 52;

/** Variable bindings of one parse: an array slot for ordinary names, maps for the rest. */
class Env {
  private readonly small: (Binding | undefined)[] = new Array<Binding | undefined>(SMALL_KEYS).fill(
    undefined,
  );
  private readonly num = new Map<number, Binding>();
  private readonly str = new Map<string, Binding>();
  get(text: string, a: number, b: number): Binding | undefined {
    const k = varKey(text, a, b);
    if (k < 0) return this.str.get(text.slice(a, b));
    return k < SMALL_KEYS ? this.small[k] : this.num.get(k);
  }
  set(name: string, bnd: Binding): void {
    this.setAt(name, 0, name.length, varKey(name, 0, name.length), bnd);
  }
  /** Binds the variable text[a, b) whose numeric key is k (-1: use its text). */
  setAt(text: string, a: number, b: number, k: number, bnd: Binding): void {
    if (k < 0) this.str.set(text.slice(a, b), bnd);
    else if (k >= SMALL_KEYS) this.num.set(k, bnd);
    else this.small[k] = bnd;
  }
}

// ---------------------------------------------------------------------------------------------
// Linear arithmetic evaluator: a tokenizer (each character read once) under a recursive-descent
// parser. State lives in fields of one object per parse (or per parseLinear call) and results in
// `a`, `b`, so the hot path allocates nothing and no state is shared between calls.

const T_END = 0;
const T_NUM = 1;
const T_VAR = 2;
const T_PLUS = 3;
const T_MINUS = 4;
const T_STAR = 5;
const T_SLASH = 6;
const T_LPAREN = 7;
const T_RPAREN = 8;
const T_BAD = 9;

class Evaluator {
  private s = "";
  private p = 0;
  private end = 0;
  private depth = 0;
  maxDepth = DEFAULT_PARSE_OPTIONS.maxDepth;
  /** The parser whose variables are in scope (null: only x is known). */
  private parser: Parser | null = null;
  // The lookahead token: kind, start, end, and value of a number.
  private tk = T_END;
  tokStart = 0;
  private tokEnd = 0;
  private num = 0;
  /** The result a·x + b. */
  a = 0;
  b = 0;
  /** Step variables read by the last run (0: the term is written with numbers and x only). */
  refs = 0;
  /** The last run read a variable whose value and written result differ. */
  twoFaced = false;
  /** Read variables as their written results instead of their values. */
  written = false;

  /** Evaluates all of text[from, to) (trimmed); on failure `tokStart` is where reading stopped. */
  run(text: string, from: number, to: number, parser: Parser | null): boolean {
    this.s = text;
    this.p = from;
    this.end = to;
    this.depth = 0;
    this.parser = parser;
    this.refs = 0;
    this.twoFaced = false;
    this.next();
    const ok = this.expr() && this.tk === T_END;
    this.parser = null;
    return ok && Number.isFinite(this.a) && Number.isFinite(this.b);
  }

  private next(): void {
    const s = this.s;
    const end = this.end;
    let p = this.p;
    let c = 0;
    while (p < end) {
      c = s.charCodeAt(p);
      if (!isWs(c)) break;
      p++;
    }
    this.tokStart = p;
    if (p >= end) {
      this.tk = T_END;
      this.p = this.tokEnd = p;
      return;
    }
    p++;
    if (c >= 48 && c <= 57) {
      let v = c - 48;
      let d = 0;
      while (p < end) {
        d = s.charCodeAt(p);
        if (d < 48 || d > 57) break;
        v = v * 10 + (d - 48);
        p++;
      }
      if (d === DOT && p + 1 < end && isDigit(s.charCodeAt(p + 1))) {
        p += 2;
        while (p < end && isDigit(s.charCodeAt(p))) p++;
        v = Number(s.slice(this.tokStart, p));
      } else if (p - this.tokStart > 15) v = Number(s.slice(this.tokStart, p));
      this.tk = T_NUM;
      this.num = v;
    } else if (isLetter(c)) {
      let onlyDigits = true;
      while (p < end) {
        const d = s.charCodeAt(p);
        if (d >= 48 && d <= 57) p++;
        else if (isLetter(d) || d === UNDERSCORE) {
          onlyDigits = false;
          p++;
        } else break;
      }
      this.tk = onlyDigits ? T_VAR : T_BAD;
    } else if (c === PLUS) this.tk = T_PLUS;
    else if (c === MINUS) this.tk = T_MINUS;
    else if (c === STAR) this.tk = T_STAR;
    else if (c === SLASH) this.tk = T_SLASH;
    else if (c === LPAREN) this.tk = T_LPAREN;
    else if (c === RPAREN) this.tk = T_RPAREN;
    else this.tk = T_BAD;
    this.p = this.tokEnd = p;
  }

  private expr(): boolean {
    if (!this.term()) return false;
    let a = this.a;
    let b = this.b;
    for (;;) {
      const op = this.tk;
      if (op !== T_PLUS && op !== T_MINUS) break;
      this.next();
      if (!this.term()) return false;
      if (op === T_PLUS) {
        a += this.a;
        b += this.b;
      } else {
        a -= this.a;
        b -= this.b;
      }
    }
    this.a = a;
    this.b = b;
    return true;
  }

  private term(): boolean {
    if (!this.unary()) return false;
    let a = this.a;
    let b = this.b;
    for (;;) {
      const op = this.tk;
      if (op !== T_STAR && op !== T_SLASH) break;
      this.next();
      if (!this.unary()) return false;
      const ra = this.a;
      const rb = this.b;
      if (op === T_STAR) {
        if (a !== 0 && ra !== 0) return false; // x·x is not linear
        a = a * rb + ra * b;
        b *= rb;
      } else {
        if (ra !== 0 || rb === 0) return false;
        a /= rb;
        b /= rb;
      }
    }
    this.a = a;
    this.b = b;
    return true;
  }

  private unary(): boolean {
    const op = this.tk;
    if (op === T_MINUS || op === T_PLUS) {
      if (++this.depth > this.maxDepth) return false;
      this.next();
      if (!this.unary()) return false;
      this.depth--;
      if (op === T_MINUS) {
        this.a = -this.a;
        this.b = -this.b;
      }
      return true;
    }
    return this.primary();
  }

  private primary(): boolean {
    const tk = this.tk;
    if (tk === T_NUM) {
      this.a = 0;
      this.b = this.num;
      this.next();
      return true;
    }
    if (tk === T_VAR) {
      const from = this.tokStart;
      const to = this.tokEnd;
      const bnd = this.parser === null ? undefined : this.parser.useVar(from, to);
      this.next();
      if (bnd === undefined) {
        if (to - from !== 1 || this.s.charCodeAt(from) !== LOWER_X) return false;
        this.a = 1; // the reverse-mode unknown, unless a step defines x
        this.b = 0;
        return true;
      }
      this.refs++;
      if (this.written) {
        if (!bnd.wok) return false;
        this.a = bnd.wa;
        this.b = bnd.wb;
        return true;
      }
      if (!bnd.ok) return false;
      if (bnd.two) this.twoFaced = true;
      this.a = bnd.a;
      this.b = bnd.b;
      return true;
    }
    if (tk === T_LPAREN) {
      if (++this.depth > this.maxDepth) return false;
      this.next();
      if (!this.expr() || this.tk !== T_RPAREN) return false;
      this.depth--;
      this.next();
      return true;
    }
    return false;
  }
}

/** The one evaluator (parsing is synchronous, so one suffices). */

/** Parses a linear expression in x ("2*x + 1", "-x", "7"); null when it is not one. */
export function parseLinear(s: string): Lin | null {
  if (typeof s !== "string") return null;
  const ev = new Evaluator();
  return ev.run(s, 0, s.length, null) ? { a: ev.a, b: ev.b } : null;
}

// ---------------------------------------------------------------------------------------------
// Markers.

const DEFINE = "Define";
const SOL_OPEN = "<solution>";
const SOL_CLOSE = "</solution>";
const ANS_OPEN = "<answer>";
const ANS_CLOSE = "</answer>";
const ANSWER_LINE = "Answer:";
const WE_KNOW = "We know";
const SOLUTION = "Solution:";
const SO_WE_HAVE = "so we have";
const STEP_ENDS = [WE_KNOW, SOLUTION, ANSWER_LINE] as const;
/** Most slips of the solving section described in `ParsedSolve.slips`. */
const MAX_SOLVE_SLIPS = 16;

/**
 * Whether the linear equations p1·x = q1 and p2·x = q2 have the same solutions: the same single
 * value, or both every x, or both none.
 */
function sameSolutions(p1: number, q1: number, p2: number, q2: number): boolean {
  const one1 = Math.abs(p1) > TOL;
  const one2 = Math.abs(p2) > TOL;
  if (one1 !== one2) return false;
  if (one1) {
    const v = q1 / p1;
    return Math.abs(v - q2 / p2) <= TOL * Math.max(1, Math.abs(v));
  }
  const all1 = Math.abs(q1) <= TOL;
  const all2 = Math.abs(q2) <= TOL;
  return all1 === all2;
}

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

/** Shortens a string for an issue message. */
function clip(s: string): string {
  return s.length <= 60 ? s : `${s.slice(0, 57)}...`;
}

// ---------------------------------------------------------------------------------------------
// The parser.

/** Mutable state of one parse. */
class Parser {
  readonly nodes: ParsedNode[] = [];
  readonly byName = new Map<string, number>();
  readonly parentIdx: number[][] = [];
  readonly env = new Env();
  /** The evaluator of this parse (its scratch is never shared with another call). */
  private readonly ev = new Evaluator();
  /** Per node, the one-element dependency list of its own variable. */
  private readonly selfDeps: number[][] = [];
  readonly issues: string[] = [];
  private suppressed = 0;
  // Stamp arrays deduplicate parent indices per step and per clause in O(1).
  private readonly stepMark: number[] = [];
  private readonly clauseMark: number[] = [];
  private stepEpoch = 0;
  private clauseEpoch = 0;
  private stepDeps: number[] = [];
  private clauseDeps: number[] = [];
  private stepNo = 0;
  /** Spans of the steps read so far. */
  readonly spans: StepSpan[] = [];
  // Forward-only search cursors: the next ";" and "=" at or after the last query.
  private semiAt = -1;
  private eqAt = -1;
  // The current step's value and slip flag, written by clause().
  private assigned = false;
  private valOk = false;
  private valA = 0;
  private valB = 0;
  private stepSlip = false;
  /** True while a term is read a second time (its variables as their written results). */
  replay = false;
  // The solving section (docs/verification.md, "The solving section").
  private solveSeen = false;
  private hasGiven = false;
  /** The first given: its node (-1: none), its VAR, and g (gOk = false: unreadable). */
  private givenIdx = -1;
  private givenVar = "";
  private givenOk = false;
  private givenA = 0;
  private givenB = 0;
  private solution: number | null = null;
  private solveSlip = false;
  private readonly solveSlips: string[] = [];
  /** The last equation of the solving chain as p·x = q (chainOk = false: none yet). */
  private chainOk = false;
  private chainP = 0;
  private chainQ = 0;
  // The last term read by term(): value (ta, tb) and written-result reading (twa, twb).
  private ta = 0;
  private tb = 0;
  private twa = 0;
  private twb = 0;
  // The last equation read by equation(): its left side (both readings), its right side (the last
  // link), and whether two consecutive links of its right side disagree.
  private eLa = 0;
  private eLb = 0;
  private eLwa = 0;
  private eLwb = 0;
  private eRa = 0;
  private eRb = 0;
  private eMid = false;

  constructor(
    readonly text: string,
    readonly opts: Required<ParseOptions>,
  ) {
    this.ev.maxDepth = opts.maxDepth;
  }

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

  /** Position of the next ";" at or after p (text length if none). Queries must not go backwards. */
  private nextSemi(p: number): number {
    if (this.semiAt < p) {
      const i = this.text.indexOf(";", p);
      this.semiAt = i < 0 ? this.text.length : i;
    }
    return this.semiAt;
  }

  /** Position of the next "=" at or after p (text length if none). Queries must not go backwards. */
  private nextEq(p: number): number {
    if (this.eqAt < p) {
      const i = this.text.indexOf("=", p);
      this.eqAt = i < 0 ? this.text.length : i;
    }
    return this.eqAt;
  }

  /**
   * Parses the steps in text[start, end) and the solving sections after them (a step that ends at
   * `We know` or `Solution:` is followed by one, up to the next `Define`, `Answer:` or `end`).
   * `openEnd`: the text was cut off at `end` (truncated). Returns whether any `Define` was seen.
   */
  steps(start: number, end: number, openEnd: boolean): boolean {
    const text = this.text;
    const ends = [-2, -2, -2];
    let pos = nextDefine(text, start, end);
    const seen = pos >= 0;
    while (pos >= 0) {
      const body = pos + DEFINE.length;
      const next = nextDefine(text, body, end);
      const limit = next >= 0 ? next : end;
      let stepEnd = limit;
      for (let m = 0; m < STEP_ENDS.length; m++) {
        if (ends[m] !== -1 && ends[m] < body) ends[m] = text.indexOf(STEP_ENDS[m], body);
        if (ends[m] >= 0 && ends[m] < stepEnd) stepEnd = ends[m];
      }
      this.stepNo++;
      const span: StepSpan = { start: pos, end: limit, name: null, duplicate: false };
      this.spans.push(span);
      this.step(body, stepEnd, span);
      if (stepEnd < limit && stepEnd !== ends[2]) {
        const ans = ends[2];
        const sectionEnd = ans >= 0 && ans < limit ? ans : limit;
        this.solving(stepEnd, sectionEnd, openEnd && sectionEnd === text.length);
      }
      pos = next;
    }
    return seen;
  }

  // -------------------------------------------------------------------------------------------
  // The solving section: `We know VAR = g, so we have LHS = RHS.`, steps `…: LHS = RHS.`,
  // `Solution: x = v.` Each equation is p·x = q with p, q read by the evaluator; a failed check is
  // an arithmetic slip of the unknown's node (docs/verification.md, "The solving section").

  /**
   * A solving section text[a, b), cut into sentences at each "." that is not a decimal point and
   * before each `We know` / `Solution:`. `cut`: b is where the text was cut off, so an unterminated
   * last sentence is not judged.
   */
  private solving(a: number, b: number, cut: boolean): void {
    this.solveSeen = true;
    const text = this.text;
    let s = a;
    for (let i = a; i < b; i++) {
      const c = text.charCodeAt(i);
      if (c === DOT) {
        if (i + 1 < b && isDigit(text.charCodeAt(i + 1))) continue;
        this.sentence(s, i);
        s = i + 1;
      } else if (
        i > s &&
        ((c === UPPER_W && text.startsWith(WE_KNOW, i)) || (c === UPPER_S && text.startsWith(SOLUTION, i)))
      ) {
        this.sentence(s, i);
        s = i;
      }
    }
    if (s < b && !cut) this.sentence(s, b);
  }

  /** One sentence text[s, e) of a solving section (its "." excluded). */
  private sentence(s: number, e: number): void {
    const text = this.text;
    while (s < e && isWs(text.charCodeAt(s))) s++;
    while (e > s && isWs(text.charCodeAt(e - 1))) e--;
    if (s >= e) return;
    if (text.startsWith(WE_KNOW, s)) {
      this.givenSentence(s, e);
      return;
    }
    if (text.startsWith(SOLUTION, s)) {
      this.solutionSentence(s, e);
      return;
    }
    // A step `…: LHS = RHS`: the equation after a ":" written before the first "=" (prose without
    // "=" is skipped).
    let colon = -1;
    let eq = s;
    for (; eq < e; eq++) {
      const c = text.charCodeAt(eq);
      if (c === EQ) break;
      if (c === COLON && colon < 0) colon = eq;
    }
    if (eq >= e) return;
    if (!this.equation(colon >= 0 ? colon + 1 : this.skipSo(s, e), e)) {
      this.unreadable(s, e);
      return;
    }
    const p = this.eLa - this.eRa;
    const q = this.eRb - this.eLb;
    if (this.eMid) this.solveFail(s, e, "its right side's links disagree");
    if (this.chainOk && !sameSolutions(this.chainP, this.chainQ, p, q))
      this.solveFail(s, e, "does not follow from the equation before it");
    this.chain(p, q);
  }

  /**
   * `We know VAR = g[, so we have LHS = RHS]` in text[s, e). VAR must be a variable of the trace;
   * the sentence states VAR's value = g, the start of the chain; LHS must be VAR's value (or its
   * written result) and RHS must be g. A later given must repeat the first.
   */
  private givenSentence(s: number, e: number): void {
    const text = this.text;
    this.chainOk = false;
    let eq = s + WE_KNOW.length;
    while (eq < e && text.charCodeAt(eq) !== EQ) eq++;
    if (eq >= e) {
      this.unreadable(s, e);
      return;
    }
    // g runs to the first "," or ";" or "so we have".
    let g1 = eq + 1;
    for (; g1 < e; g1++) {
      const c = text.charCodeAt(g1);
      if (c === COMMA || c === SEMICOLON || (c === LOWER_S && text.startsWith(SO_WE_HAVE, g1))) break;
    }
    let v0 = s + WE_KNOW.length;
    let v1 = eq;
    while (v0 < v1 && isWs(text.charCodeAt(v0))) v0++;
    while (v1 > v0 && isWs(text.charCodeAt(v1 - 1))) v1--;
    const name = text.slice(v0, v1);
    const bnd = isVariable(name) ? this.env.get(text, v0, v1) : undefined;
    const gOk = this.ev.run(text, eq + 1, g1, null);
    const ga = this.ev.a;
    const gb = this.ev.b;
    if (bnd === undefined) this.solveFail(s, e, `"${clip(name)}" is not a variable of the trace`);
    if (!this.hasGiven) {
      this.hasGiven = true;
      this.givenIdx = bnd === undefined ? -1 : this.nodeOf(bnd);
      this.givenVar = name;
      this.givenOk = gOk;
      this.givenA = ga;
      this.givenB = gb;
    } else if (
      name !== this.givenVar ||
      gOk !== this.givenOk ||
      (gOk && !same(ga, gb, this.givenA, this.givenB))
    )
      this.solveFail(s, e, "contradicts the first given");
    if (bnd?.ok && gOk) this.chain(bnd.a - ga, gb - bnd.b);

    // The equation "so we have LHS = RHS", if any.
    let r = g1;
    while (r < e) {
      const c = text.charCodeAt(r);
      if (c !== COMMA && c !== SEMICOLON && !isWs(c)) break;
      r++;
    }
    r = text.startsWith(SO_WE_HAVE, r) ? r + SO_WE_HAVE.length : this.skipSo(r, e);
    let hasEq = r;
    while (hasEq < e && text.charCodeAt(hasEq) !== EQ) hasEq++;
    if (hasEq >= e) return;
    if (!this.equation(r, e)) {
      this.unreadable(s, e);
      return;
    }
    if (bnd !== undefined && (bnd.ok || bnd.wok)) {
      const lhsIs = (a: number, b: number): boolean =>
        same(this.eLa, this.eLb, a, b) || same(this.eLwa, this.eLwb, a, b);
      if (!((bnd.ok && lhsIs(bnd.a, bnd.b)) || (bnd.wok && lhsIs(bnd.wa, bnd.wb))))
        this.solveFail(s, e, `its left side is not the value of ${clip(name)}`);
    }
    if (gOk && !same(this.eRa, this.eRb, ga, gb)) this.solveFail(s, e, "its right side is not the given g");
    if (this.eMid) this.solveFail(s, e, "its right side's links disagree");
    this.chain(this.eLa - this.eRa, this.eRb - this.eLb);
  }

  /** `Solution: x = v` in text[s, e): it must determine x, and v must solve the equation before it. */
  private solutionSentence(s: number, e: number): void {
    if (!this.equation(s + SOLUTION.length, e)) {
      this.unreadable(s, e);
      return;
    }
    const p = this.eLa - this.eRa;
    const q = this.eRb - this.eLb;
    if (this.eMid) this.solveFail(s, e, "its right side's links disagree");
    if (Math.abs(p) <= TOL) this.solveFail(s, e, "does not determine x");
    else {
      const v = q / p;
      this.solution = v;
      if (this.chainOk) {
        const cp = this.chainP;
        const cq = this.chainQ;
        const solves =
          Math.abs(cp) > TOL ? Math.abs(cq / cp - v) <= TOL * Math.max(1, Math.abs(v)) : Math.abs(cq) <= TOL;
        if (!solves) this.solveFail(s, e, "does not solve the equation before it");
      }
    }
    this.chain(p, q);
  }

  private chain(p: number, q: number): void {
    this.chainOk = true;
    this.chainP = p;
    this.chainQ = q;
  }

  /** Position after a leading "so " (or "So ") in text[s, e), whitespace skipped. */
  private skipSo(s: number, e: number): number {
    const text = this.text;
    while (s < e && isWs(text.charCodeAt(s))) s++;
    if (s + 2 < e && (text.charCodeAt(s) | 32) === LOWER_S && text.charCodeAt(s + 1) === 111) {
      if (isWs(text.charCodeAt(s + 2))) s += 3;
    }
    return s;
  }

  /**
   * Reads the equation `L1 = L2 = … = Ln` in text[a, b) as L1 = Ln (eL*, eR*); eMid says whether two
   * consecutive links of its right side disagree. False when L1 or Ln cannot be read.
   */
  private equation(a: number, b: number): boolean {
    const text = this.text;
    let eq = a;
    while (eq < b && text.charCodeAt(eq) !== EQ) eq++;
    if (eq >= b || !this.term(a, eq)) return false;
    this.eLa = this.ta;
    this.eLb = this.tb;
    this.eLwa = this.twa;
    this.eLwb = this.twb;
    this.eMid = false;
    let ok = false;
    let pOk = false;
    let pa = 0;
    let pb = 0;
    let pwa = 0;
    let pwb = 0;
    let s = eq + 1;
    for (;;) {
      let e = s;
      while (e < b && text.charCodeAt(e) !== EQ) e++;
      ok = this.term(s, e);
      if (ok) {
        const { ta, tb, twa, twb } = this;
        if (pOk && disagree(pa, pb, pwa, pwb, ta, tb, twa, twb)) this.eMid = true;
        pa = ta;
        pb = tb;
        pwa = twa;
        pwb = twb;
      }
      pOk = ok;
      if (e >= b) break;
      s = e + 1;
    }
    this.eRa = pa;
    this.eRb = pb;
    return ok;
  }

  /** Reads the term text[a, b) with the trace's variables in scope, recording nothing (ta, tb, twa, twb). */
  private term(a: number, b: number): boolean {
    const text = this.text;
    while (a < b && isWs(text.charCodeAt(a))) a++;
    while (b > a && isWs(text.charCodeAt(b - 1))) b--;
    if (a >= b) return false;
    this.replay = true;
    const ok = this.ev.run(text, a, b, this);
    this.ta = this.twa = this.ev.a;
    this.tb = this.twb = this.ev.b;
    if (ok && this.ev.twoFaced) {
      this.ev.written = true;
      if (this.ev.run(text, a, b, this)) {
        this.twa = this.ev.a;
        this.twb = this.ev.b;
      }
      this.ev.written = false;
    }
    this.replay = false;
    return ok;
  }

  /** The node whose variable a binding is (-1: an intermediate variable). */
  private nodeOf(bnd: Binding): number {
    const d = bnd.deps;
    return d.length === 1 && this.selfDeps[d[0]] === d ? d[0] : -1;
  }

  /** A failed check of the solving section's sentence text[s, e). */
  private solveFail(s: number, e: number, why: string): void {
    this.solveSlip = true;
    if (this.solveSlips.length < MAX_SOLVE_SLIPS)
      this.solveSlips.push(`"${clip(this.text.slice(s, Math.min(e, s + 61)))}": ${why}`);
  }

  /** A sentence of the solving section with "=" that cannot be read (an issue, not a slip). */
  private unreadable(s: number, e: number): void {
    if (this.room())
      this.issue(`solving: unreadable equation "${clip(this.text.slice(s, Math.min(e, s + 61)))}"`);
  }

  /** The solving section's summary (null when the trace has none). */
  solveResult(): ParsedSolve | null {
    if (!this.solveSeen) return null;
    let u = -1;
    for (let i = 0; i < this.nodes.length && u < 0; i++) {
      const v = this.nodes[i].value;
      if (v !== null && same(v.a, v.b, 1, 0) && this.parentIdx[i].length === 0) u = i;
    }
    if (u < 0) u = this.nodes.length - 1;
    return {
      node: u >= 0 ? this.nodes[u].name : null,
      hasGiven: this.hasGiven,
      givenNode: this.givenIdx >= 0 ? this.nodes[this.givenIdx].name : null,
      given: this.givenOk && Math.abs(this.givenA) <= TOL ? this.givenB : null,
      solution: this.solution,
      slip: this.solveSlip,
      slips: this.solveSlips,
    };
  }

  /** Splits a header text[h0, h1) (trimmed) into name and variable: fast path, then general. */
  private header(h0: number, h1: number): { name: string; variable: string } | null {
    const text = this.text;
    // Fast path: "... as V" with V a run of non-space ASCII characters (other characters may be
    // whitespace to normalizeName, which the general path then trims away).
    let v0 = h1;
    let ascii = true;
    for (; v0 > h0; v0--) {
      const c = text.charCodeAt(v0 - 1);
      if (isWs(c)) break;
      if (c > 127) ascii = false;
    }
    let p = v0;
    while (p > h0 && isWs(text.charCodeAt(p - 1))) p--;
    if (
      ascii &&
      p < v0 &&
      p - 3 > h0 &&
      text.charCodeAt(p - 1) === 115 &&
      text.charCodeAt(p - 2) === 97 &&
      isWs(text.charCodeAt(p - 3))
    ) {
      let n1 = p - 3;
      while (n1 > h0 && isWs(text.charCodeAt(n1 - 1))) n1--;
      return { name: normalizeName(text.slice(h0, n1)), variable: text.slice(v0, h1) };
    }
    const header = normalizeName(text.slice(h0, h1));
    const asAt = header.lastIndexOf(" as ");
    if (asAt <= 0) return null;
    return { name: header.slice(0, asAt), variable: header.slice(asAt + 4) };
  }

  /** One step: header `NAME as V;` from a, then clauses up to b; its node goes into `span`. */
  private step(a: number, b: number, span: StepSpan): void {
    const text = this.text;
    const semi = this.nextSemi(a);
    if (semi >= b) {
      if (this.room()) this.issue(`step ${this.stepNo}: no "Define NAME as V;" header`);
      return;
    }
    let h0 = a;
    let h1 = semi;
    while (h0 < h1 && isWs(text.charCodeAt(h0))) h0++;
    while (h1 > h0 && isWs(text.charCodeAt(h1 - 1))) h1--;
    const head = this.header(h0, h1);
    if (head === null || head.name.length === 0 || head.variable.length === 0) {
      if (this.room()) this.issue(`step ${this.stepNo}: malformed header "${clip(text.slice(h0, h1))}"`);
      return;
    }
    const { name, variable } = head;
    if (!isVariable(variable) && this.room()) {
      this.issue(`step ${this.stepNo}: "${clip(variable)}" is not a variable name`);
    }

    let idx = this.byName.get(name);
    const duplicate = idx !== undefined;
    span.name = name;
    span.duplicate = duplicate;
    if (idx === undefined) {
      idx = this.nodes.length;
      this.byName.set(name, idx);
      this.nodes.push({ name, variable, parents: [], value: null, slip: false });
      this.parentIdx.push([]);
      this.selfDeps.push([idx]);
      this.stepMark.push(0);
      this.clauseMark.push(0);
    } else if (this.room()) {
      this.issue(`step ${this.stepNo}: duplicate definition of "${clip(name)}" (the first is kept)`);
    }

    this.stepEpoch++;
    this.stepDeps = [];
    this.assigned = false;
    this.stepSlip = false;
    const varK = varKey(variable, 0, variable.length);
    let c0 = semi + 1;
    while (c0 < b) {
      const c1 = Math.min(this.nextSemi(c0), b);
      this.clause(c0, c1, variable, varK, idx);
      c0 = c1 + 1;
    }
    if (!this.assigned) {
      if (this.room()) this.issue(`step ${this.stepNo}: "${clip(variable)}" is never assigned`);
      this.env.set(variable, plainBinding(this.selfDeps[idx], false, 0, 0));
    }
    if (duplicate) return;
    const node = this.nodes[idx];
    node.value = this.assigned && this.valOk ? { a: this.valA, b: this.valB } : null;
    node.slip = this.stepSlip;
    const parents = this.parentIdx[idx];
    for (const d of this.stepDeps) if (d !== idx) parents.push(d);
  }

  /**
   * One clause `[so ]VAR = link = ... = link` in text[a, b): binds VAR (its value and its written
   * result), records slips, and sets the step's value when VAR is the step's variable.
   *
   * Every `=` between two links that can be evaluated is checked; it holds when the two agree under
   * some reading of the variables they name (their values, or the results the trace wrote for them),
   * so a slip is counted once, in the step that writes it, and a later step that carries the written
   * result (or uses the right value) does not repeat it. The value is the substituted arithmetic: the
   * first link written without step variables, unless that is the written result (the last link);
   * otherwise the link before the written result, read the way the written result agrees with (the
   * variables' values first); with one link, that link; if the chosen link cannot be evaluated, the
   * last link that can ("the last number written").
   */
  private clause(a: number, b: number, nodeVar: string, nodeKey: number, nodeIdx: number): void {
    const text = this.text;
    while (a < b && isWs(text.charCodeAt(a))) a++;
    while (b > a && isWs(text.charCodeAt(b - 1))) b--;
    if (b > a && text.charCodeAt(b - 1) === DOT) {
      b--;
      while (b > a && isWs(text.charCodeAt(b - 1))) b--;
    }
    if (a >= b) return;
    if ((text.charCodeAt(a) | 32) === 115 /* s */ && a + 2 < b && text.charCodeAt(a + 1) === 111) {
      if (isWs(text.charCodeAt(a + 2))) {
        a += 3;
        while (a < b && isWs(text.charCodeAt(a))) a++;
      }
    }
    const eq = this.nextEq(a);
    if (eq >= b) {
      if (this.room()) this.issue(`step ${this.stepNo}: clause without "=": "${clip(text.slice(a, b))}"`);
      return;
    }
    let l1 = eq;
    while (l1 > a && isWs(text.charCodeAt(l1 - 1))) l1--;
    // The assigned variable, as a numeric key when it has one (no string needed then).
    const lhsKey = varKey(text, a, l1);
    const lhs = lhsKey >= 0 ? null : text.slice(a, l1);
    const lhsOk = lhs === null || isVariable(lhs);
    if (!lhsOk && this.room()) this.issue(`step ${this.stepNo}: "${clip(lhs!)}" is not a variable name`);

    this.clauseEpoch++;
    this.clauseDeps = [];
    // Links read so far; readings (value V, written W) of the previous and the current link.
    let n = 0;
    let pOk = false;
    let pVa = 0;
    let pVb = 0;
    let pWa = 0;
    let pWb = 0;
    let cOk = false;
    let cVa = 0;
    let cVb = 0;
    let cWa = 0;
    let cWb = 0;
    // The first link written without step variables (position, value) and the last evaluable link.
    let closedAt = -1;
    let closedA = 0;
    let closedB = 0;
    let lastOk = false;
    let lastVa = 0;
    let lastVb = 0;
    let lastWa = 0;
    let lastWb = 0;
    let s = eq + 1;
    for (;;) {
      const next = this.nextEq(s);
      let e = Math.min(next, b);
      while (s < e && isWs(text.charCodeAt(s))) s++;
      while (e > s && isWs(text.charCodeAt(e - 1))) e--;
      if (s >= e) {
        if (this.room()) this.issue(`step ${this.stepNo}: empty term after "${clip(text.slice(a, l1))} ="`);
      } else {
        const ok = this.ev.run(text, s, e, this);
        if (!ok && this.ev.tokStart < e) this.skipTerm(this.ev.tokStart, e);
        const va = this.ev.a;
        const vb = this.ev.b;
        const closed = this.ev.refs === 0;
        let wa = va;
        let wb = vb;
        if (ok && this.ev.twoFaced) {
          // Also read the variables as the results the trace wrote for them.
          this.replay = true;
          this.ev.written = true;
          if (this.ev.run(text, s, e, this)) {
            wa = this.ev.a;
            wb = this.ev.b;
          }
          this.ev.written = false;
          this.replay = false;
        }
        pOk = cOk;
        pVa = cVa;
        pVb = cVb;
        pWa = cWa;
        pWb = cWb;
        cOk = ok;
        cVa = va;
        cVb = vb;
        cWa = wa;
        cWb = wb;
        if (ok) {
          if (pOk && disagree(pVa, pVb, pWa, pWb, va, vb, wa, wb)) this.stepSlip = true;
          if (closed && closedAt < 0) {
            closedAt = n;
            closedA = va;
            closedB = vb;
          }
          lastOk = true;
          lastVa = va;
          lastVb = vb;
          lastWa = wa;
          lastWb = wb;
        }
        n++;
      }
      if (next >= b) break;
      s = next + 1;
    }
    let ok = false;
    let va = 0;
    let vb = 0;
    if (closedAt >= 0 && (closedAt < n - 1 || n === 1)) {
      ok = true;
      va = closedA;
      vb = closedB;
    } else if (n === 1 && cOk) {
      ok = true;
      va = cVa;
      vb = cVb;
    } else if (n >= 2 && pOk) {
      // On variables only: the reading of the link before the written result that the result agrees with.
      ok = true;
      const byValue = !cOk || same(pVa, pVb, cVa, cVb) || same(pVa, pVb, cWa, cWb);
      const byWritten = cOk && (same(pWa, pWb, cVa, cVb) || same(pWa, pWb, cWa, cWb));
      va = !byValue && byWritten ? pWa : pVa;
      vb = !byValue && byWritten ? pWb : pVb;
    } else if (lastOk) {
      ok = true;
      va = lastVa;
      vb = lastVb;
    }
    if (!lhsOk) return;
    const target = lhsKey >= 0 ? lhsKey === nodeKey : lhs === nodeVar;
    // The written result: the last link that could be evaluated (some link could whenever ok is set).
    this.env.setAt(text, a, l1, lhsKey, {
      deps: target ? this.selfDeps[nodeIdx] : this.clauseDeps,
      ok,
      a: va,
      b: vb,
      wok: lastOk,
      wa: lastWa,
      wb: lastWb,
      two: ok && lastOk && !same(va, vb, lastWa, lastWb),
    });
    if (target) {
      this.assigned = true;
      this.valOk = ok;
      this.valA = va;
      this.valB = vb;
    }
  }

  /** Resolves variable text[a, b) and adds the nodes behind it to the clause's and the step's parents. */
  useVar(a: number, b: number): Binding | undefined {
    const text = this.text;
    const bnd = this.env.get(text, a, b);
    if (this.replay) return bnd; // a second reading of a term: parents and issues are recorded already
    if (bnd === undefined) {
      if (!(b - a === 1 && text.charCodeAt(a) === LOWER_X) && this.room()) {
        this.issue(`step ${this.stepNo}: unknown variable "${clip(text.slice(a, b))}"`);
      }
      return undefined;
    }
    const deps = bnd.deps;
    for (let i = 0; i < deps.length; i++) {
      const d = deps[i];
      if (this.clauseMark[d] !== this.clauseEpoch) {
        this.clauseMark[d] = this.clauseEpoch;
        if (this.clauseDeps.length < this.opts.maxParents) this.clauseDeps.push(d);
        else if (this.room()) this.issue(`step ${this.stepNo}: more than ${this.opts.maxParents} parents`);
      }
      if (this.stepMark[d] !== this.stepEpoch) {
        this.stepMark[d] = this.stepEpoch;
        if (this.stepDeps.length < this.opts.maxParents) this.stepDeps.push(d);
      }
    }
    return bnd;
  }

  /** The unreadable rest text[p, b) of a term: only collects the variables in it. */
  private skipTerm(p: number, b: number): void {
    const text = this.text;
    while (p < b) {
      const c = text.charCodeAt(p);
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
  }

  /** The nodes of Ĝ keyed by name, parents resolved to names. */
  result(): Map<string, ParsedNode> {
    const out = new Map<string, ParsedNode>();
    for (let i = 0; i < this.nodes.length; i++) {
      const n = this.nodes[i];
      const idx = this.parentIdx[i];
      const parents: string[] = new Array(idx.length);
      for (let j = 0; j < idx.length; j++) parents[j] = this.nodes[idx[j]].name;
      n.parents = parents;
      out.set(n.name, n);
    }
    return out;
  }
}

/**
 * Parses a completion, a full model text (cut at the first `<solution>`) or a bare solution string
 * into Ĝ. Never throws: unreadable input gives a result with `parseFailed` set.
 */
export function parseTrace(text: string, opts?: ParseOptions): ParsedTrace {
  const d = DEFAULT_PARSE_OPTIONS;
  const o: Required<ParseOptions> =
    opts === undefined
      ? d
      : {
          maxIssues: opts.maxIssues ?? d.maxIssues,
          maxParents: opts.maxParents ?? d.maxParents,
          maxDepth: opts.maxDepth ?? d.maxDepth,
        };
  if (typeof text !== "string") {
    return {
      nodes: new Map(),
      answer: null,
      parseFailed: true,
      truncated: false,
      issues: ["input is not a string"],
      solve: null,
      spans: [],
    };
  }
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
    const openEnd = solClose < 0 && !answerReached;
    const sawDefine = parser.steps(start, end, openEnd);
    truncated = sawDefine && openEnd;
  } catch (err) {
    // Defensive: no known input reaches this, but model output must never crash a training run.
    parser.issue(`internal parser error: ${err instanceof Error ? err.message : String(err)}`);
  }
  parser.finishIssues();
  const nodes = parser.result();
  const solve = parser.solveResult();
  return {
    nodes,
    answer,
    parseFailed: nodes.size === 0,
    truncated,
    issues: parser.issues,
    solve,
    spans: parser.spans,
  };
}
