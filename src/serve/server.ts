/**
 * The reward service (shared/spec/interop.md, "Reward service"): a stateless HTTP server over
 * node:http that scores completions with the lab's verifier.
 *
 *   POST /v1/reward    {completion, gold, reward?, alpha?, form?, allowExtra?, allowSlips?}
 *                      or {items: [{completion, gold}, ...], ...options} → {results: [...]}
 *   POST /get_reward   OpenRLHF: {query, prompts, labels} → {rewards, scores, extra_logs}
 *   GET  /healthz      liveness, counters and memory
 *   GET  /             what the service accepts
 *
 * Bad input (malformed or too deeply nested JSON, non-UTF-8, wrong types, unknown ids, oversized
 * bodies or batches, wrong methods, CONNECT) is answered with a 4xx and a JSON `{error, code,
 * status}` whose message describes client values boundedly (input.ts); nothing a client sends can
 * stop the process or earn a 500. Memory is bounded: request bodies in flight together hold at most
 * `maxInflightBytes` (a request that does not fit is answered 503 with Retry-After), open
 * connections are capped, and every response must be delivered within the request timeout.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { VERSION } from "../util/version.js";
import { REWARD_NAMES } from "../verify/index.js";
import { GoldResolver, type ResolverOptions } from "./gold.js";
import { clip, MAX_JSON_DEPTH, quote, scanJson } from "./input.js";
import {
  type ContentLimits,
  DEFAULT_SCORE_OPTIONS,
  nativeReward,
  openRlhfReward,
  RequestError,
  readOptions,
  type ScoreOptions,
} from "./score.js";

/** Options of createRewardServer. */
export interface RewardServerOptions extends ResolverOptions {
  /** A resolver to share (otherwise one is made from `problems`, `regenerate`, `cacheSize`). */
  resolver?: GoldResolver;
  /** Server-wide scoring defaults (a request may override them). */
  defaults?: Partial<ScoreOptions>;
  /** Largest request body in bytes (default 32 MiB). */
  maxBodyBytes?: number;
  /**
   * Request body bytes all requests in flight may hold together, from their first byte to the end
   * of their response, plus the bytes of responses not yet delivered (default 2 × maxBodyBytes,
   * 64 MiB; at least maxBodyBytes). A request whose declared Content-Length does not fit is answered
   * 503 with Retry-After before its body is read; a chunked one, as soon as a chunk does not fit.
   */
  maxInflightBytes?: number;
  /** Open connections at most (default 1024); beyond it Node closes new connections on accept. */
  maxConnections?: number;
  /** Most completions in one request (default 8192). */
  maxBatch?: number;
  /** Longest completion in characters (default 1,000,000). */
  maxCompletionChars?: number;
  /**
   * Most JSON values (arrays, objects and the items they separate) in one body, and again in all
   * of a request's JSON labels (default maxBodyBytes / 16: 2,097,152 at 32 MiB; a batch of 8,192
   * items with embedded 20-node graphs has about 1.3M). Each parsed value costs tens of bytes
   * however short its text, so this bounds what a body becomes in memory.
   */
  maxJsonValues?: number;
  /** Time allowed to receive a whole request, and again to deliver its response, ms (default 30,000). */
  requestTimeoutMs?: number;
  /** Where to log server errors (default: nowhere). */
  log?: (line: string) => void;
}

/** Counters of a running server. */
export interface ServerStats {
  requests: number;
  /** Responses per status code. */
  byStatus: Record<string, number>;
  /** Completions scored. */
  scored: number;
  inflight: number;
  /** Bytes held by requests in flight (bodies and undelivered responses), against maxInflightBytes. */
  inflightBytes: number;
  /** Open connections. */
  connections: number;
  /** Connections Node closed on accept because maxConnections were open. */
  droppedConnections: number;
  startedAt: number;
}

/** The HTTP server with its counters and a graceful shutdown. */
export interface RewardServer extends Server {
  /** Stops accepting, lets requests in flight finish (at most `graceMs`, default 10 s), then closes. */
  shutdown(graceMs?: number): Promise<void>;
  stats(): ServerStats;
  readonly resolver: GoldResolver;
}

const JSON_TYPES = /^(application\/([\w.+-]*\+)?json|text\/plain)\s*(;|$)/i;
const QUERY_KEYS = new Set(["reward", "alpha", "form", "allowExtra", "allowSlips"]);
/** The methods each path answers; any other method is a 405 with `Allow`. */
const ROUTES = new Map<string, readonly string[]>([
  ["/", ["GET", "HEAD"]],
  ["/v1", ["GET", "HEAD"]],
  ["/healthz", ["GET", "HEAD"]],
  ["/v1/reward", ["POST"]],
  ["/get_reward", ["POST"]],
]);
const METHODS = new Set(["GET", "HEAD", "POST"]);
const ENDPOINTS = "POST /v1/reward, POST /get_reward, GET /healthz";
const REASONS: Record<number, string> = {
  400: "Bad Request",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  417: "Expectation Failed",
  431: "Request Header Fields Too Large",
  503: "Service Unavailable",
};

/** What one request in flight holds against the budget. */
interface Lease {
  held: number;
}

/** Creates the reward service (not yet listening): `createRewardServer(opts).listen(port)`. */
export function createRewardServer(opts: RewardServerOptions = {}): RewardServer {
  const resolver = opts.resolver ?? new GoldResolver(opts);
  const base = readOptions(
    (opts.defaults ?? {}) as Record<string, unknown>,
    { ...DEFAULT_SCORE_OPTIONS },
    "default ",
  );
  const maxBody = opts.maxBodyBytes ?? 32 * 1024 * 1024;
  const maxInflight = opts.maxInflightBytes ?? 2 * maxBody;
  const maxConnections = opts.maxConnections ?? 1024;
  const limits: ContentLimits = {
    maxBatch: opts.maxBatch ?? 8192,
    maxCompletionChars: opts.maxCompletionChars ?? 1_000_000,
    maxJsonValues: opts.maxJsonValues ?? Math.max(65_536, Math.floor(maxBody / 16)),
  };
  const requestTimeout = opts.requestTimeoutMs ?? 30_000;
  for (const [k, v] of [
    ["maxBodyBytes", maxBody],
    ["maxInflightBytes", maxInflight],
    ["maxConnections", maxConnections],
    ["maxBatch", limits.maxBatch],
    ["maxCompletionChars", limits.maxCompletionChars],
    ["maxJsonValues", limits.maxJsonValues],
    ["requestTimeoutMs", requestTimeout],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${k} must be a positive integer, got ${v}`);
  }
  if (maxInflight < maxBody)
    throw new RangeError(
      `maxInflightBytes (${maxInflight}) must be at least maxBodyBytes (${maxBody}), or no full-size body could ever be read`,
    );
  /**
   * After an error, this much more of a body is read (and discarded) before the answer goes out, so
   * that closing the connection does not reset it under the answer; beyond it the answer goes at
   * once and the connection is closed.
   */
  const drainCap = Math.max(4 * maxBody, maxBody + 16 * 1024 * 1024);
  const stats: ServerStats = {
    requests: 0,
    byStatus: {},
    scored: 0,
    inflight: 0,
    inflightBytes: 0,
    connections: 0,
    droppedConnections: 0,
    startedAt: Date.now(),
  };
  let draining = false;
  const log = opts.log ?? (() => {});
  const count = (status: number) => {
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
  };

  /** Takes `n` bytes of the budget for `lease`, or says it does not fit. */
  const take = (lease: Lease, n: number): boolean => {
    if (stats.inflightBytes + n > maxInflight) return false;
    stats.inflightBytes += n;
    lease.held += n;
    return true;
  };
  const release = (lease: Lease) => {
    stats.inflightBytes -= lease.held;
    lease.held = 0;
  };
  const busy = (needed: number) =>
    new RequestError(
      503,
      "busy",
      `the service holds ${stats.inflightBytes} of its ${maxInflight} in-flight bytes and cannot take ${needed} more; retry shortly`,
      { "retry-after": "1" },
    );

  const send = (res: ServerResponse, status: number, body: unknown, lease?: Lease) => {
    const text = JSON.stringify(body);
    count(status);
    if (res.headersSent || res.destroyed) return;
    const bytes = Buffer.byteLength(text);
    res.statusCode = status;
    res.setHeader("content-type", "application/json; charset=utf-8");
    res.setHeader("content-length", bytes);
    res.setHeader("cache-control", "no-store");
    if (draining) res.setHeader("connection", "close");
    // An undelivered response is held memory too: the budget counts it until it is out.
    if (lease && bytes > lease.held) {
      stats.inflightBytes += bytes - lease.held;
      lease.held = bytes;
    }
    res.end(text);
    if (!res.writableFinished) {
      // A client that does not read its response must not hold it (and the budget) for ever.
      const timer = setTimeout(() => res.destroy(), requestTimeout);
      timer.unref();
      res.once("close", () => clearTimeout(timer));
    }
  };
  const sendError = (res: ServerResponse, e: RequestError, lease?: Lease) => {
    if (!res.headersSent) for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
    send(res, e.status, { error: clip(e.message, 600), code: e.code, status: e.status }, lease);
  };

  /**
   * Reads and discards the rest of a body; resolves true once it has all come, false when the
   * connection went away or drainCap more bytes came (then reading stops: the caller answers and
   * closes).
   */
  const drain = (req: IncomingMessage): Promise<boolean> =>
    new Promise((resolve) => {
      if (req.complete) return resolve(true);
      if (req.destroyed) return resolve(false);
      let size = 0;
      const onData = (c: Buffer) => {
        size += c.length;
        if (size > drainCap) {
          req.off("data", onData);
          req.pause();
          resolve(false);
        }
      };
      req.on("data", onData);
      req.once("end", () => resolve(true));
      req.once("close", () => resolve(req.complete));
      req.resume();
    });

  /**
   * Reads the body. With a Content-Length (already taken from the budget) the bytes go straight into
   * one buffer of that size; a chunked body takes its bytes from the budget as they arrive. Over
   * maxBody → 413, over the budget → 503 (the caller then drains the rest before answering).
   */
  const readBody = (req: IncomingMessage, declared: number | undefined, lease: Lease): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      let whole: Buffer | null = declared !== undefined ? Buffer.allocUnsafe(declared) : null;
      const chunks: Buffer[] = [];
      let size = 0;
      let failed = false;
      const fail = (e: RequestError) => {
        if (failed) return;
        failed = true;
        whole = null;
        chunks.length = 0;
        release(lease);
        reject(e);
      };
      req.on("data", (c: Buffer) => {
        size += c.length;
        if (failed) return;
        if (size > maxBody) {
          fail(new RequestError(413, "body_too_large", `the body exceeds ${maxBody} bytes`));
          return;
        }
        if (whole) {
          if (size > whole.length) {
            fail(new RequestError(400, "bad_body", "the body is longer than its Content-Length"));
            return;
          }
          c.copy(whole, size - c.length);
          return;
        }
        if (!take(lease, c.length)) {
          fail(busy(c.length));
          return;
        }
        chunks.push(c);
      });
      req.on("end", () => {
        if (failed) return;
        if (whole) resolve(size === whole.length ? whole : whole.subarray(0, size));
        else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
        whole = null;
        chunks.length = 0;
      });
      req.on("error", (e) =>
        fail(new RequestError(400, "bad_body", `the body could not be read: ${clip(e.message, 100)}`)),
      );
      req.on("close", () => {
        if (!req.complete) fail(new RequestError(400, "bad_body", "the client aborted the body"));
      });
    });

  const decoder = new TextDecoder("utf-8", { fatal: true });
  const parseJson = (holder: { buf: Buffer | null }): unknown => {
    const buf = holder.buf!;
    if (buf.length === 0) throw new RequestError(400, "empty_body", "the body is empty; send a JSON object");
    const shape = scanJson(buf, MAX_JSON_DEPTH);
    if (shape.tooDeep)
      throw new RequestError(
        400,
        "too_deep",
        `the body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`,
      );
    if (shape.values > limits.maxJsonValues)
      throw new RequestError(
        413,
        "too_many_values",
        `the body holds more than ${limits.maxJsonValues} JSON values (arrays, objects and their items)`,
      );
    let text: string;
    try {
      text = decoder.decode(buf);
    } catch {
      throw new RequestError(400, "bad_encoding", "the body is not valid UTF-8");
    }
    // The bytes are not needed past here: let them go before the parse allocates its strings.
    holder.buf = null;
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new RequestError(
        400,
        "bad_json",
        `the body is not valid JSON: ${clip((e as Error).message, 120)}`,
      );
    }
  };

  const queryOptions = (url: URL): ScoreOptions => {
    const q: Record<string, unknown> = {};
    for (const [k, v] of url.searchParams) {
      if (!QUERY_KEYS.has(k))
        throw new RequestError(
          400,
          "unknown_parameter",
          `unknown query parameter ${quote(k, 60)} (allowed: ${[...QUERY_KEYS].join(", ")})`,
        );
      if (q[k] !== undefined)
        throw new RequestError(400, "repeated_parameter", `query parameter ${k} is given more than once`);
      q[k] = v;
    }
    return readOptions(q, base, "query parameter ", true);
  };

  const info = () => ({
    service: "interplay reward service",
    version: VERSION,
    endpoints: {
      "POST /v1/reward":
        "{completion, gold, reward?, alpha?, form?, allowExtra?, allowSlips?} or {items: [{completion, gold}], ...options}",
      "POST /get_reward":
        "OpenRLHF: {query: [...], prompts: [...], labels: [...]} → {rewards, scores, extra_logs}",
      "GET /healthz": "liveness and counters",
    },
    gold: "a problem id, {id}, {seed, index, op, context, mode}, or {graph: {nodes: [{name, value, parents, expr?}]}, answer}",
    rewards: [...REWARD_NAMES],
    defaults: base,
    limits: {
      maxBodyBytes: maxBody,
      maxInflightBytes: maxInflight,
      maxConnections,
      maxJsonDepth: MAX_JSON_DEPTH,
      ...limits,
      requestTimeoutMs: requestTimeout,
    },
    problems: resolver.loaded,
    regenerate: opts.regenerate ?? true,
  });

  /** The declared body length, if any (llhttp has checked it is digits). */
  const declaredLength = (req: IncomingMessage): number | undefined => {
    const v = req.headers["content-length"];
    return v === undefined ? undefined : Number(v);
  };

  /**
   * Everything that can be judged from the request line and headers: the method (405 with Allow
   * when the path does not answer it; any method other than GET, HEAD and POST on any path), the
   * path (404), the content type (415), a declared length over maxBody (413) and the query
   * parameters (400), whose options it returns.
   */
  const precheck = (req: IncomingMessage): { path: string; options: ScoreOptions } => {
    const method = req.method ?? "";
    if (!METHODS.has(method))
      throw new RequestError(
        405,
        "method_not_allowed",
        `method ${quote(method, 20)} is not served (${ENDPOINTS})`,
        { allow: "GET, HEAD, POST" },
      );
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      throw new RequestError(400, "bad_url", "the request URL cannot be parsed");
    }
    const path = url.pathname;
    const allowed = ROUTES.get(path);
    if (!allowed) throw new RequestError(404, "not_found", `no endpoint ${quote(path, 80)} (${ENDPOINTS})`);
    if (!allowed.includes(method))
      throw new RequestError(
        405,
        "method_not_allowed",
        allowed.includes("POST") ? `${path} answers POST with a JSON body` : `${path} answers GET`,
        { allow: allowed.join(", ") },
      );
    if (method === "POST") {
      const type = req.headers["content-type"];
      if (type !== undefined && !JSON_TYPES.test(type))
        throw new RequestError(
          415,
          "unsupported_media_type",
          `send JSON (content-type: application/json), got ${quote(type, 60)}`,
        );
      const declared = declaredLength(req);
      if (declared !== undefined && declared > maxBody)
        throw new RequestError(
          413,
          "body_too_large",
          `the body exceeds ${maxBody} bytes`,
          declared > drainCap ? { connection: "close" } : {},
        );
      return { path, options: queryOptions(url) };
    }
    return { path, options: base };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, lease: Lease): Promise<void> => {
    const { path, options: o } = precheck(req);
    if (req.method !== "POST") {
      await drain(req);
      if (path !== "/healthz") return send(res, 200, info());
      const m = process.memoryUsage();
      return send(res, draining ? 503 : 200, {
        status: draining ? "draining" : "ok",
        // Which process answered (several share one port with `serve --workers N`).
        pid: process.pid,
        uptimeSeconds: Math.round((Date.now() - stats.startedAt) / 1000),
        requests: stats.requests,
        scored: stats.scored,
        inflight: stats.inflight,
        inflightBytes: stats.inflightBytes,
        maxInflightBytes: maxInflight,
        connections: stats.connections,
        droppedConnections: stats.droppedConnections,
        byStatus: stats.byStatus,
        problems: resolver.loaded,
        cached: resolver.cached,
        memory: { rss: m.rss, heapUsed: m.heapUsed, external: m.external },
      });
    }
    const declared = declaredLength(req);
    if (declared !== undefined && !take(lease, declared)) throw busy(declared);
    const holder: { buf: Buffer | null } = { buf: await readBody(req, declared, lease) };
    const body = parseJson(holder);
    if (path === "/v1/reward") {
      const out = nativeReward(body, resolver, o, limits);
      stats.scored += "results" in out ? out.results.length : 1;
      return send(res, 200, out, lease);
    }
    const out = openRlhfReward(body, resolver, o, limits);
    stats.scored += out.rewards.length;
    return send(res, 200, out, lease);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    stats.requests++;
    stats.inflight++;
    const lease: Lease = { held: 0 };
    // A client that goes away mid-request must not take the process with it.
    req.on("error", () => {});
    res.on("error", () => {});
    res.on("close", () => {
      stats.inflight--;
      release(lease);
    });
    handle(req, res, lease)
      .catch(async (e: unknown) => {
        // Bytes of a body that failed are not held any more (the answer is small).
        release(lease);
        // The answer waits for the rest of the body (read and dropped): answering mid-upload and
        // closing would reset the connection under it.
        // (A declared length past drainCap is answered at once, and the connection closed.)
        const closing = e instanceof RequestError && e.headers.connection === "close";
        const complete = !closing && (await drain(req));
        if (!complete && !res.headersSent) res.setHeader("connection", "close");
        if (e instanceof RequestError) sendError(res, e);
        else {
          log(
            `internal error on ${req.method} ${clip(req.url ?? "", 200)}: ${(e as Error)?.stack ?? String(e)}`,
          );
          sendError(res, new RequestError(500, "internal", "internal error (logged by the server)"));
        }
      })
      .catch(() => res.destroy());
  };

  const server = createServer(
    {
      requestTimeout,
      headersTimeout: Math.min(10_000, requestTimeout),
      // How often slow requests are looked for (Node's default, 30 s, would let one sit that long).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(requestTimeout / 4))),
    },
    onRequest,
  ) as RewardServer;
  server.maxConnections = maxConnections;
  server.on("connection", (socket: Duplex) => {
    stats.connections++;
    socket.once("close", () => {
      stats.connections--;
    });
  });
  server.on("drop", () => {
    stats.droppedConnections++;
  });

  /** An answer written straight on a socket Node's HTTP layer has let go of (or never had). */
  const answerOnSocket = (socket: Duplex, e: RequestError) => {
    count(e.status);
    socket.on("error", () => {});
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify({ error: clip(e.message, 600), code: e.code, status: e.status });
    const extra = Object.entries(e.headers)
      .filter(([k]) => k !== "connection")
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    // Read and drop whatever else comes, so closing does not reset the connection under the answer.
    socket.on("data", () => {});
    socket.resume();
    socket.end(
      `HTTP/1.1 ${e.status} ${REASONS[e.status] ?? "Error"}\r\n${extra}` +
        `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `cache-control: no-store\r\nconnection: close\r\n\r\n${body}`,
    );
    const timer = setTimeout(() => socket.destroy(), 2000);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
  };

  // CONNECT (authority-form target) is handed to 'connect' listeners, not 'request'; without one
  // Node would drop the connection without a byte.
  server.on("connect", (req: IncomingMessage, socket: Duplex) => {
    stats.requests++;
    answerOnSocket(
      socket,
      new RequestError(405, "method_not_allowed", `method "CONNECT" is not served (${ENDPOINTS})`, {
        allow: "GET, HEAD, POST",
      }),
    );
    req.on("error", () => {});
  });
  // Upgrade requests (websocket, h2c) get no 'upgrade' listener on purpose: Node then serves them as
  // plain requests ('request'), answered like any other.

  /** Answers a request before its body is asked for (Expect), or lets it through. */
  const refuseEarly = (res: ServerResponse, e: RequestError) => {
    stats.requests++;
    res.on("error", () => {});
    res.setHeader("connection", "close");
    sendError(res, e);
  };
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
    req.on("error", () => {});
    try {
      precheck(req);
      const declared = declaredLength(req);
      if (req.method === "POST" && declared !== undefined && stats.inflightBytes + declared > maxInflight)
        throw busy(declared);
    } catch (e) {
      if (e instanceof RequestError) return refuseEarly(res, e);
      throw e;
    }
    res.writeContinue();
    server.emit("request", req, res);
  });
  server.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => {
    req.on("error", () => {});
    refuseEarly(
      res,
      new RequestError(
        417,
        "expectation_failed",
        `the service meets only "Expect: 100-continue", got ${quote(String(req.headers.expect), 60)}`,
      ),
    );
  });
  server.on("clientError", (err: Error & { code?: string }, socket) => {
    // Answer only when nothing of a response has been written on this socket yet.
    const inFlight = (socket as unknown as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const status =
      err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
    count(status);
    const body = JSON.stringify({
      error: `bad HTTP request (${clip(err.code ?? err.message, 60)})`,
      code: "bad_http",
      status,
    });
    socket.end(
      `HTTP/1.1 ${status} ${REASONS[status]}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  Object.defineProperty(server, "resolver", { value: resolver });
  server.stats = () => ({ ...stats, byStatus: { ...stats.byStatus } });
  server.shutdown = (graceMs = 10_000) =>
    new Promise<void>((resolve) => {
      if (draining) {
        server.once("close", () => resolve());
        return;
      }
      draining = true;
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      server.closeIdleConnections();
    });
  return server;
}
