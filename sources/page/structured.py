"""Structured data a listing page carries about its items: JSON-LD, microformats, microdata.

Read with lxml and ``json`` alone (extruct and mf2py would add two dependency
trees for the three shapes used here). ``read_structured`` returns the first
shape that lists at least two items with links, in the order JSON-LD
(ItemList / ListItem, or several Article, NewsArticle, BlogPosting), microformats
(h-entry, classic hentry), microdata (itemtype of an article kind). The caller
trusts it only where it agrees with the visible page (``extract._agree``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from lxml import etree, html

from sources.page.dates import find_date
from sources.page.items import Item, image_of, resolve, text_of

_ARTICLES = frozenset({"Article", "NewsArticle", "BlogPosting", "Report", "ScholarlyArticle", "TechArticle",
                       "AnalysisNewsArticle", "OpinionNewsArticle", "ReportageNewsArticle", "LiveBlogPosting"})
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)  # find_date needs a now; absolute dates ignore it
MIN_ITEMS = 2


@dataclass(frozen=True, slots=True)
class Structured:
    kind: str  # "JSON-LD ItemList", "microformats h-entry", ...
    items: tuple[Item, ...]


def read_structured(doc: html.HtmlElement, base: str) -> Structured | None:
    for reader in (_json_ld, _microformats, _microdata):
        found = reader(doc, base)
        if found is not None and len(found.items) >= MIN_ITEMS:
            return found
    return None


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("@type")
    return {str(k) for k in kind} if isinstance(kind, list) else {str(kind)} if kind else set()


def _nodes(data: Any) -> Iterator[dict[str, Any]]:
    """Every object of a JSON-LD block, ``@graph`` and nesting included (lists of lists too)."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            yield value
            stack.extend(reversed([v for v in value.values() if isinstance(v, (dict, list))]))
        elif isinstance(value, list):
            stack.extend(reversed(value))


def _ld_item(node: dict[str, Any], base: str) -> Item | None:
    if isinstance(node.get("item"), dict):  # ListItem wrapping the thing
        inner = dict(node["item"])
        inner.setdefault("url", node.get("url"))
        node = inner
    link = resolve(_text(node.get("url") or node.get("@id") or node.get("mainEntityOfPage")), base)
    title = _text(node.get("headline") or node.get("name"))
    if not link or not title:
        return None
    image = node.get("image") or node.get("thumbnailUrl")
    if isinstance(image, list):
        image = image[0] if image else None
    if isinstance(image, dict):
        image = image.get("url")
    date = node.get("datePublished") or node.get("dateCreated")
    return Item(title=title, link=link, summary=_text(node.get("description")),
                date=find_date(_text(date), _EPOCH) if date else None,
                image=resolve(_text(image), base) if image else None)


def _text(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("@id") or value.get("url") or ""
    return " ".join(str(value).split()) if isinstance(value, (str, int, float)) else ""


def _json_ld(doc: html.HtmlElement, base: str) -> Structured | None:
    lists: list[Item] = []
    articles: list[Item] = []
    for script in doc.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue  # a broken block is no structured data, not a broken page
        for node in _nodes(data):
            kinds = _types(node)
            if "ItemList" in kinds:
                for entry in node.get("itemListElement") or ():
                    if isinstance(entry, dict) and (item := _ld_item(entry, base)):
                        lists.append(item)
            elif kinds & _ARTICLES and (item := _ld_item(node, base)):
                articles.append(item)
    if len(lists) >= MIN_ITEMS:
        return Structured("JSON-LD ItemList", tuple(lists))
    if len(articles) >= MIN_ITEMS:
        return Structured("JSON-LD articles", tuple(articles))
    return None


def _classes(el: html.HtmlElement) -> set[str]:
    return set((el.get("class") or "").split())


def _microformats(doc: html.HtmlElement, base: str) -> Structured | None:
    # one pass for both vocabularies, on the class attribute's text; _classes decides on its tokens
    mentions = [el for el in doc.iter(etree.Element) if "entry" in (el.get("class") or "")]
    for new, entry_class, name_class, url_classes, date_class in (
            (True, "h-entry", "p-name", ("u-url", "u-uid"), "dt-published"),
            (False, "hentry", "entry-title", ("bookmark", "entry-title"), "published")):
        items = []
        for entry in mentions:
            if not isinstance(entry.tag, str) or entry_class not in _classes(entry):
                continue
            name = next((el for el in entry.iter() if isinstance(el.tag, str) and name_class in _classes(el)), None)
            link = _mf_link(entry, url_classes, base)
            if name is None or link is None:
                continue
            date_el = next((el for el in entry.iter() if isinstance(el.tag, str) and date_class in _classes(el)), None)
            date = None
            if date_el is not None:
                date = find_date(date_el.get("datetime") or date_el.get("title") or text_of(date_el), _EPOCH)
            items.append(Item(title=text_of(name), link=link, date=date, image=image_of(entry, base)))
        if len(items) >= MIN_ITEMS:
            return Structured("microformats " + entry_class, tuple(items))
    return None


def _mf_link(entry: html.HtmlElement, url_classes: tuple[str, ...], base: str) -> str | None:
    for el in entry.iter("a", "link"):
        rel = set((el.get("rel") or "").split())
        if _classes(el) & set(url_classes) or rel & set(url_classes):
            return resolve(el.get("href"), base)
    for name in entry.iter():
        if isinstance(name.tag, str) and _classes(name) & set(url_classes):
            anchor = next(name.iter("a"), None)
            if anchor is not None:
                return resolve(anchor.get("href"), base)
    return None


def _microdata(doc: html.HtmlElement, base: str) -> Structured | None:
    items = []
    for el in doc.iter(etree.Element):
        if not (itemtype := el.get("itemtype")):
            continue
        if itemtype.rstrip("/").rsplit("/", 1)[-1] not in _ARTICLES:
            continue
        props = {p.get("itemprop"): p for p in el.iter() if isinstance(p.tag, str) and p.get("itemprop")}
        head = props.get("headline") or props.get("name")
        url_el = props.get("url")
        link = resolve((url_el.get("href") or url_el.get("content")) if url_el is not None else
                       next((a.get("href") for a in el.iter("a")), None), base)
        if head is None or link is None:
            continue
        date_el = props.get("datePublished")
        date = find_date(date_el.get("datetime") or date_el.get("content") or text_of(date_el), _EPOCH) \
            if date_el is not None else None
        items.append(Item(title=text_of(head) or head.get("content", ""), link=link, date=date,
                          image=image_of(el, base)))
    return Structured("microdata", tuple(items)) if len(items) >= MIN_ITEMS else None
