/**
 * Parsers and option builders for CLI values. Every bad value is refused by commander in one format,
 * `error: option 'FLAGS' argument 'VALUE' is invalid.` followed by what is expected: "Allowed
 * choices are …." for a choice (commander's own sentence), "--flag must be …." for the rest.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { BACKEND_CHOICES } from "../engine/backend.js";
import { describeName } from "../util/lookup.js";
import { parseOpRange } from "../world/mixture.js";

/** An option whose value is one of `names` (commander's choices: the help lists them, others are refused). */
export function choiceOption(flags: string, description: string, names: readonly string[]): Option {
  return new Option(flags, description).choices(names);
}

/** `--backend <name>` (the backends of src/engine/backend.ts), default auto. */
export function backendOption(): Option {
  return choiceOption(
    "--backend <name>",
    "kernel backend (auto: native when built)",
    BACKEND_CHOICES,
  ).default("auto");
}

/**
 * A comma-separated list whose every element is one of `names` (e.g. `--contexts zoo,school`); the
 * error has the wording of commander's choices.
 */
export function parseChoiceList<T extends string>(names: readonly T[]) {
  return (value: string): T[] => {
    const items = parseList(value);
    const bad = items.find((x) => !(names as readonly string[]).includes(x));
    if (items.length === 0 || bad !== undefined)
      throw new InvalidArgumentError(
        `Allowed choices are ${names.join(", ")} (comma-separated); got ${bad === undefined ? "none" : describeName(bad)}.`,
      );
    return items as T[];
  };
}

/** An option whose value is a comma-separated list of `names` (the help lists them). */
export function choiceListOption(flags: string, description: string, names: readonly string[]): Option {
  return new Option(flags, `${description} (comma-separated: ${names.join(", ")})`).argParser(
    parseChoiceList(names),
  );
}

/**
 * Adds `flags` (e.g. `--run <dir>`) as a hidden old spelling of the option stored as `target`
 * (e.g. `model`): its value lands in both, so a required `target` is satisfied by the old spelling.
 */
export function hiddenAlias(cmd: Command, flags: string, target: string): void {
  const alias = new Option(flags).hideHelp();
  cmd.addOption(alias);
  cmd.on(`option:${alias.name()}`, (value: string) => cmd.setOptionValueWithSource(target, value, "cli"));
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

/** The error of a bad value of `flag`: "--flag must be EXPECTED." after commander's prefix. */
function invalid(flag: string, expected: string): InvalidArgumentError {
  return new InvalidArgumentError(`${flag} must be ${expected}.`);
}

/** A safe integer written in decimal digits (surrounding blanks allowed), else undefined. */
function integer(value: string): number | undefined {
  const n = Number(value);
  return /^\d+$/.test(value.trim()) && Number.isSafeInteger(n) ? n : undefined;
}

/** A parser of non-negative safe integers for option `flag`. */
export function parseNat(flag: string) {
  return (value: string): number => {
    const n = integer(value);
    if (n === undefined) throw invalid(flag, "a non-negative integer");
    return n;
  };
}

/** A parser of positive safe integers for option `flag`. */
export function parsePos(flag: string) {
  return (value: string): number => {
    const n = integer(value);
    if (n === undefined || n < 1) throw invalid(flag, "a positive integer");
    return n;
  };
}

/** A parser of integers from `lo` to `hi` for option `flag`. */
export function parseIntIn(flag: string, lo: number, hi: number) {
  return (value: string): number => {
    const n = integer(value);
    if (n === undefined || n < lo || n > hi) throw invalid(flag, `an integer from ${lo} to ${hi}`);
    return n;
  };
}

/** A parser of finite numbers for option `flag`. */
export function parseNum(flag: string) {
  return (value: string): number => {
    const x = Number(value);
    if (value.trim() === "" || !Number.isFinite(x)) throw invalid(flag, "a number");
    return x;
  };
}

/** A parser of plain decimals in [0, 1] for option `flag` ("0x1", " 1 " or "0.5abc" are refused). */
export function parseUnit(flag: string) {
  return (value: string): number => {
    const a = Number(value);
    if (!/^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?$/.test(value) || !(a >= 0 && a <= 1))
      throw invalid(flag, "a decimal number in [0, 1]");
    return a;
  };
}

/** An option's value when the user gave it (not commander's default): a resume compares only what was given. */
export function given<T>(cmd: Command, o: object, key: string): T | undefined {
  const source = cmd.getOptionValueSource(key);
  return source === undefined || source === "default"
    ? undefined
    : ((o as Record<string, unknown>)[key] as T);
}
