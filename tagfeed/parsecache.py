"""Tag pages parsed by an earlier build, reused while a dump's bytes stay the same.

Parsing a dump is a pure function of its path (the articles' ``source``), its
bytes and the parser's code, so a dump whose bytes did not change parses to
the same articles: the build reads them back instead of parsing again. On a
1,000-tag site that was a third of a no-op rebuild. The build still reads
every dump's bytes (hashing them costs ~1 ms per MB), so an edit is never
missed, whatever happened to the file's mtime.

One file per dump under ``state_dir/parsed/``, written atomically, holding
``marshal`` data of plain tuples and strings: loading it runs no code (unlike
pickle). A file of another parser version, or one that cannot be read, is a
miss, never an error: the dump is parsed as if there were no cache.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import marshal
import os
import tempfile
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import sources.model
import sources.tagpage
import sources.text
from sources.model import Article, Tag
from sources.tagpage import parse_tagpage_bytes, read_dump
from tagfeed import __version__

log = logging.getLogger("tagfeed.parsecache")
FIELDS = tuple(f.name for f in dataclasses.fields(Article))
_DATES = frozenset({"published", "updated"})


@cache
def parser_version() -> str:
    """The parser's code and the article's fields: a change to either invalidates every entry."""
    digest = hashlib.blake2b(__version__.encode(), digest_size=16)
    digest.update(repr(FIELDS).encode())
    for module in (sources.tagpage, sources.text, sources.model):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


def encode(article: Article) -> tuple[Any, ...]:
    """``article`` as a tuple ``marshal`` can write: tags as (slug, name) pairs, dates as ISO text."""
    row: list[Any] = []
    for name in FIELDS:
        value = getattr(article, name)
        if name == "tags":
            value = tuple((t.slug, t.name) for t in value)
        elif name in _DATES and value is not None:
            value = value.isoformat()
        row.append(value)
    return tuple(row)


def decode(row: tuple[Any, ...]) -> Article:
    """The inverse of ``encode``."""
    values = dict(zip(FIELDS, row, strict=True))
    values["tags"] = tuple(Tag(slug, name) for slug, name in values["tags"])
    for name in _DATES:
        if values[name] is not None:
            values[name] = datetime.fromisoformat(values[name])
    return Article(**values)


class ParseCache:
    """``read`` parses a dump, or returns what the same bytes parsed to last time."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.used: set[str] = set()  # entry file names read or written this build

    def read(self, path: Path) -> list[Article]:
        """The articles of the dump at ``path``; failures are ``TagPageError``s as ``read_tagpage`` raises."""
        data = read_dump(path)
        key = hashlib.blake2b(data, digest_size=16).hexdigest()
        entry = self._entry(path)
        self.used.add(entry.name)
        found = self._load(entry, str(path), key)
        if found is not None:
            return found
        articles = parse_tagpage_bytes(data, source=str(path))
        self._save(entry, str(path), key, articles)
        return articles

    def prune(self) -> None:
        """Drop the entries of dumps this build did not read (removed from the config or the disk)."""
        try:
            names = os.listdir(self.directory)
        except OSError:
            return
        for name in names:
            if name.endswith(".parsed") and name not in self.used:
                with contextlib.suppress(OSError):  # gone already is fine
                    os.unlink(self.directory / name)

    def _entry(self, path: Path) -> Path:
        return self.directory / (hashlib.blake2b(str(path).encode(), digest_size=16).hexdigest() + ".parsed")

    def _load(self, entry: Path, name: str, key: str) -> list[Article] | None:
        try:
            version, stored_name, stored_key, rows = marshal.loads(entry.read_bytes())
            if (version, stored_name, stored_key) != (parser_version(), name, key):
                return None
            return [decode(row) for row in rows]
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - a damaged entry is a miss: parse as if uncached
            log.debug("%s: unusable parse-cache entry (%s); parsing again", entry, exc)
            return None

    def _save(self, entry: Path, name: str, key: str, articles: list[Article]) -> None:
        blob = marshal.dumps((parser_version(), name, key, tuple(encode(a) for a in articles)))
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".parsed")
            with os.fdopen(handle, "wb") as out:
                out.write(blob)
            os.replace(temp, entry)
        except OSError as exc:  # the cache only saves time: the build goes on without it
            log.warning("%s: cannot keep parsed dump: %s", entry, exc.strerror or exc)
