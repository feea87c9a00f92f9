"""tagfeed.serving.httpcache: the HTTP caching rules, one table per rule."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tagfeed.serving.httpcache import accepts_gzip, clf_line, conditional, content_type_for, etag_for, gzip_etag, none_match

ETAG = '"abc123"'
MODIFIED = datetime(2024, 3, 1, 9, 0, 0, 500_000, tzinfo=timezone.utc)  # sub-second: HTTP dates drop it
SAME = "Fri, 01 Mar 2024 09:00:00 GMT"
OLDER = "Fri, 01 Mar 2024 08:59:59 GMT"
NEWER = "Sat, 02 Mar 2024 09:00:00 GMT"

CONDITIONAL_CASES = [
    ("no validators", {}, 200),
    ("INM same tag", {"If-None-Match": ETAG}, 304),
    ("INM other tag", {"If-None-Match": '"stale"'}, 200),
    ("INM star", {"If-None-Match": "*"}, 304),
    ("INM list with match", {"If-None-Match": '"a", "b",  "abc123"'}, 304),
    ("INM list without match", {"If-None-Match": '"a", W/"b"'}, 200),
    ("INM weak form matches (weak comparison)", {"If-None-Match": 'W/"abc123"'}, 304),
    ("INM gzip variant matches", {"If-None-Match": '"abc123-gzip"'}, 304),
    ("INM weak gzip variant matches", {"If-None-Match": 'W/"abc123-gzip"'}, 304),
    ("INM unquoted is not a tag", {"If-None-Match": "abc123"}, 200),
    ("INM prefix is not a match", {"If-None-Match": '"abc12"'}, 200),
    ("INM empty", {"If-None-Match": ""}, 200),
    ("IMS equal", {"If-Modified-Since": SAME}, 304),
    ("IMS older than the file", {"If-Modified-Since": OLDER}, 200),
    ("IMS newer than the file", {"If-Modified-Since": NEWER}, 304),
    ("IMS garbage is ignored", {"If-Modified-Since": "yesterday-ish"}, 200),
    ("IMS obsolete RFC 850 form", {"If-Modified-Since": "Friday, 01-Mar-24 09:00:00 GMT"}, 304),
    ("IMS asctime form", {"If-Modified-Since": "Fri Mar  1 09:00:00 2024"}, 304),
    ("both, INM matches, IMS old", {"If-None-Match": ETAG, "If-Modified-Since": OLDER}, 304),
    ("both, INM stale wins over IMS", {"If-None-Match": '"stale"', "If-Modified-Since": SAME}, 200),
    ("header names are case-insensitive", {"if-none-match": ETAG}, 304),
]


@pytest.mark.parametrize(("headers", "expected"), [c[1:] for c in CONDITIONAL_CASES],
                         ids=[c[0] for c in CONDITIONAL_CASES])
def test_conditional(headers: dict[str, str], expected: int) -> None:
    assert conditional(headers, ETAG, MODIFIED) == expected


def test_conditional_from_the_gzip_variant_side() -> None:
    assert conditional({"If-None-Match": ETAG}, gzip_etag(ETAG), MODIFIED) == 304
    assert conditional({"If-None-Match": '"zzz-gzip"'}, gzip_etag(ETAG), MODIFIED) == 200


def test_conditional_without_last_modified_ignores_ims() -> None:
    assert conditional({"If-Modified-Since": NEWER}, ETAG, None) == 200


def test_none_match_star_with_no_etag_still_needs_a_representation() -> None:
    assert none_match("*", ETAG)
    assert conditional({"If-None-Match": "*"}, None, MODIFIED) == 200


GZIP_CASES = [
    ("gzip", True),
    ("gzip, deflate, br", True),
    ("GZIP", True),
    ("gzip;q=0", False),
    ("gzip; q=0.0", False),
    ("gzip;q=0.001", True),
    ("gzip;q=0, *", False),
    ("*", True),
    ("*;q=0", False),
    ("identity", False),
    ("identity, *;q=0", False),
    ("x-gzip", True),
    ("x-gzip;q=0", False),
    ("deflate, br", False),
    ("", False),
    (None, False),
    ("gzip;q=banana", False),
    ("gzip;q=2", False),
    (" , gzip ,", True),
]


@pytest.mark.parametrize(("header", "expected"), GZIP_CASES)
def test_accepts_gzip(header: str | None, expected: bool) -> None:
    assert accepts_gzip(header) is expected


CONTENT_TYPES = [
    ("all.atom", "application/atom+xml; charset=utf-8"),
    ("tags/putin.atom", "application/atom+xml; charset=utf-8"),
    ("all.rss", "application/rss+xml; charset=utf-8"),
    ("tags/sergei-lavrov.json", "application/feed+json; charset=utf-8"),
    ("index.html", "text/html; charset=utf-8"),
    ("articles/0123abcd.html", "text/html; charset=utf-8"),
    ("feeds.opml", "text/x-opml; charset=utf-8"),
    ("sub/other.xml", "application/xml; charset=utf-8"),
    ("sitemap.xml", "application/xml; charset=utf-8"),
    ("all.atom.gz", "application/gzip"),
    ("README", "application/octet-stream"),
]


@pytest.mark.parametrize(("path", "expected"), CONTENT_TYPES)
def test_content_type_for(path: str, expected: str) -> None:
    assert content_type_for(path) == expected


def test_etag_is_strong_quoted_and_moves_only_with_the_bytes() -> None:
    tag = etag_for(b"hello")
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    assert tag == etag_for(b"hello") != etag_for(b"hello!")
    assert gzip_etag(tag) != tag and gzip_etag(tag).endswith('-gzip"')


def test_modified_times_compare_at_second_resolution() -> None:
    later = MODIFIED + timedelta(milliseconds=400)  # same second as SAME
    assert conditional({"If-Modified-Since": SAME}, ETAG, later) == 304


def test_clf_line_escapes_the_request_line() -> None:
    environ = {"REMOTE_ADDR": "127.0.0.1", "REQUEST_METHOD": "GET", "REQUEST_URI": '/a"b\nc',
               "SERVER_PROTOCOL": "HTTP/1.1"}
    when = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
    line = clf_line(environ, "404", 0, when)
    assert line == '127.0.0.1 - - [01/Mar/2024:09:00:00 +0000] "GET /a\\x22b\\x0ac HTTP/1.1" 404 -'

