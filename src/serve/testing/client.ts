/**
 * Helpers shared by the service's tests and its load benchmark: a raw HTTP client, completions made
 * from gold traces with deliberate faults, and the malformed requests of the fuzz pass.
 */
import { type Agent, request } from "node:http";
import { connect } from "node:net";
import { Rng } from "../../util/rng.js";
import type { Problem } from "../../world/types.js";

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

/**
 * Bytes written straight on a TCP connection (for what node:http's client will not send: CONNECT,
 * malformed request lines, lower-case methods). Resolves with the first response on the wire
 * (status 0 and empty text when the server closed, or stayed silent for `waitMs`, without a byte).
 */
export function rawSocket(port: number, data: string | Buffer, waitMs = 5000): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let got = Buffer.alloc(0);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const all = got.toString("latin1");
      const head = all.indexOf("\r\n\r\n");
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(all)?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of all
        .slice(0, head < 0 ? all.length : head)
        .split("\r\n")
        .slice(1)) {
        const at = line.indexOf(":");
        if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
      }
      const text =
        head < 0 ? "" : got.subarray(Buffer.byteLength(all.slice(0, head + 4), "latin1")).toString("utf8");
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        json = null;
      }
      resolve({ status, headers, json, text });
    };
    const timer = setTimeout(finish, waitMs);
    socket.on("data", (c: Buffer) => {
      got = Buffer.concat([got, c]);
      const all = got.toString("latin1");
      const head = all.indexOf("\r\n\r\n");
      if (head < 0) return;
      const len = /\r\ncontent-length: *(\d+)/i.exec(all.slice(0, head));
      if (len && got.length >= head + 4 + Number(len[1])) finish();
    });
    socket.on("error", finish);
    socket.on("close", finish);
    socket.write(data);
  });
}

/** Shapes of bigBody. */
export type BodyShape = "completion" | "batch" | "values";

/**
 * A JSON body for /v1/reward of exactly `bytes` bytes: one completion of about that many characters
 * ("completion", over the default 1M-character limit when large); a batch of items whose
 * completions share the bytes ("batch": at most `maxBatch` items, each scored); or `bytes / 16`
 * tiny values in an unknown field, the rest a string ("values": the most values a body may hold at
 * the default maxJsonValues, the costliest parse allowed).
 */
export function bigBody(
  bytes: number,
  gold: string,
  kind: BodyShape = "completion",
  maxBatch = 8192,
): Buffer {
  const g = JSON.stringify(gold);
  if (kind === "values") {
    const values = Math.floor(bytes / 16) - 8;
    const head = `{"completion":"x","gold":${g},"pad":[${"0,".repeat(values)}0],"fill":"`;
    const body = Buffer.alloc(bytes, "x");
    body.write(head, 0, "latin1");
    body.write('"}', bytes - 2, "latin1");
    return body;
  }
  if (kind === "completion") {
    const head = '{"completion":"';
    const tail = `","gold":${g}}`;
    const body = Buffer.alloc(bytes, "x");
    body.write(head, 0, "latin1");
    body.write(tail, bytes - tail.length, "latin1");
    return body;
  }
  const wrap = 12; // {"items":[ ... ]}
  const per = Math.max(64, Math.ceil((bytes - wrap) / maxBatch));
  const n = Math.min(maxBatch, Math.floor((bytes - wrap) / per));
  const itemHead = '{"completion":"';
  const itemTail = `","gold":${g}}`;
  const fill = per - 1 - itemHead.length - itemTail.length; // 1 for the comma
  const items = Array.from(
    { length: n },
    () => `${itemHead}${"Define x as X; so X = 2. ".repeat(Math.ceil(fill / 25)).slice(0, fill)}${itemTail}`,
  );
  const text = `{"items":[${items.join(",")}]}`;
  const body = Buffer.alloc(bytes, " ");
  body.write(text, 0, "latin1");
  return body;
}

/**
 * `clients` concurrent POSTs to /v1/reward, each a `bytes`-long JSON body (bigBody, with a
 * Content-Length), on fresh connections; resolves with each one's status (0 when the connection
 * failed) and Retry-After.
 */
export async function flood(
  port: number,
  opts: { clients: number; bytes: number; gold: string; path?: string; kind?: BodyShape },
): Promise<{ status: number; retryAfter?: string; error?: string }[]> {
  const body = bigBody(opts.bytes, opts.gold, opts.kind);
  const one = () =>
    new Promise<{ status: number; retryAfter?: string; error?: string }>((resolve) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: opts.path ?? "/v1/reward",
          agent: false,
          headers: { "content-type": "application/json", "content-length": body.length },
        },
        (res) => {
          res.resume();
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              retryAfter: res.headers["retry-after"] as string | undefined,
            }),
          );
          res.on("error", (e) => resolve({ status: res.statusCode ?? 0, error: e.message }));
        },
      );
      req.on("error", (e) => resolve({ status: 0, error: e.message }));
      req.end(body);
    });
  return Promise.all(Array.from({ length: opts.clients }, one));
}

/** A uniform stream in [0, 1) from the project's one seeded generator (util/rng). */
export function prng(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
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

/** One request of the fuzz pass: through node:http, or (`wire`) as raw bytes on a socket. */
export interface FuzzCase {
  name: string;
  method?: string;
  path?: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
  /** Sent as-is on a fresh TCP connection instead (rawSocket). */
  wire?: string | Buffer;
}

/** Sends one fuzz case. */
export function sendFuzz(port: number, c: FuzzCase): Promise<RawResponse> {
  return c.wire !== undefined ? rawSocket(port, c.wire) : raw(port, c);
}

/** `depth` arrays nested around `inner` ("[[[…]]]"). */
export function nestedArrays(depth: number, inner = ""): string {
  return `${"[".repeat(depth)}${inner}${"]".repeat(depth)}`;
}

/** `depth` objects nested around `inner` ({"a":{"a":…}}). */
export function nestedObjects(depth: number, inner = "1"): string {
  return `${'{"a":'.repeat(depth)}${inner}${"}".repeat(depth)}`;
}

/** Malformed or hostile requests of the fuzz pass: each must get a 4xx with a short JSON error. */
export function fuzzCases(goldId: string, maxBody: number): FuzzCase[] {
  const big = "x".repeat(maxBody + 10);
  const g = JSON.stringify(goldId);
  const deepObj = nestedObjects(6000);
  const long = "k".repeat(Math.min(100_000, Math.floor(maxBody / 3)));
  const single = (extra: string) => ({ path: "/v1/reward", body: `{"completion":"x","gold":${g},${extra}}` });
  const batch = (extra: string) => ({
    path: "/v1/reward",
    body: `{"items":[{"completion":"x","gold":${g}}],${extra}}`,
  });
  const openrlhf = (extra: string) => ({
    path: "/get_reward",
    body: `{"query":["x"],"labels":[${g}],${extra}}`,
  });
  const wire = (head: string, body = "") =>
    `${head}\r\nhost: 127.0.0.1\r\n${body ? `content-length: ${Buffer.byteLength(body)}\r\ncontent-type: application/json\r\n` : ""}\r\n${body}`;
  // Options of a wrong type or value, on each endpoint (body) and as query parameters.
  const badOptions: [string, string][] = [
    ["alpha", '"0x1"'],
    ["alpha", '" 1 "'],
    ["alpha", '"1"'],
    ["alpha", '"0.5"'],
    ["alpha", '"Infinity"'],
    ["alpha", '"NaN"'],
    ["alpha", "true"],
    ["alpha", "null"],
    ["alpha", "[0.5]"],
    ["alpha", '{"value":0.5}'],
    ["alpha", "-0.1"],
    ["alpha", "1.5"],
    ["alpha", "1e400"],
    ["reward", "null"],
    ["reward", '["strict"]'],
    ["reward", '"STRICT"'],
    ["reward", "1"],
    ["form", '"Gated"'],
    ["form", "{}"],
    ["form", "false"],
    ["allowExtra", '"true"'],
    ["allowExtra", "1"],
    ["allowExtra", "null"],
    ["allowSlips", '"false"'],
    ["allowSlips", "[]"],
    ["allowSlips", '{"on":true}'],
  ];
  const badQueries = [
    "alpha=0x1",
    "alpha=%201%20",
    "alpha=",
    "alpha=Infinity",
    "alpha=NaN",
    "alpha=1,5",
    "alpha=0.1&alpha=0.2",
    "allowExtra=1",
    "allowExtra=True",
    "allowSlips=yes",
    "reward=",
    "form=GATED",
    `${"q".repeat(4000)}=1`,
  ];
  return [
    { name: "not JSON", path: "/v1/reward", body: "{completion: nope" },
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
    // Nesting in every place of a request, past the depth limit (6,000: the issue's case) and under
    // it (60: the value reaches the option and type checks, which must not serialise it).
    ...[6000, 3000, 60].flatMap((d) => [
      { name: `reward nested ${d} deep`, ...single(`"reward":${nestedArrays(d, "1")}`) },
      { name: `alpha as objects nested ${d} deep`, ...single(`"alpha":${nestedObjects(d)}`) },
      { name: `form nested ${d} deep on /get_reward`, ...openrlhf(`"form":${nestedArrays(d, '"gated"')}`) },
      {
        name: `allowExtra nested ${d} deep in a batch`,
        ...batch(`"allowSlips":${nestedObjects(d, "true")}`),
      },
      {
        name: `completion nested ${d} deep`,
        path: "/v1/reward",
        body: `{"completion":${nestedArrays(d)},"gold":${g}}`,
      },
      {
        name: `gold objects nested ${d} deep`,
        path: "/v1/reward",
        body: `{"completion":"x","gold":${nestedObjects(d)}}`,
      },
      { name: `unknown key nested ${d} deep`, ...single(`"extra":${nestedObjects(d)}`) },
      { name: `batch item nested ${d} deep`, path: "/v1/reward", body: `{"items":[${nestedArrays(d)}]}` },
      {
        name: `batch gold nested ${d} deep`,
        path: "/v1/reward",
        body: `{"items":[{"completion":"x","gold":{"graph":${nestedObjects(d)},"answer":"1"}}]}`,
      },
      { name: `items nested ${d} deep`, path: "/v1/reward", body: `{"items":${nestedObjects(d)}}` },
      {
        name: `label nested ${d} deep`,
        path: "/get_reward",
        body: `{"query":["x"],"labels":[${nestedArrays(d)}]}`,
      },
      {
        name: `label JSON text nested ${d} deep`,
        path: "/get_reward",
        body: JSON.stringify({ query: ["x"], labels: [`{"graph":${nestedObjects(d)}}`] }),
      },
      {
        name: `query entry nested ${d} deep`,
        path: "/get_reward",
        body: `{"query":[${nestedArrays(d)}],"labels":[${g}]}`,
      },
      { name: `prompts nested ${d} deep`, ...openrlhf(`"prompts":${nestedObjects(d)}`) },
      {
        name: `graph node nested ${d} deep`,
        ...single(`"x":1`),
        body: `{"completion":"x","gold":{"graph":{"nodes":[${nestedArrays(d)}]},"answer":"1"}}`,
      },
    ]),
    { name: "body of unclosed brackets", path: "/v1/reward", body: "[".repeat(Math.floor(maxBody / 2)) },
    { name: "deep objects body", path: "/get_reward", body: deepObj },
    // Many tiny values (each a few bytes of text, tens of bytes once parsed): refused before the parse.
    {
      name: "a quarter of the body limit in tiny values",
      ...single(`"pad":[${"0,".repeat(Math.floor(maxBody / 4))}0]`),
    },
    {
      name: "a JSON label of tiny values",
      path: "/get_reward",
      body: JSON.stringify({
        query: ["x"],
        labels: [`{"graph":{"nodes":[${"0,".repeat(Math.floor(maxBody / 4))}0]}}`],
      }),
    },
    // Options of the wrong type on every endpoint, and as query parameters.
    ...badOptions.flatMap(([k, v]) => [
      { name: `${k}: ${v} (single)`, ...single(`"${k}":${v}`) },
      { name: `${k}: ${v} (batch)`, ...batch(`"${k}":${v}`) },
      { name: `${k}: ${v} (/get_reward)`, ...openrlhf(`"${k}":${v}`) },
    ]),
    ...badQueries.flatMap((q) => [
      {
        name: `query ${q.slice(0, 30)} (/v1/reward)`,
        path: `/v1/reward?${q}`,
        body: `{"completion":"x","gold":${g}}`,
      },
      {
        name: `query ${q.slice(0, 30)} (/get_reward)`,
        path: `/get_reward?${q}`,
        body: `{"query":["x"],"labels":[${g}]}`,
      },
    ]),
    // Long client text in the places an error message names it.
    { name: "long unknown key", ...single(`"${long}":1`) },
    {
      name: "long unknown item key",
      ...batch(`"x":1`),
      body: `{"items":[{"completion":"x","gold":${g},"${long}":1}]}`,
    },
    { name: "long path", method: "GET", path: `/${"p".repeat(8000)}` },
    {
      name: "long content type",
      path: "/v1/reward",
      headers: { "content-type": `text/${"h".repeat(4000)}` },
      body: "{}",
    },
    {
      name: "long context in a key",
      ...single(`"x":1`),
      body: JSON.stringify({
        completion: "x",
        gold: { seed: 1, index: 0, op: 3, context: long, mode: "forward" },
      }),
    },
    {
      name: "long parent name",
      path: "/v1/reward",
      body: JSON.stringify({
        completion: "x",
        gold: { graph: { nodes: [{ name: "a", value: 1, parents: [long] }] }, answer: "1" },
      }),
    },
    {
      name: "long bad JSON label",
      path: "/get_reward",
      body: JSON.stringify({ query: ["x"], labels: [`{${long}`] }),
    },
    {
      name: "long id in an object",
      ...single(`"x":1`),
      body: JSON.stringify({ completion: "x", gold: { id: long } }),
    },
    { name: "long string for reward", ...single(`"reward":"${long}"`) },
    { name: "control characters in a key", ...single(`"\\u0000\\u001b[31m":1`) },
    {
      name: "many unknown keys",
      path: "/v1/reward",
      body: `{"completion":"x","gold":${g},${Array.from({ length: 5000 }, (_, i) => `"k${i}":${i}`).join(",")}}`,
    },
    // Methods and request targets: 405 with Allow, or 400 for what the parser refuses; never a silent close.
    { name: "CONNECT, authority form", wire: "CONNECT 127.0.0.1:22 HTTP/1.1\r\nhost: 127.0.0.1:22\r\n\r\n" },
    { name: "CONNECT with a path", wire: wire("CONNECT /v1/reward HTTP/1.1") },
    { name: "TRACE", wire: wire("TRACE / HTTP/1.1") },
    { name: "TRACE with a body", wire: wire("TRACE /v1/reward HTTP/1.1", "{}") },
    { name: "OPTIONS *", wire: wire("OPTIONS * HTTP/1.1") },
    { name: "OPTIONS on the reward endpoint", method: "OPTIONS", path: "/v1/reward" },
    { name: "PUT on the reward endpoint", method: "PUT", path: "/v1/reward", body: "{}" },
    { name: "PATCH on healthz", method: "PATCH", path: "/healthz", body: "{}" },
    { name: "PROPFIND on an unknown path", wire: wire("PROPFIND /nowhere HTTP/1.1") },
    { name: "made-up method", wire: wire("FROB /v1/reward HTTP/1.1") },
    { name: "lower-case get", wire: wire("get /healthz HTTP/1.1") },
    { name: "lower-case post", wire: wire("post /v1/reward HTTP/1.1", "{}") },
    { name: "absolute form, bad body", wire: wire("POST http://127.0.0.1/v1/reward HTTP/1.1", "[1]") },
    { name: "authority form with GET", wire: wire("GET example.com:80 HTTP/1.1") },
    { name: "asterisk form with GET", wire: wire("GET * HTTP/1.1") },
    { name: "unparsable URL", wire: wire("GET //h:99999/x HTTP/1.1") },
    { name: "garbage request line", wire: "\u0000\u0001 nonsense\r\n\r\n" },
    { name: "HTTP/2 preface", wire: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" },
    {
      name: "Expect 100-continue on GET-only path",
      wire: "POST /healthz HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 2\r\n\r\n",
    },
    {
      name: "Expect 100-continue with a non-JSON type",
      wire: "POST /v1/reward HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-type: text/html\r\ncontent-length: 2\r\n\r\n",
    },
    {
      name: "Expect 100-continue with a bad query",
      wire: "POST /v1/reward?alpha=0x1 HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 2\r\n\r\n",
    },
    {
      name: "Expect something else",
      wire: "POST /v1/reward HTTP/1.1\r\nhost: x\r\nexpect: 200-ok\r\ncontent-length: 2\r\n\r\n{}",
    },
    {
      name: "websocket upgrade on the reward endpoint",
      wire: "GET /v1/reward HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n",
    },
    {
      name: "h2c upgrade with a bad body",
      wire: wire(
        "POST /v1/reward HTTP/1.1\r\nconnection: upgrade, http2-settings\r\nupgrade: h2c\r\nhttp2-settings: AAA",
        "[]",
      ),
    },
  ];
}
