/**
 * Drawing one problem's dependency graph with exactly `op` operations: the reference generator's
 * process (world.md §3; docs/world.md), one function per stage — sizes, structure graph, necessary
 * parameters, topological order, operation budgets, parent wiring, values, distractors. A draw
 * that fails a stage or misses the requested `op` returns null and the caller redraws, as the
 * reference does; draws certain to fail are cut short after the necessary set. Scratch arrays are
 * reused across draws, so a rejected draw allocates nothing.
 */
import type { Rng } from "../util/rng.js";

/**
 * Revision of the draw. The same key gives another problem in another revision, so anything cached
 * from generated data (study stages, corpus manifests) records it: 1 = the calibrated draw used up
 * to 2026-11; 2 = the reference's process stage by stage (issue 12).
 */
export const WORLD_VERSION = 2;

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

/** Layer-width weights over {1..5}: softmax of −(rel − c)² with rel = (s−1)/(ip_max−1), as the reference. */
function widthWeights(s: number): number[] {
  const rel = (s - 1) / (IP_MAX - 1);
  return CENTERS.map((c) => Math.exp(-((rel - c) ** 2)));
}

/** Largest number of parameters of one structure (5 places × 5 items + 5 totals), with room to spare. */
const MAXP = 64;
/** Most parents one node can take (a total: its ≤ 5 items; an instance: ≤ 4). */
const MAXPAR = 8;

/** A set of node ids with O(1) add and remove (a list plus each member's position; -1 = absent). */
interface NodeSet {
  list: Int16Array;
  at: Int16Array;
  n: number;
}

function newSet(): NodeSet {
  return { list: new Int16Array(MAXP), at: new Int16Array(MAXP).fill(-1), n: 0 };
}

function setAdd(set: NodeSet, v: number): void {
  if (set.at[v] >= 0) return;
  set.at[v] = set.n;
  set.list[set.n++] = v;
}

function setRemove(set: NodeSet, v: number): void {
  const i = set.at[v];
  if (i < 0) return;
  const last = set.list[--set.n];
  set.list[i] = last;
  set.at[last] = i;
  set.at[v] = -1;
}

/** Scratch buffers reused by every draw: a rejected draw allocates nothing. */
const S = {
  adj: new Uint8Array(MAXP),
  placeDeg: new Uint8Array(MAXP),
  pPlace: new Int16Array(MAXP),
  pItem: new Int16Array(MAXP),
  pAbs: new Uint8Array(MAXP),
  instStart: new Int16Array(MAXP),
  instCount: new Int16Array(MAXP),
  absOf: new Int16Array(MAXP),
  list: new Int16Array(MAXP),
  inN: new Uint8Array(MAXP),
  nec: new Int16Array(MAXP),
  placed: new Uint8Array(MAXP),
  outKids: new Int16Array(MAXP),
  inKids: new Int16Array(MAXP),
  cand: new Int16Array(MAXP),
  weight: new Float64Array(MAXP),
  topo: new Int16Array(MAXP),
  cop: new Int16Array(MAXP),
  pool: new Int16Array(MAXP),
  par: new Int16Array(MAXP * MAXPAR),
  parCount: new Uint8Array(MAXP),
  rngEdge: new Uint8Array(MAXP),
  value: new Float64Array(MAXP),
  sink: newSet(),
  ready: newSet(),
};

const weightCache = new Map<number, number[]>();

/** The parents of v as a plain array. */
function parentList(v: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < S.parCount[v]; k++) out.push(S.par[v * MAXPAR + k]);
  return out;
}

/** Adds the edge u → v (u becomes a parent of v) unless it is already there. */
function addParent(u: number, v: number): void {
  const { par, parCount } = S;
  const base = v * MAXPAR;
  for (let k = 0; k < parCount[v]; k++) if (par[base + k] === u) return;
  par[base + parCount[v]++] = u;
}

/** Sizes of one draw (world.md §3 stage 1). */
interface Sizes {
  /** op_max = (strictline + 1) // 2; the reference runs with `force`, so s = op_max. */
  s: number;
  n: number;
  m: number;
  w0: number;
  w1: number;
  /** Edge budget of the structure graph. */
  e: number;
}

/** Counts of the draw in progress (the arrays live in S). */
const D = {
  /** Places and items of the structure. */
  np: 0,
  ni: 0,
  /** Parameters: instances 0..nInst-1 (grouped by place), then one total per place. */
  P: 0,
  nInst: 0,
  /** Necessary parameters, how many are instances, and their edge count so far (the totals' items). */
  N: 0,
  nI: 0,
  nOps: 0,
};

/**
 * One draw of the reference's process (world.md §3, d = 2); null when a stage fails or a rule
 * rejects it (the reference raises and redraws at the same points).
 */
export function drawOnce(op: number, nPlaces: number, nItems: number, rng: Rng): WorldGraph | null {
  const sz = drawSizes(op, rng);
  if (!drawStructure(sz, nPlaces, nItems, rng)) return null;
  listParameters();
  if (!drawNecessary(sz, rng) || cannotReach(op, sz.s)) return null;
  if (!drawOrder(rng) || !raiseBudgets(sz.s, rng) || wireParents(rng) !== op) return null;
  return finish(op, nPlaces, nItems, rng);
}

/** Stage 1: sizes, with the layer widths peaked near rel = (s − 1)/(ip_max − 1). */
function drawSizes(op: number, rng: Rng): Sizes {
  const s = (strictline(op) + 1) >> 1;
  const n = Math.max(rng.int(1, s), rng.int(1, s));
  const m = rng.int(n, s);
  let weights = weightCache.get(s);
  if (!weights) {
    weights = widthWeights(s);
    weightCache.set(s, weights);
  }
  let t0 = 1 + rng.weighted(weights);
  let t1 = 1 + rng.weighted(weights);
  if (s <= 5) {
    t0 = Math.max(2, t0);
    t1 = Math.max(2, t1);
  }
  const w0 = Math.min(t0, t1);
  const w1 = Math.max(t0, t1);
  const e = Math.min(rng.int(w0, IP_MAX), rng.int(w0, IP_MAX), w1 * w1);
  return { s, n, m, w0, w1, e };
}

/**
 * Stage 2: structure graph (D.np places × D.ni items, S.adj). Layer sizes grow from (w0, w0)
 * toward (w1, w1): while the edge budget is out of reach, else (unless the items alone use it up)
 * with a probability drawn once. Every item gets a random place, then random place–item edges
 * up to e (an unconnected place first). False when the reference would fail.
 */
function drawStructure({ w0, w1, e }: Sizes, nPlaces: number, nItems: number, rng: Rng): boolean {
  const { adj, placeDeg, list } = S;
  let np = w0;
  let ni = w0;
  const pGrow = rng.next();
  while (np < w1 || ni < w1) {
    if (np * ni >= e) {
      if (ni === e) break;
      if (!rng.chance(pGrow)) break;
    }
    if (np < w1 && (ni >= w1 || rng.chance(0.5))) np++;
    else ni++;
  }
  if (np > nPlaces || ni > nItems) return false;
  D.np = np;
  D.ni = ni;
  adj.fill(0, 0, np * ni);
  placeDeg.fill(0, 0, np);
  for (let i = 0; i < ni; i++) {
    const p = rng.int(0, np - 1);
    adj[p * ni + i] = 1;
    placeDeg[p]++;
  }
  let edges = ni;
  for (let tries = 0; edges < e; ) {
    if (++tries > e * 10) return false;
    let lonely = 0;
    for (let p = 0; p < np; p++) if (placeDeg[p] === 0) list[lonely++] = p;
    const p = lonely > 0 ? list[rng.int(0, lonely - 1)] : rng.int(0, np - 1);
    const k = p * ni + rng.int(0, ni - 1);
    if (adj[k]) continue;
    adj[k] = 1;
    placeDeg[p]++;
    edges++;
  }
  for (let p = 0; p < np; p++) if (placeDeg[p] === 0) return false; // a place without items has no total
  return true;
}

/** The structure's parameters: instances grouped by place (a place's items contiguous), then one total per place. */
function listParameters(): void {
  const { adj, pPlace, pItem, pAbs, instStart, instCount, absOf } = S;
  const { np, ni } = D;
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
  D.nInst = P;
  for (let p = 0; p < np; p++) {
    absOf[p] = P;
    pPlace[P] = p;
    pItem[P] = -1;
    pAbs[P] = 1;
    P++;
  }
  D.P = P;
}

/**
 * Stage 3a: necessary parameters (S.inN, listed in S.nec). Totals in random order, each with its
 * items, while the edge count (a total's edges are its items) stays ≤ n; the first that does not
 * fit ends the pass. Then m − op − 1 random instance parameters more. False when none is in play.
 */
function drawNecessary({ n, m }: Sizes, rng: Rng): boolean {
  const { pPlace, pAbs, instStart, instCount, absOf, list, inN, nec } = S;
  const { np, nInst, P } = D;
  inN.fill(0, 0, P);
  for (let k = 0; k < np; k++) list[k] = absOf[k];
  let nOps = 0;
  for (let k = 0; k < np; k++) {
    const j = k + Math.floor(rng.next() * (np - k));
    const a = list[j];
    list[j] = list[k];
    list[k] = a;
    const c = instCount[pPlace[a]];
    if (nOps + c > n) break;
    nOps += c;
    inN[a] = 1;
    for (let v = instStart[pPlace[a]], end = v + c; v < end; v++) inN[v] = 1;
  }
  let free = 0;
  for (let v = 0; v < nInst; v++) if (!inN[v]) list[free++] = v;
  for (let k = 1; k < m - nOps && free > 0; k++) {
    const j = rng.int(0, free - 1);
    inN[list[j]] = 1;
    list[j] = list[--free];
  }
  let N = 0;
  let nI = 0;
  for (let v = 0; v < P; v++) {
    if (!inN[v]) continue;
    nec[N++] = v;
    if (!pAbs[v]) nI++;
  }
  D.N = N;
  D.nI = nI;
  D.nOps = nOps;
  return N > 0;
}

/**
 * Early exit that only skips draws the later stages would reject (the accepted distribution is
 * unchanged). With A = the totals' edges and I instances (I' = one more if a two-node order grows),
 * every instance ends with 1 to cur_op + 1 edges and the budgets sum to at most max(s − A, I'): the
 * op lies in [A + I, A + I' + max(s − A, I')]; and the budgets cannot reach s when even the I'
 * largest position caps min(3, max(1, j)) fall short.
 */
function cannotReach(op: number, s: number): boolean {
  const { N, nI, nOps } = D;
  const nI2 = N === 2 ? nI + 1 : nI;
  if (nOps + nI > op || nOps + nI2 + Math.max(s - nOps, nI2) < op) return true;
  const N2 = N === 2 ? 3 : N;
  let caps = 0; // the nI2 largest of min(3, max(1, j)), j < N2: 3s from j = 3 up, then 2, then 1s
  for (let k = 0, j = N2 - 1; k < nI2 && j >= 0; k++, j--) caps += Math.min(3, Math.max(1, j));
  return nOps + caps < s;
}

/**
 * Stage 3b: topological order (S.topo[0..N-1], the query last), built from the query backwards. A
 * node can be placed once all its children are; after the first, only a node feeding a placed one.
 * When none is left, the node just placed (an instance; a total fails the draw) takes a parent among
 * the placeable nodes, drawn with a bias toward totals; otherwise an instance takes, with
 * probability p0 ~ U(0, 1), one more parent among the unplaced nodes, biased toward totals and nodes
 * already feeding the placed ones. A two-node order then gets, half the time, one more instance.
 */
function drawOrder(rng: Rng): boolean {
  const { pPlace, pAbs, instStart, instCount, absOf, inN, nec } = S;
  const { placed, outKids, inKids, cand, topo, par, parCount, rngEdge, sink, ready } = S;
  const { N, nInst } = D;
  sink.n = 0;
  ready.n = 0;
  for (let k = 0; k < N; k++) {
    const v = nec[k];
    placed[v] = 0;
    inKids[v] = 0;
    parCount[v] = 0;
    rngEdge[v] = 0;
    outKids[v] = !pAbs[v] && inN[absOf[pPlace[v]]] ? 1 : 0;
    sink.at[v] = -1;
    ready.at[v] = -1;
    if (outKids[v] === 0) setAdd(sink, v);
  }
  let nPlaced = 0;
  for (;;) {
    const from = nPlaced === 0 ? sink : ready;
    const v0 = from.list[rng.int(0, from.n - 1)];
    placed[v0] = 1;
    setRemove(sink, v0);
    setRemove(ready, v0);
    topo[N - 1 - nPlaced++] = v0;
    if (pAbs[v0]) {
      // Its items now feed a placed node and have no unplaced child left.
      const p = pPlace[v0];
      for (let u = instStart[p], end = u + instCount[p]; u < end; u++) {
        outKids[u]--;
        inKids[u]++;
        setAdd(sink, u);
        setAdd(ready, u);
      }
    }
    if (nPlaced === N) break;
    let u = -1;
    if (ready.n === 0) {
      if (pAbs[v0]) return false;
      u = biasedPick(sink.list, sink.n, rng);
    } else if (!pAbs[v0]) {
      const p0 = rng.next();
      if (rng.next() < p0) {
        let nc = 0;
        for (let k = 0; k < N; k++) if (!placed[nec[k]]) cand[nc++] = nec[k];
        u = biasedPick(cand, nc, rng);
      }
    }
    if (u >= 0) {
      par[v0 * MAXPAR] = u;
      parCount[v0] = 1;
      inKids[u]++;
      if (sink.at[u] >= 0) setAdd(ready, u);
    }
  }
  // The extra instance of a two-node order: before the first node, or after the last.
  if (N === 2 && rng.chance(0.5)) {
    let extra = -1;
    for (let v = 0; v < nInst && extra < 0; v++) if (!inN[v]) extra = v;
    if (extra >= 0) {
      inN[extra] = 1;
      parCount[extra] = 0;
      rngEdge[extra] = 0;
      if (rng.chance(0.5)) {
        par[topo[0] * MAXPAR + parCount[topo[0]]++] = extra;
        topo[2] = topo[1];
        topo[1] = topo[0];
        topo[0] = extra;
      } else {
        par[extra * MAXPAR] = topo[1];
        parCount[extra] = 1;
        topo[2] = extra;
      }
      D.N = 3;
    }
  }
  return true;
}

/**
 * Stage 4a: operation budgets (S.cop). cur_op starts at the edges so far (a total: its items);
 * random instances below their cap min(3, max(1, position)) are raised until the sum reaches s.
 * False when no instance can be raised.
 */
function raiseBudgets(s: number, rng: Rng): boolean {
  const { pPlace, pAbs, instCount, topo, cop, cand, parCount } = S;
  const { N } = D;
  let total = 0;
  for (let j = 0; j < N; j++) {
    const v = topo[j];
    cop[v] = pAbs[v] ? instCount[pPlace[v]] : parCount[v];
    total += cop[v];
  }
  while (total < s) {
    let nc = 0;
    for (let j = 0; j < N; j++) {
      const v = topo[j];
      if (!pAbs[v] && cop[v] < Math.min(3, Math.max(1, j))) cand[nc++] = v;
    }
    if (nc === 0) return false;
    cop[cand[rng.int(0, nc - 1)]]++;
    total++;
  }
  return true;
}

/**
 * Stage 4b: parents; returns the op (edges entering the order's nodes, RNG included). A total takes
 * its items. An instance draws from a pool of RNG plus every earlier node: 1 or 2 parents for a
 * budget of 1, else budget + 1. A parent from stage 3b counts toward them, and (as in the
 * reference, which removes the pool's last element there rather than that parent) the node just
 * before leaves the pool; drawing the existing parent again adds nothing.
 */
function wireParents(rng: Rng): number {
  const { pPlace, pAbs, instStart, instCount, topo, cop, pool, par, parCount, rngEdge } = S;
  const { N } = D;
  for (let j = 0; j < N; j++) {
    const v = topo[j];
    if (pAbs[v]) {
      const p = pPlace[v];
      for (let k = 0; k < instCount[p]; k++) par[v * MAXPAR + k] = instStart[p] + k;
      parCount[v] = instCount[p];
      continue;
    }
    let dep = cop[v] === 1 ? (rng.chance(0.5) ? 1 : 2) : cop[v] + 1;
    let size = j; // the pool's nodes, topo[0..j-1]; RNG is counted apart
    for (let i = 0; i < j; i++) pool[i] = topo[i];
    dep = Math.min(size + 1, dep);
    if (parCount[v] > 0) {
      size--; // removes topo[j - 1]
      dep--;
    }
    if (dep === size + 1) {
      rngEdge[v] = 1;
      for (let i = 0; i < size; i++) addParent(pool[i], v);
    } else {
      if (rng.chance(0.5)) {
        rngEdge[v] = 1;
        dep--;
      }
      for (let c = 0; c < dep; c++) {
        const i = rng.int(0, size - 1);
        addParent(pool[i], v);
        pool[i] = pool[--size];
      }
    }
  }
  let ops = 0;
  for (let j = 0; j < N; j++) ops += parCount[topo[j]] + rngEdge[topo[j]];
  return ops;
}

/**
 * Stages 6 and 5: values of the solution in order (a value below 1 — a total may not be 0 either,
 * having positive items — or above MAX_VALUE rejects the draw), then distractors and names.
 */
function finish(op: number, nPlaces: number, nItems: number, rng: Rng): WorldGraph | null {
  const { pPlace, pItem, pAbs, topo, rngEdge, value } = S;
  const { P, N, np, ni } = D;
  const params: Param[] = [];
  for (let v = 0; v < P; v++) params.push({ abstract: pAbs[v] === 1, place: pPlace[v], item: pItem[v] });
  const defs: (Def | null)[] = new Array(P).fill(null);
  const solution: number[] = [];
  for (let j = 0; j < N; j++) {
    const v = topo[j];
    solution.push(v);
    const d: Def = {
      parents: parentList(v),
      rng: rngEdge[v] === 1,
      c: 0,
      constOp: null,
      combine: "sum",
      value: 0,
    };
    defs[v] = d;
    if (!drawValue(d, value, pAbs[v] === 1, rng)) return null;
    value[v] = d.value;
  }
  const distractors = drawDistractors(solution, defs, rng);
  const placeNames = sampleDistinct(nPlaces, np, rng);
  const itemNames = sampleDistinct(nItems, ni, rng);
  return { op, placeNames, itemNames, params, defs, order: solution, distractors, attempts: 1 };
}

/**
 * Stage 5: distractors — every other instance parameter of the structure gets a sentence, in random
 * order. Half of them draw parents only among earlier such "independent" distractors, the others
 * among the solution and every distractor so far; 1–4 edges (each more w.p. 0.5), RNG w.p. 0.5.
 * Their values are not part of the problem's answer: a draw that breaks a value rule is redrawn (a
 * few times, then the sentence becomes a constant) instead of rejecting the problem.
 */
function drawDistractors(solution: number[], defs: (Def | null)[], rng: Rng): number[] {
  const { inN, value } = S;
  const distractors: number[] = [];
  for (let v = 0; v < D.nInst; v++) if (!inN[v]) distractors.push(v);
  rng.shuffle(distractors);
  const known = solution.slice();
  const independent: number[] = [];
  for (const v of distractors) {
    const src = rng.chance(0.5) ? independent : known;
    const poolSize = src.length + 1; // RNG and src
    let d: Def | null = null;
    for (let t = 0; t < 8 && !d; t++) {
      let dep = 1;
      while (dep < Math.min(4, poolSize) && rng.chance(0.5)) dep++;
      const parents: number[] = [];
      let withRng = false;
      if (dep === poolSize) {
        withRng = true;
        parents.push(...src);
      } else {
        if (rng.chance(0.5)) {
          withRng = true;
          dep--;
        }
        while (parents.length < dep) {
          const u = rng.pick(src);
          if (!parents.includes(u)) parents.push(u);
        }
      }
      const cand: Def = { parents, rng: withRng, c: 0, constOp: null, combine: "sum", value: 0 };
      if (drawValue(cand, value, false, rng)) d = cand;
    }
    if (!d) {
      d = { parents: [], rng: true, c: 0, constOp: null, combine: "sum", value: 0 };
      drawValue(d, value, false, rng);
    }
    defs[v] = d;
    value[v] = d.value;
    if (src === independent) independent.push(v);
    known.push(v);
  }
  return distractors;
}

/**
 * Weighted pick among `n` nodes of stage 3b: weight exp(k·|z|), z ~ N(0, 1) drawn per node, with
 * k = (a total? 1 : 0) + (feeds a placed node? 1 : 0); k = 0 needs no draw (weight 1).
 */
function biasedPick(nodes: Int16Array, n: number, rng: Rng): number {
  const { pAbs, inKids, weight } = S;
  let tot = 0;
  for (let i = 0; i < n; i++) {
    const v = nodes[i];
    const k = pAbs[v] + (inKids[v] > 0 ? 1 : 0);
    const w = k === 0 ? 1 : Math.exp(k * rng.absGauss());
    weight[i] = w;
    tot += w;
  }
  let r = rng.next() * tot;
  for (let i = 0; i < n; i++) {
    r -= weight[i];
    if (r < 0) return nodes[i];
  }
  return nodes[n - 1];
}

/** k distinct indices of 0..n-1 in random order (each a uniform draw among the unused ones). */
function sampleDistinct(n: number, k: number, rng: Rng): number[] {
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    let r = Math.floor(rng.next() * (n - i));
    // The r-th unused index, counting upward (out holds at most 5 entries, so this stays cheap).
    for (let u = 0; u <= r; u++) if (out.includes(u)) r++;
    out.push(r);
  }
  return out;
}

/**
 * Draws the constants of one definition and computes its value (the reference's sentence rules): an
 * RNG edge is "plus c" (c in 1..4) or "times c" (c in 2..4) with probability 0.5 each, and a lone
 * constant takes the drawn c; two instance parents combine as a sum or a difference (in parent
 * order) with probability 0.5 each; more parents, and a total's items, are summed. False when the
 * value breaks a rule (below 1, above MAX_VALUE); an intermediate difference may be negative.
 */
function drawValue(d: Def, value: Float64Array, abstract: boolean, rng: Rng): boolean {
  const k = d.parents.length;
  d.constOp = null;
  d.combine = "sum";
  let inner = 0;
  if (k === 2 && !abstract && rng.chance(0.5)) {
    d.combine = "diff";
    inner = value[d.parents[0]] - value[d.parents[1]];
  } else for (const u of d.parents) inner += value[u];
  if (d.rng) {
    const plus = rng.chance(0.5);
    d.c = plus ? rng.int(1, NUMBER_RANGE - 1) : rng.int(2, NUMBER_RANGE - 1);
    if (k === 0) d.value = d.c;
    else {
      d.constOp = plus ? "plus" : "times";
      d.value = plus ? d.c + inner : d.c * inner;
    }
  } else if (k === 0) {
    d.c = rng.int(1, NUMBER_RANGE - 1);
    d.value = d.c;
  } else {
    d.c = 0;
    d.value = inner;
  }
  return d.value > 0 && d.value <= MAX_VALUE;
}
