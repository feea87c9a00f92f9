"""server.FastFiles answers file requests exactly as the Flask route does: status, headers, body, log."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

import server
from tagfeed.config import Config

PATHS = ["/", "/index.html", "/all.atom", "/tags/putin.atom", "/opml.xml", "/nope.atom", "/../etc/passwd",
         "//etc/passwd", "/tags/", "/%2e%2e/x", "/t%C3%A9.atom", "/.hidden"]


def _pair(server_config: Config) -> tuple[Flask, Flask]:
    fast = server.create_app(server_config)
    slow = server.create_app(server_config)
    slow.wsgi_app = slow.wsgi_app.wsgi  # type: ignore[attr-defined, method-assign]
    return fast, slow


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
def test_fast_path_matches_flask(server_config: Config, method: str) -> None:
    fast, slow = _pair(server_config)
    etag = fast.test_client().get("/all.atom").headers.get("ETag", '"x"')
    variants = [{}, {"Accept-Encoding": "gzip"}, {"If-None-Match": etag},
                {"If-None-Match": etag[:-1] + '-gzip"', "Accept-Encoding": "gzip"},
                {"If-Modified-Since": "Wed, 21 Oct 2099 07:28:00 GMT"}, {"If-None-Match": "*"},
                {"If-None-Match": '"other"', "If-Modified-Since": "Wed, 21 Oct 2099 07:28:00 GMT"}]
    for path in PATHS:
        for headers in variants:
            a = fast.test_client().open(path, method=method, headers=headers)
            b = slow.test_client().open(path, method=method, headers=headers)
            assert (a.status, sorted(a.headers.items()), a.data) == \
                   (b.status, sorted(b.headers.items()), b.data), (path, headers)


def test_fast_path_logs_like_flask(server_config: Config, caplog: pytest.LogCaptureFixture) -> None:
    fast, slow = _pair(server_config)
    lines = []
    for app in (fast, slow):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="tagfeed.access"):
            app.test_client().get("/all.atom", headers={"Accept-Encoding": "gzip"})
            app.test_client().head("/all.atom")
        lines.append([r.getMessage().split("] ", 1)[1] for r in caplog.records])
    assert lines[0] == lines[1] and len(lines[0]) == 2


def test_fast_path_headers_follow_a_rewritten_file(server_config: Config,
                                                   served_tree) -> None:  # type: ignore[no-untyped-def]
    fast, slow = _pair(server_config)
    first = fast.test_client().get("/all.atom", headers={"Accept-Encoding": "gzip"})
    (served_tree / "all.atom").write_bytes(b"<feed>changed, and longer than before</feed>")
    for headers in ({}, {"Accept-Encoding": "gzip"}, {"If-None-Match": first.headers["ETag"]}):
        a = fast.test_client().get("/all.atom", headers=headers)
        b = slow.test_client().get("/all.atom", headers=headers)
        assert (a.status, sorted(a.headers.items()), a.data) == (b.status, sorted(b.headers.items()), b.data)
        assert a.headers["ETag"] != first.headers["ETag"]


def test_resolve_shortcut_is_realpath(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """tree._realpath_below gives os.path.realpath's answer for every path below the root."""
    import itertools
    import os

    from tagfeed.serving.tree import _realpath_below

    base = os.path.realpath(tmp_path)
    root = os.path.join(base, "out")
    os.makedirs(os.path.join(root, "tags", "sub"))
    os.makedirs(os.path.join(base, "outside"))
    for rel in ("out/a.atom", "out/tags/b.atom", "outside/s.atom"):
        open(os.path.join(base, rel), "w").close()
    os.symlink(os.path.join(base, "outside"), os.path.join(root, "link"))
    os.symlink(os.path.join(root, "tags"), os.path.join(root, "tl"))
    os.symlink("b.atom", os.path.join(root, "tags", "c.atom"))
    os.symlink("../a.atom", os.path.join(root, "tags", "up.atom"))
    os.symlink(os.path.join(root, "nowhere"), os.path.join(root, "dangling"))
    os.symlink("loop", os.path.join(root, "loop"))
    parts = ["a.atom", "tags", "b.atom", "c.atom", "up.atom", "link", "s.atom", "tl", "sub", ".", "..", "",
             "missing", "dangling", "loop"]
    for k in (1, 2, 3):
        for combo in itertools.product(parts, repeat=k):
            joined = root + "/" + "/".join(combo)
            assert _realpath_below(root, joined) == os.path.realpath(joined), joined
