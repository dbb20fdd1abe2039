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
 * Bad input (malformed JSON, non-UTF-8, wrong types, unknown ids, oversized bodies or batches)
 * is answered with a 4xx and a JSON `{error, code, status}`; nothing a client sends can stop it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { GoldResolver, type ResolverOptions } from "./gold.js";
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
  /** Most completions in one request (default 8192). */
  maxBatch?: number;
  /** Longest completion in characters (default 1,000,000). */
  maxCompletionChars?: number;
  /** Time allowed to receive a whole request, ms (default 30,000). */
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
const VERSION = "0.1.0";

/** Creates the reward service (not yet listening): `createRewardServer(opts).listen(port)`. */
export function createRewardServer(opts: RewardServerOptions = {}): RewardServer {
  const resolver = opts.resolver ?? new GoldResolver(opts);
  const base = readOptions(
    (opts.defaults ?? {}) as Record<string, unknown>,
    { ...DEFAULT_SCORE_OPTIONS },
    "default ",
  );
  const maxBody = opts.maxBodyBytes ?? 32 * 1024 * 1024;
  const limits: ContentLimits = {
    maxBatch: opts.maxBatch ?? 8192,
    maxCompletionChars: opts.maxCompletionChars ?? 1_000_000,
  };
  for (const [k, v] of [
    ["maxBodyBytes", maxBody],
    ["maxBatch", limits.maxBatch],
    ["maxCompletionChars", limits.maxCompletionChars],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${k} must be a positive integer, got ${v}`);
  }
  /** Bodies up to this size are read to the end (and discarded) before a 413, so the client sees it. */
  const requestTimeout = opts.requestTimeoutMs ?? 30_000;
  if (!Number.isSafeInteger(requestTimeout) || requestTimeout < 1)
    throw new RangeError(`requestTimeoutMs must be a positive integer, got ${requestTimeout}`);
  const drainCap = Math.max(4 * maxBody, maxBody + 16 * 1024 * 1024);
  const stats: ServerStats = { requests: 0, byStatus: {}, scored: 0, inflight: 0, startedAt: Date.now() };
  let draining = false;
  const log = opts.log ?? (() => {});

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    if (res.headersSent || res.destroyed) return;
    res.statusCode = status;
    res.setHeader("content-type", "application/json; charset=utf-8");
    res.setHeader("content-length", Buffer.byteLength(text));
    res.setHeader("cache-control", "no-store");
    if (draining) res.setHeader("connection", "close");
    res.end(text);
  };
  const sendError = (res: ServerResponse, status: number, code: string, message: string) =>
    send(res, status, { error: message, code, status });

  /** Reads the body; over the limit → 413 (after draining up to drainCap). */
  const readBody = (req: IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      req.on("data", (c: Buffer) => {
        size += c.length;
        if (size > maxBody) {
          over = true;
          chunks.length = 0;
          if (size > drainCap) {
            reject(new RequestError(413, "body_too_large", `the body exceeds ${maxBody} bytes`));
            req.destroy();
          }
          return;
        }
        chunks.push(c);
      });
      req.on("end", () => {
        if (over) reject(new RequestError(413, "body_too_large", `the body exceeds ${maxBody} bytes`));
        else resolve(Buffer.concat(chunks, size));
      });
      req.on("error", (e) =>
        reject(new RequestError(400, "bad_body", `the body could not be read: ${e.message}`)),
      );
      req.on("aborted", () => reject(new RequestError(400, "bad_body", "the client aborted the body")));
    });

  const decoder = new TextDecoder("utf-8", { fatal: true });
  const parseJson = (buf: Buffer): unknown => {
    if (buf.length === 0) throw new RequestError(400, "empty_body", "the body is empty; send a JSON object");
    let text: string;
    try {
      text = decoder.decode(buf);
    } catch {
      throw new RequestError(400, "bad_encoding", "the body is not valid UTF-8");
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new RequestError(400, "bad_json", `the body is not valid JSON: ${(e as Error).message}`);
    }
  };

  const queryOptions = (url: URL): ScoreOptions => {
    const q: Record<string, unknown> = {};
    for (const [k, v] of url.searchParams) {
      if (!QUERY_KEYS.has(k))
        throw new RequestError(
          400,
          "unknown_parameter",
          `unknown query parameter "${k}" (allowed: ${[...QUERY_KEYS].join(", ")})`,
        );
      q[k] = v;
    }
    return readOptions(q, base, "query parameter ");
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
    rewards: ["outcome", "process", "composite", "strict"],
    defaults: base,
    limits: { maxBodyBytes: maxBody, ...limits },
    problems: resolver.loaded,
    regenerate: opts.regenerate ?? true,
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      throw new RequestError(400, "bad_url", "the request URL cannot be parsed");
    }
    const path = url.pathname;
    const method = req.method ?? "GET";
    if (path === "/healthz" || path === "/" || path === "/v1") {
      if (method !== "GET" && method !== "HEAD") {
        res.setHeader("allow", "GET, HEAD");
        throw new RequestError(405, "method_not_allowed", `${path} answers GET`);
      }
      req.resume();
      if (path !== "/healthz") return send(res, 200, info());
      const m = process.memoryUsage();
      return send(res, draining ? 503 : 200, {
        status: draining ? "draining" : "ok",
        uptimeSeconds: Math.round((Date.now() - stats.startedAt) / 1000),
        requests: stats.requests,
        scored: stats.scored,
        inflight: stats.inflight,
        byStatus: stats.byStatus,
        problems: resolver.loaded,
        cached: resolver.cached,
        memory: { rss: m.rss, heapUsed: m.heapUsed, external: m.external },
      });
    }
    if (path !== "/v1/reward" && path !== "/get_reward") {
      req.resume();
      throw new RequestError(
        404,
        "not_found",
        `no endpoint ${path} (POST /v1/reward, POST /get_reward, GET /healthz)`,
      );
    }
    if (method !== "POST") {
      req.resume();
      res.setHeader("allow", "POST");
      throw new RequestError(405, "method_not_allowed", `${path} answers POST with a JSON body`);
    }
    const type = req.headers["content-type"];
    if (type !== undefined && !JSON_TYPES.test(type)) {
      req.resume();
      throw new RequestError(
        415,
        "unsupported_media_type",
        `send JSON (content-type: application/json), got "${type}"`,
      );
    }
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > drainCap) {
      res.setHeader("connection", "close");
      req.resume();
      throw new RequestError(413, "body_too_large", `the body exceeds ${maxBody} bytes`);
    }
    const o = queryOptions(url);
    const body = parseJson(await readBody(req));
    if (path === "/v1/reward") {
      const out = nativeReward(body, resolver, o, limits);
      stats.scored += "results" in out ? out.results.length : 1;
      return send(res, 200, out);
    }
    const out = openRlhfReward(body, resolver, o, limits);
    stats.scored += out.rewards.length;
    return send(res, 200, out);
  };

  const server = createServer(
    {
      requestTimeout,
      headersTimeout: Math.min(10_000, requestTimeout),
      // How often slow requests are looked for (Node's default, 30 s, would let one sit that long).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(requestTimeout / 4))),
    },
    (req, res) => {
      stats.requests++;
      stats.inflight++;
      // A client that goes away mid-request must not take the process with it.
      req.on("error", () => {});
      res.on("error", () => {});
      res.on("close", () => {
        stats.inflight--;
      });
      handle(req, res).catch((e: unknown) => {
        if (e instanceof RequestError) {
          if (e.status === 413) res.setHeader("connection", "close");
          sendError(res, e.status, e.code, e.message);
        } else {
          log(`internal error on ${req.method} ${req.url}: ${(e as Error)?.stack ?? String(e)}`);
          sendError(res, 500, "internal", "internal error (logged by the server)");
        }
      });
    },
  ) as RewardServer;

  server.on("checkContinue", (req, res) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > maxBody) {
      stats.requests++;
      res.setHeader("connection", "close");
      sendError(res, 413, "body_too_large", `the body exceeds ${maxBody} bytes`);
      return;
    }
    res.writeContinue();
    server.emit("request", req, res);
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
    const body = JSON.stringify({
      error: `bad HTTP request (${err.code ?? err.message})`,
      code: "bad_http",
      status,
    });
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? "Request Header Fields Too Large" : status === 408 ? "Request Timeout" : "Bad Request"}\r\n` +
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
