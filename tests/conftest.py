"""Shared fixtures, and only fixtures: what they are built from lives in tests/helpers.py."""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import jsonschema
import pytest
from helpers import BUILD_TIME, DATA, ROOT, LiveServer, assert_golden
from lxml import etree, isoschematron
from pgserver import pg_url, postgres_server  # noqa: F401  (one real PostgreSQL per session)
from s3server import s3, s3_server  # noqa: F401  (a real S3 API server per module)

from feeds.channel import Channel
from feeds.urls import Urls
from sources.model import Article, Tag, article_id, make_tag, uuid_urn
from tagfeed import __version__

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient

    from tagfeed.config import Config


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/data/golden/ from what the code renders now (then review the diff)")


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, bytes], None]:
    """Compare bytes with tests/data/golden/<name>, or rewrite that file under --update-golden."""
    update = bool(request.config.getoption("--update-golden"))
    return lambda name, rendered: assert_golden(name, rendered, update=update)


# --- the project: a copy of tagfeed.toml + seeds/, and its build -------------------------------

@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the default project (tagfeed.toml + seeds/) in a temp dir."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "seeds", root / "seeds")
    shutil.copy2(ROOT / "tagfeed.toml", root / "tagfeed.toml")
    return root


@pytest.fixture
def built_output(project: Path) -> Path:
    """The output tree of one in-process build of the default project at BUILD_TIME."""
    from tagfeed.config import load_config
    from tagfeed.building.pipeline import build

    build(load_config(project / "tagfeed.toml", environ={}), now=BUILD_TIME)
    return project / "output"


# --- feeds/: articles to render, the URL scheme, and the independent validators ---------------
# (RFC 4287 RELAX NG + Schematron, JSON Feed 1.1 schema) the renders must pass.

SCHEMAS = DATA / "schemas"
FEEDS_BASE_URL = "http://127.0.0.1:8080/"
# Every sample date is in 2001, so the current year in an output means a clock leaked in.
FEEDS_T0 = datetime(2001, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
NASTY_TITLE = 'Lavrov: <script>alert("x")</script> & <b>bold</b> \'quoted\''


@pytest.fixture
def sample_articles() -> list[Article]:
    """Five articles, newest first, dated 2001: a teaser, markup-laden text with a
    caption, an upstream article with HTML and atom:source, and a published-date tie."""
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
    return Channel(urls=urls, site_title="tagfeed", generator_version=__version__)


@pytest.fixture
def tag_channel(urls: Urls) -> Channel:
    return Channel(urls=urls, site_title="tagfeed", generator_version=__version__, tag=Tag(slug="putin", name="Putin"))


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


# --- server.py: a hand-made output tree for Flask-client checks, and real `tagfeed serve`s ----

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
        (out / (rel + ".gz")).write_bytes(gzip.compress(data, mtime=0))
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


# --- sources/hostgate.py ----------------------------------------------------------------------
# Builds take turns per upstream host with a real 1 s gap (site.host_gap). Tests of other
# features poll many feeds on 127.0.0.1, so the process-wide gate keeps its lock and
# bookkeeping but does not really sleep; tests of the gap itself (tests/test_hostgate.py)
# use their own HostGate with a real or fake clock.

@pytest.fixture(autouse=True)
def _no_real_host_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    from sources.hostgate import HOSTS

    monkeypatch.setattr(HOSTS, "sleep", lambda seconds: None)
