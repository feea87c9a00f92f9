"""The candidate titles of a listing page: every headline-like link, with where it stands.

One pass over the tree, parents first: each link whose text reads like a headline
becomes a ``Candidate`` carrying its cluster key (its path from the root, each
level's tag and first class token, digits masked) and what its position says
(inside navigation or furniture, hidden, under a heading). ``sources.page.detect``
clusters and scores them. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from lxml import html

from sources.page.items import HEADINGS, hidden_attributes, resolve, title_text, weight

_BOILER_TAGS = frozenset({"nav", "aside", "form", "menu"})
_EDGE_TAGS = frozenset({"header", "footer"})  # boilerplate unless inside an article or section
_BOILER_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar"})
# generic web-development words for page furniture, matched as whole class/id tokens (never a site's own words)
_BOILER_WORDS = frozenset({"nav", "navbar", "navigation", "menu", "submenu", "footer", "sidebar", "breadcrumb",
                           "breadcrumbs", "widget", "related", "popular", "trending", "mostread", "most",
                           "ad", "ads", "advert", "advertisement", "sponsored", "promo", "social", "share",
                           "pagination", "pager", "comments", "cookie", "newsletter", "toolbar", "topbar"})
_TOKEN = re.compile(r"[a-z]+")
_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "select", "button"})
DIGITS = re.compile(r"\d+")
_SECTIONS = frozenset({"article", "section", "main"})


@dataclass(slots=True)
class Candidate:
    """A link that may be an item's title, with what its position says about it."""

    anchor: html.HtmlElement
    url: str
    text: str
    weight: float
    heading: bool
    boiler: bool
    hidden: bool
    suffix: tuple[str, ...]  # the last levels of its path, up to one with a class: its family
    key: int  # its path from the root, interned: its cluster
    order: int  # its place in the document


def signature(el: html.HtmlElement) -> str:
    """``tag.firstclass``, digits masked: a list's items share it, whatever their modifiers."""
    classes = (el.get("class") or "").split()
    return f"{el.tag}.{DIGITS.sub('#', classes[0])}" if classes else str(el.tag)


def _boiler_names(names: str) -> bool:
    """Whether a furniture word is among the tokens of ``"class id"``."""
    return any(t in _BOILER_WORDS for t in _TOKEN.findall(names.lower()))


class _Memo:
    """One page's answers by attribute value: its elements share few class names and links."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.signatures: dict[tuple[str, str], str] = {}
        self.names: dict[str, bool] = {}
        self.links: dict[str, str | None] = {}

    def signature(self, el: html.HtmlElement) -> str:
        key = (el.tag, el.get("class") or "")
        found = self.signatures.get(key)
        if found is None:
            found = self.signatures[key] = signature(el)
        return found

    def boiler(self, attributes: Mapping[str, str]) -> bool:
        """Whether an element's role, classes or id mark page furniture (its tag is judged apart)."""
        if (attributes.get("role") or "").lower() in _BOILER_ROLES:
            return True
        names = f"{attributes.get('class') or ''} {attributes.get('id') or ''}"
        found = self.names.get(names)
        if found is None:
            found = self.names[names] = _boiler_names(names)
        return found

    def resolve(self, href: str | None) -> str | None:
        key = href or ""
        if key not in self.links:
            self.links[key] = resolve(href, self.base)
        return self.links[key]


def candidates(doc: html.HtmlElement, base: str, page_url: str) -> list[Candidate]:
    """Every headline-like link, with its cluster key; one pass over the tree, parents first.

    The hot loop of detection (every element of the page passes here once): each element's
    attributes are read once, and answers that depend only on attribute values are memoised."""
    keys: dict[tuple[int, str], int] = {}
    out: list[Candidate] = []
    own = {page_url.split("#")[0], base.split("#")[0]}
    memo = _Memo(base)
    signatures = memo.signatures
    # (element, (parent key, boiler, hidden, sectioned, heading)): one state tuple shared by siblings
    stack: list[tuple[html.HtmlElement, tuple[int, bool, bool, bool, bool]]] = [(doc, (0, False, False, False, False))]
    order = 0
    while stack:
        el, (parent_key, boiler, hidden, sectioned, heading) = stack.pop()
        tag = el.tag
        if not isinstance(tag, str) or tag in _SKIP:
            continue
        order += 1
        pairs = el.items()  # every attribute in one call: most elements have none
        attributes = dict(pairs) if pairs else None
        classes = (attributes.get("class") or "") if attributes else ""
        sig = signatures.get((tag, classes))
        if sig is None:
            sig = memo.signature(el)
        key = keys.setdefault((parent_key, sig), len(keys) + 1)
        if not boiler:
            boiler = (tag in _BOILER_TAGS or (tag in _EDGE_TAGS and not sectioned)
                      or attributes is not None and memo.boiler(attributes))
        if not hidden and attributes:
            hidden = hidden_attributes(attributes)
        sectioned = sectioned or tag in _SECTIONS
        heading = heading or tag in HEADINGS
        if tag == "a":
            url = memo.resolve(attributes.get("href") if attributes else None)
            if url and url.split("#")[0] not in own:
                inner = next(el.iter(*HEADINGS), None) if len(el) else None  # as title_element finds it
                text = title_text(el if inner is None else inner)
                w = weight(text)
                has_heading = heading or inner is not None
                if w >= 2 or (has_heading and w >= 1):
                    out.append(Candidate(el, url, text, w, has_heading, boiler, hidden, _suffix(el, memo), key, order))
            continue  # links inside links are not HTML
        if len(el):
            state = (key, boiler, hidden, sectioned, heading)
            stack.extend([(child, state) for child in reversed(el)])
    return out


def _suffix(anchor: html.HtmlElement, memo: _Memo) -> tuple[str, ...]:
    levels = [memo.signature(anchor)]
    el = anchor.getparent()
    while el is not None and len(levels) < 4:
        sig = memo.signature(el)
        levels.append(sig)
        if "." in sig:
            return tuple(levels)
        el = el.getparent()
    return ()  # no class near the link: a family of its own cluster only
