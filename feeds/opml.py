"""OPML 2.0 (http://opml.org/spec2.opml): every tag feed, for one-click import.

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


def render_opml(site_title: str, urls: Urls, tags: Sequence[Tag], created: datetime | None = None) -> bytes:
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"{site_title}: tag feeds"
    if created is not None:
        etree.SubElement(head, "dateCreated").text = format_datetime(created, usegmt=True)
    etree.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = etree.SubElement(root, "body")
    for tag in tags:
        etree.SubElement(
            body, "outline", type="rss", text=tag.name, title=tag.name,
            xmlUrl=urls.url(urls.tag_path(tag.slug, "atom")),
            htmlUrl=urls.url(urls.tag_path(tag.slug, "html")),
        )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
