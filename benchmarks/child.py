"""One measurement in a fresh interpreter, so peak memory (ru_maxrss) is its own.

``python -m benchmarks.child TASK ROOT [ARGS]`` prints one JSON object on its
last stdout line: seconds of the measured part plus ``maxrss_mib``.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
BASE = "http://127.0.0.1:8080/"


def _dumps(root: Path) -> list[Path]:
    return sorted((root / "dumps").glob("*.txt"))


def baseline(root: Path, out: str, fsync: str = "1") -> dict[str, Any]:
    """The streaming baseline: parse, render, then a cold write of the same tree (fsync per file,
    or with ``fsync`` "0" temp + rename only: the issue's yardstick for one-sync durability)."""
    from benchmarks import baseline as b

    t = time.perf_counter()
    items = b.parse(_dumps(root), T0)
    parse_s = time.perf_counter() - t
    t = time.perf_counter()
    size = sum(len(data) for _, data in b.render(items, BASE))
    render_s = time.perf_counter() - t
    t = time.perf_counter()
    files = b.write(Path(out), b.render(b.parse(_dumps(root), T0), BASE), fsync=fsync == "1")
    return {"parse_s": parse_s, "render_s": render_s, "cold_s": time.perf_counter() - t,
            "files": files, "bytes": size, "json": "orjson" if b.orjson else "json"}


def naive(root: Path) -> dict[str, Any]:
    from benchmarks import baseline as b
    from benchmarks.naive import NAIVE

    items = b.parse(_dumps(root), T0)
    t = time.perf_counter()
    size = sum(len(data) for _, data in b.render(items, BASE, renderers=NAIVE))
    return {"render_s": time.perf_counter() - t, "bytes": size}


def tagfeed_build(root: Path, hours: str) -> dict[str, Any]:
    from tagfeed.config import load_config
    from tagfeed.building.pipeline import build

    config = load_config(root / "tagfeed.toml", environ={})
    t = time.perf_counter()
    report = build(config, now=T0 + timedelta(hours=int(hours)))
    return {"seconds": time.perf_counter() - t, "written": len(report.written), "unchanged": report.unchanged,
            "articles": report.articles_total, "written_sample": sorted(report.written)[:8]}


def tagfeed_cli(root: Path) -> dict[str, Any]:
    """``tagfeed build`` as a user runs it: its own process, timed from outside, its peak RSS as
    the kernel accounts it (wait4), the files it says it wrote."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGFEED_")}
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "tagfeed", "build"], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    out, err = proc.stdout.read() if proc.stdout else b"", proc.stderr.read() if proc.stderr else b""
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"tagfeed build failed: {err.decode()[-2000:]}")
    summary = out.decode().strip().splitlines()[0]
    written, unchanged = (int(n) for n in re.search(r"files: (\d+) written, (\d+) unchanged", summary).groups())
    articles = int(re.search(r"(\d+) published", summary).group(1))
    return {"seconds": seconds, "written": written, "unchanged": unchanged, "articles": articles,
            "cli_maxrss_mib": usage.ru_maxrss / 1024, "summary": summary}


def tagfeed_render(root: Path) -> dict[str, Any]:
    from feeds.site import render_site
    from feeds.urls import Urls
    from tagfeed import __version__
    from tagfeed.config import load_config
    from tagfeed.store.sqlite import Store

    config = load_config(root / "tagfeed.toml", environ={})
    with Store.open(config.site.state_dir) as store:
        articles = list(store.articles())
    t = time.perf_counter()
    files = render_site(config.site.title, Urls(config.site.base_url), articles, config.site.max_items,
                        version=__version__)
    size = sum(len(data) for _, data in files)
    return {"render_s": time.perf_counter() - t, "bytes": size}


def feed_parsing(root: Path, rounds: str) -> dict[str, Any]:
    """tagfeed's parse_feed (sources.feed.fast's reading of the defusedxml tree, else feedparser
    without its sanitizer and URI resolver; then nh3) against feedparser's defaults, on one
    Atom feed of 50 entries with HTML content.

    Both get the same bytes and headers. Rounds alternate (ours, theirs, ours, ...) so load
    from elsewhere on the machine falls on both alike; one untimed round each comes first.
    """
    import feedparser

    from benchmarks.feedsample import sample_feed
    from sources.feed.read import _parse, parse_feed

    body, n = sample_feed(), int(rounds)
    url, headers = "http://127.0.0.1/feed.atom", {"content-type": "application/atom+xml"}

    def ours_once() -> None:
        parse_feed(body, url=url, headers=headers)

    def default_once() -> None:
        feedparser.parse(body, response_headers={"content-location": url, **headers})

    def slow_once() -> None:  # the path a feed fastfeed does not read takes (RSS 1.0, other charsets, ...)
        _parse(body, url=url, headers=headers, tags=(), fast=False)

    ours_once()
    default_once()
    slow_once()
    ours = default = slow = 0.0
    for _ in range(n):
        t = time.perf_counter()
        ours_once()
        ours += time.perf_counter() - t
        t = time.perf_counter()
        default_once()
        default += time.perf_counter() - t
        t = time.perf_counter()
        slow_once()
        slow += time.perf_counter() - t
    return {"tagfeed_feeds_per_s": n / ours, "feedparser_default_feeds_per_s": n / default,
            "tagfeed_via_feedparser_feeds_per_s": n / slow}


TASKS = {"baseline": baseline, "naive": naive, "tagfeed-build": tagfeed_build, "tagfeed-cli": tagfeed_cli,
         "tagfeed-render": tagfeed_render, "feed-parsing": feed_parsing}


def main(argv: list[str]) -> None:
    task, root, *args = argv
    result = TASKS[task](Path(root), *args)
    result["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
