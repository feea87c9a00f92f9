"""Where a built tree goes: one interface for a local directory and an object store.

``Publisher`` is what the pipeline hands the rendered files to; ``LocalPublisher``
is ``feeds.write`` behind it (in a process of its own for big writes: ``feeds.write_process``) and ``feeds.s3.S3Publisher`` the object store.
``publish_rank`` is the order in which a publisher that can order its writes
(the object store) makes files visible: every file before the pages that link
to it, so a reader following a link never meets a missing object.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Final, Protocol

from feeds.write import TEXT_SUFFIXES, WriteReport, gzip_bytes
from feeds.write_process import write_tree_apart

File = tuple[str, bytes]
# articles/ → tag archive pages → tag feeds → tag pages → all.* → the rest (index.html, feeds.opml, ...)
ARTICLES, ARCHIVES, TAG_FEEDS, TAG_PAGES, ALL_FEEDS, LINKING_PAGES = range(6)
_ALL_FEEDS: Final = frozenset({"all.atom", "all.rss", "all.json"})


class Publisher(Protocol):
    """Writes the files it is given (and their ``.gz`` twins) where readers fetch them."""

    def publish_tree(self, files: Iterable[File]) -> WriteReport: ...

    def state(self, paths: Sequence[str]) -> str | None:
        """What the target holds at ``paths`` now, as a short text that changes when any of them
        does; None when one is missing. ``tagfeed.building.outputs`` compares it with what it recorded
        after the last write, so a file changed or removed behind its back is written again."""


@dataclass(frozen=True, slots=True)
class LocalPublisher:
    """A directory, written by the one writer (atomic, only when bytes change)."""

    root: Path
    _prefix: str = field(init=False, repr=False, compare=False)  # os.path.join(root, rel) is _prefix + rel

    def __post_init__(self) -> None:
        object.__setattr__(self, "_prefix", os.path.join(self.root, ""))

    def publish_tree(self, files: Iterable[File]) -> WriteReport:
        return write_tree_apart(self.root, files)

    def state(self, paths: Sequence[str]) -> str | None:
        """(mtime_ns, size, inode) of each file (not followed if a symlink), as text: an edit, a
        replacement or a removal shows. The text itself, not a hash of it: compared exactly, and a
        rebuild calls this for every group of files (tens of thousands), where a hash costs more
        than the bytes it saves in the store."""
        prefix, stat = self._prefix, os.stat
        try:  # a stat per file, no Path
            return " ".join([f"{(st := stat(prefix + rel, follow_symlinks=False)).st_mtime_ns}:{st.st_size}:{st.st_ino}"
                             for rel in paths])
        except OSError:
            return None


def publish_rank(rel: str) -> int:
    """The phase a file belongs to; a publisher finishes each phase before the next."""
    name = rel.removesuffix(".gz")
    parts = name.split("/")
    if parts[0] == "articles":
        return ARTICLES
    if parts[0] in ("tags", "views") and len(parts) > 2:
        return ARCHIVES
    if parts[0] in ("tags", "views"):
        return TAG_PAGES if name.endswith(".html") else TAG_FEEDS
    if name in _ALL_FEEDS:
        return ALL_FEEDS
    return LINKING_PAGES


def with_twin(rel: str, data: bytes) -> list[File]:
    """The file and, for text, its deterministic ``.gz`` twin (the same bytes ``feeds.write`` writes)."""
    if PurePosixPath(rel).suffix in TEXT_SUFFIXES:
        return [(rel, data), (rel + ".gz", gzip_bytes(data))]
    return [(rel, data)]
