"""The ``select`` override of a page source: CSS selectors the operator pinned, via cssselect.

``item`` picks each item; ``title``, ``link``, ``summary``, ``date`` and ``image``
pick, inside one item, where each field is (by default: the item's first link,
and the fields as detection finds them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cssselect import SelectorError
from lxml import html
from lxml.cssselect import CSSSelector

from sources.page.items import Item, date_of, image_of, resolve, summary_of, text_of, title_text

FIELDS = ("item", "title", "link", "summary", "date", "image")


@dataclass(frozen=True, slots=True)
class Selectors:
    item: str
    title: str | None = None
    link: str | None = None
    summary: str | None = None
    date: str | None = None
    image: str | None = None


def parse_selectors(raw: Mapping[str, object], where: str) -> Selectors:
    """``select = {item = "...", ...}`` checked: known keys, strings, selectors cssselect can compile."""
    unknown = set(raw) - set(FIELDS)
    if unknown:
        raise ValueError(f"{where}.{sorted(unknown)[0]}: unknown key (expected {', '.join(FIELDS)})")
    if not isinstance(raw.get("item"), str) or not str(raw["item"]).strip():
        raise ValueError(f"{where}.item: required, a CSS selector for each item")
    for key, value in raw.items():
        if not isinstance(value, str):
            raise ValueError(f"{where}.{key}: expected a CSS selector string, got {value!r}")
        try:
            CSSSelector(value)
        except SelectorError as exc:
            raise ValueError(f"{where}.{key}: not a CSS selector cssselect understands: {exc}") from None
    return Selectors(**{k: str(v) for k, v in raw.items()})


def _first(el: html.HtmlElement, css: str | None) -> html.HtmlElement | None:
    if not css:
        return None
    found = CSSSelector(css)(el)
    return found[0] if found else None


def select_items(doc: html.HtmlElement, sel: Selectors, base: str, now: datetime) -> list[Item]:
    """The items ``sel`` picks, each with a link; the fields it does not pin found as detection does."""
    out: list[Item] = []
    seen: set[str] = set()
    for item in CSSSelector(sel.item)(doc):
        link_el = _first(item, sel.link)
        if link_el is None:
            link_el = item if item.tag == "a" else next(item.iter("a"), None)
        if link_el is None:
            continue
        href = link_el.get("href") if link_el.get("href") is not None else next(
            (a.get("href") for a in link_el.iter("a")), None)
        link = resolve(href, base)
        title_el = _first(item, sel.title)
        if title_el is None:
            title_el = link_el
        title = title_text(title_el)
        if not link or not title or link in seen:
            continue
        seen.add(link)
        summary_el = _first(item, sel.summary)
        date_el = _first(item, sel.date)
        image_el = _first(item, sel.image)
        out.append(Item(
            title=title, link=link,
            summary=text_of(summary_el) if summary_el is not None else summary_of(item, title_el, title),
            date=date_of(date_el if date_el is not None else item, now),
            image=image_of(image_el, base) if image_el is not None else image_of(item, base)))
    return out
