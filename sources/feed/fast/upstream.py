"""The pieces of feedparser the fast reader reuses, so the two paths cannot drift apart.

They are private names of feedparser 6.0 (pinned in pyproject.toml);
tests/test_fastfeed_internals.py fails naming the symbol when one changes.
Without them ``AVAILABLE`` is False and every feed goes to feedparser.
"""

from __future__ import annotations

__all__ = ["AVAILABLE", "FeedParserDict", "Unsupported", "_FP", "_cp1252", "_fp_encodings", "_parse_date",
           "_urljoin", "make_safe_absolute_uri"]

try:  # feedparser's own pieces, so the two paths cannot drift apart
    import feedparser.encodings as _fp_encodings
    from feedparser.api import StrictFeedParser as _FP
    from feedparser.datetimes import _parse_date
    from feedparser.html import _cp1252
    from feedparser.urls import _urljoin, make_safe_absolute_uri
    from feedparser.util import FeedParserDict
except ImportError:  # pragma: no cover - a feedparser without them: always use feedparser
    AVAILABLE = False
else:
    AVAILABLE = (all(hasattr(_FP, name) for name in ("namespaces", "looks_like_html", "map_content_type"))
                 and all(hasattr(_fp_encodings, name) for name in ("RE_XML_PI_ENCODING", "parse_content_type",
                                                                     "lazy_chardet_encoding")))


class Unsupported(Exception):
    """Something the fast reader does not reproduce: feedparser reads the document."""
