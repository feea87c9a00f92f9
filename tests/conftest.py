"""Shared fixtures. Each block belongs to one part of the code base; keep them apart."""

from __future__ import annotations

# ---------------------------------------------------------------------------
# project / CLI / pipeline fixtures.
# RECONSTRUCTED: the feeds engineer overwrote this file by accident at 12:39 and
# rebuilt this block from how test_cli.py, test_pipeline.py and
# test_output_standards.py use it (DATA, ROOT, run_tagfeed, project,
# built_output). Owner: please compare with your original and fix as needed.
# ---------------------------------------------------------------------------

import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
BUILD_TIME = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)


def run_tagfeed(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command, as a user runs it, without TAGFEED_* from the caller's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGFEED_")}
    return subprocess.run([sys.executable, "-m", "tagfeed", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the default project (tagfeed.toml + seeds/) in a temp dir."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "seeds", root / "seeds")
    shutil.copy2(ROOT / "tagfeed.toml", root / "tagfeed.toml")
    return root


@pytest.fixture
def built_output(project: Path) -> Path:
    """The output tree of one in-process build of the default project."""
    from tagfeed.config import load_config
    from tagfeed.pipeline import build

    build(load_config(project / "tagfeed.toml", environ={}), now=BUILD_TIME)
    return project / "output"

# --- end of the project block -----------------------------------------------

# ---------------------------------------------------------------------------
# feeds/: articles to render, the URL scheme, and the independent validators
# (RFC 4287 RELAX NG + Schematron, JSON Feed 1.1 schema) the renders must pass.
# ---------------------------------------------------------------------------

import json
from collections.abc import Callable
from datetime import timedelta

import jsonschema
from lxml import etree, isoschematron

from feeds.channel import Channel
from feeds.urls import Urls
from sources.model import Article, Tag, article_id, make_tag, uuid_urn

SCHEMAS = Path(__file__).parent / "data" / "schemas"
FEEDS_BASE_URL = "http://127.0.0.1:8080/"
# Every sample date is in 2001, so the current year in an output means a clock leaked in.
FEEDS_T0 = datetime(2001, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
NASTY_TITLE = 'Lavrov: <script>alert("x")</script> & <b>bold</b> \'quoted\''


def _feeds_sample_articles() -> list[Article]:
    putin, lavrov, cyrillic = make_tag("Putin"), make_tag("sergei lavrov"), make_tag("Путин")
    t0 = FEEDS_T0
    return [
        Article(id=article_id("Putin refuses to congratulate Biden"), title="Putin refuses to congratulate Biden",
                summary="Russian President Vladimir Putin still…",
                paragraphs=("Russian President Vladimir Putin still…", "\"You know\" that the review …"),
                tags=(putin,), published=t0, updated=t0, truncated=True, source="seeds/000.txt"),
        Article(id=article_id(NASTY_TITLE), title=NASTY_TITLE,
                paragraphs=("<script>alert(1)</script> & friends", "Second <i>paragraph</i>"),
                caption="The delegations meet <in Geneva> [PPIO]", tags=(lavrov, putin),
                published=t0 - timedelta(days=1), updated=t0 - timedelta(hours=2), source="seeds/003.txt"),
        Article(id="https://example.org/post/1", title="Upstream post with HTML",
                content_html="<p>Hello <em>world</em></p>", summary="Hello world",
                link="https://example.org/post/1", tags=(cyrillic, putin),
                published=t0 - timedelta(days=2), updated=t0 - timedelta(days=2),
                source="https://example.org/feed.xml", source_title="Example feed",
                source_url="https://example.org/feed.xml"),
        Article(id=uuid_urn("tie:a"), title="Same published date, first by id", paragraphs=("a",),
                tags=(lavrov,), published=t0 - timedelta(days=3), updated=t0 - timedelta(days=3)),
        Article(id=uuid_urn("tie:b"), title="Same published date, second by id", paragraphs=("b",),
                tags=(lavrov,), published=t0 - timedelta(days=3),
                updated=t0 - timedelta(days=3) + timedelta(hours=1)),
    ]


@pytest.fixture
def sample_articles() -> list[Article]:
    """Five articles, newest first, dated 2001: a teaser, markup-laden text with a
    caption, an upstream article with HTML and atom:source, and a published-date tie."""
    return _feeds_sample_articles()


@pytest.fixture(scope="session")
def real_feeds() -> dict[str, list[Article]]:
    """The real podcast (99% Invisible, RSS) and multi-author (arXiv, Atom) feeds of
    tests/data/upstream, read as a build reads them, by file stem."""
    from sources.feed import parse_feed

    found = {}
    for name in ("podcast_99pi.xml", "arxiv_atom.xml"):
        body = (DATA / "upstream" / name).read_bytes()
        found[name.split(".")[0]] = parse_feed(body, url=f"https://feeds.example.com/{name}", headers={})
    return found


@pytest.fixture
def urls() -> Urls:
    return Urls(FEEDS_BASE_URL)


@pytest.fixture
def all_channel(urls: Urls) -> Channel:
    return Channel(urls=urls, site_title="tagfeed")


@pytest.fixture
def tag_channel(urls: Urls) -> Channel:
    return Channel(urls=urls, site_title="tagfeed", tag=Tag(slug="putin", name="Putin"))


@pytest.fixture(scope="session")
def assert_valid_atom() -> Callable[[bytes], None]:
    relaxng = etree.RelaxNG(etree.parse(str(SCHEMAS / "atom.rng")))
    schematron = isoschematron.Schematron(etree.parse(str(SCHEMAS / "atom-rules.iso.sch")))

    def check(document: bytes) -> None:
        tree = etree.fromstring(document)
        assert relaxng.validate(tree), relaxng.error_log
        assert schematron.validate(tree), schematron.error_log

    return check


@pytest.fixture(scope="session")
def assert_valid_jsonfeed() -> Callable[[bytes], dict[str, object]]:
    schema = json.loads((SCHEMAS / "jsonfeed-1.1.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())

    def check(document: bytes) -> dict[str, object]:
        feed = json.loads(document)
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(feed)]
        assert not errors, errors
        assert feed["version"] == "https://jsonfeed.org/version/1.1"
        return dict(feed)

    return check

# --- end of the feeds/ block ----------------------------------------------


# --- server block (server.py, tagfeed/httpcache.py) ------------------------
# A hand-made output tree for quick Flask-client checks, and `live_server`: the
# real `tagfeed serve` in a subprocess on a free 127.0.0.1 port.

import gzip as _gzip
import http.client as _http_client
import signal as _signal
import socket as _socket
import time as _time
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient

    from tagfeed.config import Config

_SERVER_SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SERVED_FILES = {
    "index.html": b"<!doctype html><title>tagfeed</title><p>index</p>\n",
    "feeds.opml": b'<?xml version="1.0" encoding="utf-8"?><opml version="2.0"><head/><body/></opml>\n',
    "all.atom": b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"/>\n',
    "all.rss": b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel/></rss>\n',
    "all.json": b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": []}\n',
    "tags/putin.atom": b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                       b"<title>Putin \xe2\x80\x94 tagfeed</title></feed>\n",
    "tags/putin.html": b"<!doctype html><title>Putin</title>\n",
}


@pytest.fixture
def served_tree(tmp_path: Path) -> Path:
    """A small output tree written by hand (with .gz twins), plus things that must never be served."""
    out = tmp_path / "output"
    for rel, data in SERVED_FILES.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
        (out / (rel + ".gz")).write_bytes(_gzip.compress(data, mtime=0))
    (out / ".gitkeep").write_bytes(b"")
    (out / "tags" / ".putin.atom.k2j3.tmp").write_bytes(b"half-written")
    (tmp_path / "secret.txt").write_bytes(b"SECRET outside the tree\n")
    (out / "escape.atom").symlink_to(tmp_path / "secret.txt")
    return out


@pytest.fixture
def server_config(served_tree: Path) -> Config:
    from tagfeed.config import parse_config

    site = {"output_dir": "output", "state_dir": "state", "cache_max_age": 60}
    return parse_config({"site": site}, root=served_tree.parent)


@pytest.fixture
def app(server_config: Config) -> Flask:
    from server import create_app

    return create_app(server_config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def free_port() -> int:
    with _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
            shutil.copytree(_SERVER_SEEDS, root / "seeds")
        (root / "tagfeed.toml").write_text(_SERVER_TOML.format(build_every=build_every), encoding="utf-8")

    @property
    def output(self) -> Path:
        return self.root / "output"

    def build(self) -> subprocess.CompletedProcess[str]:
        return run_tagfeed("build", "--config", str(self.root / "tagfeed.toml"), cwd=self.root)

    def start(self, timeout: float = 60) -> LiveServer:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAGFEED_")}
        args = [sys.executable, "-m", "tagfeed", "serve", "--config", str(self.root / "tagfeed.toml"),
                "--host", "127.0.0.1", "--port", str(self.port)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, cwd=self.root, env=env, stdout=log, stderr=log)
        deadline = _time.monotonic() + timeout
        while _time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"tagfeed serve exited {self.proc.returncode}:\n{self.log()}")
            try:
                self.request("GET", "/healthz", timeout=2)
                return self
            except OSError:
                _time.sleep(0.1)
        self.stop()
        pytest.fail(f"tagfeed serve did not answer within {timeout}s:\n{self.log()}")

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM, then kill after ``timeout``; the exit code (None when it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(_signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            return None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
        """One raw request (the path is sent as given, unnormalised); status, lower-cased headers, body."""
        conn = _http_client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            conn.endheaders()
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()


@pytest.fixture
def start_live_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start servers in fresh project copies (seeds + tagfeed.toml, built once); all stop at teardown."""
    started: list[LiveServer] = []

    def start(build_every: str = "15m", name: str = "live") -> LiveServer:
        server = LiveServer(tmp_path / name, build_every=build_every)
        built = server.build()
        assert built.returncode == 0, built.stderr
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One real server for a whole test module (its tests only read, bar a symlink)."""
    server = LiveServer(tmp_path_factory.mktemp("live"))
    built = server.build()
    assert built.returncode == 0, built.stderr
    server.start()
    yield server
    server.stop()

# --- end of the server block -------------------------------------------------


# --- politeness block (sources/hostgate.py) ----------------------------------
# Builds take turns per upstream host with a real 1 s gap (site.host_gap). Tests
# of other features poll many feeds on 127.0.0.1, so the process-wide gate keeps
# its lock and bookkeeping but does not really sleep; tests of the gap itself
# (tests/test_hostgate.py) use their own HostGate with a real or fake clock.

@pytest.fixture(autouse=True)
def _no_real_host_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    from sources.hostgate import HOSTS

    monkeypatch.setattr(HOSTS, "sleep", lambda seconds: None)

# --- end of the politeness block ----------------------------------------------


# --- PostgreSQL block (tests/pgserver.py) -------------------------------------
# One real PostgreSQL per session for every module that needs it (pgstore, worker).

from pgserver import pg_url, postgres_server  # noqa: E402,F401

# --- end of the PostgreSQL block ----------------------------------------------
