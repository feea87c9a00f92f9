"""RFC 5005 archived feeds (§4) for a tag's Atom feed: bytes in, nothing on disk.

The current feed ``tags/<slug>.atom`` carries every entry not yet archived and
a ``prev-archive`` link to the newest archive page. Archive pages
``tags/<slug>/archive/<n>.atom`` are numbered from 1, oldest first, and are
always full (``page_size`` entries), so a page's entries never change; each
carries ``fh:archive``, ``current`` and its ``prev-archive``/``next-archive``
neighbours (the newest page's ``next-archive`` is the current feed). Which article sits on which page is decided once, by the glue
(``tagfeed.building.archive``), and comes in as a ``TagArchive``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from lxml import etree

from feeds.atom import render_atom
from feeds.channel import Channel, sort_articles
from tagfeed.errors import RenderError
from feeds.urls import MEDIA_TYPES
from sources.model import Article

ARCHIVE_MAX_AGE: Final = 7 * 86400  # seconds a full archive page may be cached: it never changes again
# the newest page's next-archive is the current feed; a full page's is the next archive page
_NEXT_IS_ARCHIVE = re.compile(rb'<link href="[^"]*/archive/[0-9]+\.atom" rel="next-archive"')
FH_NS: Final = "http://purl.org/syndication/history/1.0"
ATOM_NS: Final = "http://www.w3.org/2005/Atom"
_A = "{%s}" % ATOM_NS


def max_age_for(path: str, body: Callable[[], bytes], max_age: int) -> int:
    """The max-age to send for ``path`` (``body`` gives its bytes, uncompressed, when needed).

    A full archive page never changes again: a week, or ``max_age`` if longer. The newest
    page changes once more, when the next page is cut (its next-archive link moves from the
    current feed to that page), so until then it gets the current feed's ``max_age``.
    """
    if "/archive/" not in path or not _NEXT_IS_ARCHIVE.search(body(), 0, 8192):  # feed-level links come first
        return max_age
    return max(ARCHIVE_MAX_AGE, max_age)


@dataclass(frozen=True, slots=True)
class TagArchive:
    """The ids on each archive page of one tag, page 1 (the oldest) first."""

    pages: tuple[tuple[str, ...], ...]

    @property
    def archived(self) -> frozenset[str]:
        return frozenset(i for page in self.pages for i in page)


def current_entries(articles: Sequence[Article], archive: TagArchive) -> list[Article]:
    """The current feed's entries: every article of the tag that no page holds yet."""
    archived = archive.archived
    return [a for a in articles if a.id not in archived]


def render_archived_atom(channel: Channel, articles: Sequence[Article], archive: TagArchive) -> Iterator[
        tuple[str, bytes]]:
    """The tag's current Atom feed and every archive page; ``articles`` is all of the tag's."""
    if channel.tag is None:
        raise RenderError("channel", "only tag feeds are archived")
    urls = channel.urls
    total = len(archive.pages)

    def page_url(n: int) -> str:
        return urls.url(channel.archive_path(n))

    current = current_entries(articles, archive)
    links = [("prev-archive", page_url(total))] if total else []
    yield channel.path("atom"), with_history(render_atom(channel, current), links=links)
    by_id = {a.id: a for a in articles}
    for n, ids in enumerate(archive.pages, start=1):
        entries = sort_articles([by_id[i] for i in ids if i in by_id])
        links = [("current", channel.feed_url("atom"))]
        if n > 1:
            links.append(("prev-archive", page_url(n - 1)))
        # The newest page's next document is the current feed (never a 404 for a page not cut
        # yet); it is the one change a page sees, once, when the page after it is cut.
        links.append(("next-archive", page_url(n + 1) if n < total else channel.feed_url("atom")))
        page = render_atom(channel, entries)
        yield channel.archive_path(n), with_history(page, links=links, self_url=page_url(n), archive=True)


def with_history(feed: bytes, *, links: Sequence[tuple[str, str]], self_url: str | None = None,
                 archive: bool = False) -> bytes:
    """An Atom document with RFC 5005 links added (and ``fh:archive`` on an archive page).

    This edits ``render_atom``'s output with lxml, whose serialization that output
    already follows, so bytes stay stable.
    """
    if not links and self_url is None and not archive:
        return feed
    root = etree.fromstring(feed, etree.XMLParser(remove_blank_text=True, resolve_entities=False))
    feed_links = root.findall(f"{_A}link")
    anchor = feed_links[-1] if feed_links else root.find(f"{_A}id")
    if self_url is not None:
        for link in feed_links:
            if link.get("rel") == "self":
                link.set("href", self_url)
    added = []
    if archive:
        added.append(etree.Element(f"{{{FH_NS}}}archive"))
    for rel, href in links:
        added.append(etree.Element(f"{_A}link", href=href, rel=rel, type=MEDIA_TYPES["atom"]))
    for element in reversed(added):
        anchor.addnext(element)
    if archive:
        etree.cleanup_namespaces(root, top_nsmap={"fh": FH_NS})
    etree.indent(root, space="  ")
    return bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True))
