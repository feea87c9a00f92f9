"""OPML 2.0 (http://opml.org/spec2.opml): every tag and view feed, for one-click import.

Each outline points at the tag's Atom feed; ``dateCreated`` is the newest
article's date (or absent), never the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime

from lxml import etree

from feeds.urls import Urls
from sources.model import Tag


def render_opml(site_title: str, urls: Urls, tags: Sequence[Tag], created: datetime | None = None, *,
                views: Sequence[Tag] = ()) -> bytes:
    """Tags first, then views (queries, ``[[views]]``), each outline at its Atom feed."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"{site_title}: tag feeds"
    if created is not None:
        etree.SubElement(head, "dateCreated").text = format_datetime(created, usegmt=True)
    etree.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = etree.SubElement(root, "body")
    for tag, path in [*((t, urls.tag_path) for t in tags), *((v, urls.view_path) for v in views)]:
        etree.SubElement(
            body, "outline", type="rss", text=tag.name, title=tag.name,
            xmlUrl=urls.url(path(tag.slug, "atom")),
            htmlUrl=urls.url(path(tag.slug, "html")),
        )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
