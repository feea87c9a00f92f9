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
