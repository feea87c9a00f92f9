"""Text as queries compare it: ``normalize_title``'s folding (NFKC, quotes, casefold,
spaces) and then accents dropped, as ``slugify`` drops them for tag ids."""

from __future__ import annotations

import functools
import re
import unicodedata

from sources.model import normalize_title

_WORD = re.compile(r"\w+")


@functools.lru_cache(maxsize=1 << 14)  # tag names and source titles repeat across articles
def fold(text: str) -> str:
    folded = normalize_title(text)
    if folded.isascii():
        return folded
    return "".join(ch for ch in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(ch))


def words(text: str) -> tuple[str, ...]:
    """The folded words of ``text``: what a word or a phrase of a query is made of."""
    return tuple(_WORD.findall(fold(text)))
