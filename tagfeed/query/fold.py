"""Text as queries compare it: ``normalize_title``'s folding (NFKC, quotes, casefold,
spaces) and then accents dropped, as ``slugify`` drops them for tag ids."""

from __future__ import annotations

import functools
import re
import unicodedata

from sources.model import normalize_title

_WORD = re.compile(r"\w+")
# ASCII text's word characters are [A-Za-z0-9_]: every other byte becomes a space
_ASCII_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_ASCII_SPACES = bytes(c if c in _ASCII_WORD else 0x20 for c in range(256))
# Names (tags, sources) repeat across articles and are worth a cache; a body is folded once
# per build, and caching it would cost the hash of the whole text and keep thousands of them.
_CACHED_UP_TO = 200


def fold(text: str) -> str:
    return _fold_cached(text) if len(text) <= _CACHED_UP_TO else _fold(text)


@functools.lru_cache(maxsize=1 << 14)
def _fold_cached(text: str) -> str:
    return _fold(text)


def _fold(text: str) -> str:
    return _drop_accents(normalize_title(text))


def _drop_accents(folded: str) -> str:
    if folded.isascii():
        return folded
    return "".join(ch for ch in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(ch))


def words(text: str) -> tuple[str, ...]:
    """The folded words of ``text``: what a word or a phrase of a query is made of.

    The words of ``fold(text)``, made without the parts of ``fold`` that cannot change
    a word (quotes and dashes made plain, spaces collapsed: none is a word character),
    and ``words(fold(text)) == words(text)``: the search index folds every article's
    text once per build (``tests/test_query.py`` holds both by property tests)."""
    return tuple(_WORD.findall(_drop_accents(unicodedata.normalize("NFKC", text).casefold())))


def word_text(text: str) -> str:
    """``" ".join(words(text))``, the form the search index keeps; ASCII text (most of it)
    is split by one byte translation instead of the regex."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if folded.isascii():
        return b" ".join(folded.encode("ascii").translate(_ASCII_SPACES).split()).decode("ascii")
    return " ".join(_WORD.findall(_drop_accents(folded)))
