"""A listing page's items as ``Article``s: ids from the canonical link, so an item that moves down
the page, or comes back after dropping off it, is the same article and never published twice."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sources.model import Article, make_tag, uuid_urn
from sources.page.extract import Page
from sources.page.items import canonical_link

ID_PREFIX = "page-link:"  # part of every page item's id: changing it changes them all


def page_item_id(link: str) -> str:
    return uuid_urn(ID_PREFIX + canonical_link(link))


def distinct_dates(dates: Sequence[datetime | None]) -> list[datetime | None]:
    """Dates of one page, top to bottom, made distinct: a later item sharing a date (a page that
    gives days only) is a second earlier per tie, so the page's order survives and no two feed
    entries share an ``updated`` (readers and the W3C validator dislike that)."""
    used: set[datetime] = set()
    out: list[datetime | None] = []
    for date in dates:
        while date is not None and date in used:
            date -= timedelta(seconds=1)
        if date is not None:
            used.add(date)
        out.append(date)
    return out


def distinct_across(pages: Sequence[Sequence[Article]],
                    known: Mapping[str, datetime | None]) -> list[list[Article]]:
    """Several pages' articles (in config order), the dates of those not yet published made distinct
    across pages as ``distinct_dates`` makes them within one: two sites giving days only would
    otherwise date two entries of a feed alike. ``known`` holds the stored articles' dates: those
    articles keep theirs (a published date never moves) and no new one takes it."""
    used = {d for d in known.values() if d is not None}
    given: dict[str, datetime] = {}  # an article on two pages gets one date
    out: list[list[Article]] = []
    for articles in pages:
        dated: list[Article] = []
        for article in articles:
            date = article.published
            if article.id in known or date is None:
                dated.append(article)
                continue
            if article.id in given:
                date = given[article.id]
            else:
                while date in used:
                    date -= timedelta(seconds=1)
                used.add(date)
                given[article.id] = date
            dated.append(article if date == article.published else dataclasses.replace(article, published=date))
        out.append(dated)
    return out


def page_articles(page: Page, tags: Sequence[str] = ()) -> list[Article]:
    """The page's items, each tagged with ``tags``, else with the page's own name.

    A relative date ("2 hours ago") is not published: resolved again at every fetch it would move,
    so such an item is dated when first seen, as an undated one is."""
    names = [t for t in tags if t.strip()] or ([page.name] if page.name else [])
    made = tuple(sorted({make_tag(n).slug: make_tag(n) for n in names}.values()))
    dates = distinct_dates([item.date if item.date_absolute else None for item in page.items])
    return [Article(id=page_item_id(item.link), title=item.title, summary=item.summary,
                    paragraphs=(item.summary,) if item.summary else (), truncated=bool(item.summary),
                    link=item.link, published=date, tags=made, source=page.url,
                    source_title=page.name or None, source_url=page.url, image=item.image)
            for item, date in zip(page.items, dates)]
