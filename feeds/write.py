"""The one writer of the output tree: atomic, only when bytes change, never deleting output.

Each file goes to a temp file in its own directory, is fsynced and then
``os.replace``d over the old one, so a reader sees the old bytes or the new,
never half. Text files get a deterministic ``.gz`` twin (level 6, mtime 0, no
name) that a static server can send as is.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import stat
import re
import tempfile
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

from tagfeed.errors import OutputError

TEXT_SUFFIXES: Final = frozenset({".atom", ".rss", ".json", ".html", ".xml", ".opml"})
FILE_MODE: Final = 0o644  # mkstemp makes 0600; a static server must read the files
TEMP_PREFIX: Final = "."
TEMP_SUFFIX: Final = ".tmp"
# ".<name>.<mkstemp's 8 random characters>.tmp": only files this writer makes.
_TEMP_NAME = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.tmp")
# gzip (zlib), fsync and the kernel's file creation release the GIL: a few threads hide
# them behind rendering. IN_FLIGHT bounds the files rendered but not yet written.
WORKERS: Final = 4
IN_FLIGHT: Final = 256


@dataclass(frozen=True, slots=True)
class WriteReport:
    """Relative paths written (``.gz`` twins included) and how many were left alone."""

    written: tuple[str, ...]
    unchanged: int


def write_tree(output_dir: Path | str, files: Iterable[tuple[str, bytes]], *,
               workers: int = WORKERS) -> WriteReport:
    """Write every file (and its twin) on ``workers`` threads; the report keeps the input order.

    The first failure is raised once the files already handed out are done, each
    of them atomic, so an error never leaves a half-written file either.
    """
    root = Path(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    written: list[str] = []
    unchanged = 0
    pending: deque[Future[list[tuple[str, bool]]]] = deque()

    def collect(future: Future[list[tuple[str, bool]]]) -> None:
        nonlocal unchanged
        for path, changed in future.result():
            if changed:
                written.append(path)
            else:
                unchanged += 1

    folders: set[Path] = set()  # directories checked and made once per tree, not once per file
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="tagfeed-write") as pool:
        try:
            for rel, data in files:
                pending.append(pool.submit(_write_with_twin, root, rel, data, folders))
                while len(pending) > IN_FLIGHT or (pending and pending[0].done()):
                    collect(pending.popleft())
            while pending:
                collect(pending.popleft())
        finally:
            for future in pending:
                future.cancel()
    return WriteReport(written=tuple(written), unchanged=unchanged)


def _write_with_twin(root: Path, rel: str, data: bytes, folders: set[Path]) -> list[tuple[str, bool]]:
    return [(path, write_file(root, path, payload, folders)) for path, payload in _with_twin(rel, data)]


def _with_twin(rel: str, data: bytes) -> list[tuple[str, bytes]]:
    if PurePosixPath(rel).suffix in TEXT_SUFFIXES:
        return [(rel, data), (rel + ".gz", gzip_bytes(data))]
    return [(rel, data)]


def gzip_bytes(data: bytes) -> bytes:
    """Same input, same bytes: no timestamp and no file name in the header."""
    return gzip.compress(data, compresslevel=6, mtime=0)


def write_file(root: Path, rel: str, data: bytes, folders: set[Path] | None = None) -> bool:
    """Write ``data`` at ``root/rel`` unless it is already there; True if written.

    ``folders`` remembers the directories already checked and made, so a tree
    of thousands of files pays for each directory once.
    """
    target = resolve_target(root, rel, folders)
    if _same_bytes(target, data, rel):
        return False
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f"{TEMP_PREFIX}{target.name}.", suffix=TEMP_SUFFIX)
    replaced = False
    try:
        try:
            os.fchmod(fd, FILE_MODE)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        replaced = True
    finally:
        if not replaced:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    return True


def resolve_target(root: Path, rel: str, folders: set[Path] | None = None) -> Path:
    """``root/rel``, refusing anything that could land outside ``root``; its directory exists after."""
    if not rel or "\\" in rel or "\0" in rel or rel.startswith("/"):
        raise OutputError(rel, "not a relative path")
    parts = rel.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise OutputError(rel, "path must not contain empty, '.' or '..' segments")
    target = root.joinpath(*parts)
    parent = target.parent
    if folders is None or parent not in folders:
        if not parent.resolve().is_relative_to(root):  # a symlinked directory
            raise OutputError(rel, "resolves outside the output directory")
        parent.mkdir(parents=True, exist_ok=True)
        if folders is not None:
            folders.add(parent)
    return target


def sweep_temp_files(output_dir: Path | str) -> tuple[str, ...]:
    """Remove temp files a killed build left behind; returns their relative paths.

    The one deletion this module makes, and only of names it mints itself. Call
    it while holding the build lock, never beside a running ``write_tree``.
    """
    root = Path(output_dir)
    if not root.is_dir():
        return ()
    removed = []
    for path in sorted(root.rglob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}")):
        if _TEMP_NAME.fullmatch(path.name) and path.is_file() and not path.is_symlink():
            path.unlink()
            removed.append(path.relative_to(root).as_posix())
    return tuple(removed)


def _same_bytes(target: Path, data: bytes, rel: str) -> bool:
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
        return target.read_bytes() == data
    except FileNotFoundError:
        return False
