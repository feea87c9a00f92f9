"""The filesystem calls of the output writer (``feeds.write``): syncs, directory fsyncs, comparisons.

``sync_filesystem`` is the one flush each batch of a write makes (see the README's
"Durable writes"); the rest keep the writer from rewriting a file whose bytes are
already there, or from writing through a directory it did not check.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import stat

from tagfeed.errors import OutputError

# syncfs(2): every dirty page of one filesystem to stable storage in one call (Linux); elsewhere sync(2)
_SYNCFS = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)


def sync_filesystem(path: str) -> None:
    """Every written byte of the filesystem holding ``path`` on stable storage: syncfs(2), or sync(2)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _SYNCFS is not None and _SYNCFS(fd) == 0:
            return
        os.sync()
    finally:
        os.close(fd)


def fsync_directory(path: str) -> None:
    """The directory's entries (a rename into it, a new subdirectory) on stable storage."""
    with contextlib.suppress(FileNotFoundError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def same_bytes(target: str, data: bytes, rel: str) -> bool:
    """True when ``target`` already holds ``data``; one lstat for a missing or different-sized file."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(rel, "exists and is not a regular file")
    if st.st_size != len(data):
        return False
    try:
        with open(target, "rb", buffering=0) as handle:
            return handle.read() == data
    except FileNotFoundError:
        return False
