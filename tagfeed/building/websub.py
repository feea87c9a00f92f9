"""WebSub (W3C Recommendation) publishing: tell the hub which feeds changed in a build.

The feeds themselves carry ``rel=hub`` and ``rel=self`` (feeds/). After a
build, the hub gets one ``hub.mode=publish`` POST per feed URL whose bytes
changed, and only those. A failing hub is logged and never fails the build.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import PurePosixPath

import httpx

from feeds.urls import Urls

log = logging.getLogger("tagfeed.building.websub")
FEED_SUFFIXES = (".atom", ".rss", ".json")
TIMEOUT = 10.0


def changed_feed_urls(urls: Urls, written: Iterable[str]) -> list[str]:
    """The URLs of the feed files among the paths written (not their ``.gz`` twins), sorted."""
    return sorted({urls.url(p) for p in written if PurePosixPath(p).suffix in FEED_SUFFIXES})


def ping_hub(hub: str, topics: Iterable[str], *, user_agent: str, timeout: float = TIMEOUT) -> list[str]:
    """POST a publish notification per topic; returns the failures (already logged), never raises.

    A hub that cannot be reached is not tried again for the remaining topics of this build.
    """
    failures: list[str] = []
    with httpx.Client(timeout=timeout, headers={"User-Agent": user_agent}, follow_redirects=False) as client:
        for topic in topics:
            try:
                response = client.post(hub, data={"hub.mode": "publish", "hub.url": topic})
            except httpx.HTTPError as exc:
                failures.append(f"{hub}: cannot ping for {topic}: {type(exc).__name__}: {exc}")
                log.warning("%s", failures[-1])
                break
            if not 200 <= response.status_code < 300:
                failures.append(f"{hub}: HTTP {response.status_code} for {topic}")
                log.warning("%s", failures[-1])
    return failures
