"""HTTP client of the interplay reward service (`interplay serve`), Python standard library only.

The service (docs/scale-out.md, section 2) answers

  POST /v1/reward   {completion, gold, ...options} or {items: [{completion, gold}, ...], ...options}
  POST /get_reward  OpenRLHF's {query, prompts, labels} -> {rewards, scores, extra_logs}
  GET  /            its defaults and limits (maxBatch, maxBodyBytes, maxJsonValues)

What the client does about failures:

- connection refused or reset, a timeout, a 503 (the service's in-flight budget is full; its
  Retry-After is honoured) or another 5xx: retried with exponential
  backoff, at most `retries` more times; then `ServiceUnavailable`, naming the URL, the attempts,
  the time spent and the last error. With the defaults a service nobody answers for is reported in
  about 4 s (refused connections) or `retries + 1` connect timeouts (an address that drops packets).
- any 4xx: raised at once as `RequestRejected` with the service's own message (its JSON
  `{error, code, status}`): the request is wrong, and sending it again cannot help.

Scoring is stateless on the service, so a retried request can never count twice.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import os
import random
import threading
import time
import urllib.parse
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Mapping, Sequence

DEFAULT_URL = "http://127.0.0.1:8000"
URL_ENV = "INTERPLAY_REWARD_URL"

#: Scoring options: the keyword used here, the service's body field, the environment variable.
OPTIONS = (
    ("reward", "reward", "INTERPLAY_REWARD"),
    ("alpha", "alpha", "INTERPLAY_ALPHA"),
    ("form", "form", "INTERPLAY_FORM"),
    ("allow_extra", "allowExtra", "INTERPLAY_ALLOW_EXTRA"),
    ("allow_slips", "allowSlips", "INTERPLAY_ALLOW_SLIPS"),
)

# Endpoint paths a user may paste as the base URL (OpenRLHF's URL names its endpoint).
_ENDPOINTS = ("/v1/reward", "/get_reward", "/healthz")


class RewardServiceError(RuntimeError):
    """Base of the errors the client raises."""

    def __init__(self, message: str, url: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.url = url
        self.status = status
        self.code = code


class ServiceUnavailable(RewardServiceError):
    """The service could not be reached, or kept answering 5xx/503, through every retry."""


class RequestRejected(RewardServiceError):
    """The service answered a 4xx: the request is wrong (unknown id, bad option, too large...)."""


def _env_float(name: str) -> float | None:
    v = os.environ.get(name)
    if v is None or v.strip() == "":
        return None
    try:
        return float(v)
    except ValueError:
        raise ValueError(f"{name}={v!r} is not a number") from None


def _env_int(name: str) -> int | None:
    v = os.environ.get(name)
    if v is None or v.strip() == "":
        return None
    try:
        return int(v)
    except ValueError:
        raise ValueError(f"{name}={v!r} is not an integer") from None


def _env_bool(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={value!r} is not a boolean (true/false, 1/0)")


def scoring_options(kwargs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The scoring options to send, as body fields: a keyword given here (`reward`, `alpha`, `form`,
    `allow_extra`, `allow_slips`; None means not given) wins over its environment variable
    (INTERPLAY_REWARD, INTERPLAY_ALPHA, INTERPLAY_FORM, INTERPLAY_ALLOW_EXTRA, INTERPLAY_ALLOW_SLIPS);
    an option given neither way is not sent, so the service's default (`interplay serve --reward`,
    `--alpha`, ...) applies. Other keys of `kwargs` are ignored (trainers pass their own)."""
    kwargs = kwargs or {}
    out: dict[str, Any] = {}
    for key, field, env in OPTIONS:
        v = kwargs.get(key)
        if v is None:
            raw = os.environ.get(env)
            if raw is None or raw.strip() == "":
                continue
            if key == "alpha":
                v = _env_float(env)
            elif key in ("allow_extra", "allow_slips"):
                v = _env_bool(env, raw)
            else:
                v = raw.strip()
        if key == "alpha":
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise TypeError(f"alpha must be a number in [0, 1], got {v!r}")
            v = float(v)
        elif key in ("allow_extra", "allow_slips"):
            if not isinstance(v, bool):
                raise TypeError(f"{key} must be True or False, got {v!r}")
        elif not isinstance(v, str):
            raise TypeError(f"{key} must be a string, got {v!r}")
        out[field] = v
    return out


def option_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The scoring-option keywords among `kwargs` (a trainer passes many others)."""
    return {key: kwargs[key] for key, _, _ in OPTIONS if key in kwargs}


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _approx_json_values(text: str) -> int:
    """An upper estimate of the JSON values in a compact JSON text, as the service counts them
    (arrays, objects and the items they separate): one per separator and per opening bracket."""
    return text.count(",") + text.count("{") + text.count("[") + 1


class RewardClient:
    """A client of one reward service.

    url: base URL (default: $INTERPLAY_REWARD_URL, else http://127.0.0.1:8000). A pasted endpoint
        (`.../get_reward`, `.../v1/reward`) is cut back to the base; a query string
        (`?reward=strict`) is kept and sent with every scoring request.
    timeout: seconds to wait for an answer once connected (default $INTERPLAY_REWARD_TIMEOUT or 120).
    connect_timeout: seconds to wait for a connection (default 5).
    retries: further attempts after a failed one (default $INTERPLAY_REWARD_RETRIES or 4).
    backoff: first wait between attempts in seconds, doubled each time up to max_backoff
        (defaults 0.25 and 8); a Retry-After header replaces it (capped at max_retry_after, 30).
    concurrency: requests in flight at once when a batch is split (default
        $INTERPLAY_REWARD_CONCURRENCY or 4; useful against `interplay serve --workers N`).
    max_batch: most completions per request (default: the service's maxBatch, read once from GET /).

    Connections are kept alive, one per thread; the client is safe to share between threads
    (close() or a `with` block closes its connections).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        timeout: float | None = None,
        connect_timeout: float = 5.0,
        retries: int | None = None,
        backoff: float = 0.25,
        max_backoff: float = 8.0,
        max_retry_after: float = 30.0,
        concurrency: int | None = None,
        max_batch: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        raw = url or os.environ.get(URL_ENV) or DEFAULT_URL
        if "://" not in raw:
            raw = "http://" + raw
        parts = urllib.parse.urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"reward service URL must be http(s)://host[:port][/path], got {raw!r}")
        path = parts.path.rstrip("/")
        for e in _ENDPOINTS:
            if path.endswith(e):
                path = path[: -len(e)]
                break
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = path
        self.query = parts.query
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"{self.scheme}://{host}:{self.port}{self.prefix}"
        t = _env_float("INTERPLAY_REWARD_TIMEOUT") if timeout is None else timeout
        self.timeout = 120.0 if t is None else float(t)
        self.connect_timeout = float(connect_timeout)
        r = _env_int("INTERPLAY_REWARD_RETRIES") if retries is None else retries
        self.retries = 4 if r is None else max(0, int(r))
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.max_retry_after = float(max_retry_after)
        c = _env_int("INTERPLAY_REWARD_CONCURRENCY") if concurrency is None else concurrency
        self.concurrency = max(1, 4 if c is None else int(c))
        self._max_batch = max_batch
        self._limits: dict[str, Any] | None = None
        self._conns: dict[int, tuple[weakref.ref[threading.Thread], http.client.HTTPConnection]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._sleep = sleep
        #: HTTP requests sent (attempts included), for tests and logs.
        self.requests_sent = 0

    def __repr__(self) -> str:
        return f"RewardClient({self.url!r})"

    # --- transport -------------------------------------------------------------------------

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's kept-alive connection (and whether it was reused), or a new one.
        Connections of threads that have ended are closed here, so open sockets stay bounded by
        the live threads that use the client."""
        me = threading.current_thread()
        key = threading.get_ident()
        stale: list[http.client.HTTPConnection] = []
        with self._lock:
            entry = self._conns.get(key)
            if entry is not None and entry[0]() is me:
                return entry[1], True
            for k, (ref, c) in list(self._conns.items()):
                t = ref()
                if k == key or t is None or not t.is_alive():
                    stale.append(c)
                    del self._conns[k]
        for c in stale:
            _close_quietly(c)
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=self.connect_timeout)
        try:
            conn.connect()
            # Connected: from here on wait as long as scoring may take.
            conn.sock.settimeout(self.timeout)
        except BaseException:
            _close_quietly(conn)
            raise
        with self._lock:
            self._conns[key] = (weakref.ref(me), conn)
        return conn, False

    def _drop_connection(self) -> None:
        with self._lock:
            entry = self._conns.pop(threading.get_ident(), None)
        if entry is not None:
            _close_quietly(entry[1])

    def close(self) -> None:
        """Closes every kept-alive connection and the client's worker threads (it stays usable)."""
        with self._lock:
            conns = [c for _, c in self._conns.values()]
            self._conns.clear()
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        for c in conns:
            _close_quietly(c)

    def __del__(self) -> None:
        try:
            for _, c in list(self._conns.values()):
                _close_quietly(c)
        except Exception:
            pass

    def __enter__(self) -> "RewardClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _once(self, method: str, path: str, body: bytes | None) -> tuple[int, dict[str, str], bytes]:
        headers = {"accept": "application/json"}
        if body is not None:
            headers["content-type"] = "application/json"
        conn, reused = self._connection()
        with self._lock:
            self.requests_sent += 1
        try:
            conn.request(method, path, body=body, headers=headers)
            res = conn.getresponse()
            data = res.read()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
            self._drop_connection()
            if reused:
                # The service closed an idle kept-alive connection: try once more on a fresh one.
                return self._once(method, path, body)
            raise e
        except BaseException:
            self._drop_connection()
            raise
        hdrs = {k.lower(): v for k, v in res.getheaders()}
        if res.will_close or hdrs.get("connection", "").lower() == "close":
            self._drop_connection()
        return res.status, hdrs, data

    def request(self, method: str, endpoint: str, payload: Any = None, *, query: bool = True) -> Any:
        """One call with retries; returns the parsed JSON answer."""
        path = self.prefix + endpoint
        if query and self.query:
            path += "?" + self.query
        body = None if payload is None else json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
        start = time.monotonic()
        attempts = 0
        last = ""
        while True:
            attempts += 1
            wait = None
            try:
                status, headers, data = self._once(method, path, body)
            except (OSError, http.client.HTTPException) as e:
                # Refused, reset, unreachable, timed out, or a broken HTTP answer.
                last = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            else:
                if 200 <= status < 300:
                    try:
                        return json.loads(data)
                    except ValueError:
                        raise RewardServiceError(
                            f"reward service at {self.url} answered {method} {endpoint} with {status} "
                            f"but a body that is not JSON: {data[:200]!r}",
                            self.url,
                            status,
                        ) from None
                message, code = _error_of(data)
                if status >= 500:
                    last = f"HTTP {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
                    wait = _retry_after(headers.get("retry-after"))
                else:
                    raise RequestRejected(
                        f"reward service at {self.url} rejected {method} {endpoint} with {status}"
                        + (f" ({code})" if code else "")
                        + f": {message or data[:300].decode('utf-8', 'replace')}",
                        self.url,
                        status,
                        code,
                    )
            if attempts > self.retries:
                spent = time.monotonic() - start
                raise ServiceUnavailable(
                    f"reward service at {self.url} did not answer {method} {endpoint} after {attempts} "
                    f"attempt{'s' if attempts > 1 else ''} over {spent:.1f} s (last: {last}). "
                    f"Is `interplay serve` running there? Set the URL with {URL_ENV} or url=.",
                    self.url,
                )
            if wait is None:
                wait = min(self.max_backoff, self.backoff * 2 ** (attempts - 1))
                wait *= 0.8 + 0.4 * random.random()
            else:
                wait = min(wait, self.max_retry_after)
            self._sleep(wait)

    # --- service calls ---------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """GET /: the service's endpoints, defaults and limits."""
        return self.request("GET", "/", query=False)

    def health(self) -> dict[str, Any]:
        """GET /healthz."""
        return self.request("GET", "/healthz", query=False)

    def limits(self) -> dict[str, Any]:
        """The service's limits (read once)."""
        if self._limits is None:
            self._limits = dict(self.info().get("limits") or {})
        return self._limits

    def _chunks(self, items: Sequence[Any]) -> list[list[Any]]:
        """Splits items so that no request passes the service's batch, body or JSON-value limits."""
        lim = self.limits() if self._max_batch is None else {}
        max_batch = self._max_batch or int(lim.get("maxBatch", 4096))
        max_bytes = int(lim.get("maxBodyBytes", 32 * 1024 * 1024)) // 2
        max_values = int(lim.get("maxJsonValues", 2_000_000)) // 2
        out: list[list[Any]] = []
        cur: list[Any] = []
        size = values = 0
        for it in items:
            text = json.dumps(it, separators=(",", ":"))
            n, v = len(text.encode()) + 1, _approx_json_values(text)
            if cur and (len(cur) >= max_batch or size + n > max_bytes or values + v > max_values):
                out.append(cur)
                cur, size, values = [], 0, 0
            cur.append(it)
            size += n
            values += v
        if cur:
            out.append(cur)
        return out

    def _map(self, fn: Callable[[list[Any]], list[Any]], chunks: list[list[Any]]) -> list[Any]:
        if len(chunks) <= 1 or self.concurrency == 1:
            return [r for c in chunks for r in fn(c)]
        with self._lock:
            if self._pool is None:
                # One pool per client, so its threads (and their connections) are reused.
                self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="interplay-reward")
            pool = self._pool
        return [r for part in pool.map(fn, chunks) for r in part]

    def score(self, completion: str, gold: Any, **options: Any) -> dict[str, Any]:
        """Scores one completion (POST /v1/reward); `options` as in scoring_options."""
        return self.request("POST", "/v1/reward", {"completion": completion, "gold": gold, **scoring_options(options)})

    def score_batch(self, items: Iterable[Mapping[str, Any]], **options: Any) -> list[dict[str, Any]]:
        """Scores `[{completion, gold}, ...]` in order, in as few requests as the limits allow."""
        items = [{"completion": it["completion"], "gold": it["gold"]} for it in items]
        if not items:
            return []
        opts = scoring_options(options)

        def one(chunk: list[Any]) -> list[Any]:
            out = self.request("POST", "/v1/reward", {"items": chunk, **opts})["results"]
            if len(out) != len(chunk):
                raise RewardServiceError(
                    f"reward service at {self.url} answered {len(out)} results for {len(chunk)} items", self.url
                )
            return out

        return self._map(one, self._chunks(items))

    def get_reward(
        self, queries: Sequence[str], prompts: Sequence[str] | None, labels: Sequence[Any], **options: Any
    ) -> dict[str, Any]:
        """OpenRLHF's endpoint (POST /get_reward), chunked like score_batch and joined back."""
        queries, labels = list(queries), list(labels)
        prompts = list(prompts) if prompts is not None else [""] * len(queries)
        if not (len(queries) == len(prompts) == len(labels)):
            raise ValueError(f"{len(queries)} queries, {len(prompts)} prompts and {len(labels)} labels")
        if not queries:
            return {"rewards": [], "scores": [], "extra_logs": {}}
        opts = scoring_options(options)
        rows = [{"q": q, "p": p, "l": lab} for q, p, lab in zip(queries, prompts, labels)]

        def one(chunk: list[Any]) -> list[Any]:
            body = {
                "query": [r["q"] for r in chunk],
                "prompts": [r["p"] for r in chunk],
                "labels": [r["l"] for r in chunk],
                **opts,
            }
            return [self.request("POST", "/get_reward", body)]

        parts = self._map(one, self._chunks(rows))
        out: dict[str, Any] = {"rewards": [], "scores": [], "extra_logs": {}}
        for part in parts:
            out["rewards"].extend(part["rewards"])
            out["scores"].extend(part["scores"])
            for k, v in part.get("extra_logs", {}).items():
                out["extra_logs"].setdefault(k, []).extend(v)
        return out


def _close_quietly(conn: http.client.HTTPConnection) -> None:
    try:
        conn.close()
    except OSError:
        pass


def _error_of(data: bytes) -> tuple[str, str | None]:
    """The message and code of the service's JSON error body (or the text)."""
    try:
        e = json.loads(data)
    except ValueError:
        return data[:300].decode("utf-8", "replace").strip(), None
    if isinstance(e, dict):
        return str(e.get("error", "")), (str(e["code"]) if e.get("code") is not None else None)
    return str(e)[:300], None


_default: dict[str, RewardClient] = {}
_default_lock = threading.Lock()


def default_client(url: str | None = None) -> RewardClient:
    """A shared client per URL (default: $INTERPLAY_REWARD_URL), made on first use."""
    key = url or os.environ.get(URL_ENV) or DEFAULT_URL
    with _default_lock:
        c = _default.get(key)
        if c is None:
            c = _default[key] = RewardClient(key)
        return c


__all__ = [
    "DEFAULT_URL",
    "URL_ENV",
    "RewardClient",
    "RewardServiceError",
    "RequestRejected",
    "ServiceUnavailable",
    "default_client",
    "option_kwargs",
    "scoring_options",
]
