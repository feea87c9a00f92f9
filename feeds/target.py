"""Where a built tree goes: one interface for a local directory and an object store.

``Publisher`` is what the pipeline hands the rendered files to; ``LocalPublisher``
is ``feeds.write`` behind it and ``feeds.s3.S3Publisher`` the object store.
``publish_rank`` is the order in which a publisher that can order its writes
(the object store) makes files visible: every file before the pages that link
to it, so a reader following a link never meets a missing object.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final, Protocol

from feeds.write import TEXT_SUFFIXES, WriteReport, gzip_bytes, write_tree

File = tuple[str, bytes]
# articles/ → tag archive pages → tag feeds → tag pages → all.* → the rest (index.html, feeds.opml, ...)
ARTICLES, ARCHIVES, TAG_FEEDS, TAG_PAGES, ALL_FEEDS, LINKING_PAGES = range(6)
_ALL_FEEDS: Final = frozenset({"all.atom", "all.rss", "all.json"})


class Publisher(Protocol):
    """Writes the files it is given (and their ``.gz`` twins) where readers fetch them."""

    def publish_tree(self, files: Iterable[File]) -> WriteReport: ...


@dataclass(frozen=True, slots=True)
class LocalPublisher:
    """A directory, written by the one writer (atomic, only when bytes change)."""

    root: Path

    def publish_tree(self, files: Iterable[File]) -> WriteReport:
        return write_tree(self.root, files)


def publish_rank(rel: str) -> int:
    """The phase a file belongs to; a publisher finishes each phase before the next."""
    name = rel.removesuffix(".gz")
    parts = name.split("/")
    if parts[0] == "articles":
        return ARTICLES
    if parts[0] == "tags" and len(parts) > 2:
        return ARCHIVES
    if parts[0] == "tags":
        return TAG_PAGES if name.endswith(".html") else TAG_FEEDS
    if name in _ALL_FEEDS:
        return ALL_FEEDS
    return LINKING_PAGES


def with_twin(rel: str, data: bytes) -> list[File]:
    """The file and, for text, its deterministic ``.gz`` twin (the same bytes ``feeds.write`` writes)."""
    if PurePosixPath(rel).suffix in TEXT_SUFFIXES:
        return [(rel, data), (rel + ".gz", gzip_bytes(data))]
    return [(rel, data)]
