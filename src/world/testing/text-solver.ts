/**
 * A solver that reads only a problem's text (problem sentences + question) — no graph, no context
 * table. Tests use it to prove every generated problem is solvable from its own words and that its
 * op count, recomputed from the text, is the one requested.
 */
import { type Lin, lin } from "../linear.js";

type Ref = { kind: "inst"; key: string } | { kind: "abs"; place: string; noun?: string };

interface Rhs {
  refs: Ref[];
  combine: "sum" | "diff";
  constOp: "plus" | "times" | null;
  c: number;
}

/** What the solver found. */
export interface TextSolution {
  answer: number;
  /** Operations on the solution path, recomputed from the text. */
  op: number;
  /** Names of the solution-path quantities (as the gold graph names them). */
  nodes: string[];
}

function parseMention(m: string): Ref {
  const tot = /^the total number of (.+?) in (.+)$/.exec(m);
  if (tot) return { kind: "abs", place: tot[2], noun: `total number of ${tot[1]}` };
  const inst = /^the number of (.+?) in (.+)$/.exec(m);
  if (!inst) throw new Error(`cannot read mention "${m}"`);
  return { kind: "inst", key: `${inst[1]} in ${inst[2]}` };
}

function splitList(s: string): string[] {
  // "A and B" or "A, B, and C"
  const parts = s.split(/, and |, | and /);
  return parts;
}

function parseRhs(text: string): Rhs {
  let rest = text;
  let constOp: Rhs["constOp"] = null;
  let c = 0;
  const num = /^(\d+)$/.exec(rest);
  if (num) return { refs: [], combine: "sum", constOp: null, c: Number(num[1]) };
  const pre = /^(\d+) (plus|times) (.+)$/.exec(rest);
  if (pre) {
    c = Number(pre[1]);
    constOp = pre[2] as "plus" | "times";
    rest = pre[3];
  }
  let refs: Ref[];
  let combine: Rhs["combine"] = "sum";
  const diff = /^the difference between (.+) and (.+)$/.exec(rest);
  const sum = /^the sum of (.+)$/.exec(rest);
  if (diff) {
    refs = [parseMention(diff[1]), parseMention(diff[2])];
    combine = "diff";
  } else if (sum) refs = splitList(sum[1]).map(parseMention);
  else refs = [parseMention(rest)];
  return { refs, combine, constOp, c };
}

/** Solves a problem from its text alone; throws when the text does not determine the answer. */
export function solveFromText(problem: string, question: string): TextSolution {
  const defs = new Map<string, Rhs[]>();
  const unknowns = new Set<string>();
  const absGiven = new Map<string, { v: number; noun?: string }>();
  const placesItems = new Map<string, Set<string>>();
  const noteInst = (key: string) => {
    const place = key.slice(key.indexOf(" in ") + 4);
    if (!placesItems.has(place)) placesItems.set(place, new Set());
    placesItems.get(place)!.add(key);
  };
  for (const raw of problem.split(/(?<=\.) (?=The )/)) {
    const s = raw.replace(/\.$/, "");
    const ex = /^The number of (.+) exists, and its number is greater than 0$/.exec(s);
    if (ex) {
      unknowns.add(ex[1]);
      noteInst(ex[1]);
      continue;
    }
    const eq = /^The (.+?) equals (.+)$/.exec(s);
    if (!eq) throw new Error(`cannot read sentence "${raw}"`);
    const subj = parseMention(`the ${eq[1]}`);
    const rhs = parseRhs(eq[2]);
    if (subj.kind === "abs") {
      if (rhs.refs.length > 0) throw new Error(`a total is defined by an expression: "${raw}"`);
      absGiven.set(subj.place, { v: rhs.c, noun: subj.noun });
      continue;
    }
    noteInst(subj.key);
    if (!defs.has(subj.key)) defs.set(subj.key, []);
    defs.get(subj.key)!.push(rhs);
  }
  if (unknowns.size > 1) throw new Error("more than one unknown");

  // An instance with two sentences: the one with parents defines it, the constant one observes it.
  const observed = new Map<string, number>();
  const definition = new Map<string, Rhs>();
  for (const [key, rs] of defs) {
    if (rs.length === 1) definition.set(key, rs[0]);
    else if (rs.length === 2) {
      const obs = rs.find((r) => r.refs.length === 0);
      const def = rs.find((r) => r.refs.length > 0);
      if (!obs || !def) throw new Error(`"${key}" has two sentences of the same kind`);
      definition.set(key, def);
      observed.set(key, obs.c);
    } else throw new Error(`"${key}" has ${rs.length} sentences`);
  }

  const memo = new Map<string, Lin>();
  const visiting = new Set<string>();
  const refName = (r: Ref): string => (r.kind === "inst" ? r.key : `total@${r.place}`);
  const value = (r: Ref): Lin => {
    const id = refName(r);
    const hit = memo.get(id);
    if (hit) return hit;
    if (visiting.has(id)) throw new Error(`cycle through "${id}"`);
    visiting.add(id);
    let v: Lin;
    if (r.kind === "abs") {
      const items = placesItems.get(r.place);
      if (!items) throw new Error(`no item is mentioned at ${r.place}`);
      v = lin(0);
      for (const k of items) {
        const w = value({ kind: "inst", key: k });
        v = lin(v.b + w.b, v.a + w.a);
      }
    } else if (unknowns.has(r.key)) v = lin(0, 1);
    else {
      const d = definition.get(r.key);
      if (!d) throw new Error(`"${r.key}" is used but never defined`);
      if (d.refs.length === 0) v = lin(d.c);
      else {
        const ps = d.refs.map(value);
        let inner = ps[0];
        if (d.combine === "diff") inner = lin(ps[0].b - ps[1].b, ps[0].a - ps[1].a);
        else for (let i = 1; i < ps.length; i++) inner = lin(inner.b + ps[i].b, inner.a + ps[i].a);
        if (d.constOp === "plus") v = lin(inner.b + d.c, inner.a);
        else if (d.constOp === "times") v = lin(inner.b * d.c, inner.a * d.c);
        else v = inner;
      }
    }
    visiting.delete(id);
    memo.set(id, v);
    return v;
  };
  const edges = (r: Ref): Ref[] => {
    if (r.kind === "abs")
      return [...(placesItems.get(r.place) ?? [])].map((key) => ({ kind: "inst", key }) as Ref);
    if (unknowns.has(r.key)) return [];
    return definition.get(r.key)!.refs;
  };
  const opOf = (r: Ref): number => {
    if (r.kind === "abs") return placesItems.get(r.place)!.size;
    if (unknowns.has(r.key)) return 1;
    const d = definition.get(r.key)!;
    return d.refs.length + (d.refs.length === 0 || d.constOp ? 1 : 0);
  };
  const closure = (root: Ref): Ref[] => {
    const seen = new Map<string, Ref>();
    const stack = [root];
    while (stack.length) {
      const r = stack.pop()!;
      if (seen.has(refName(r))) continue;
      seen.set(refName(r), r);
      stack.push(...edges(r));
    }
    return [...seen.values()];
  };
  const nameOf = (r: Ref) => (r.kind === "inst" ? r.key : `${r.noun} in ${r.place}`);

  // The question.
  let target: Ref;
  const how = /^How many (.+) does (.+) have\?$/.exec(question);
  const what = /^What is the (total number of .+?) in (.+)\?$/.exec(question);
  if (how) target = { kind: "inst", key: `${how[1]} in ${how[2]}` };
  else if (what) target = { kind: "abs", place: what[2], noun: what[1] };
  else throw new Error(`cannot read question "${question}"`);

  let root: Ref;
  let answer: number;
  if (unknowns.size === 0) {
    const v = value(target);
    if (v.a !== 0) throw new Error("forward answer depends on an unknown");
    answer = v.b;
    root = target;
  } else {
    const obs: { ref: Ref; v: number }[] = [
      ...[...absGiven].map(([place, g]) => ({ ref: { kind: "abs", place, noun: g.noun } as Ref, v: g.v })),
      ...[...observed].map(([key, v]) => ({ ref: { kind: "inst", key } as Ref, v })),
    ];
    if (obs.length !== 1) throw new Error(`expected one observed quantity, found ${obs.length}`);
    const f = value(obs[0].ref);
    if (f.a === 0) throw new Error("the observed quantity does not depend on the unknown");
    const x = (obs[0].v - f.b) / f.a;
    if (!Number.isInteger(x) || x <= 0) throw new Error(`the unknown solves to ${x}, not a positive integer`);
    memo.clear();
    const u = [...unknowns][0];
    definition.set(u, { refs: [], combine: "sum", constOp: null, c: x });
    unknowns.clear();
    answer = value(target).b;
    unknowns.add(u);
    root = obs[0].ref;
  }
  const nodes = closure(root);
  const op = nodes.reduce((s, r) => s + opOf(r), 0);
  return { answer, op, nodes: nodes.map(nameOf) };
}
