/** Parsers for CLI option values; each throws an error naming the option. */
import { InvalidArgumentError } from "commander";
import { BACKEND_CHOICES, type BackendChoice } from "../engine/backend.js";
import { oneOf } from "../util/lookup.js";
import { parseOpRange } from "../world/mixture.js";

/** The values of --backend. */
export const BACKENDS: readonly BackendChoice[] = BACKEND_CHOICES;

/** One of `names` for option `flag`; any other value (prototype names included) names the known ones. */
export function parseChoice<T extends string>(flag: string, names: readonly T[]) {
  return (value: string): T => {
    try {
      return oneOf(names, value, `${flag} value`);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  };
}

/** "2-20" or "2,3,5" or "2-4,8" → sorted unique ops. */
export function parseOps(value: string): number[] {
  const ops = new Set<number>();
  for (const part of value.split(",")) {
    if (!part.trim()) continue;
    try {
      const [lo, hi] = parseOpRange(part, "--ops");
      for (let op = lo; op <= hi; op++) ops.add(op);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  }
  if (ops.size === 0) throw new InvalidArgumentError("--ops: no op given");
  return [...ops].sort((a, b) => a - b);
}

/** A comma-separated list. */
export function parseList(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A non-negative safe integer. */
export function parseNat(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
      throw new InvalidArgumentError(`${name} must be a non-negative integer, got "${value}"`);
    }
    return n;
  };
}

/** A positive safe integer. */
export function parsePos(name: string) {
  const nat = parseNat(name);
  return (value: string): number => {
    const n = nat(value);
    if (n < 1) throw new InvalidArgumentError(`${name} must be at least 1, got ${n}`);
    return n;
  };
}

/** A parser of finite numbers for option `name`. */
export function parseNum(name: string) {
  return (v: string): number => {
    const x = Number(v);
    if (v.trim() === "" || !Number.isFinite(x)) throw new Error(`${name} must be a number, got "${v}"`);
    return x;
  };
}
