"""Fingerprints of what each output file is rendered from, so a rebuild can skip it.

A fingerprint hashes every input of a group of files (the channel, the
articles with all their fields, the options) together with the rendering code
itself (the source of every module of ``feeds/``, where every output's bytes
are made, and tagfeed's version, passed in), so a change to any of them gives a new one. Pure: whoever calls ``render_site`` decides, through a
``Fresh`` callback, whether the files of a fingerprint are already on disk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path

from sources.model import Article

# (the group's paths, its fingerprint) -> True when those files are up to date and need no rendering
Fresh = Callable[[tuple[str, ...], str], bool]


def never_fresh(paths: tuple[str, ...], fingerprint: str) -> bool:
    return False


@cache
def code_version(version: str, root: Path = Path(__file__).parent) -> bytes:
    """The rendering code as it is now: every output is string-built in feeds/*.py (``root``), so
    editing any of them, or a new ``version`` of tagfeed, re-renders everything."""
    digest = hashlib.blake2b(version.encode(), digest_size=16)
    for path in sorted(root.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.digest()


class Prints:
    """Fingerprints of groups of files; each article is hashed once per build.

    ``known`` may give an article's digest by id, made by whoever holds the article
    in a canonical serialized form (the store's rows): it must change whenever any
    field of the article does, and be the same for the same article in every build.
    """

    def __init__(self, known: Mapping[str, bytes] | None = None, *, version: str) -> None:
        self._known = known or {}
        self._code = code_version(version)
        self._articles: dict[int, bytes] = {}
        self._parts: dict[object, hashlib.blake2b] = {}  # hashable parts -> the digest of code and parts so far

    def article(self, article: Article) -> bytes:
        found = self._known.get(article.id)
        if found is not None:
            return found
        key = id(article)  # the caller keeps every article alive for the whole render
        found = self._articles.get(key)
        if found is None:
            found = self._articles[key] = hashlib.blake2b(repr(article).encode(), digest_size=16).digest()
        return found

    def of(self, parts: object, articles: Sequence[Article] = ()) -> str:
        digest = self._start(parts)
        for article in articles:
            digest.update(self.article(article))
        return str(digest.hexdigest())

    def _start(self, parts: object) -> hashlib.blake2b:
        """The digest of the code and ``parts``, to be continued with articles. Every article
        page shares its parts, so those are hashed (and their repr made) once per build."""
        try:
            started = self._parts.get(parts)
        except TypeError:  # unhashable parts (a list inside): hashed each time
            return self._digest(parts)
        if started is None:
            started = self._parts[parts] = self._digest(parts)
        return started.copy()

    def _digest(self, parts: object) -> hashlib.blake2b:
        digest = hashlib.blake2b(self._code, digest_size=16)
        digest.update(repr(parts).encode())
        return digest
