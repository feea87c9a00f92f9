"""WebSub: every feed names the hub, and after a build the hub is pinged for exactly the feeds that changed.

The hub is a real local HTTP server (pytest-httpserver).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree
from pytest_httpserver import HTTPServer

from helpers import free_port
from tagfeed.config import Config, load_config
from tagfeed.building.pipeline import build

T1 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
BASE = "http://127.0.0.1:8080/"
A = "{http://www.w3.org/2005/Atom}"
LAVROV = "003_349737700d66f2ad.txt"


def _config(project: Path, hub: str) -> Config:
    toml = project / "tagfeed.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        "[site]\n", f'[site]\nwebsub_hub = "{hub}"\n', 1), encoding="utf-8")
    return load_config(toml, environ={})


def _feeds(output: Path) -> dict[str, str]:
    return {BASE + p.relative_to(output).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(output.rglob("*")) if p.suffix in (".atom", ".rss", ".json")}


def _pinged(httpserver: HTTPServer) -> list[str]:
    pings = [request.form for request, _ in httpserver.log if request.path == "/hub"]
    assert all(form["hub.mode"] == "publish" for form in pings)
    return [form["hub.url"] for form in pings]


def test_hub_gets_exactly_the_changed_feed_urls(project: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hub", method="POST").respond_with_data("", status=204)
    config = _config(project, httpserver.url_for("/hub"))
    build(config, now=T1)
    output = config.site.output_dir
    first = _feeds(output)
    assert sorted(_pinged(httpserver)) == sorted(first)  # the first build writes every feed
    httpserver.clear_log()
    assert build(config, now=T1 + timedelta(hours=1)).written == ()
    assert _pinged(httpserver) == []  # nothing changed, nobody is told
    lavrov = project / "seeds" / LAVROV
    header, rest = lavrov.read_text(encoding="utf-8").split("\n", 1)
    lavrov.write_text(f"{header}\n\nLavrov meets Blinken in Geneva\n\nThe two met.\n{rest}", encoding="utf-8")
    build(config, now=T1 + timedelta(hours=2))
    after = _feeds(output)
    changed = sorted(url for url, digest in after.items() if first.get(url) != digest)
    assert BASE + "tags/sergei-lavrov.atom" in changed and BASE + "tags/putin.atom" not in changed
    assert sorted(_pinged(httpserver)) == changed


def test_every_feed_carries_hub_and_self(project: Path, httpserver: HTTPServer) -> None:
    hub = httpserver.url_for("/hub")
    httpserver.expect_request("/hub", method="POST").respond_with_data("", status=204)
    config = _config(project, hub)
    build(config, now=T1)
    output = config.site.output_dir
    for path in sorted(output.rglob("*")):
        url = BASE + path.relative_to(output).as_posix()
        if path.suffix == ".atom":
            links = {(link.get("rel"), link.get("href")) for link in etree.parse(str(path)).getroot().findall(f"{A}link")}
            assert {("hub", hub), ("self", url)} <= links, path
        elif path.suffix == ".rss":
            channel = etree.parse(str(path)).getroot().find("channel")
            assert channel is not None
            links = {(link.get("rel"), link.get("href")) for link in channel.findall(f"{A}link")}
            assert {("hub", hub), ("self", url)} <= links, path
        elif path.suffix == ".json":
            feed = json.loads(path.read_text(encoding="utf-8"))
            assert feed["hubs"] == [{"type": "WebSub", "url": hub}] and feed["feed_url"] == url


def test_without_a_hub_feeds_name_none(built_output: Path) -> None:
    assert b'rel="hub"' not in (built_output / "all.atom").read_bytes()
    assert b"hubs" not in (built_output / "all.json").read_bytes()


@pytest.mark.parametrize("hub_answers", ["500", "down"])
def test_a_failing_hub_never_fails_the_build(project: Path, httpserver: HTTPServer, hub_answers: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    if hub_answers == "down":
        hub = f"http://127.0.0.1:{free_port()}/hub"
    else:
        httpserver.expect_request("/hub", method="POST").respond_with_data("no", status=500)
        hub = httpserver.url_for("/hub")
    config = _config(project, hub)
    with caplog.at_level(logging.WARNING, logger="tagfeed.building.websub"):
        report = build(config, now=T1)
    assert report.errors == () and (config.site.output_dir / "all.atom").is_file()
    assert any(hub in record.getMessage() for record in caplog.records)
