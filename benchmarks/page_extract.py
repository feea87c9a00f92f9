"""Benchmark row: extracting a ~500 KB listing page vs a plain lxml parse of the same bytes.

Run as ``python -m benchmarks.page_extract``; prints median milliseconds of each and their ratio.
The page is a real one from tests/data/htmlpages/ (hbr, 240 KB), its body repeated to ~500 KB,
so the detector sees a page of that size; the target is 50 ms for the extraction.
"""

from __future__ import annotations

import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

from lxml import etree

from sources.page.extract import extract

PAGE = Path(__file__).resolve().parent.parent / "tests" / "data" / "htmlpages" / "pages" / "hbr_topic_01.html"
TARGET = 500 * 1024
RUNS = 15


def _body() -> bytes:
    raw = PAGE.read_bytes()
    head, _, rest = raw.partition(b"<body")
    body, _, tail = rest.partition(b"</body>")
    copies = max(1, round(TARGET / len(raw)))
    return head + b"<body" + body * copies + b"</body>" + tail


def _median(fn: object) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    body = _body()
    now = datetime(2026, 4, 1, tzinfo=timezone.utc)
    parse = _median(lambda: etree.fromstring(body.decode("utf-8"), etree.HTMLParser()))
    full = _median(lambda: extract(body, url="https://hbr.org/topic/subject/leadership", now=now))
    items = len(extract(body, url="https://hbr.org/topic/subject/leadership", now=now).items)
    print(f"page: {PAGE.name}, body repeated to {len(body) // 1024} KB, {items} items")
    print(f"{'lxml parse':<24}{parse:8.1f} ms")
    print(f"{'page extract':<24}{full:8.1f} ms  ({full / parse:.1f}x the parse)")


if __name__ == "__main__":
    main()
