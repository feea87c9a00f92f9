"""The polite next-fetch computation (sources/schedule.py): pure, table-tested."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from sources.fetch import Outcome, next_fetch
from sources.schedule import FRESHNESS_CAP, feed_ttl, header_freshness, polite_interval

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
DATE = "Wed, 01 May 2024 12:00:00 GMT"  # = NOW


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, None),
    ({"Cache-Control": "max-age=3600"}, timedelta(hours=1)),
    ({"cache-control": "public, MAX-AGE=\"600\", must-revalidate"}, timedelta(minutes=10)),
    ({"Cache-Control": "max-age=3600", "Age": "600"}, timedelta(minutes=50)),
    ({"Cache-Control": "max-age=60", "Age": "600"}, timedelta(0)),
    ({"Cache-Control": "s-maxage=9999"}, None),  # for shared caches, not for us
    ({"Cache-Control": "no-cache"}, None),
    ({"Expires": "Wed, 01 May 2024 14:00:00 GMT", "Date": DATE}, timedelta(hours=2)),
    ({"Expires": "Wed, 01 May 2024 14:00:00 GMT"}, timedelta(hours=2)),  # no Date: from now
    ({"Expires": "Wed, 01 May 2024 14:00:00 GMT", "Date": "Wed, 01 May 2024 13:00:00 GMT"},
     timedelta(hours=1)),  # the server's clock, not ours
    ({"Expires": "Wed, 01 May 2024 11:00:00 GMT", "Date": DATE}, None),  # already stale
    ({"Expires": "0"}, None), ({"Expires": "-1"}, None), ({"Expires": "soon"}, None),
    ({"Cache-Control": "max-age=120", "Expires": "Thu, 02 May 2024 12:00:00 GMT"},
     timedelta(minutes=2)),  # max-age wins over Expires
])
def test_header_freshness(headers: dict[str, str], expected: timedelta | None) -> None:
    assert header_freshness(headers, NOW) == expected


@pytest.mark.parametrize(("body", "expected"), [
    (b"<rss><channel><title>t</title><ttl>60</ttl><item><title>x</title></item></channel></rss>", 60),
    (b"<rss><channel><ttl> 15 </ttl></channel></rss>", 15),
    (b"<rss><channel><title>t</title></channel></rss>", None),
    (b"<rss><channel><item><ttl>99</ttl></item></channel></rss>", None),  # an item's, not the channel's
    (b"<rss><channel><ttl>soon</ttl></channel></rss>", None),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', None),
    (b"", None),
])
def test_feed_ttl(body: bytes, expected: int | None) -> None:
    assert feed_ttl(body) == expected


HOUR = 3600


@pytest.mark.parametrize(("every", "headers", "ttl", "expected"), [
    (1800, {}, None, timedelta(minutes=30)),  # nothing said: every
    (1800, {"Cache-Control": "max-age=60"}, None, timedelta(minutes=30)),  # never below every
    (1800, {"Cache-Control": "max-age=7200"}, None, timedelta(hours=2)),
    (1800, {"Expires": "Wed, 01 May 2024 15:00:00 GMT", "Date": DATE}, None, timedelta(hours=3)),
    (1800, {}, 90, timedelta(minutes=90)),  # RSS <ttl> is in minutes
    (1800, {"Cache-Control": "max-age=7200"}, 180, timedelta(hours=3)),  # the largest hint wins
    (1800, {"Cache-Control": "max-age=10800"}, 60, timedelta(hours=3)),
    (1800, {"Cache-Control": "max-age=31536000"}, None, FRESHNESS_CAP),  # a year: clamped to 24 h
    (1800, {}, 100000, FRESHNESS_CAP),
    (2 * 24 * HOUR, {"Cache-Control": "max-age=60"}, 5, timedelta(days=2)),  # every above the cap stays
    (1800, {}, 0, timedelta(minutes=30)),
])
def test_polite_interval(every: int, headers: dict[str, str], ttl: int | None, expected: timedelta) -> None:
    assert polite_interval(every, headers, NOW, ttl=ttl) == expected


class _State:
    error_count = 0


@pytest.mark.parametrize("outcome", [Outcome.OK, Outcome.NOT_MODIFIED])
def test_next_fetch_after_an_answer_is_the_polite_interval(outcome: Outcome) -> None:
    when = next_fetch(_State(), outcome, NOW, random.Random(1), every=600,
                      headers={"Cache-Control": "max-age=1200"}, ttl=30)
    assert when == NOW + timedelta(minutes=30)


def test_freshness_hints_do_not_shorten_a_retry_after_or_backoff() -> None:
    headers = {"Cache-Control": "max-age=60"}
    when = next_fetch(_State(), Outcome.RETRY_AFTER, NOW, random.Random(1), every=600, retry_after="7200",
                      headers=headers, ttl=1)
    assert when == NOW + timedelta(hours=2)
