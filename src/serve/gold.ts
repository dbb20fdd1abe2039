/**
 * Resolving the gold a completion is scored against: a problem id (looked up in loaded problem
 * files, else regenerated from the (context, mode, op, seed, index) the id names), a problem key,
 * or an embedded gold graph with its answer. Regenerated problems sit in a bounded LRU cache.
 */
import { parseLinear } from "../verify/index.js";
import { CONTEXT_IDS, getContext } from "../world/contexts.js";
import { MAX_OP, MIN_OP } from "../world/graph.js";
import type { GoldProblem } from "../world/load.js";
import { generateProblem } from "../world/problem.js";
import type { GoldGraph, ProblemKey } from "../world/types.js";
import { clip, describe, quote } from "./input.js";

/** What a completion is scored against. */
export interface ResolvedGold {
  /** The problem id when the gold came by id or key. */
  id?: string;
  answer: string;
  graph: GoldGraph;
}

/** A request could not name a usable gold: a 4xx with this message and status. */
export class GoldError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 422,
  ) {
    super(message);
  }
}

/** Largest embedded gold graph accepted (the world's largest has 20 nodes). */
export const MAX_GOLD_NODES = 1000;
const MAX_NAME = 1000;

const ID_RE = /^([A-Za-z][\w]*)-([fr])-op(\d{1,3})-s(\d{1,16})-i(\d{1,16})$/;

/** Parses a generated problem id back into its key, or null when it is not one. */
export function keyFromId(id: string): ProblemKey | null {
  const m = ID_RE.exec(id);
  if (!m) return null;
  const key: ProblemKey = {
    context: m[1],
    mode: m[2] === "f" ? "forward" : "reverse",
    op: Number(m[3]),
    seed: Number(m[4]),
    index: Number(m[5]),
  };
  if (!Number.isSafeInteger(key.seed) || !Number.isSafeInteger(key.index)) return null;
  return key;
}

/** Why an embedded gold graph is unusable, or null. */
export function graphError(g: unknown, where: string): string | null {
  if (!g || typeof g !== "object" || Array.isArray(g))
    return `${where} must be an object {nodes: [...]}, got ${describe(g)}`;
  const nodes = (g as { nodes?: unknown }).nodes;
  if (!Array.isArray(nodes) || nodes.length === 0)
    return `${where}.nodes must be a non-empty array of {name, value, parents}, got ${describe(nodes)}`;
  if (nodes.length > MAX_GOLD_NODES)
    return `${where}.nodes has ${nodes.length} nodes (at most ${MAX_GOLD_NODES})`;
  const names = new Set<string>();
  for (const [i, n] of nodes.entries()) {
    const w = `${where}.nodes[${i}]`;
    if (!n || typeof n !== "object" || Array.isArray(n))
      return `${w} must be an object {name, value, parents}, got ${describe(n)}`;
    const { name, value, parents, expr } = n as Record<string, unknown>;
    if (typeof name !== "string" || name === "" || name.length > MAX_NAME)
      return `${w}.name must be a non-empty string (at most ${MAX_NAME} characters), got ${describe(name)}`;
    if (typeof value !== "number" || !Number.isFinite(value))
      return `${w}.value must be a finite number, got ${describe(value)}`;
    if (!Array.isArray(parents) || parents.some((q) => typeof q !== "string"))
      return `${w}.parents must be an array of node names`;
    for (const q of parents)
      if (!names.has(q)) return `${w}.parents names ${quote(q, 60)}, which is not an earlier node`;
    if (expr !== undefined && expr !== null) {
      if (typeof expr !== "string" || expr.length > MAX_NAME || parseLinear(expr) === null)
        return `${w}.expr must be a linear expression in x such as "2*x + 1"`;
    }
    names.add(name);
  }
  return null;
}

/** A graph copy with only the fields the verifier reads (null `expr` dropped). */
function cleanGraph(g: { nodes: Record<string, unknown>[] }): GoldGraph {
  return {
    nodes: g.nodes.map((n) => {
      const node: GoldGraph["nodes"][number] = {
        name: n.name as string,
        value: n.value as number,
        parents: [...(n.parents as string[])],
      };
      if (typeof n.expr === "string") node.expr = n.expr;
      return node;
    }),
  };
}

/** Options of the resolver. */
export interface ResolverOptions {
  /** Problems loaded from files, by id. */
  problems?: Map<string, GoldProblem>;
  /** Regenerate ids and keys not in `problems` (default true). */
  regenerate?: boolean;
  /** Regenerated problems kept (default 10,000). */
  cacheSize?: number;
}

/** Resolves golds; one per server. */
export class GoldResolver {
  private readonly problems: Map<string, GoldProblem>;
  private readonly regenerate: boolean;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, ResolvedGold>();
  /** Regenerations done (cache misses). */
  generated = 0;

  constructor(opts: ResolverOptions = {}) {
    this.problems = opts.problems ?? new Map();
    this.regenerate = opts.regenerate ?? true;
    this.cacheSize = opts.cacheSize ?? 10_000;
  }

  /** Loaded problems. */
  get loaded(): number {
    return this.problems.size;
  }

  /** Cached regenerated problems. */
  get cached(): number {
    return this.cache.size;
  }

  /** By id: a loaded problem, else a regenerated one. */
  byId(id: string, where: string): ResolvedGold {
    if (id.length > 200) throw new GoldError(`${where}: a problem id is at most 200 characters`, 400);
    const p = this.problems.get(id);
    if (p) return { id: p.id, answer: p.answer, graph: p.graph };
    const key = keyFromId(id);
    if (!key || !this.regenerate) {
      const how = this.regenerate
        ? "it is not among the loaded problems and is not a generated id like zoo-f-op5-s1-i42"
        : "it is not among the loaded problems (regeneration is off)";
      throw new GoldError(`${where}: unknown problem id ${quote(id, 200)}: ${how}`, 422);
    }
    return this.byKey(key, where);
  }

  /** By key: regenerated (cached). */
  byKey(key: ProblemKey, where: string): ResolvedGold {
    if (!this.regenerate)
      throw new GoldError(`${where}: a problem key needs regeneration, which is off on this server`, 422);
    if (!Number.isInteger(key.op) || key.op < MIN_OP || key.op > MAX_OP)
      throw new GoldError(`${where}: op must be an integer in ${MIN_OP}..${MAX_OP}, got ${key.op}`, 422);
    try {
      getContext(key.context);
    } catch {
      throw new GoldError(
        `${where}: unknown context ${quote(key.context, 60)} (known: ${CONTEXT_IDS.join(", ")})`,
        422,
      );
    }
    const cacheKey = `${key.context}|${key.mode}|${key.op}|${key.seed}|${key.index}`;
    const hit = this.cache.get(cacheKey);
    if (hit) {
      this.cache.delete(cacheKey);
      this.cache.set(cacheKey, hit);
      return hit;
    }
    let gold: ResolvedGold;
    try {
      const p = generateProblem(key);
      gold = { id: p.id, answer: p.answer, graph: p.graph };
    } catch (e) {
      throw new GoldError(
        `${where}: cannot regenerate the problem: ${clip(String((e as Error)?.message), 200)}`,
        422,
      );
    }
    this.generated++;
    this.cache.set(cacheKey, gold);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    return gold;
  }

  /**
   * Any accepted gold form: "id", {id}, {seed, index, op, context, mode}, or {graph, answer}
   * (an embedded graph wins over an id in the same object).
   */
  resolve(gold: unknown, where: string): ResolvedGold {
    if (typeof gold === "string") return this.byId(gold, where);
    if (!gold || typeof gold !== "object" || Array.isArray(gold)) {
      throw new GoldError(
        `${where} must be a problem id string, {id}, {seed, index, op, context, mode}, or {graph, answer}, got ${describe(gold)}`,
        400,
      );
    }
    const g = gold as Record<string, unknown>;
    if (g.graph !== undefined) {
      const err = graphError(g.graph, `${where}.graph`);
      if (err) throw new GoldError(err, 400);
      if (typeof g.answer !== "string" && typeof g.answer !== "number")
        throw new GoldError(
          `${where}.answer must be a string (the gold answer) next to ${where}.graph, got ${describe(g.answer)}`,
          400,
        );
      return {
        id: typeof g.id === "string" ? g.id : undefined,
        answer: String(g.answer),
        graph: cleanGraph(g.graph as { nodes: Record<string, unknown>[] }),
      };
    }
    if (g.id !== undefined) {
      if (typeof g.id !== "string")
        throw new GoldError(`${where}.id must be a string, got ${describe(g.id)}`, 400);
      return this.byId(g.id, where);
    }
    if (g.seed !== undefined || g.index !== undefined || g.op !== undefined) {
      for (const k of ["seed", "index", "op"] as const) {
        const v = g[k];
        if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
          throw new GoldError(`${where}.${k} must be a non-negative integer, got ${describe(v)}`, 400);
      }
      if (typeof g.context !== "string")
        throw new GoldError(`${where}.context must be a string, got ${describe(g.context)}`, 400);
      if (g.mode !== "forward" && g.mode !== "reverse")
        throw new GoldError(`${where}.mode must be "forward" or "reverse", got ${describe(g.mode)}`, 400);
      const key: ProblemKey = {
        seed: g.seed as number,
        index: g.index as number,
        op: g.op as number,
        context: g.context,
        mode: g.mode,
      };
      return this.byKey(key, where);
    }
    throw new GoldError(
      `${where} names no gold: give an id, {seed, index, op, context, mode}, or {graph, answer}`,
      400,
    );
  }
}
