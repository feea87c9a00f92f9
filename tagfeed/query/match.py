"""Whether an article matches a parsed query, and which of its terms made it match.

Fields are folded once per article (``Subject``), so a query with many terms, or
several queries over one article, fold its text once.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from urllib.parse import urlsplit

from sources.model import Article
from tagfeed.query.fold import fold, word_text
from tagfeed.query.nodes import And, DateTerm, Node, Not, Or, Query, RegexTerm, SourceTerm, TagTerm, WordsTerm
from tagfeed.query.regex import compiled

_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True, slots=True)
class Hit:
    """One term that held: as the query spells it, and what it found (a word, a tag, a date)."""

    term: str
    found: str


@dataclass(frozen=True, slots=True)
class Why:
    hits: tuple[Hit, ...]

    def describe(self) -> str:
        return "; ".join(f"{h.term} ({h.found})" for h in self.hits)


class Subject:
    """An article's fields as queries compare them, folded when first asked for."""

    def __init__(self, article: Article) -> None:
        self.article = article

    def _title(self) -> str:
        return self.article.title

    def _text(self) -> str:
        a = self.article
        body = html.unescape(_TAG.sub(" ", a.content_html)) if a.content_html else ""
        return "\n".join([a.title, a.summary, *a.paragraphs, body, a.caption or ""])

    def _author(self) -> str:
        return "\n".join(f"{x.name} {x.email or ''}" for x in self.article.authors)

    @cached_property
    def title(self) -> str:
        return fold(self._title())

    @cached_property
    def text(self) -> str:
        return fold(self._text())

    @cached_property
    def author(self) -> str:
        return fold(self._author())

    @cached_property
    def tag(self) -> str:
        return "\n".join(fold(t.name) for t in self.article.tags)

    @cached_property
    def source(self) -> str:
        a = self.article
        return "\n".join(fold(s) for s in (a.source, a.source_url or "", a.source_title or "") if s)

    def padded_words(self, field: str) -> str:
        """The field's words between spaces: a phrase matches as `` w1 w2 `` inside. Title, text
        and author take their words from the text as written (``words(fold(x)) == words(x)``),
        so a field only searched by words is never folded whole."""
        cache = self.__dict__.setdefault("_words", {})
        if field not in cache:
            raw = _RAW.get(field)
            text = raw(self) if raw is not None else getattr(self, field)
            cache[field] = f" {word_text(text)} "
        return str(cache[field])


_RAW = {"title": Subject._title, "text": Subject._text, "author": Subject._author}


def matches(query: Query, article: Article | Subject, now: datetime) -> Why | None:
    """Why the article matches ``query`` (every term that held), or None when it does not."""
    subject = article if isinstance(article, Subject) else Subject(article)
    hits = _eval(query.root, subject, now)
    return None if hits is None else Why(hits)


def select(query: Query, articles: Iterable[Article | Subject], now: datetime) -> Iterator[tuple[Article, Why]]:
    """The articles that match, each with its ``Why``, in the order given."""
    for item in articles:
        why = matches(query, item, now)
        if why is not None:
            yield (item.article if isinstance(item, Subject) else item), why


def _eval(node: Node, s: Subject, now: datetime) -> tuple[Hit, ...] | None:
    if isinstance(node, And):
        out: list[Hit] = []
        for item in node.items:
            hits = _eval(item, s, now)
            if hits is None:
                return None
            out.extend(hits)
        return tuple(out)
    if isinstance(node, Or):
        found = [h for h in (_eval(item, s, now) for item in node.items) if h is not None]
        return tuple(hit for hits in found for hit in hits) if found else None
    if isinstance(node, Not):
        return None if _eval(node.item, s, now) is not None else (Hit(node.text, "not found"),)
    return _term(node, s, now)


def _term(node: Node, s: Subject, now: datetime) -> tuple[Hit, ...] | None:
    found: str | None
    if isinstance(node, WordsTerm):
        phrase = " ".join(node.words)
        found = phrase if f" {phrase} " in s.padded_words(node.field) else None
    elif isinstance(node, RegexTerm):
        found = _searched(node, s)
    elif isinstance(node, TagTerm):
        found = next((t.name for t in s.article.tags if t.slug == node.slug), None)
    elif isinstance(node, SourceTerm):
        found = s.article.source if _from_source(node.value, s.article) else None
    elif isinstance(node, DateTerm):
        found = _dated(node, s.article, now)
    else:  # an And/Or/Not reaches _eval, never here
        raise TypeError(f"not a term: {node!r}")
    return None if found is None else (Hit(node.text, found),)


def _searched(node: RegexTerm, s: Subject) -> str | None:
    """What the regex found; in tags and sources, each name on its own (``^`` is its start)."""
    pattern, field = compiled(node.pattern), getattr(s, node.field)
    for text in field.split("\n") if node.field in ("tag", "source") else (field,):
        if (match := pattern.search(text)) is not None:
            return f"“{match.group(0)[:80]}”"
    return None


def _from_source(value: str, article: Article) -> bool:
    """A source's name, URL or title as written (case, accents and a trailing slash aside),
    or the host of its URL (``www.`` aside)."""
    names = [article.source, article.source_url or "", article.source_title or ""]
    if value in {fold(n).rstrip("/") for n in names if n}:
        return True
    if "/" in value:
        return False
    hosts = {(urlsplit(n).hostname or "").removeprefix("www.") for n in names[:2] if "://" in n}
    return value.removeprefix("www.") in hosts


def _dated(node: DateTerm, article: Article, now: datetime) -> str | None:
    moment = article.published or article.updated
    if moment is None:
        return None
    bound = node.after if node.after is not None else now - timedelta(seconds=node.seconds or 0)
    return moment.isoformat() if moment >= bound else None
