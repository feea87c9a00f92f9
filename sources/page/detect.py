"""Finding a listing page's main list by structure: the repeated block of sibling subtrees.

Every link whose text reads like a headline is a candidate title. Candidates are
clustered by their path from the root (each level's tag and first class token,
digits masked), so the items of one list fall together whatever their words.
Each cluster is scored on repetition, headline-like text, headings, teaser text,
dates, pictures and article-like URLs, and scored down inside navigation,
banners, footers, asides, forms and hidden subtrees. Clusters of the winner's
family (the same few levels above the link, with a class among them) join it:
one list split over a hero, a grid and a column. Pure: a tree in, elements out.
"""

from __future__ import annotations

import copy
import math
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

from lxml import etree, html

from sources.page.dates import find_date
from sources.page.items import HEADINGS, hidden_attributes, resolve, text_of, title_text, weight

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
_DIGITS = re.compile(r"\d+")
_SECTIONS = frozenset({"article", "section", "main"})
MIN_ITEMS = 3
TOP_CLUSTERS = 8


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


@dataclass(slots=True)
class Cluster:
    key: int
    members: list[Candidate] = field(default_factory=list)
    items: list[html.HtmlElement] = field(default_factory=list)
    roots: list[html.HtmlElement] = field(default_factory=list)  # the items as they sit in the page
    score: float = 0.0
    quality: float = 0.0


@dataclass(frozen=True, slots=True)
class Found:
    """The main list: one title link per item and the item's root, in page order."""

    anchors: tuple[html.HtmlElement, ...]
    items: tuple[html.HtmlElement, ...]
    score: float
    item_selector: str
    title_selector: str


def signature(el: html.HtmlElement) -> str:
    """``tag.firstclass``, digits masked: a list's items share it, whatever their modifiers."""
    classes = (el.get("class") or "").split()
    return f"{el.tag}.{_DIGITS.sub('#', classes[0])}" if classes else str(el.tag)


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


def _item_roots(members: list[Candidate]) -> list[html.HtmlElement]:
    """Each member's item: the highest ancestor of its link holding no other member's link."""
    owners: dict[html.HtmlElement, set[str]] = defaultdict(set)
    chains = []
    for m in members:
        chain = [m.anchor, *m.anchor.iterancestors()]
        chains.append(chain)
        for el in chain:
            owners[el].add(m.url)
    roots = []
    for m, chain in zip(members, chains):
        root = m.anchor
        for el in chain[1:]:
            if owners[el] != {m.url}:
                break
            root = el
        roots.append(root)
    return roots


_ACTIVE = frozenset({"active", "is-active", "selected", "is-selected", "current", "show", "open", "visible"})


def _inactive_tabs(members: list[Candidate]) -> set[int]:
    """Members inside tab panes that are not the active one, when the active pane holds a list of
    its own (two or more members): a hidden second tab is another list. One member per pane is
    a carousel, all of whose slides are the list's."""
    panes: dict[html.HtmlElement, list[int]] = defaultdict(list)  # active pane -> members inside
    active: dict[str, bool] = {}  # class attribute -> whether it marks an active pane
    for i, m in enumerate(members):
        for el in m.anchor.iterancestors():
            classes = el.get("class")
            if not classes:
                continue
            if (found := active.get(classes)) is None:
                found = active[classes] = bool(_ACTIVE.intersection(classes.lower().split()))
            if found:
                panes[el].append(i)
                break
    drop: set[int] = set()
    for pane, inside in panes.items():
        parent = pane.getparent()
        if len(inside) < 2 or parent is None:
            continue
        sig = signature(pane)
        for sibling in parent:
            if sibling is pane or not isinstance(sibling.tag, str) or signature(sibling) != sig:
                continue
            holders = set(sibling.iter("a"))
            drop.update(i for i, m in enumerate(members) if m.anchor in holders)
    return drop


def _flat(items: list[html.HtmlElement]) -> list[html.HtmlElement]:
    """Items written as runs of siblings (a headline, then its teaser, then the next headline)
    gathered into one element each: copies of the headline and what follows it up to the next."""
    roots = set(items)
    out = []
    for item in items:
        following = []
        sibling = item.getnext()
        while sibling is not None and sibling not in roots and isinstance(sibling.tag, str) \
                and signature(sibling) != signature(item):
            following.append(sibling)
            sibling = sibling.getnext()
        if not following:
            out.append(item)
            continue
        group = etree.Element("div")
        for el in (item, *following):
            group.append(copy.deepcopy(el))
        out.append(group)
    return out


def _article_like(url: str) -> bool:
    """A link to an article rather than a section: a slug, an id, a file, or depth."""
    path = urlsplit(url).path.rstrip("/")
    last = path.rsplit("/", 1)[-1]
    return (path.count("/") >= 3 or last.count("-") + last.count("_") >= 2 or bool(re.search(r"\d{4,}", path))
            or last.endswith((".html", ".htm", ".shtml", ".php", ".aspx")))


def _score(cluster: Cluster, now: datetime) -> None:
    members = _distinct(cluster.members)
    cluster.members = members
    n = len(members)
    if n < MIN_ITEMS:
        cluster.score = 0.0
        return
    drop = _inactive_tabs(members)
    members = cluster.members = [m for i, m in enumerate(members) if i not in drop]
    n = len(members)
    if n < MIN_ITEMS:
        cluster.score = 0.0
        return
    cluster.roots = _item_roots(members)
    cluster.items = _flat(cluster.roots)
    mean_weight = sum(m.weight for m in members) / n
    words = min(1.0, mean_weight / 6) if mean_weight <= 40 else 40 / mean_weight
    heading = sum(m.heading for m in members) / n
    teaser = pictures = dated = 0.0
    for m, item in zip(members, cluster.items):
        text = text_of(item)
        teaser += weight(text) - m.weight >= 8
        pictures += any(True for _ in item.iter("img", "picture", "noscript")) or _background(item)
        dated += any(True for _ in item.iter("time")) or find_date(text[:300], now) is not None
    article = sum(_article_like(m.url) for m in members) / n
    boiler = sum(m.boiler for m in members) / n
    hidden = sum(m.hidden for m in members) / n
    quality = (words * (0.6 + 0.4 * heading) * (1 + 1.5 * teaser / n + 0.5 * pictures / n + 0.7 * dated / n)
               * (0.4 + 0.6 * article) * (1 - 0.8 * boiler) * (1 - 0.95 * hidden))
    cluster.quality = quality
    cluster.score = quality * math.sqrt(n)


def _background(item: html.HtmlElement) -> bool:
    return any("url(" in (el.get("style") or "") for el in item.iter())


def _distinct(members: list[Candidate]) -> list[Candidate]:
    seen: set[str] = set()
    out = []
    for m in members:
        url = m.url.split("#")[0]
        if url not in seen:
            seen.add(url)
            out.append(m)
    return out


def detect(doc: html.HtmlElement, base: str, page_url: str, now: datetime | None = None) -> Found | None:
    """The page's main list, or None when no block repeats at least ``MIN_ITEMS`` headline links."""
    now = now or datetime.now(timezone.utc)
    clusters: dict[int, Cluster] = {}
    for c in candidates(doc, base, page_url):
        clusters.setdefault(c.key, Cluster(c.key)).members.append(c)
    rough = sorted((c for c in clusters.values() if len(c.members) >= MIN_ITEMS),
                   key=lambda c: -len(c.members) * min(1.0, sum(m.weight for m in c.members) / len(c.members) / 6)
                   * (1 - 0.8 * sum(m.boiler or m.hidden for m in c.members) / len(c.members)))
    scored = rough[:TOP_CLUSTERS]
    for cluster in scored:
        _score(cluster, now)
    families: dict[tuple[str, ...], list[Cluster]] = defaultdict(list)
    for cluster in scored:
        if cluster.score > 0:
            families[_family(cluster)].append(cluster)
    best_score, best = 0.0, None
    for fam_key, fam in families.items():
        top = max(fam, key=lambda c: c.score)
        joined = [c for c in fam if fam_key and c.quality >= 0.5 * top.quality] if fam_key else [top]
        n = sum(len(c.members) for c in joined)
        quality = sum(c.quality * len(c.members) for c in joined) / n
        score = quality * math.sqrt(n)
        if score > best_score:
            best_score, best = score, joined
    if best is None:
        return None
    pairs = sorted(((m, item) for c in best for m, item in zip(c.members, c.items)),
                   key=lambda p: p[0].order)
    seen: set[str] = set()
    anchors, items = [], []
    for m, item in pairs:
        if m.url.split("#")[0] not in seen:
            seen.add(m.url.split("#")[0])
            anchors.append(m.anchor)
            items.append(item)
    top = max(best, key=lambda c: c.score)
    return Found(tuple(anchors), tuple(items), best_score, *_selectors(top))


def _family(cluster: Cluster) -> tuple[str, ...]:
    suffixes = {m.suffix for m in cluster.members}
    return suffixes.pop() if len(suffixes) == 1 else ()


def _selectors(cluster: Cluster) -> tuple[str, str]:
    """CSS selectors for the cluster's items and, inside an item, its title link: for ``probe``."""
    item = cluster.roots[0]
    parent = item.getparent()
    item_css = _css(item) if parent is None else f"{_css(parent)} > {_css(item)}"
    steps = []
    el = cluster.members[0].anchor
    while el is not None and el is not item:
        steps.append(_css(el))
        el = el.getparent()
    return item_css, " > ".join(reversed(steps)) if steps else ":scope"


def _css(el: html.HtmlElement) -> str:
    classes = (el.get("class") or "").split()
    first = classes[0] if classes and not _DIGITS.search(classes[0]) and re.fullmatch(r"[A-Za-z_][\w-]*", classes[0]) else ""
    return f"{el.tag}.{first}" if first else str(el.tag)
