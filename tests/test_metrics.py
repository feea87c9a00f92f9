"""``GET /metrics`` (issue 18.2-18.3), judged by the real tools: ``promtool check metrics`` on
the exposition of a live ``tagfeed serve``, and a real Prometheus server scraping it, whose
HTTP API must hold tagfeed's per-source series with the right values for an ok, a failing
(HTTP 500) and a gone (410) feed. Both come from Debian's ``prometheus`` (scripts/test.sh)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from helpers import LiveServer, free_port, stop_process
from tagfeed.serving.httpcache import file_kind

RSS = (b'<rss version="2.0"><channel><title>t</title><link>https://e.example/</link><description>d</description>'
       b'<item><title>One</title><link>https://e.example/1</link></item>'
       b'<item><title>Two</title><link>https://e.example/2</link></item></channel></rss>')
TOML = """\
[site]
output_dir = "output"
state_dir = "state"
host_gap = 0
{metrics}
[[sources]]
type = "tagpage"
paths = ["seeds/*.txt"]
{feeds}"""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: Debian package 'prometheus' (scripts/test.sh installs it)")
    return path


@pytest.fixture
def upstream(httpserver: HTTPServer) -> dict[str, str]:
    httpserver.expect_request("/ok").respond_with_data(RSS, content_type="application/rss+xml")
    httpserver.expect_request("/broken").respond_with_data("oops", status=500)
    httpserver.expect_request("/gone").respond_with_data("", status=410)
    return {name: httpserver.url_for(f"/{name}") for name in ("ok", "broken", "gone")}


def _serve(root: Path, upstream: dict[str, str], metrics: str = "metrics = true") -> LiveServer:
    server = LiveServer(root)
    feeds = "".join(f'\n[[sources]]\ntype = "feed"\nurl = "{url}"\nevery = "1h"\n' for url in upstream.values())
    (root / "tagfeed.toml").write_text(TOML.format(metrics=metrics, feeds=feeds), encoding="utf-8")
    return server


@pytest.fixture
def live(tmp_path: Path, upstream: dict[str, str]) -> Iterator[LiveServer]:
    server = _serve(tmp_path / "site", upstream).start()
    try:
        yield server
    finally:
        server.stop()


def _samples(text: str) -> dict[str, float]:
    """``name{labels}`` -> value of every sample line of an exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def test_the_exposition_passes_promtool_and_holds_each_sources_figures(live: LiveServer,
                                                                       upstream: dict[str, str]) -> None:
    assert live.request("GET", "/tags/putin.atom")[0] == 200
    etag = live.request("GET", "/tags/putin.atom")[1]["etag"]
    assert live.request("GET", "/tags/putin.atom", {"If-None-Match": etag})[0] == 304
    assert live.request("GET", "/nope.atom")[0] == 404
    status, headers, body = live.request("GET", "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    check = subprocess.run([_tool("promtool"), "check", "metrics"], input=body, capture_output=True, timeout=60)
    assert check.returncode == 0 and check.stdout == b"" and check.stderr == b"", check
    got = _samples(body.decode())
    ok, broken, gone = upstream["ok"], upstream["broken"], upstream["gone"]
    assert got[f'tagfeed_source_state{{source="{ok}",state="ok"}}'] == 1
    assert got[f'tagfeed_source_state{{source="{broken}",state="error"}}'] == 1
    assert got[f'tagfeed_source_state{{source="{broken}",state="ok"}}'] == 0
    assert got[f'tagfeed_source_state{{source="{gone}",state="gone"}}'] == 1
    assert got[f'tagfeed_source_consecutive_failures{{source="{broken}"}}'] == 1
    assert got[f'tagfeed_source_consecutive_failures{{source="{ok}"}}'] == 0
    assert got[f'tagfeed_source_fetches_total{{class="2xx",source="{ok}"}}'] == 1
    assert got[f'tagfeed_source_fetches_total{{class="5xx",source="{broken}"}}'] == 1
    assert got[f'tagfeed_source_fetches_total{{class="4xx",source="{gone}"}}'] == 1
    assert got[f'tagfeed_source_fetched_bytes_total{{source="{ok}"}}'] == len(RSS)
    assert got[f'tagfeed_source_articles_read{{source="{ok}"}}'] == 2
    assert got[f'tagfeed_source_articles{{source="{ok}"}}'] == 2
    assert f'tagfeed_source_last_success_timestamp_seconds{{source="{ok}"}}' in got
    assert f'tagfeed_source_last_success_timestamp_seconds{{source="{broken}"}}' not in got
    assert got[f'tagfeed_source_backoff_until_timestamp_seconds{{source="{broken}"}}'] > time.time()
    assert f'tagfeed_source_next_fetch_timestamp_seconds{{source="{gone}"}}' not in got
    assert got['tagfeed_source_articles_read{source="seeds/000_0d1a8655cd7d2e58.txt"}'] == 10
    assert got['tagfeed_builds_total{outcome="ok"}'] == 1 and got["tagfeed_build_errors"] == 2
    assert got['tagfeed_build_files{outcome="written"}'] > 0 and got['tagfeed_build_articles{kind="new"}'] == 19
    assert {"read", "settle", "write"} <= {k.split('"')[1] for k in got if k.startswith("tagfeed_build_stage_")}
    assert got['tagfeed_http_requests_total{kind="atom",status="200"}'] == 2
    assert got['tagfeed_http_requests_total{kind="atom",status="304"}'] == 1
    assert got['tagfeed_http_requests_total{kind="atom",status="404"}'] == 1


def test_metrics_are_off_unless_asked_for(tmp_path: Path, upstream: dict[str, str]) -> None:
    server = _serve(tmp_path / "site", upstream, metrics="").start()
    try:
        assert server.request("GET", "/metrics")[0] == 404
    finally:
        server.stop()


def test_file_kinds() -> None:
    assert [file_kind(p) for p in ("", "index.html", "tags/a.atom", "tags/a.rss.gz", "all.json", "feeds.opml",
                                   "tags/a/archive/1.atom", "healthz", "metrics", "x.bin")] == \
        ["html", "html", "atom", "rss", "json", "opml", "archive", "healthz", "metrics", "other"]


def _query(port: int, promql: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as response:
        answer = json.load(response)
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])


def test_a_real_prometheus_scrapes_the_live_server(live: LiveServer, upstream: dict[str, str],
                                                   tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(f"global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                      f"  - job_name: tagfeed\n    static_configs:\n      - targets: ['127.0.0.1:{live.port}']\n",
                      encoding="utf-8")
    log_path = tmp_path / "prometheus.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([_tool("prometheus"), f"--config.file={config}",
                                 f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
                                cwd=tmp_path, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 90
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text(errors="replace")[-3000:]
            try:
                found = _query(port, 'tagfeed_source_state{job="tagfeed"} == 1')
            except OSError:
                found = []
            states = {r["metric"]["source"]: r["metric"]["state"] for r in found}
            if upstream["gone"] in states:
                break
            time.sleep(0.5)
        assert states.get(upstream["ok"]) == "ok", (states, log_path.read_text(errors="replace")[-2000:])
        assert states.get(upstream["broken"]) == "error" and states.get(upstream["gone"]) == "gone", states
        failures = {r["metric"]["source"]: float(r["value"][1])
                    for r in _query(port, "tagfeed_source_consecutive_failures")}
        assert failures[upstream["broken"]] == 1 and failures[upstream["ok"]] == 0 and failures[upstream["gone"]] == 1
        fetches = _query(port, f'tagfeed_source_fetches_total{{source="{upstream["broken"]}"}}')
        assert [(r["metric"]["class"], r["value"][1]) for r in fetches] == [("5xx", "1")]
        up = _query(port, 'up{job="tagfeed"}')
        assert [r["value"][1] for r in up] == ["1"]
    finally:
        assert stop_process(proc, 30) is not None
