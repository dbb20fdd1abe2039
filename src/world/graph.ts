/**
 * Drawing one problem's dependency graph with exactly `op` operations (world.md §3).
 *
 * Stages, in order: structure graph (places × items), necessary parameters and their
 * topological order, operation budgets and parent wiring, distractors, values. A draw that
 * misses the requested `op` or breaks a value rule returns null and the caller redraws; cheap
 * checks come first so wasted draws cost little.
 */
import type { Rng } from "../util/rng.js";

/** Largest number of edges of the structure graph (the reference's ip_max). */
export const IP_MAX = 20;
/** Base numbers and "plus" constants are 1..NUMBER_RANGE-1; "times" constants 2..NUMBER_RANGE-1. */
export const NUMBER_RANGE = 5;
/** Largest value any parameter may take. */
export const MAX_VALUE = 1000;
/** Smallest and largest supported op. */
export const MIN_OP = 2;
export const MAX_OP = 40;

/**
 * The reference schedule op → strictline (2,3→3; 4→4; 5,6→6; 7–9→10; 10,11→15; 12–15→20;
 * 16–18→25; 19,20→30). Beyond 20 it grows by 5 every 3 ops (21–23→35, 24–26→40, …), which keeps it
 * monotone and always ≥ op.
 */
export function strictline(op: number): number {
  if (op <= 3) return 3;
  if (op === 4) return 4;
  if (op <= 6) return 6;
  if (op <= 9) return 10;
  if (op <= 11) return 15;
  if (op <= 15) return 20;
  if (op <= 18) return 25;
  if (op <= 20) return 30;
  return 30 + 5 * Math.ceil((op - 20) / 3);
}

/** Throws a clear error unless op is an integer in [MIN_OP, MAX_OP]. */
export function checkOp(op: number): void {
  if (!Number.isInteger(op) || op < MIN_OP || op > MAX_OP) {
    throw new RangeError(`op must be an integer in ${MIN_OP}..${MAX_OP}, got ${op}`);
  }
}

/** How a node's constant (an RNG edge) combines with its parents. */
export type ConstOp = "plus" | "times";
/** How exactly two parents combine. */
export type Combine = "sum" | "diff";

/** A parameter: an item at a place (instance) or the total of a place (abstract). */
export interface Param {
  abstract: boolean;
  /** Index into the drawn places. */
  place: number;
  /** Index into the drawn items; -1 for abstract parameters. */
  item: number;
}

/** How a parameter's value is defined. */
export interface Def {
  /** Parent parameter ids, in sentence order. */
  parents: number[];
  /** True when an RNG edge supplies a constant. */
  rng: boolean;
  /** The constant (a leaf's value, or the plus/times operand). */
  c: number;
  constOp: ConstOp | null;
  combine: Combine;
  value: number;
}

/** A drawn problem graph, before wording. */
export interface WorldGraph {
  op: number;
  /** Indices into the context's place and item tables. */
  placeNames: number[];
  itemNames: number[];
  params: Param[];
  /** Definition per parameter id; null for parameters not in the problem. */
  defs: (Def | null)[];
  /** Solution parameters in topological order; the last one is the query. */
  order: number[];
  /** Instance parameters off the solution path that still get a sentence. */
  distractors: number[];
  /** Number of draws it took (1 = first try). */
  attempts: number;
}

const CENTERS = [0.1, 0.3, 0.5, 0.7, 0.9];

/** Layer-width weights over {1..5}, peaked near rel = (s-1)/(ip_max-1). */
function widthWeights(s: number): number[] {
  const rel = (s - 1) / (IP_MAX - 1);
  return CENTERS.map((c) => Math.exp(-((rel - c) ** 2) / CALIBRATION.tau));
}

/** Number of edges (operations) entering a parameter. */
export function edgeCount(d: Def): number {
  return d.parents.length + (d.rng ? 1 : 0);
}

/**
 * Calibration of the draw: the spec gives the stages but not every constant, so these were chosen
 * (by a grid search, docs/world.md) to match the reference's per-op distributions of §9.
 * `tau`: temperature of the layer-width softmax; `mScale`/`mExtra`: the parameters in play are
 * drawn from [n, round(s·mScale) + mExtra]; `wDangling`: preference for parents that have no child yet.
 */
export const CALIBRATION = { tau: 0.1, mScale: 2, mExtra: 1, wDangling: 3 };

/** One draw; null when a rule rejects it. */
export function drawOnce(
  op: number,
  nPlaces: number,
  nItems: number,
  rng: Rng,
): Omit<WorldGraph, "attempts"> | null {
  const strict = strictline(op);
  const s = (strict + 1) >> 1;

  // Stage 2: structure graph.
  const weights = widthWeights(s);
  let w0 = 1 + rng.weighted(weights);
  let w1 = 1 + rng.weighted(weights);
  if (w0 > w1) [w0, w1] = [w1, w0];
  if (s <= 5) {
    w0 = Math.max(2, w0);
    w1 = Math.max(2, w1);
  }
  const t0 = rng.int(w0, IP_MAX);
  const t1 = rng.int(w0, IP_MAX);
  let e = Math.min(t0, t1, w1 * w1);
  const capP = Math.min(w1, nPlaces);
  const capI = Math.min(w1, nItems);
  let np = Math.min(w0, capP);
  let ni = Math.min(w0, capI);
  while (np * ni < e && (np < capP || ni < capI)) {
    if (np < capP && (ni >= capI || rng.chance(0.5))) np++;
    else ni++;
  }
  e = Math.min(e, np * ni);
  const adj = new Uint8Array(np * ni);
  for (let i = 0; i < ni; i++) adj[rng.int(0, np - 1) * ni + i] = 1;
  let edges = ni;
  while (edges < e) {
    const k = rng.int(0, np * ni - 1);
    if (!adj[k]) {
      adj[k] = 1;
      edges++;
    }
  }
  const params: Param[] = [];
  const itemsOf: number[][] = [];
  const absOf: number[] = [];
  for (let p = 0; p < np; p++) {
    const items: number[] = [];
    for (let i = 0; i < ni; i++) {
      if (adj[p * ni + i]) {
        items.push(params.length);
        params.push({ abstract: false, place: p, item: i });
      }
    }
    itemsOf.push(items);
  }
  const abstracts: number[] = [];
  for (let p = 0; p < np; p++) {
    if (itemsOf[p].length === 0) {
      absOf.push(-1);
      continue;
    }
    absOf.push(params.length);
    abstracts.push(params.length);
    params.push({ abstract: true, place: p, item: -1 });
  }
  const P = params.length;

  // Stage 3: necessary parameters.
  const n = Math.max(rng.int(1, s), rng.int(1, s));
  const m = rng.int(n, Math.round(s * CALIBRATION.mScale) + CALIBRATION.mExtra);
  const inN = new Uint8Array(P);
  let nCount = 0;
  let est = 0;
  for (const a of rng.shuffle(abstracts.slice())) {
    const items = itemsOf[params[a].place];
    let fresh = 0;
    for (const v of items) if (!inN[v]) fresh++;
    const cost = items.length + fresh;
    if (est + cost > n) continue;
    est += cost;
    inN[a] = 1;
    for (const v of items) {
      if (!inN[v]) {
        inN[v] = 1;
        nCount++;
      }
    }
  }
  const instances: number[] = [];
  for (let v = 0; v < P; v++) if (!params[v].abstract) instances.push(v);
  rng.shuffle(instances);
  for (const v of instances) {
    if (nCount >= m) break;
    if (!inN[v]) {
      inN[v] = 1;
      nCount++;
    }
  }

  // Topological order: instance parameters are always ready; an abstract one once its items are placed.
  const pending = new Int32Array(P);
  for (let v = 0; v < P; v++) if (inN[v] && params[v].abstract) pending[v] = itemsOf[params[v].place].length;
  const ready: number[] = [];
  for (let v = 0; v < P; v++) if (inN[v] && !params[v].abstract) ready.push(v);
  const order: number[] = [];
  while (ready.length > 0) {
    const k = rng.int(0, ready.length - 1);
    const v = ready[k];
    ready[k] = ready[ready.length - 1];
    ready.pop();
    order.push(v);
    if (!params[v].abstract) {
      const a = absOf[params[v].place];
      if (inN[a] && --pending[a] === 0) ready.push(a);
    }
  }

  // Stage 4: budgets, then parents. A node with no child yet is "dangling"; new parents prefer them.
  const pos = new Int32Array(P).fill(-1);
  order.forEach((v, i) => {
    pos[v] = i;
  });
  const budget = new Int32Array(P);
  let total = 0;
  const raisable: number[] = [];
  for (const v of order) {
    if (params[v].abstract) continue;
    budget[v] = 1;
    total++;
    if (Math.min(3, Math.max(1, pos[v])) > 1) raisable.push(v);
  }
  while (total < s && raisable.length > 0) {
    const k = rng.int(0, raisable.length - 1);
    const v = raisable[k];
    budget[v]++;
    total++;
    if (budget[v] >= Math.min(3, Math.max(1, pos[v]))) {
      raisable[k] = raisable[raisable.length - 1];
      raisable.pop();
    }
  }
  const defs: (Def | null)[] = new Array(P).fill(null);
  const dangling = new Uint8Array(P);
  for (let j = 0; j < order.length; j++) {
    const v = order[j];
    if (params[v].abstract) {
      const items = itemsOf[params[v].place];
      for (const u of items) dangling[u] = 0;
      defs[v] = { parents: items.slice(), rng: false, c: 0, constOp: null, combine: "sum", value: 0 };
      dangling[v] = 1;
      continue;
    }
    const def: Def = { parents: [], rng: true, c: 0, constOp: null, combine: "sum", value: 0 };
    defs[v] = def;
    if (j > 0) {
      const b = budget[v];
      const count = b === 1 ? (rng.chance(0.5) ? 2 : 1) : b + 1;
      let real = count - (rng.chance(0.5) ? 1 : 0);
      let nd = 0;
      for (let i = 0; i < j; i++) if (dangling[order[i]]) nd++;
      // A node must keep earlier work reachable: take a dangling parent when two or more wait.
      if (nd >= 2 && real === 0) real = 1;
      real = Math.min(real, j);
      def.rng = real < count;
      const chosen = def.parents;
      while (chosen.length < real) {
        // Weighted draw over earlier nodes: dangling ×3, abstract ×2.
        let tot = 0;
        for (let i = 0; i < j; i++) {
          const u = order[i];
          if (chosen.includes(u)) continue;
          tot += (dangling[u] ? CALIBRATION.wDangling : 1) * (params[u].abstract ? 2 : 1);
        }
        let r = rng.next() * tot;
        let pickU = -1;
        for (let i = 0; i < j; i++) {
          const u = order[i];
          if (chosen.includes(u)) continue;
          r -= (dangling[u] ? CALIBRATION.wDangling : 1) * (params[u].abstract ? 2 : 1);
          pickU = u;
          if (r < 0) break;
        }
        chosen.push(pickU);
      }
      for (const u of chosen) dangling[u] = 0;
    }
    dangling[v] = 1;
  }

  // The solution path: ancestors of the query (the last node of the order).
  if (order.length === 0) return null;
  const query = order[order.length - 1];
  const inSol = new Uint8Array(P);
  inSol[query] = 1;
  for (let j = order.length - 1; j >= 0; j--) {
    const v = order[j];
    if (!inSol[v]) continue;
    for (const u of defs[v]!.parents) inSol[u] = 1;
  }
  let ops = 0;
  const solution: number[] = [];
  for (const v of order) {
    if (!inSol[v]) continue;
    solution.push(v);
    ops += edgeCount(defs[v]!);
  }
  if (ops !== op) return null;
  for (const v of order) if (!inSol[v]) defs[v] = null;

  // Stage 5: distractors — every other instance parameter of the structure gets a sentence.
  const distractors: number[] = [];
  for (let v = 0; v < P; v++) if (!params[v].abstract && !inSol[v]) distractors.push(v);
  rng.shuffle(distractors);
  const pool = solution.slice();
  for (const v of distractors) {
    const count = rng.int(1, 4);
    let real = count - (rng.chance(0.5) ? 1 : 0);
    real = Math.min(real, pool.length);
    const parents: number[] = [];
    while (parents.length < real) {
      const u = rng.pick(pool);
      if (!parents.includes(u)) parents.push(u);
    }
    defs[v] = { parents, rng: real < count || real === 0, c: 0, constOp: null, combine: "sum", value: 0 };
    pool.push(v);
  }

  // Stage 6: values, in dependency order (solution first, then distractors); stage 7 rules.
  const value = new Float64Array(P);
  for (const v of solution) if (!assignValue(v, defs[v]!, value, params[v].abstract, rng)) return null;
  for (const v of distractors) if (!assignValue(v, defs[v]!, value, false, rng)) return null;

  const placeNames = rng.shuffle(Array.from({ length: nPlaces }, (_, i) => i)).slice(0, np);
  const itemNames = rng.shuffle(Array.from({ length: nItems }, (_, i) => i)).slice(0, ni);
  return { op, placeNames, itemNames, params, defs, order: solution, distractors };
}

/** Draws values for one definition; false when a value rule is broken. */
function assignValue(v: number, d: Def, value: Float64Array, abstract: boolean, rng: Rng): boolean {
  const k = d.parents.length;
  let inner = 0;
  if (k === 0) {
    d.c = rng.int(1, NUMBER_RANGE - 1);
    d.value = d.c;
    value[v] = d.value;
    return true;
  }
  if (k === 2 && !abstract && rng.chance(0.5)) {
    let a = value[d.parents[0]];
    let b = value[d.parents[1]];
    if (a === b) {
      d.combine = "sum";
    } else {
      if (a < b) {
        d.parents.reverse();
        [a, b] = [b, a];
      }
      d.combine = "diff";
    }
  }
  if (d.combine === "diff") inner = value[d.parents[0]] - value[d.parents[1]];
  else for (const u of d.parents) inner += value[u];
  if (d.rng) {
    if (rng.chance(0.5)) {
      d.constOp = "plus";
      d.c = rng.int(1, NUMBER_RANGE - 1);
      d.value = d.c + inner;
    } else {
      d.constOp = "times";
      d.c = rng.int(2, NUMBER_RANGE - 1);
      d.value = d.c * inner;
    }
  } else {
    d.value = inner;
  }
  value[v] = d.value;
  return d.value > 0 && d.value <= MAX_VALUE;
}
