"""What a full-text index can rule out before ``matches`` decides: a query's words as index terms.

The index (``tagfeed.store.search``) holds each article's fields as the folded
words queries compare, so a word or phrase of the query is a phrase of the
index, and a ``tag:`` or ``source:`` term the phrase of its words. The
narrowing keeps only what is *necessary*: an AND needs any of its narrowable
parts, an OR needs every part narrowable, a NOT, regex or date narrows nothing.
So the candidates are always a superset of the matches, and ``matches`` still
decides exactly. Pure: the backends render it (FTS5 text, PostgreSQL tsquery).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Union

from tagfeed.query.fold import words
from tagfeed.query.nodes import And, Node, Not, Or, Query, SourceTerm, TagTerm, WordsTerm

IndexField = Literal["title", "text", "author", "tags", "source"]
INDEX_FIELDS: tuple[IndexField, ...] = ("title", "text", "author", "tags", "source")


@dataclass(frozen=True, slots=True)
class Phrase:
    """These words, one after the other, in ``field`` of the index."""

    field: IndexField
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple[Narrow, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Narrow, ...]


@dataclass(frozen=True, slots=True)
class Without:
    """``base`` less the articles holding any of ``excluded``: a ``-word`` beside what narrows.
    Only where the index is exact for the phrase (``_exact``), and only on SQLite, whose tokens
    are the very words; PostgreSQL's parser splits ``_``, so there it narrows by ``base`` alone."""

    base: Narrow
    excluded: tuple[Phrase, ...]


Narrow = Union[Phrase, AllOf, AnyOf, Without]
_ASCII_WORD = re.compile(r"[a-z0-9_]+")


def narrowing(query: Query) -> Narrow | None:
    """What every match of ``query`` must contain, or None when the index cannot tell."""
    return _node(query.root)


def _node(node: Node) -> Narrow | None:
    if isinstance(node, And):
        parts = tuple(n for n in map(_node, node.items) if n is not None)
        if not parts:
            return None
        base = parts[0] if len(parts) == 1 else AllOf(parts)
        excluded = tuple(Phrase(n.item.field, n.item.words) for n in node.items
                         if isinstance(n, Not) and isinstance(n.item, WordsTerm) and _exact(n.item))
        return Without(base, excluded) if excluded else base
    if isinstance(node, Or):
        some = tuple(map(_node, node.items))
        if any(n is None for n in some):
            return None
        return AnyOf(tuple(n for n in some if n is not None))
    if isinstance(node, Not):
        return None
    if isinstance(node, WordsTerm):
        return _phrase(node.field, node.words)
    if isinstance(node, TagTerm):
        return _phrase("tags", words(node.slug))
    if isinstance(node, SourceTerm):
        return _phrase("source", words(node.value))
    return None  # regex, dates: the index holds no such thing


def _exact(term: WordsTerm) -> bool:
    """The index holds ``term``'s words exactly when they are ASCII: unicode61 only lowercases,
    and the folded text is lowercase already (other scripts: not proven, so not used)."""
    return bool(term.words) and all(_ASCII_WORD.fullmatch(w) for w in term.words)


def _phrase(field: IndexField, found: tuple[str, ...]) -> Phrase | None:
    """None when no word has a letter or digit: ``\\w`` takes ``_`` for one, the index's
    tokenizers do not, so a query of underscores would find nothing there."""
    return Phrase(field, found) if any(ch.isalnum() for word in found for ch in word) else None


def fts5_text(narrow: Narrow) -> str:
    """``narrow`` in SQLite FTS5's query syntax. Words are ``\\w+`` runs, so no quote needs escaping."""
    if isinstance(narrow, Phrase):
        return f'{narrow.field} : "{" ".join(narrow.words)}"'
    if isinstance(narrow, Without):
        return "(" + " NOT ".join([fts5_text(narrow.base), *map(fts5_text, narrow.excluded)]) + ")"
    joiner = " AND " if isinstance(narrow, AllOf) else " OR "
    return "(" + joiner.join(fts5_text(n) for n in narrow.items) + ")"


def tsquery_sql(narrow: Narrow) -> tuple[str, list[str]]:
    """``narrow`` as a PostgreSQL condition on ``search_docs`` (``s``) and its values: a phrase is
    ``phraseto_tsquery('simple', ...)`` against that field's tsvector (GIN-indexed)."""
    if isinstance(narrow, Phrase):
        return f"s.{narrow.field} @@ phraseto_tsquery('simple', %s)", [" ".join(narrow.words)]
    if isinstance(narrow, Without):
        return tsquery_sql(narrow.base)
    parts = [tsquery_sql(n) for n in narrow.items]
    joiner = " AND " if isinstance(narrow, AllOf) else " OR "
    return "(" + joiner.join(sql for sql, _ in parts) + ")", [v for _, values in parts for v in values]
