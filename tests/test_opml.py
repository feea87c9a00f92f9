"""OPML 2.0: every tag feed, deterministic."""

from __future__ import annotations

import email.utils
from datetime import datetime, timezone

from lxml import etree

from feeds.opml import render_opml
from feeds.urls import Urls
from sources.model import Tag

TAGS = [Tag(slug="putin", name="Putin"), Tag(slug="q-a", name="Q & <A>")]


def test_outlines(urls: Urls) -> None:
    created = datetime(2001, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    root = etree.fromstring(render_opml("tagfeed", urls, TAGS, created))
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "tagfeed: tag feeds"
    assert email.utils.parsedate_to_datetime(root.findtext("head/dateCreated") or "") == created
    outlines = [dict(o.attrib) for o in root.findall("body/outline")]
    assert outlines == [
        {"type": "rss", "text": t.name, "title": t.name,
         "xmlUrl": f"http://127.0.0.1:8080/tags/{t.slug}.atom",
         "htmlUrl": f"http://127.0.0.1:8080/tags/{t.slug}.html"} for t in TAGS]


def test_deterministic_without_a_date(urls: Urls) -> None:
    first = render_opml("tagfeed", urls, TAGS)
    assert first == render_opml("tagfeed", urls, TAGS)
    assert etree.fromstring(first).find("head/dateCreated") is None
    assert etree.fromstring(render_opml("tagfeed", urls, [])).findall("body/outline") == []
