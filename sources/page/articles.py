"""A listing page's items as ``Article``s: ids from the canonical link, so an item that moves down
the page, or comes back after dropping off it, is the same article and never published twice."""

from __future__ import annotations

from collections.abc import Sequence

from sources.model import Article, make_tag, uuid_urn
from sources.page.extract import Page
from sources.page.items import canonical_link

ID_PREFIX = "page-link:"  # part of every page item's id: changing it changes them all


def page_item_id(link: str) -> str:
    return uuid_urn(ID_PREFIX + canonical_link(link))


def page_articles(page: Page, tags: Sequence[str] = ()) -> list[Article]:
    """The page's items, each tagged with ``tags``, else with the page's own name."""
    names = [t for t in tags if t.strip()] or ([page.name] if page.name else [])
    made = tuple(sorted({make_tag(n).slug: make_tag(n) for n in names}.values()))
    return [Article(id=page_item_id(item.link), title=item.title, summary=item.summary,
                    paragraphs=(item.summary,) if item.summary else (), truncated=bool(item.summary),
                    link=item.link, published=item.date, tags=made, source=page.url,
                    source_title=page.name or None, source_url=page.url, image=item.image)
            for item in page.items]
