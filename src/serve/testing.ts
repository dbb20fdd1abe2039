/**
 * Helpers shared by the service's tests and its load benchmark: a raw HTTP client, completions made
 * from gold traces with deliberate faults, and the malformed requests of the fuzz pass.
 */
import { type Agent, request } from "node:http";
import type { Problem } from "../world/types.js";

/** A response: status and parsed JSON body (null when the body is not JSON). */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: unknown;
  text: string;
}

/** One request on loopback; the body goes as given (bytes are not re-encoded). */
export function raw(
  port: number,
  opts: {
    method?: string;
    path?: string;
    headers?: Record<string, string | number>;
    body?: string | Buffer;
    agent?: Agent;
    host?: string;
  } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const body =
      opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
    const headers: Record<string, string | number> = { ...(opts.headers ?? {}) };
    if (body && headers["content-length"] === undefined && headers["transfer-encoding"] === undefined)
      headers["content-length"] = body.length;
    if (body && headers["content-type"] === undefined) headers["content-type"] = "application/json";
    const req = request(
      {
        host: opts.host ?? "127.0.0.1",
        port,
        method: opts.method ?? (body ? "POST" : "GET"),
        path: opts.path ?? "/",
        headers,
        agent: opts.agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown = null;
          try {
            json = JSON.parse(text);
          } catch {
            json = null;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json, text });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (body) req.end(body);
    else req.end();
  });
}

/** A small deterministic generator (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Kinds of faulty completions made from a gold one. */
export const FAULTS = [
  "gold",
  "dropStep",
  "wrongAnswer",
  "wrongNumber",
  "writtenResult",
  "truncated",
  "extraStep",
  "swapLetters",
  "garbage",
  "fullText",
] as const;

/** A completion of `p` with fault `kind` (deterministic given `rnd`). */
export function faultyCompletion(p: Problem, kind: (typeof FAULTS)[number], rnd: () => number): string {
  const c = p.completion;
  const steps = [...c.matchAll(/Define [^;]*;/g)].map((m) => m.index!);
  const pick = (n: number) => Math.floor(rnd() * n);
  switch (kind) {
    case "gold":
      return c;
    case "dropStep": {
      const k = pick(steps.length);
      const end = k + 1 < steps.length ? steps[k + 1] : c.search(/ (We know|<\/solution>)/);
      return c.slice(0, steps[k]) + c.slice(end < 0 ? c.length : end);
    }
    case "wrongAnswer":
      return c.replace(
        /<answer> (\S+) <\/answer>/,
        (_, a) => `<answer> ${Number(a) + 1 + pick(3)} </answer>`,
      );
    case "wrongNumber": {
      const nums = [...c.matchAll(/= (\d+)/g)];
      if (nums.length === 0) return c;
      const m = nums[pick(nums.length)];
      const at = m.index! + 2;
      return c.slice(0, at) + String(Number(m[1]) + 1 + pick(5)) + c.slice(at + m[1].length);
    }
    case "writtenResult": {
      // The written result of an equation with operands changed (`= 3 + 2 = 12`): an arithmetic slip.
      const results = [...c.matchAll(/ = [^=;.]+ = (\d+)[;.]/g)];
      if (results.length === 0) return c;
      const m = results[pick(results.length)];
      const at = m.index! + m[0].length - 1 - m[1].length;
      return c.slice(0, at) + String(Number(m[1]) + 1 + pick(5)) + c.slice(at + m[1].length);
    }
    case "truncated":
      return c.slice(0, Math.max(1, Math.floor(c.length * (0.2 + 0.6 * rnd()))));
    case "extraStep": {
      const at = steps[pick(steps.length)];
      return `${c.slice(0, at)}Define imaginary toad in Nowhere as Q9; so Q9 = ${pick(20)}. ${c.slice(at)}`;
    }
    case "swapLetters": {
      const vars = [...new Set([...c.matchAll(/ as (\w+);/g)].map((m) => m[1]))];
      if (vars.length < 2) return c;
      const a = vars[pick(vars.length)];
      const b = vars[(vars.indexOf(a) + 1) % vars.length];
      const re = new RegExp(`\\b(${a}|${b})\\b(?! =)`, "g");
      return c.replace(re, (v) => (v === a ? b : a));
    }
    case "garbage":
      return ["", "I don't know.", "<answer> 3 </answer>", "Define ; = = ;;; Answer: ", "\u0000\uffff😀"][
        pick(5)
      ];
    case "fullText":
      return p.prompt + c;
  }
}

/** Malformed or hostile requests of the fuzz pass: each must get a 4xx. */
export function fuzzCases(
  goldId: string,
  maxBody: number,
): {
  name: string;
  method?: string;
  path?: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
}[] {
  const big = "x".repeat(maxBody + 10);
  return [
    { name: "not JSON", path: "/v1/reward", body: "{completion: nope" },
    { name: "truncated JSON", path: "/v1/reward", body: '{"completion": "abc", "gold": "' },
    { name: "empty body", path: "/v1/reward", body: "" },
    { name: "JSON null", path: "/v1/reward", body: "null" },
    { name: "JSON array", path: "/v1/reward", body: "[1,2,3]" },
    { name: "JSON number", path: "/get_reward", body: "42" },
    { name: "non-UTF-8 bytes", path: "/v1/reward", body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) },
    { name: "lone surrogate bytes", path: "/v1/reward", body: Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]) },
    {
      name: "completion not a string",
      path: "/v1/reward",
      body: JSON.stringify({ completion: 5, gold: goldId }),
    },
    { name: "gold missing", path: "/v1/reward", body: JSON.stringify({ completion: "x" }) },
    { name: "gold a number", path: "/v1/reward", body: JSON.stringify({ completion: "x", gold: 7 }) },
    {
      name: "unknown id",
      path: "/v1/reward",
      body: JSON.stringify({ completion: "x", gold: "no-such-problem" }),
    },
    {
      name: "id with bad context",
      path: "/v1/reward",
      body: JSON.stringify({ completion: "x", gold: "mars-f-op3-s1-i0" }),
    },
    {
      name: "id with op out of range",
      path: "/v1/reward",
      body: JSON.stringify({ completion: "x", gold: "zoo-f-op99-s1-i0" }),
    },
    {
      name: "huge id",
      path: "/v1/reward",
      body: JSON.stringify({ completion: "x", gold: "z".repeat(5000) }),
    },
    {
      name: "graph without nodes",
      path: "/v1/reward",
      body: JSON.stringify({ completion: "x", gold: { graph: {}, answer: "1" } }),
    },
    {
      name: "graph node value a string",
      path: "/v1/reward",
      body: JSON.stringify({
        completion: "x",
        gold: { graph: { nodes: [{ name: "a", value: "1", parents: [] }] }, answer: "1" },
      }),
    },
    {
      name: "graph parent unknown",
      path: "/v1/reward",
      body: JSON.stringify({
        completion: "x",
        gold: { graph: { nodes: [{ name: "a", value: 1, parents: ["b"] }] }, answer: "1" },
      }),
    },
    {
      name: "graph bad expr",
      path: "/v1/reward",
      body: JSON.stringify({
        completion: "x",
        gold: { graph: { nodes: [{ name: "a", value: 1, parents: [], expr: "((" }] }, answer: "1" },
      }),
    },
    {
      name: "graph without answer",
      path: "/v1/reward",
      body: JSON.stringify({
        completion: "x",
        gold: { graph: { nodes: [{ name: "a", value: 1, parents: [] }] } },
      }),
    },
    {
      name: "key with bad mode",
      path: "/v1/reward",
      body: JSON.stringify({
        completion: "x",
        gold: { seed: 1, index: 0, op: 3, context: "zoo", mode: "sideways" },
      }),
    },
    {
      name: "key with negative seed",
      path: "/v1/reward",
      body: JSON.stringify({
        completion: "x",
        gold: { seed: -1, index: 0, op: 3, context: "zoo", mode: "forward" },
      }),
    },
    {
      name: "unknown reward",
      path: "/v1/reward",
      body: JSON.stringify({ completion: "x", gold: goldId, reward: "vibes" }),
    },
    {
      name: "alpha out of range",
      path: "/v1/reward",
      body: JSON.stringify({ completion: "x", gold: goldId, alpha: 3 }),
    },
    {
      name: "alpha a string",
      path: "/v1/reward",
      body: JSON.stringify({ completion: "x", gold: goldId, alpha: "high" }),
    },
    {
      name: "unknown field",
      path: "/v1/reward",
      body: JSON.stringify({ completion: "x", gold: goldId, temperature: 1 }),
    },
    { name: "items not an array", path: "/v1/reward", body: JSON.stringify({ items: { completion: "x" } }) },
    { name: "items empty", path: "/v1/reward", body: JSON.stringify({ items: [] }) },
    { name: "item not an object", path: "/v1/reward", body: JSON.stringify({ items: ["x"] }) },
    {
      name: "one bad item among good",
      path: "/v1/reward",
      body: JSON.stringify({
        items: [
          { completion: "x", gold: goldId },
          { completion: "y", gold: "nope" },
        ],
      }),
    },
    {
      name: "openrlhf without labels",
      path: "/get_reward",
      body: JSON.stringify({ query: ["x"], prompts: [""] }),
    },
    {
      name: "openrlhf label count",
      path: "/get_reward",
      body: JSON.stringify({ query: ["x", "y"], labels: [goldId] }),
    },
    {
      name: "openrlhf query not strings",
      path: "/get_reward",
      body: JSON.stringify({ query: [1], labels: [goldId] }),
    },
    {
      name: "openrlhf bad JSON label",
      path: "/get_reward",
      body: JSON.stringify({ query: ["x"], labels: ["{nope"] }),
    },
    {
      name: "openrlhf prompts wrong type",
      path: "/get_reward",
      body: JSON.stringify({ query: ["x"], labels: [goldId], prompts: "p" }),
    },
    { name: "oversized body", path: "/v1/reward", body: JSON.stringify({ completion: big, gold: goldId }) },
    {
      name: "oversized, chunked",
      path: "/v1/reward",
      headers: { "transfer-encoding": "chunked" },
      body: JSON.stringify({ completion: big, gold: goldId }),
    },
    {
      name: "form content type",
      path: "/v1/reward",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "a=b",
    },
    {
      name: "unknown query parameter",
      path: "/v1/reward?rewrd=strict",
      body: JSON.stringify({ completion: "x", gold: goldId }),
    },
    {
      name: "bad query alpha",
      path: "/get_reward?alpha=-1",
      body: JSON.stringify({ query: ["x"], labels: [goldId] }),
    },
    { name: "GET on the reward endpoint", method: "GET", path: "/v1/reward" },
    { name: "DELETE on healthz", method: "DELETE", path: "/healthz" },
    { name: "unknown path", path: "/v2/everything", body: "{}" },
    { name: "path traversal", method: "GET", path: "/../../etc/passwd" },
    { name: "deep nesting", path: "/v1/reward", body: `${"[".repeat(50_000)}${"]".repeat(50_000)}` },
    {
      name: "deep nesting in gold",
      path: "/v1/reward",
      body: `{"completion":"x","gold":${"[".repeat(10_000)}${"]".repeat(10_000)}}`,
    },
  ];
}
