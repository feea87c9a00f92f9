"""The feed reader under hostile input (issue 14): mutants of the real samples and generated feeds.

Whatever an upstream sends, ``parse_feed`` either gives articles that every
feed renderer writes as a well-formed document, or raises tagfeed's own ``FeedError``: never a library's
exception (which would stop a build), never a hang. CI runs a few hundred
cases; ``FUZZ_CASES=5000 bash scripts/test.sh tests/test_feed_fuzz.py`` runs a
larger batch. A failure names the case number, which alone reproduces it
(``tests/feedfuzz.py``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from types import FrameType

import pytest
from lxml import etree

from feedfuzz import SAMPLES, Case, cases
from feeds.atom import render_atom
from feeds.channel import Channel, xml_clean
from feeds.jsonfeed import render_json
from feeds.rss import render_rss
from feeds.urls import Urls
from sources.feed import parse_feed
from sources.model import Article
from tagfeed import __version__
from tagfeed.errors import TagfeedError

CASES = int(os.environ.get("FUZZ_CASES", "300"))
CPU_LIMIT = 1.0  # seconds of CPU a single mutant may cost (the bound)
HANG_LIMIT = 10  # wall seconds after which a case counts as hung, whatever the machine's load
CHANNEL = Channel(urls=Urls("https://feeds.example.org/"), site_title="fuzz", generator_version=__version__)
SETTLED = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)  # what a build's settle would give an undated article


class Hung(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hung


@pytest.fixture
def hang_guard() -> Iterator[None]:
    previous = signal.signal(signal.SIGALRM, _alarm)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def _read(case: Case) -> tuple[list[Article] | TagfeedError, float]:
    signal.setitimer(signal.ITIMER_REAL, HANG_LIMIT)
    started = time.process_time()
    try:
        result: list[Article] | TagfeedError = parse_feed(
            case.body, url="https://fuzz.example.org/feed", headers={"content-type": case.content_type})
    except TagfeedError as exc:
        result = exc
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return result, time.process_time() - started


def _assert_renderable(case: Case, articles: list[Article]) -> None:
    """What the reader gave, written by every feed renderer, is a document its format's parser reads."""
    dated = [xml_clean(dataclasses.replace(a, published=a.published or SETTLED, updated=a.updated or SETTLED))
             for a in articles]  # as a build renders them (feeds.site)
    for render in (render_atom, render_rss):
        try:
            etree.fromstring(render(CHANNEL, dated))
        except etree.XMLSyntaxError as exc:
            pytest.fail(f"case {case.number} ({case.how}): {render.__name__} wrote no XML: {exc}")
    json.loads(render_json(CHANNEL, dated))


def test_the_fuzz_corpus_covers_every_sample_and_every_mutation_kind() -> None:
    hows = [case.how for case in cases(300)]
    assert {s.name for s in SAMPLES} <= {how.split(":")[0] for how in hows}
    for kind in ("truncated", "bytes flipped", "junk inserted", "oversized", "element deleted",
                 "element duplicated", "value retyped", "items duplicated", "generated rss", "generated atom",
                 "generated JSON Feed"):
        assert any(kind in how for how in hows), kind


def test_hostile_feeds_give_articles_or_a_feed_error_quickly(hang_guard: None) -> None:
    refused = read = 0
    for case in cases(CASES):
        try:
            result, cpu = _read(case)
        except Hung:
            pytest.fail(f"case {case.number} ({case.how}) ran over {HANG_LIMIT} s")
        except Exception as exc:  # noqa: BLE001 - the point: name the case that let one through
            pytest.fail(f"case {case.number} ({case.how}) raised {type(exc).__name__}: {exc}")
        assert cpu <= CPU_LIMIT, f"case {case.number} ({case.how}) took {cpu:.2f} s of CPU"
        if isinstance(result, TagfeedError):
            assert "https://fuzz.example.org/feed" in str(result)  # the error names the feed
            refused += 1
            continue
        read += 1
        assert all(article.title for article in result), f"case {case.number}: an article without a title"
        _assert_renderable(case, result)
    assert refused and read  # the corpus holds both kinds, or it tests less than it seems
