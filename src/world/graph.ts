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

/** Largest number of parameters of one structure (5 places × 5 items + 5 totals), with room to spare. */
const MAXP = 64;
/** Most parents one solution node can take in the wiring stage (budget 3 → 4; totals ≤ 5 items). */
const MAXPAR = 8;

/** Scratch buffers reused by every draw: a rejected draw allocates nothing. */
const S = {
  adj: new Uint8Array(MAXP),
  pPlace: new Int16Array(MAXP),
  pItem: new Int16Array(MAXP),
  pAbs: new Uint8Array(MAXP),
  instStart: new Int16Array(MAXP),
  instCount: new Int16Array(MAXP),
  absOf: new Int16Array(MAXP),
  list: new Int16Array(MAXP),
  inN: new Uint8Array(MAXP),
  order: new Int16Array(MAXP),
  ready: new Int16Array(MAXP),
  pending: new Int16Array(MAXP),
  pos: new Int16Array(MAXP),
  budget: new Int16Array(MAXP),
  raisable: new Int16Array(MAXP),
  dangling: new Uint8Array(MAXP),
  par: new Int16Array(MAXP * MAXPAR),
  parCount: new Uint8Array(MAXP),
  rngEdge: new Uint8Array(MAXP),
  inSol: new Uint8Array(MAXP),
};

const weightCache = new Map<number, number[]>();

function shuffleTyped(xs: Int16Array, n: number, rng: Rng): void {
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = xs[i];
    xs[i] = xs[j];
    xs[j] = t;
  }
}

/** One draw; null when a rule rejects it. */
export function drawOnce(op: number, nPlaces: number, nItems: number, rng: Rng): WorldGraph | null {
  const strict = strictline(op);
  const s = (strict + 1) >> 1;
  const { adj, pPlace, pItem, pAbs, instStart, instCount, absOf, list, inN, order, ready, pending, pos } = S;
  const { budget, raisable, dangling, par, parCount, rngEdge, inSol } = S;

  // Stage 2: structure graph.
  let weights = weightCache.get(s);
  if (!weights) {
    weights = widthWeights(s);
    weightCache.set(s, weights);
  }
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
  adj.fill(0, 0, np * ni);
  for (let i = 0; i < ni; i++) adj[rng.int(0, np - 1) * ni + i] = 1;
  let edges = ni;
  while (edges < e) {
    const k = rng.int(0, np * ni - 1);
    if (!adj[k]) {
      adj[k] = 1;
      edges++;
    }
  }
  // Parameters: instances grouped by place (so a place's items are contiguous), then totals.
  let P = 0;
  for (let p = 0; p < np; p++) {
    instStart[p] = P;
    for (let i = 0; i < ni; i++) {
      if (adj[p * ni + i]) {
        pPlace[P] = p;
        pItem[P] = i;
        pAbs[P] = 0;
        P++;
      }
    }
    instCount[p] = P - instStart[p];
  }
  const nInst = P;
  let nAbs = 0;
  for (let p = 0; p < np; p++) {
    absOf[p] = -1;
    if (instCount[p] === 0) continue;
    absOf[p] = P;
    pPlace[P] = p;
    pItem[P] = -1;
    pAbs[P] = 1;
    list[nAbs++] = P;
    P++;
  }

  // Stage 3: necessary parameters.
  const n = Math.max(rng.int(1, s), rng.int(1, s));
  const m = rng.int(n, Math.round(s * CALIBRATION.mScale) + CALIBRATION.mExtra);
  inN.fill(0, 0, P);
  let nCount = 0;
  let est = 0;
  shuffleTyped(list, nAbs, rng);
  for (let k = 0; k < nAbs; k++) {
    const a = list[k];
    const p = pPlace[a];
    const i0 = instStart[p];
    const i1 = i0 + instCount[p];
    let fresh = 0;
    for (let v = i0; v < i1; v++) if (!inN[v]) fresh++;
    const cost = instCount[p] + fresh;
    if (est + cost > n) continue;
    est += cost;
    inN[a] = 1;
    for (let v = i0; v < i1; v++) {
      if (!inN[v]) {
        inN[v] = 1;
        nCount++;
      }
    }
  }
  for (let v = 0; v < nInst; v++) list[v] = v;
  shuffleTyped(list, nInst, rng);
  for (let k = 0; k < nInst && nCount < m; k++) {
    const v = list[k];
    if (!inN[v]) {
      inN[v] = 1;
      nCount++;
    }
  }

  // Topological order: instance parameters are always ready; a total once its items are placed.
  let nReady = 0;
  for (let v = 0; v < P; v++) {
    if (!inN[v]) continue;
    if (pAbs[v]) pending[v] = instCount[pPlace[v]];
    else ready[nReady++] = v;
  }
  let N = 0;
  while (nReady > 0) {
    const k = rng.int(0, nReady - 1);
    const v = ready[k];
    ready[k] = ready[--nReady];
    pos[v] = N;
    order[N++] = v;
    if (!pAbs[v]) {
      const a = absOf[pPlace[v]];
      if (inN[a] && --pending[a] === 0) ready[nReady++] = a;
    }
  }
  if (N === 0) return null;

  // Stage 4: budgets, then parents. A node with no child yet is "dangling"; new parents prefer them.
  let total = 0;
  let nRaise = 0;
  for (let j = 0; j < N; j++) {
    const v = order[j];
    if (pAbs[v]) continue;
    budget[v] = 1;
    total++;
    if (pos[v] > 1) raisable[nRaise++] = v; // budget cap min(3, max(1, pos)) exceeds 1
  }
  while (total < s && nRaise > 0) {
    const k = rng.int(0, nRaise - 1);
    const v = raisable[k];
    budget[v]++;
    total++;
    if (budget[v] >= Math.min(3, pos[v])) raisable[k] = raisable[--nRaise];
  }
  // Early exit: the solution's edges cannot exceed every in-play node's most edges (a total: its
  // items; an instance: 1 at the start, else 2 for budget 1 and budget + 1 above). Such a draw is
  // rejected below anyway; skipping its wiring saves time and leaves the accepted distribution as it is.
  let most = 0;
  for (let j = 0; j < N; j++) {
    const v = order[j];
    most += pAbs[v] ? instCount[pPlace[v]] : j === 0 ? 1 : budget[v] === 1 ? 2 : budget[v] + 1;
  }
  if (most < op) return null;
  dangling.fill(0, 0, P);
  const wD = CALIBRATION.wDangling;
  for (let j = 0; j < N; j++) {
    const v = order[j];
    const base = v * MAXPAR;
    if (pAbs[v]) {
      const p = pPlace[v];
      const i0 = instStart[p];
      for (let k = 0; k < instCount[p]; k++) {
        par[base + k] = i0 + k;
        dangling[i0 + k] = 0;
      }
      parCount[v] = instCount[p];
      rngEdge[v] = 0;
      dangling[v] = 1;
      continue;
    }
    parCount[v] = 0;
    rngEdge[v] = 1;
    if (j > 0) {
      const b = budget[v];
      const count = b === 1 ? (rng.chance(0.5) ? 2 : 1) : b + 1;
      let real = count - (rng.chance(0.5) ? 1 : 0);
      let nd = 0;
      for (let i = 0; i < j; i++) if (dangling[order[i]]) nd++;
      // A node must keep earlier work reachable: take a dangling parent when two or more wait.
      if (nd >= 2 && real === 0) real = 1;
      real = Math.min(real, j);
      rngEdge[v] = real < count ? 1 : 0;
      // Weighted draws without replacement over earlier nodes: dangling ×wD, totals ×2.
      for (let c = 0; c < real; c++) {
        let tot = 0;
        for (let i = 0; i < j; i++) {
          const u = order[i];
          if (u >= 0) tot += (dangling[u] ? wD : 1) * (pAbs[u] ? 2 : 1);
        }
        let r = rng.next() * tot;
        let pick = -1;
        for (let i = 0; i < j; i++) {
          const u = order[i];
          if (u < 0) continue;
          pick = i;
          r -= (dangling[u] ? wD : 1) * (pAbs[u] ? 2 : 1);
          if (r < 0) break;
        }
        par[base + c] = order[pick];
        order[pick] = -1 - order[pick]; // mark as taken for this node
      }
      for (let c = 0; c < real; c++) {
        const u = par[base + c];
        order[pos[u]] = u;
        dangling[u] = 0;
      }
      parCount[v] = real;
    }
    dangling[v] = 1;
  }

  // The solution path: ancestors of the query (the last node of the order); reject a wrong op early.
  inSol.fill(0, 0, P);
  inSol[order[N - 1]] = 1;
  let ops = 0;
  for (let j = N - 1; j >= 0; j--) {
    const v = order[j];
    if (!inSol[v]) continue;
    ops += parCount[v] + rngEdge[v];
    for (let c = 0; c < parCount[v]; c++) inSol[par[v * MAXPAR + c]] = 1;
  }
  if (ops !== op) return null;

  // Accepted: build the plain objects the rest of the pipeline reads.
  const params: Param[] = [];
  for (let v = 0; v < P; v++) params.push({ abstract: pAbs[v] === 1, place: pPlace[v], item: pItem[v] });
  const defs: (Def | null)[] = new Array(P).fill(null);
  const solution: number[] = [];
  for (let j = 0; j < N; j++) {
    const v = order[j];
    if (!inSol[v]) continue;
    solution.push(v);
    const parents = Array.from(par.subarray(v * MAXPAR, v * MAXPAR + parCount[v]));
    defs[v] = { parents, rng: rngEdge[v] === 1, c: 0, constOp: null, combine: "sum", value: 0 };
  }

  // Stage 5: distractors — every other instance parameter of the structure gets a sentence.
  const distractors: number[] = [];
  for (let v = 0; v < nInst; v++) if (!inSol[v]) distractors.push(v);
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

  const placeNames = sampleDistinct(nPlaces, np, rng);
  const itemNames = sampleDistinct(nItems, ni, rng);
  return { op, placeNames, itemNames, params, defs, order: solution, distractors, attempts: 1 };
}

/** k distinct indices of 0..n-1 in random order (a partial Fisher–Yates). */
function sampleDistinct(n: number, k: number, rng: Rng): number[] {
  const xs = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.next() * (n - i));
    const t = xs[i];
    xs[i] = xs[j];
    xs[j] = t;
  }
  xs.length = k;
  return xs;
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
