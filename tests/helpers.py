"""What many test modules share and is not a fixture: paths, free ports, the real CLI, live servers.

Imported as ``from helpers import ...`` (pytest puts tests/ on sys.path); conftest.py holds only
fixtures, built from these.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
# The `now` of the tests' seed builds (tests/data/golden/ holds that build's pages).
BUILD_TIME = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def clean_env(*drop: str) -> dict[str, str]:
    """This process's environment without TAGFEED_* (and names starting with ``drop``), so a
    developer's own settings never leak into a test's tagfeed."""
    prefixes = ("TAGFEED_", *drop)
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def run_tagfeed(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command, as a user runs it, without TAGFEED_* from the caller's environment."""
    return subprocess.run([sys.executable, "-m", "tagfeed", *args], cwd=cwd, env=clean_env(),
                          capture_output=True, text=True, timeout=timeout, check=False)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15, *, group: bool = False) -> int | None:
    """SIGTERM to ``proc`` (to its own process group with ``group``, for a shell and its children;
    never by name), SIGKILL after ``timeout``: the exit code, or None when it had to be killed."""
    if proc.poll() is not None:
        return proc.returncode

    def send(sig: signal.Signals) -> None:
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)

    send(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait(10)
        return None


def wait_until(ready: Callable[[], bool], timeout: float, what: str, interval: float = 0.01) -> None:
    """Poll ``ready`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


_SERVER_TOML = """\
[site]
title = "tagfeed live"
output_dir = "output"
state_dir = "state"
cache_max_age = 123

[schedule]
build_every = "{build_every}"

[[sources]]
type = "tagpage"
paths = ["seeds/*.txt"]
"""


class LiveServer:
    """`python -m tagfeed serve` on 127.0.0.1 in ``root``; stopped by SIGTERM (then kill)."""

    def __init__(self, root: Path, build_every: str = "15m") -> None:
        self.root, self.port = root, free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = root / "serve.log"
        if not (root / "seeds").exists():
            shutil.copytree(ROOT / "seeds", root / "seeds")
        (root / "tagfeed.toml").write_text(_SERVER_TOML.format(build_every=build_every), encoding="utf-8")

    @property
    def output(self) -> Path:
        return self.root / "output"

    def build(self) -> subprocess.CompletedProcess[str]:
        return run_tagfeed("build", "--config", str(self.root / "tagfeed.toml"), cwd=self.root)

    def start(self, timeout: float = 60) -> LiveServer:
        args = [sys.executable, "-m", "tagfeed", "serve", "--config", str(self.root / "tagfeed.toml"),
                "--host", "127.0.0.1", "--port", str(self.port)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, cwd=self.root, env=clean_env(), stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"tagfeed serve exited {self.proc.returncode}:\n{self.log()}")
            try:
                self.request("GET", "/healthz", timeout=2)
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"tagfeed serve did not answer within {timeout}s:\n{self.log()}")

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM, then kill after ``timeout``; the exit code (None when it had to be killed)."""
        return stop_process(self.proc, timeout) if self.proc is not None else None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
        """One raw request (the path is sent as given, unnormalised); status, lower-cased headers, body."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            conn.endheaders()
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()
