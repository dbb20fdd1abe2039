/**
 * Lookups of user-given names (CLI options, file contents, request fields) in tables of this lab.
 * A plain object's prototype chain answers `constructor`, `__proto__`, `toString`, … too, so every
 * lookup here reads own keys only (`Object.hasOwn`), and an unknown name is an error that lists
 * the known ones.
 */

/** Whether `name` is an own key of `table` (never a key of its prototype chain). */
export function hasName<T extends object>(table: T, name: unknown): name is Extract<keyof T, string> {
  return typeof name === "string" && Object.hasOwn(table, name);
}

/**
 * A user-given name as an error message shows it: a string quoted and cut to 60 characters, anything
 * else by its type only (never serialised: a hostile value may be nested thousands deep).
 */
export function describeName(name: unknown): string {
  if (typeof name === "string") return JSON.stringify(name.length > 60 ? `${name.slice(0, 57)}...` : name);
  if (name === null || name === undefined) return String(name);
  if (Array.isArray(name)) return "an array";
  return typeof name === "object" ? "an object" : `a ${typeof name}`;
}

/** The known names of a table or list, for error messages. */
function known(names: readonly string[]): string {
  return names.length > 0 ? names.join(", ") : "none";
}

/**
 * The entry of `table` named `name`; throws `unknown WHAT "NAME" (known: …)` for a name that is not
 * an own key. `what` names the kind of thing looked up ("preset", "--backend", …).
 */
export function lookup<T extends object>(table: T, name: unknown, what: string): T[Extract<keyof T, string>] {
  if (!hasName(table, name))
    throw new Error(`unknown ${what} ${describeName(name)} (known: ${known(Object.keys(table))})`);
  return table[name];
}

/** `name` when it is one of `names`; throws `unknown WHAT "NAME" (known: …)` otherwise. */
export function oneOf<T extends string>(names: readonly T[], name: unknown, what: string): T {
  if (typeof name !== "string" || !names.includes(name as T))
    throw new Error(`unknown ${what} ${describeName(name)} (known: ${known(names)})`);
  return name as T;
}
