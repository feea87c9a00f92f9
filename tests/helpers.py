"""What many test modules share and is not a fixture: paths, free ports, the real CLI, live servers,
hypothesis strategies for the renderers.

Imported as ``from helpers import ...`` (pytest puts tests/ on sys.path); conftest.py holds only
fixtures, built from these.
"""

from __future__ import annotations

import dataclasses
import difflib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import strategies as st

from feeds.channel import xml_clean, xml_text
from feeds.status import STATE_NAMES, SourceStatus
from sources.model import Article, Tag

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
# The `now` of the tests' seed builds (tests/data/golden/ holds that build's pages).
BUILD_TIME = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
GOLDEN = DATA / "golden"


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


def copy_tracked(clone: Path) -> Path:
    """A fresh copy of the files git tracks (nothing built, no venv, no output), at ``clone``."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    return clone


def other_loopback_name(url: str) -> str:
    """``url`` at the same server under its other loopback name: another host to the fetcher."""
    host = urlsplit(url).hostname
    return url.replace(f"//{host}:", "//127.0.0.1:" if host == "localhost" else "//localhost:", 1)


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


def assert_golden(name: str, rendered: bytes, *, update: bool) -> None:
    """``rendered`` is byte for byte tests/data/golden/``name``; else fail with a unified diff.

    With ``update`` (``pytest --update-golden``) the file is (re)written instead: the one way
    a golden file changes, so a change to a page is a reviewed diff in the commit.
    """
    path = GOLDEN / name
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != rendered:
            path.write_bytes(rendered)
        return
    hint = "If the change is intended, run `pytest --update-golden` and commit the new file with the code."
    if not path.is_file():
        pytest.fail(f"{name}: no golden file in {GOLDEN}. {hint}", pytrace=False)
    expected = path.read_bytes()
    if rendered == expected:
        return
    old = expected.decode("utf-8", "backslashreplace").splitlines(keepends=True)
    new = rendered.decode("utf-8", "backslashreplace").splitlines(keepends=True)
    diff = [line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
            for line in difflib.unified_diff(old, new, f"golden/{name}", f"rendered {name}", n=2)]
    if len(diff) > 80:
        diff = [*diff[:80], f"... {len(diff) - 80} more diff lines\n"]
    pytest.fail(f"{name} differs from its golden file ({len(expected)} bytes, now {len(rendered)}):\n"
                f"{''.join(diff)}{hint}", pytrace=False)


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


# --- hypothesis strategies: nasty text, articles and source statuses for the renderers ----------

NASTY_TEXT = st.text(st.characters(codec="utf-8") | st.sampled_from("&<>\"'\r\n\t\x0c\x00\x85\u2028\ufffe]]>"),
                     max_size=30)
SLUGS = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
ZONES = st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
DATES = st.builds(lambda d, z: d.replace(tzinfo=timezone.utc).astimezone(z),
                  st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9998, 12, 31)), ZONES)


@st.composite
def nasty_articles(draw: st.DrawFn) -> Article:
    """Any article, its text full of markup, control characters and non-XML characters."""
    published = draw(DATES)
    return Article(
        id=draw(st.sampled_from(["urn:uuid:" + str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))),
                                 "https://example.org/a?b=1&c=<d>", draw(NASTY_TEXT.filter(bool))])),
        title=draw(NASTY_TEXT), summary=draw(NASTY_TEXT), paragraphs=tuple(draw(st.lists(NASTY_TEXT, max_size=3))),
        content_html=draw(st.none() | NASTY_TEXT), caption=draw(st.none() | NASTY_TEXT),
        tags=tuple(draw(st.lists(st.builds(Tag, slug=SLUGS, name=NASTY_TEXT), max_size=3))),
        link=draw(st.none() | st.sampled_from(["https://e.org/x?a=1&b=2", "ftp://e.org/", "http://e.org/\"<>"])),
        published=published, updated=draw(st.none() | DATES), truncated=draw(st.booleans()),
        source_title=draw(st.none() | NASTY_TEXT), source_url=draw(st.none() | st.just("https://e.org/f?a&b")),
    )


SOURCE_STATUSES = st.builds(SourceStatus, name=NASTY_TEXT, state=st.sampled_from([*STATE_NAMES, "other & <x>"]),
                            last_error=st.none() | NASTY_TEXT, next_try=st.none() | DATES)


def clean_for_rendering(articles: Sequence[Article]) -> list[Article]:
    """The articles as the pipeline hands them to the renderers: text XML can carry (ids are never dirty)."""
    return [dataclasses.replace(xml_clean(a), id=xml_text(a.id) or "x") for a in articles]
