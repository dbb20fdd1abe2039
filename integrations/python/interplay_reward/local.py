"""Starting `interplay serve` on this machine, for tests and single-node runs.

Scoring cannot happen inside the Python process: the verifier (trace parsing, the node-by-node
comparison with the gold graph, the reward variants) lives in the lab's TypeScript, and a second
implementation in Python would drift from it. This helper starts the service as a subprocess on a
free loopback port instead and hands back its URL:

  with start_service() as svc:                  # `interplay serve --port 0`
      os.environ["INTERPLAY_REWARD_URL"] = svc.url
      ...

The command is, in order: `command=` (a list), $INTERPLAY_BIN (the `interplay` executable or
bin/interplay.js), `interplay` on PATH, or this checkout's bin/interplay.js run by node.
"""

from __future__ import annotations

import collections
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from typing import Sequence

_LISTENING = re.compile(r"listening on (http://\S+):(\d+)")
_HERE = os.path.dirname(os.path.abspath(__file__))
_CHECKOUT_BIN = os.path.normpath(os.path.join(_HERE, "..", "..", "..", "bin", "interplay.js"))


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM when the Python process that started it dies, so a
    killed test or trainer leaves no service behind. (Linux ties this to the starting THREAD: start
    the service from a thread that outlives it, or pass die_with_parent=False.)"""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def interplay_command() -> list[str]:
    """How to run the `interplay` CLI here."""
    env = os.environ.get("INTERPLAY_BIN")
    if env:
        return [shutil.which("node") or "node", env] if env.endswith(".js") else [env]
    on_path = shutil.which("interplay")
    if on_path:
        return [on_path]
    if os.path.exists(_CHECKOUT_BIN):
        node = shutil.which("node")
        if not node:
            raise FileNotFoundError("node is not on PATH: it runs bin/interplay.js (the reward service)")
        return [node, _CHECKOUT_BIN]
    raise FileNotFoundError(
        "cannot find the interplay CLI: set INTERPLAY_BIN, put `interplay` on PATH, "
        "or run from a checkout of the lab (bin/interplay.js)"
    )


class LocalService:
    """A running `interplay serve` subprocess; `url` is its base URL. `args` are extra serve
    options (`--problems F`, `--workers 2`, `--reward strict`...). On Linux the service gets
    SIGTERM if the starting thread dies (die_with_parent)."""

    def __init__(
        self,
        args: Sequence[str] = (),
        *,
        command: Sequence[str] | None = None,
        host: str = "127.0.0.1",
        startup_timeout: float = 30.0,
        env: dict[str, str] | None = None,
        die_with_parent: bool = True,
    ):
        cmd = list(command) if command is not None else interplay_command()
        self.argv = [*cmd, "serve", "--port", "0", "--host", host, *args]
        self._stderr: collections.deque[str] = collections.deque(maxlen=200)
        lines: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            encoding="utf-8",
            errors="replace",
            preexec_fn=_die_with_parent if die_with_parent and sys.platform.startswith("linux") else None,
        )

        def pump() -> None:
            # Keeps reading after startup, so the service never blocks on a full stderr pipe.
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self._stderr.append(line.rstrip("\n"))
                lines.put(line)
            lines.put(None)

        self._pump = threading.Thread(target=pump, name="interplay-serve-stderr", daemon=True)
        self._pump.start()
        self.url = ""
        self.port = 0
        try:
            while True:
                try:
                    line = lines.get(timeout=startup_timeout)
                except queue.Empty:
                    raise TimeoutError(
                        f"`{' '.join(self.argv)}` printed no 'listening on' line within {startup_timeout} s"
                    ) from None
                if line is None:
                    code = self.proc.wait()
                    raise RuntimeError(f"`{' '.join(self.argv)}` exited {code} before listening:\n{self.stderr}")
                m = _LISTENING.search(line)
                if m:
                    self.url, self.port = f"{m.group(1)}:{m.group(2)}", int(m.group(2))
                    break
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def stderr(self) -> str:
        """The last lines the service wrote to stderr."""
        return "\n".join(self._stderr)

    def close(self, grace: float = 10.0) -> int | None:
        """SIGTERM (the service drains requests in flight), then SIGKILL after `grace` s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._pump.join(2)
        if self.proc.stderr is not None and not self._pump.is_alive():
            self.proc.stderr.close()
        return self.proc.returncode

    def __enter__(self) -> "LocalService":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_service(*args: str, **kwargs: object) -> LocalService:
    """Starts `interplay serve --port 0 ARGS...` and returns it once it listens."""
    return LocalService(args, **kwargs)  # type: ignore[arg-type]


__all__ = ["LocalService", "interplay_command", "start_service"]
