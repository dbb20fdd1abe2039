/**
 * Client input in the reward service's error messages, and the nesting check run before a body is
 * parsed. Nothing here recurses into a client's structure: a bad value is named by its type and, for
 * a scalar, a short preview; text from the client (keys, ids, paths, headers) is cut to a few dozen
 * characters; a body that nests deeper than MAX_JSON_DEPTH, or holds more values than the server's
 * maxJsonValues, is refused before JSON.parse sees it.
 */

/** Deepest nesting of arrays and objects a request body (or a JSON label) may have. */
export const MAX_JSON_DEPTH = 64;

/**
 * `s` cut to at most `max` UTF-16 units (never inside a surrogate pair), with its length said
 * when cut.
 */
export function clip(s: string, max = 80): string {
  if (s.length <= max) return s;
  let end = max;
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${s.slice(0, end)}… (${s.length} characters)`;
}

/** `s` clipped and quoted as a JSON string (escapes included, so control characters show). */
export function quote(s: string, max = 80): string {
  return JSON.stringify(clip(s, max));
}

/**
 * What a value is, for an error message: its type, with a short preview of a string, number or
 * boolean. Arrays and objects are never walked (an array's length is read, nothing else).
 */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array (${v.length} ${v.length === 1 ? "entry" : "entries"})`;
  switch (typeof v) {
    case "string":
      return `the string ${quote(v, 40)}`;
    case "number":
      return `the number ${String(v)}`;
    case "boolean":
      return `the boolean ${v}`;
    case "undefined":
      return "nothing";
    case "object":
      return "an object";
    default:
      return `a ${typeof v}`;
  }
}

/** What scanJson finds: whether the text nests too deep, and about how many values it holds. */
export interface JsonShape {
  tooDeep: boolean;
  /**
   * Arrays, objects and separators outside strings, plus one: at least the number of values the
   * parse makes (each costs tens of bytes of heap, however short its text).
   */
  values: number;
}

/**
 * One pass over the JSON text in `bytes` (UTF-8) before it is parsed: does it nest arrays and
 * objects deeper than `maxDepth`, and how many values does it hold? Strings are skipped with their
 * escapes; the text need not be valid JSON (JSON.parse judges that after). No allocation: a 32 MiB
 * body takes tens of milliseconds.
 */
export function scanJson(bytes: Uint8Array, maxDepth: number): JsonShape {
  let depth = 0;
  let values = 1;
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === 0x22) {
      // A string: to its closing quote (a backslash escapes the next byte).
      for (i++; i < n; i++) {
        const c = bytes[i];
        if (c === 0x5c) i++;
        else if (c === 0x22) break;
      }
    } else if (b === 0x5b || b === 0x7b) {
      values++;
      if (++depth > maxDepth) return { tooDeep: true, values };
    } else if (b === 0x5d || b === 0x7d) depth--;
    else if (b === 0x2c) values++;
  }
  return { tooDeep: false, values };
}

/**
 * scanJson for a JavaScript string (a JSON label inside a parsed body): its UTF-8 bytes carry the
 * same structural bytes (multi-byte sequences never contain `"`, `\\`, brackets or commas).
 */
export function scanJsonText(text: string, maxDepth: number): JsonShape {
  return scanJson(Buffer.from(text, "utf8"), maxDepth);
}
