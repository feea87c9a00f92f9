"""The output tree as served: safe path resolution and an in-memory file cache.

``resolve`` never returns a path outside the tree (``..``, encoded traversal,
NUL bytes, symlinks leading out, dotfiles and the writer's temp files are all
refused); ``FileCache`` keeps each file's bytes, ETag and gzip twin until its
(mtime, size) changes, so a poller's request never re-reads or re-hashes.
"""

from __future__ import annotations

import gzip
import os
import re
import stat
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from werkzeug.security import safe_join

from tagfeed.serving.httpcache import content_type_for, etag_for

_HIDDEN = re.compile(r"(?:^|/)\.|\.tmp$|~$")  # dotfiles and the writer's temp files are not the tree


@dataclass(frozen=True, slots=True)
class Entry:
    """One served file: bytes, validators and gzip twin, valid while its stat keys hold."""

    key: tuple[int, int]
    gz_key: tuple[int, int] | None
    body: bytes
    etag: str
    gz_body: bytes | None
    last_modified: datetime
    content_type: str


def _stat_key(st: os.stat_result) -> tuple[int, int]:
    return (st.st_mtime_ns, st.st_size)


def _gz_stat_key(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path + ".gz", follow_symlinks=False)
    except OSError:
        return None
    return _stat_key(st) if stat.S_ISREG(st.st_mode) else None


def _read(path: str) -> tuple[bytes, os.stat_result]:
    """Bytes and stat of one open file, so the two always describe the same version."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        return handle.read(), os.fstat(handle.fileno())


def _load(path: str) -> Entry:
    body, st = _read(path)
    gz_body: bytes | None = None
    gz_key: tuple[int, int] | None = None
    try:
        gz_body, gz_st = _read(path + ".gz")
        gz_key = _stat_key(gz_st)
        gz_body = gz_body if gzip.decompress(gz_body) == body else None  # never a stale twin
    except (OSError, EOFError):
        gz_body = None
    modified = datetime.fromtimestamp(st.st_mtime_ns / 1e9, timezone.utc)
    return Entry(_stat_key(st), gz_key, body, etag_for(body), gz_body, modified, content_type_for(path))


class FileCache:
    """Bytes and ETags keyed by (path, mtime_ns, size): repeated polls stat, never re-hash."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()

    def get(self, path: str) -> Entry | None:
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        with self._lock:
            entry = self._entries.get(path)
        if entry and entry.key == _stat_key(st) and entry.gz_key == _gz_stat_key(path):
            return entry
        try:
            entry = _load(path)
        except OSError:
            return None
        with self._lock:
            self._entries[path] = entry
        return entry


def resolve(root: str, url_path: str) -> str | None:
    """The real path of ``url_path`` inside ``root`` (a realpath), or None for anything else."""
    if "\x00" in url_path or "\\" in url_path or url_path.endswith("/") or _HIDDEN.search(url_path):
        return None
    joined = safe_join(root, url_path)
    if joined is None:
        return None
    real = _realpath_below(root, joined)
    if not real.startswith(root + os.sep) or _HIDDEN.search(real[len(root) + 1:]):  # = relpath(real, root)
        return None
    return real


def _realpath_below(root: str, joined: str) -> str:
    """``os.path.realpath(joined)`` for a path below ``root`` (itself a realpath), with one lstat per
    component below the root (and one of the root) instead of one per component from ``/``: when none
    of them is a symlink and all exist, the real path is the path itself. Anything else (a symlink, a
    missing component, ``.``) takes ``os.path.realpath``. Assumes the root's ancestors, real when the
    server started, are not swapped for symlinks while it runs."""
    prefix = root + os.sep
    if not joined.startswith(prefix):
        return os.path.realpath(joined)
    path = root
    try:
        if stat.S_ISLNK(os.lstat(root).st_mode):
            return os.path.realpath(joined)
        for part in joined[len(prefix):].split(os.sep):
            if part in ("", ".", ".."):
                return os.path.realpath(joined)
            path = path + os.sep + part
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return os.path.realpath(joined)
    except (OSError, ValueError):
        return os.path.realpath(joined)
    return path
