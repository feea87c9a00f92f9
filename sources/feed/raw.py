"""One upstream entry with the formats' differences gone, and the text rules every format shares."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sources.feed import extras
from sources.sanitize import plain_text

SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Raw:
    """One upstream entry, format differences gone, nothing decided yet."""

    id: str | None
    link: str | None
    title: str | None
    content: str | None  # HTML
    summary: str | None  # HTML
    published: datetime | None
    updated: datetime | None
    categories: tuple[str, ...]
    base: str  # what a relative entry link resolves against: xml:base, home page or feed URL
    content_base: str | None = None  # an explicit xml:base on the content
    title_is_text: bool = False  # the title is plain text (its ``<`` is a character), not HTML
    attached: extras.Extras = extras.NONE  # authors, enclosures, image


def text_title(value: str, *, is_text: bool) -> str:
    """A title as readers see it: plain text kept as it is (``History of the <blink> tag``),
    HTML reduced to its text; runs of whitespace become one space either way."""
    return SPACE.sub(" ", value).strip() if is_text else plain_text(value)


def is_text(detail: Any) -> bool:
    """feedparser's ``*_detail`` says text/plain: the value is text (already unescaped)."""
    return isinstance(detail, Mapping) and detail.get("type") == "text/plain"


def as_html(detail: Any) -> str:
    """feedparser's text/plain values are unescaped text: escape them back into HTML."""
    value = str(detail.get("value", ""))
    if detail.get("type", "text/html") == "text/plain":
        return "<p>" + value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "</p>"
    return value

