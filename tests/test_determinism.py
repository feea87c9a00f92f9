"""Deterministic output: unchanged input, rebuilt later, gives the very same bytes.

No clock reaches a file, so every file's sha256 stays put, no file is
rewritten, and Last-Modified (the time the bytes last changed) does not move.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pytest_httpserver import HTTPServer

from helpers import DATA, run_tagfeed
from tagfeed.config import load_config
from tagfeed.building.pipeline import build

T1 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
FEED_SOURCE = """
[[sources]]
type = "feed"
url = "{url}"
tags = ["Upstream"]
every = "30m"
"""


def tree_state(output: Path) -> dict[str, tuple[str, int]]:
    """Every file of the tree: its sha256 and its mtime (what Last-Modified reports)."""
    return {p.relative_to(output).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(output.rglob("*")) if p.is_file()}


def test_rebuild_later_with_unchanged_input_is_byte_identical(project: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        (DATA / "upstream" / "rss20.xml").read_bytes(), content_type="application/rss+xml")
    with open(project / "tagfeed.toml", "a", encoding="utf-8") as toml:
        toml.write(FEED_SOURCE.format(url=httpserver.url_for("/feed.xml")))
    config = load_config(project / "tagfeed.toml", environ={})
    first = build(config, now=T1)
    assert first.errors == () and first.written
    before = tree_state(config.site.output_dir)
    for later in (T1 + timedelta(hours=1), T1 + timedelta(days=400)):  # the feed is polled again each time
        report = build(config, now=later)
        assert report.errors == () and report.written == ()
        assert tree_state(config.site.output_dir) == before
    assert len([r for r, _ in httpserver.log if r.path == "/feed.xml"]) == 3
    assert not any("2025" in path or b"2025" in (config.site.output_dir / path).read_bytes()
                   for path in before if not path.endswith(".gz"))  # the later clock leaked nowhere


def test_cli_rebuild_keeps_bytes_and_last_modified(project: Path) -> None:
    from server import create_app

    assert run_tagfeed("build", cwd=project).returncode == 0
    output = project / "output"
    before = tree_state(output)
    client = create_app(load_config(project / "tagfeed.toml", environ={})).test_client()
    paths = ["/", "/all.atom", "/tags/putin.rss", "/tags/sergei-lavrov.json"]
    validators = {p: (client.get(p).headers["ETag"], client.get(p).headers["Last-Modified"]) for p in paths}
    time.sleep(1.1)  # a later `now`, to the second
    again = run_tagfeed("build", cwd=project)
    assert again.returncode == 0 and "0 written" in again.stdout
    assert tree_state(output) == before
    assert {p: (client.get(p).headers["ETag"], client.get(p).headers["Last-Modified"]) for p in paths} == validators
