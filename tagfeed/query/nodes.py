"""The parsed query as frozen data: terms (leaves) and And/Or/Not over them.

Every term keeps ``text``, its spelling in the query, so an explanation quotes
the user's own words back. Values are already folded (``fold``) where they are
compared as text, so matching never folds the query again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Union

TextField = Literal["title", "text", "author"]
RegexField = Literal["title", "text", "author", "tag", "source"]


@dataclass(frozen=True, slots=True)
class WordsTerm:
    """A word or a quoted phrase: these folded words, one after the other, in ``field``."""

    field: TextField
    words: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class RegexTerm:
    """``/pattern/`` searched (RE2: linear time) in the folded ``field``."""

    field: RegexField
    pattern: str
    text: str


@dataclass(frozen=True, slots=True)
class TagTerm:
    """``tag:NAME``: the article carries the tag whose slug ``NAME`` has."""

    slug: str
    text: str


@dataclass(frozen=True, slots=True)
class SourceTerm:
    """``source:NAME``: a source's name or URL (folded, no trailing slash), or a URL's host."""

    value: str
    text: str


@dataclass(frozen=True, slots=True)
class DateTerm:
    """``after:DATE`` (a fixed moment) or ``newer:7d`` (``seconds`` before ``now``)."""

    after: datetime | None
    seconds: int | None
    text: str


@dataclass(frozen=True, slots=True)
class Not:
    item: Node
    text: str


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


Term = Union[WordsTerm, RegexTerm, TagTerm, SourceTerm, DateTerm]
Node = Union[Term, Not, And, Or]


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query and the text it was parsed from."""

    root: Node
    text: str
