"""server.py against the real thing: `tagfeed serve` in a subprocess, spoken to over HTTP.

A few quick checks use the Flask test client on a hand-made tree; they add to
the live tests, never replace them.
"""

from __future__ import annotations

import gzip
import json
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.http import http_date

import server
from tagfeed.config import load_config
from tagfeed.serving.healthz import health_status
from tagfeed.serving.schedule import tick_seconds
from tagfeed.store.sqlite import SourceState

FILES = ["/", "/index.html", "/all.atom", "/all.rss", "/all.json", "/opml.xml", "/feeds.opml", "/tags/putin.atom",
         "/tags/sergei-lavrov.rss", "/tags/putin.json", "/tags/sergei-lavrov.html"]
TYPES = {".atom": "application/atom+xml; charset=utf-8", ".rss": "application/rss+xml; charset=utf-8",
         ".json": "application/feed+json; charset=utf-8", ".html": "text/html; charset=utf-8",
         "/": "text/html; charset=utf-8", "opml.xml": "text/x-opml; charset=utf-8",
         ".opml": "text/x-opml; charset=utf-8"}
TRAVERSALS = ["/../pyproject.toml", "/%2e%2e/pyproject.toml", "/%2e%2e/x", "/tags/..%2f..%2ftagfeed.toml",
              "/tags/%2e%2e/%2e%2e/tagfeed.toml", "//etc/passwd", "/%2fetc/passwd", "/%00",
              "/all.atom%00.html", "/leak.atom", "/up/tagfeed.toml", "/up/pyproject.toml",
              "/.gitkeep", "/tags/", "/nope.atom", "/..", "/tags/..\\..\\tagfeed.toml"]
SECRET = b"SECRET-MARKER-outside-output"


def expected_type(path: str) -> str:
    for suffix, ctype in sorted(TYPES.items(), key=lambda kv: -len(kv[0])):
        if path.endswith(suffix):
            return ctype
    raise AssertionError(path)


def file_for(live_server: object, path: str) -> Path:
    output: Path = live_server.output  # type: ignore[attr-defined]
    name = "index.html" if path == "/" else path.lstrip("/")
    return output / server.ALIASES.get(name, name)


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


# -- the live server: headers, validators, gzip ----------------------------------------------


@pytest.mark.parametrize("path", FILES)
def test_get_serves_the_file_with_every_header(live_server, path: str) -> None:
    status, headers, body = live_server.request("GET", path)
    on_disk = file_for(live_server, path)
    assert status == 200
    assert body == on_disk.read_bytes()
    assert headers["content-type"] == expected_type(path)
    assert headers["content-length"] == str(len(body))
    assert headers["etag"].startswith('"') and headers["etag"].endswith('"')  # strong
    assert headers["last-modified"] == http_date(on_disk.stat().st_mtime)
    assert headers["cache-control"] == "public, max-age=123"
    assert headers["vary"] == "Accept-Encoding"
    assert "content-encoding" not in headers


@pytest.mark.parametrize("path", FILES)
def test_head_has_the_get_headers_and_no_body(live_server, path: str) -> None:
    _, get_headers, get_body = live_server.request("GET", path)
    status, headers, body = live_server.request("HEAD", path)
    assert status == 200 and body == b""
    get_headers.pop("date"), headers.pop("date")
    assert headers == get_headers
    assert headers["content-length"] == str(len(get_body))


@pytest.mark.parametrize("path", FILES)
def test_conditional_get(live_server, path: str) -> None:
    _, first, _ = live_server.request("GET", path)
    status, headers, body = live_server.request("GET", path, {"If-None-Match": first["etag"]})
    assert (status, body) == (304, b"")
    assert headers["etag"] == first["etag"] and headers["vary"] == "Accept-Encoding"
    status, _, body = live_server.request("GET", path, {"If-Modified-Since": first["last-modified"]})
    assert (status, body) == (304, b"")
    status, _, body = live_server.request("GET", path, {"If-None-Match": '"stale"'})
    assert status == 200 and body
    status, _, _ = live_server.request("GET", path, {"If-None-Match": f'"x", W/{first["etag"]}'})
    assert status == 304
    status, _, _ = live_server.request("HEAD", path, {"If-None-Match": first["etag"]})
    assert status == 304


@pytest.mark.parametrize("path", FILES)
def test_gzip_is_the_precompressed_twin(live_server, path: str) -> None:
    _, plain, identity = live_server.request("GET", path, {"Accept-Encoding": "identity"})
    status, headers, body = live_server.request("GET", path, {"Accept-Encoding": "gzip, deflate"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == identity
    assert body == file_for(live_server, path).with_name(file_for(live_server, path).name + ".gz").read_bytes()
    assert headers["content-length"] == str(len(body))
    assert headers["etag"] != plain["etag"]
    _, head, head_body = live_server.request("HEAD", path, {"Accept-Encoding": "gzip"})
    assert head_body == b"" and head["content-length"] == headers["content-length"]
    for sent, encoding in ((plain["etag"], "gzip"), (headers["etag"], "identity")):
        status, _, _ = live_server.request("GET", path, {"If-None-Match": sent, "Accept-Encoding": encoding})
        assert status == 304


@pytest.mark.parametrize("accept", ["gzip;q=0", "identity", "br", "x-gzip;q=0, *;q=1"])
def test_gzip_refused_gives_identity(live_server, accept: str) -> None:
    _, headers, body = live_server.request("GET", "/all.atom", {"Accept-Encoding": accept})
    assert "content-encoding" not in headers
    assert body == (live_server.output / "all.atom").read_bytes()


def test_star_and_x_gzip_get_gzip(live_server) -> None:
    for accept in ("*", "x-gzip"):
        _, headers, _ = live_server.request("GET", "/all.rss", {"Accept-Encoding": accept})
        assert headers["content-encoding"] == "gzip"


# -- the live server: what must not be served ------------------------------------------------


@pytest.fixture(scope="module")
def planted(live_server) -> None:
    """Secrets beside the output tree, and symlinks inside it that lead to them."""
    root: Path = live_server.root
    (root / "pyproject.toml").write_bytes(SECRET)
    (root / "secret.txt").write_bytes(SECRET)
    (root / "x").write_bytes(SECRET)
    (live_server.output / "leak.atom").symlink_to(root / "secret.txt")
    (live_server.output / "up").symlink_to(root)
    (live_server.output / ".gitkeep").write_bytes(SECRET)


@pytest.mark.usefixtures("planted")
@pytest.mark.parametrize("path", TRAVERSALS)
def test_nothing_outside_the_tree(live_server, path: str) -> None:
    for method in ("GET", "HEAD"):
        status, _, body = live_server.request(method, path)
        assert status in (400, 404), (method, path, status)
        assert SECRET not in body and b"[site]" not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
@pytest.mark.parametrize("path", ["/", "/all.atom", "/healthz", "/nope"])
def test_other_methods_are_405(live_server, method: str, path: str) -> None:
    status, headers, _ = live_server.request(method, path)
    assert status == 405
    assert headers["allow"] == "GET, HEAD"


def test_healthz(live_server) -> None:
    status, headers, body = live_server.request("GET", "/healthz")
    assert status == 200 and headers["content-type"] == "application/json"
    health = json.loads(body)
    assert health["status"] == "ok" and health["last_build_errors"] == 0
    assert datetime.fromisoformat(health["last_build"]).tzinfo is not None
    assert health["build"]["ok"] is True
    assert len(health["sources"]) == 2
    for source in health["sources"]:
        assert set(source) == {"name", "kind", "state", "last_error", "last_ok", "next_fetch",
                               "error_count", "article_count"}
        assert source["kind"] == "tagpage" and source["state"] == "ok" and source["article_count"] > 0


def test_feeds_name_the_address_they_are_served_at(live_server) -> None:
    _, _, body = live_server.request("GET", "/tags/putin.atom")
    assert f'href="http://127.0.0.1:{live_server.port}/tags/putin.atom"'.encode() in body


def test_access_log_is_common_log_format(live_server) -> None:
    live_server.request("GET", "/all.json?x=1")
    wait_for(lambda: '"GET /all.json?x=1 HTTP/1.1" 200 ' in live_server.log(), 5, "the access log line")
    line = next(ln for ln in live_server.log().splitlines() if '"GET /all.json?x=1 HTTP/1.1"' in ln)
    host, ident, user, rest = line.split(" ", 3)
    assert (host, ident, user) == ("127.0.0.1", "-", "-")
    stamp = rest[rest.index("[") + 1:rest.index("]")]
    datetime.strptime(stamp, "%d/%b/%Y:%H:%M:%S %z")
    assert rest.endswith(f" 200 {(live_server.output / 'all.json').stat().st_size}")


# -- lifecycle: SIGTERM, scheduled rebuilds, failing builds -----------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly(start_live_server, signum: int) -> None:
    live = start_live_server(build_every="1s")
    live.request("GET", "/")
    started = time.monotonic()
    live.proc.send_signal(signum)
    assert live.proc.wait(15) == 0, live.log()
    assert time.monotonic() - started < 10
    assert "stopped" in live.log() and "Traceback" not in live.log()


def test_scheduled_rebuild_moves_only_the_changed_tag(start_live_server) -> None:
    live = start_live_server(build_every="2s")
    _, putin, old_body = live.request("GET", "/tags/putin.atom")
    _, lavrov, _ = live.request("GET", "/tags/sergei-lavrov.atom")
    seed = live.root / "seeds" / "000_0d1a8655cd7d2e58.txt"  # kind A: the Putin tag page
    with seed.open("a", encoding="utf-8") as handle:
        handle.write("\n\n  • Putin opens a scheduled-rebuild bridge\n\n"
                     "    The bridge was opened during a test of tagfeed's scheduler.\n")

    def changed() -> bool:
        return live.request("GET", "/tags/putin.atom")[1]["etag"] != putin["etag"]

    wait_for(changed, 30, "the Putin feed to be rebuilt")
    status, headers, body = live.request("GET", "/tags/putin.atom", {"If-None-Match": putin["etag"]})
    assert status == 200 and body != old_body and b"scheduled-rebuild bridge" in body
    assert headers["last-modified"] != putin["last-modified"] or headers["etag"] != putin["etag"]
    status, _, _ = live.request("GET", "/tags/sergei-lavrov.atom", {"If-None-Match": lavrov["etag"]})
    assert status == 304
    status, _, _ = live.request("GET", "/tags/sergei-lavrov.atom", {"If-Modified-Since": lavrov["last-modified"]})
    assert status == 304


def test_failing_build_is_reported_and_survived(start_live_server) -> None:
    live = start_live_server(build_every="1s")
    state, moved = live.root / "state", live.root / "state.away"
    state.rename(moved)
    state.write_text("not a directory\n")  # the store cannot open: every build now raises

    def reports_failure() -> bool:
        status, _, body = live.request("GET", "/healthz")
        health = json.loads(body)
        return status == 503 and health["status"] == "failing" and health["build"]["ok"] is False

    wait_for(reports_failure, 20, "/healthz to report the failed build")
    health = json.loads(live.request("GET", "/healthz")[2])
    assert "StoreError" in health["build"]["errors"][0] and health["error"]
    assert live.request("GET", "/all.atom")[0] == 200  # the last good tree is still served
    assert live.proc.poll() is None and "build failed" in live.log()
    state.unlink()
    moved.rename(state)

    def recovered() -> bool:
        status, _, body = live.request("GET", "/healthz")
        return status == 200 and json.loads(body)["status"] == "ok"

    wait_for(recovered, 20, "/healthz to report the next good build")


# -- quick unit checks with the Flask test client on a hand-made tree -------------------------


def test_import_starts_nothing(server_config) -> None:
    assert not [v for v in vars(server).values() if isinstance(v, Flask)]
    threads = threading.active_count()
    server.create_app(server_config)
    assert threading.active_count() == threads


def test_client_serves_hand_made_tree(client: FlaskClient) -> None:
    response = client.get("/tags/putin.atom")
    assert response.status_code == 200 and response.data.startswith(b"<?xml")
    assert response.headers["Cache-Control"] == "public, max-age=60"
    again = client.get("/tags/putin.atom", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    zipped = client.get("/tags/putin.atom", headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(zipped.data) == response.data


@pytest.mark.parametrize("path", ["/.gitkeep", "/tags/.putin.atom.k2j3.tmp", "/escape.atom", "/../secret.txt",
                                  "/tags", "/all.atom/"])
def test_client_hides_what_is_not_the_tree(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_stale_gzip_twin_is_not_served(client: FlaskClient, served_tree: Path) -> None:
    (served_tree / "all.rss").write_bytes(b'<rss version="2.0"><channel><title>new</title></channel></rss>')
    response = client.get("/all.rss", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in response.headers and b"new" in response.data


def test_cache_follows_the_file(client: FlaskClient, served_tree: Path) -> None:
    first = client.get("/all.json").headers["ETag"]
    (served_tree / "all.json").write_bytes(b'{"version": "https://jsonfeed.org/version/1.1", "items": [1]}')
    (served_tree / "all.json.gz").unlink()
    assert client.get("/all.json").headers["ETag"] != first


def test_healthz_without_any_build_is_503(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json["status"] == "failing"


HEALTH_CASES = [
    ("never built", None, 0, 0, [], True, "failing"),
    ("built, all fine", "t", 0, 5, [SourceState("a", "tagpage")], True, "ok"),
    ("every source failed, nothing published", "t", 1, 0, [SourceState("a", "tagpage", state="error")],
     True, "failing"),
    ("every source failed, old articles still published", "t", 1, 5,
     [SourceState("a", "tagpage", state="error")], True, "degraded"),
    ("one of two failed", "t", 1, 5, [SourceState("a", "tagpage"), SourceState("b", "tagpage", state="error")],
     True, "degraded"),
    ("index.html missing", "t", 0, 5, [SourceState("a", "tagpage")], False, "failing"),
]


@pytest.mark.parametrize(("last", "errors", "articles", "sources", "published", "expected"),
                         [c[1:] for c in HEALTH_CASES], ids=[c[0] for c in HEALTH_CASES])
def test_health_status(last: str | None, errors: int, articles: int, sources: list[SourceState],
                       published: bool, expected: str) -> None:
    assert health_status(last, errors, articles, sources, published, None) == expected


def test_base_url_follows_the_served_address_unless_set(tmp_path: Path) -> None:
    implicit, explicit = tmp_path / "implicit.toml", tmp_path / "explicit.toml"
    implicit.write_text("[site]\ntitle = 'x'\n")
    explicit.write_text("[site]\nbase_url = 'https://feeds.example.org/'\n")
    served = server.served_config(load_config(implicit, environ={}), "127.0.0.1", 9999)
    assert served.site.base_url == "http://127.0.0.1:9999/"
    kept = server.served_config(load_config(explicit, environ={}), "127.0.0.1", 9999)
    assert kept.site.base_url == "https://feeds.example.org/"
    env = {"TAGFEED_BASE_URL": "https://env.example.org/"}
    from_env = server.served_config(load_config(implicit, environ=env), "127.0.0.1", 9999)
    assert from_env.site.base_url == "https://env.example.org/"
    assert server.served_url("::1", 80) == "http://[::1]:80/"
    wildcard = server.served_url("0.0.0.0", 8080)
    assert "0.0.0.0" not in wildcard and wildcard.endswith(":8080/")


def test_scheduler_ticks_for_the_most_eager_feed(tmp_path: Path) -> None:
    path = tmp_path / "tagfeed.toml"
    path.write_text('[schedule]\nbuild_every = "15m"\n')
    assert tick_seconds(load_config(path, environ={})) == 900
    path.write_text('[schedule]\nbuild_every = "15m"\n[[sources]]\ntype = "feed"\nurl = "http://127.0.0.1:1/f"\n'
                    'every = "5m"\n[[sources]]\ntype = "feed"\nurl = "http://127.0.0.1:1/g"\nevery = "2h"\n')
    assert tick_seconds(load_config(path, environ={})) == 300
