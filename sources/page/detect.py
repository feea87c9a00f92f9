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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

from lxml import etree, html

from sources.page.dates import find_date
from sources.page.candidates import DIGITS, Candidate, candidates, signature
from sources.page.items import text_of, weight

MIN_ITEMS = 3
TOP_CLUSTERS = 8


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
    first = classes[0] if classes and not DIGITS.search(classes[0]) and re.fullmatch(r"[A-Za-z_][\w-]*", classes[0]) else ""
    return f"{el.tag}.{first}" if first else str(el.tag)
