/**
 * Mixtures (world.md §8): how a corpus is drawn — a probability per context, per context a
 * distribution over ops, and a distribution over modes. Validated, never silently renormalised.
 */
import { readFileSync } from "node:fs";
import { hasName } from "../util/lookup.js";
import { hashSeed, Rng } from "../util/rng.js";
import { CONTEXT_IDS, getContext } from "./contexts.js";
import { checkOp, MAX_OP, MIN_OP } from "./graph.js";
import type { Mode, ProblemKey } from "./types.js";

/** A mixture as written by users: ops keys are "7" or ranges "2-10" (mass spread uniformly). */
export interface MixtureSpec {
  name?: string;
  contexts: Record<string, { p: number; ops: Record<string, number> }>;
  modes?: Partial<Record<Mode, number>>;
  /** Trace variable lettering of the rendered text (default "random", as the reference). */
  letters?: "random" | "sequential";
}

/** A validated mixture, expanded to explicit tables. */
export interface Mixture {
  name: string;
  contexts: { id: string; p: number; ops: { op: number; p: number }[] }[];
  modes: { mode: Mode; p: number }[];
  letters: "random" | "sequential";
}

const TOL = 1e-6;
const DEFAULT_MODES = { forward: 0.5, reverse: 0.5 };
const DEFAULT_CONTEXTS = CONTEXT_IDS;

/** Parses "7" or "2-10" into an inclusive op range; throws naming the bad key. */
export function parseOpRange(key: string, where = "ops"): [number, number] {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(key);
  if (!m) throw new Error(`${where}: "${key}" is not an op or a range like 2-10`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (hi < lo) throw new Error(`${where}: range "${key}" is empty`);
  for (const op of [lo, hi]) {
    try {
      checkOp(op);
    } catch {
      throw new Error(`${where}: op ${op} in "${key}" is out of range ${MIN_OP}..${MAX_OP}`);
    }
  }
  return [lo, hi];
}

function checkProb(p: unknown, where: string): number {
  if (typeof p !== "number" || !Number.isFinite(p) || p < 0 || p > 1) {
    throw new Error(`${where}: probability must be a number in [0, 1], got ${JSON.stringify(p)}`);
  }
  return p;
}

function checkSum(total: number, where: string): void {
  if (Math.abs(total - 1) > TOL) {
    throw new Error(
      `${where}: probabilities sum to ${+total.toFixed(9)}, not 1 (mixtures are never renormalised)`,
    );
  }
}

/** Validates a user mixture and expands it; every error names the offending field. */
export function validateMixture(spec: unknown, name = "mixture"): Mixture {
  if (!spec || typeof spec !== "object" || Array.isArray(spec))
    throw new Error(`${name}: must be a JSON object`);
  const s = spec as Record<string, unknown>;
  for (const k of Object.keys(s)) {
    if (!["name", "contexts", "modes", "letters"].includes(k))
      throw new Error(`${name}: unknown field "${k}"`);
  }
  const mname = typeof s.name === "string" ? s.name : name;
  if (!s.contexts || typeof s.contexts !== "object" || Array.isArray(s.contexts)) {
    throw new Error(`${mname}: "contexts" must be an object {context: {p, ops}}`);
  }
  const contexts: Mixture["contexts"] = [];
  let ctxTotal = 0;
  for (const [id, raw] of Object.entries(s.contexts as Record<string, unknown>)) {
    const where = `${mname}: contexts.${id}`;
    getContext(id);
    if (!raw || typeof raw !== "object") throw new Error(`${where}: must be {p, ops}`);
    const { p, ops } = raw as { p: unknown; ops: unknown };
    const cp = checkProb(p, `${where}.p`);
    ctxTotal += cp;
    if (!ops || typeof ops !== "object" || Array.isArray(ops) || Object.keys(ops).length === 0) {
      throw new Error(`${where}.ops: must be a non-empty object {op or range: probability}`);
    }
    const perOp = new Map<number, number>();
    let opTotal = 0;
    for (const [key, q] of Object.entries(ops as Record<string, unknown>)) {
      const [lo, hi] = parseOpRange(key, `${where}.ops`);
      const mass = checkProb(q, `${where}.ops["${key}"]`);
      opTotal += mass;
      for (let op = lo; op <= hi; op++) perOp.set(op, (perOp.get(op) ?? 0) + mass / (hi - lo + 1));
    }
    checkSum(opTotal, `${where}.ops`);
    contexts.push({
      id,
      p: cp,
      ops: [...perOp].sort((a, b) => a[0] - b[0]).map(([op, q]) => ({ op, p: q })),
    });
  }
  if (contexts.length === 0) throw new Error(`${mname}: "contexts" is empty`);
  checkSum(ctxTotal, `${mname}: contexts`);
  const rawModes = (s.modes ?? DEFAULT_MODES) as Record<string, unknown>;
  if (typeof rawModes !== "object" || Array.isArray(rawModes))
    throw new Error(`${mname}: "modes" must be an object`);
  const modes: Mixture["modes"] = [];
  let modeTotal = 0;
  for (const [mode, q] of Object.entries(rawModes)) {
    if (mode !== "forward" && mode !== "reverse")
      throw new Error(`${mname}: unknown mode "${mode}" (forward, reverse)`);
    const p = checkProb(q, `${mname}: modes.${mode}`);
    modeTotal += p;
    modes.push({ mode, p });
  }
  checkSum(modeTotal, `${mname}: modes`);
  const letters = s.letters ?? "random";
  if (letters !== "random" && letters !== "sequential") {
    throw new Error(`${mname}: "letters" must be "random" or "sequential", got ${JSON.stringify(letters)}`);
  }
  return { name: mname, contexts, modes, letters };
}

/** Uniform over the default contexts with the given ops table. */
function defaultMix(name: string, ops: Record<string, number>): MixtureSpec {
  const contexts: MixtureSpec["contexts"] = {};
  for (const id of DEFAULT_CONTEXTS) contexts[id] = { p: 1 / DEFAULT_CONTEXTS.length, ops };
  return { name, contexts };
}

/** Breadth presets: zoo with ops 2–20 plus school at op 2 only, with school share f. */
function breadth(f: number): MixtureSpec {
  const name = `zoo${+(1 - f).toFixed(6)}_school${f}op2`;
  return { name, contexts: { zoo: { p: 1 - f, ops: { "2-20": 1 } }, school: { p: f, ops: { "2": 1 } } } };
}

/** The paper's named mixtures (world.md §8). `rl_opA-B` and `opA-B` also resolve for any range. */
export const PRESETS: Record<string, MixtureSpec> = Object.fromEntries(
  [
    defaultMix("id2-10_uniform", { "2-10": 1 }),
    defaultMix("id2-10_easy0.2_medium0.3_hard0.5", { "2-4": 0.2, "5-7": 0.3, "8-10": 0.5 }),
    defaultMix("cpt_0.2id_0.8edge", { "2-10": 0.2, "11-14": 0.8 }),
    defaultMix("rl_op7-10", { "7-10": 1 }),
    defaultMix("rl_op9-12", { "9-12": 1 }),
    defaultMix("rl_op11-14", { "11-14": 1 }),
    defaultMix("rl_op17-20", { "17-20": 1 }),
    ...[0, 0.001, 0.01, 0.1, 0.3].map(breadth),
  ].map((m) => [m.name!, m]),
);

/** `rl_opA-B` or `opA-B`, optionally `_forward`/`_reverse`: a uniform mixture named by its pattern. */
const PATTERN = /^(?:rl_)?op(\d+-\d+)(?:_(forward|reverse))?$/;

/** Whether `name` resolves without a file: a preset (own key, never the prototype chain's) or a pattern. */
export function isMixtureName(name: string): boolean {
  return hasName(PRESETS, name) || PATTERN.test(name);
}

/** Resolves a preset name, an `rl_opA-B`/`opA-B` pattern (optionally `_forward`/`_reverse`), or a JSON file path. */
export function resolveMixture(nameOrFile: string): Mixture {
  if (hasName(PRESETS, nameOrFile)) return validateMixture(PRESETS[nameOrFile], nameOrFile);
  const m = PATTERN.exec(nameOrFile);
  if (m) {
    const spec = defaultMix(nameOrFile, { [m[1]]: 1 });
    if (m[2]) spec.modes = { [m[2]]: 1 };
    return validateMixture(spec, nameOrFile);
  }
  let text: string;
  try {
    text = readFileSync(nameOrFile, "utf8");
  } catch {
    throw new Error(
      `mixture "${nameOrFile}" is neither a preset (${Object.keys(PRESETS).join(", ")}, rl_opA-B) nor a readable file`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`mixture file ${nameOrFile}: invalid JSON (${(e as Error).message})`);
  }
  return validateMixture(json, nameOrFile);
}

/** The problem key of item `index` of a corpus drawn from a mixture: a pure function of (seed, index). */
export function mixtureKey(mix: Mixture, seed: number, index: number): ProblemKey {
  const rng = new Rng(hashSeed(seed, index, "mixture"));
  const ctx = mix.contexts[rng.weighted(mix.contexts.map((c) => c.p))];
  const op = ctx.ops[rng.weighted(ctx.ops.map((o) => o.p))].op;
  const mode = mix.modes[rng.weighted(mix.modes.map((m) => m.p))].mode;
  return { seed, index, op, context: ctx.id, mode };
}
