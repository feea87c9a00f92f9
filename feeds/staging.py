"""The temp files and directories of one write of the tree, made durable in batches and put in place.

A file goes to a temp file beside its target (``.<name>.<pid>-<n>.tmp``, ``O_EXCL``,
mode 0644), or, in a directory the write makes, under its own name inside that
directory's temp one. A thread of its own (``start``) makes every ``BATCH`` files
durable with one ``syncfs(2)`` and renames the batch's temp files over their
targets while the next files are written; ``finish`` syncs the last batch, renames
each new directory into place and fsyncs each directory whose entries changed.
No name ever points at bytes that are not on disk (README: Durable writes).
Paths are plain strings; each directory is checked (no symlink out of the tree)
and made once per write.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import stat
import threading
from pathlib import Path
from typing import Final

from feeds.disk import fsync_directory as _fsync_directory
from feeds.disk import same_bytes as _same_bytes
from feeds.disk import sync_filesystem as _sync_filesystem
from tagfeed.errors import OutputError

FILE_MODE: Final = 0o644  # a static server must read the files, whatever the umask
TEMP_PREFIX: Final = "."
TEMP_SUFFIX: Final = ".tmp"
# ".<name>.<pid>-<serial>.tmp", or an older version's ".<name>.<mkstemp's 8 characters>.tmp":
# only files this writer makes.
TEMP_NAME: Final = re.compile(r"\..+\.(?:[0-9]+-[0-9]+|[A-Za-z0-9_]{8})\.tmp")
# O_EXCL: a temp name another process (or a killed build) holds is never opened, only skipped.
_CREATE: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL
_TEMP_TRIES: Final = 10_000
_serial = itertools.count()  # with the pid, a temp name no other writer uses at the same time
# Files synced (one syncfs) and put in place together, while the writers go on: a few syncs per
# thousand-tag build, and a no-op or one-tag rebuild still makes at most one.
BATCH: Final = 4096


class Folder:
    """One directory of the tree, checked and made once per ``Tree``."""

    __slots__ = ("prefix", "fresh", "direct", "chmod")

    def __init__(self, prefix: str, fresh: bool, direct: bool = False) -> None:
        self.prefix = prefix  # its absolute path (where it is now) and a "/"
        # Made by this call: it did not exist before, so no file in it is there to compare with.
        self.fresh = fresh
        # Out of readers' sight until the write is done (made under a temp name, or inside such a
        # directory): its files are written under their own names, no temp file and no rename each.
        self.direct = direct
        # Whether a file opened with FILE_MODE here needs an fchmod to get it (a umask or a
        # default ACL strips bits); None until the first file here shows it.
        self.chmod: bool | None = None


def ensure_root(root: Path) -> bool:
    """Make the output directory (and its parents); True when this call made it. One
    ``OutputError`` naming it when it cannot be made or is not a directory."""
    try:
        root.mkdir(parents=True)
        return True
    except FileExistsError:
        if not root.is_dir():
            raise OutputError(str(root), "exists and is not a directory (site.output_dir)") from None
        return False
    except OSError as exc:
        raise OutputError(str(root), f"cannot create the output directory (site.output_dir): "
                                     f"{exc.strerror or exc}") from None


_Staged = tuple[str, str, str, "Folder"]  # (temp, target, rel, its folder)


class Tree:
    """The state of one ``write_tree`` call, shared by its threads: its folders, the files written
    but not yet durable (``unsynced``) or in place (``staged``, ``unveil``), and the thread that
    syncs and places them.

    A directory this call makes is made under a temp name (``.<name>.<pid>-<n>.tmp``) and its
    files under their own names: they need no temp file and no rename each, and the directory is
    renamed into place once, after the last sync (a cold build: every file but the few at the top).
    """

    __slots__ = ("prefix", "folders", "pid", "staged", "unsynced", "ready", "finishing", "placer", "changed",
                 "failure", "synced", "unveil", "making")

    def __init__(self, root: Path) -> None:
        fresh = ensure_root(root)
        real = os.path.realpath(root)
        self.prefix = real if real.endswith("/") else real + "/"
        self.pid = os.getpid()
        self.folders: dict[str, Folder] = {"": Folder(self.prefix, fresh)}
        self.staged: list[_Staged] = []  # guarded by ``ready``, as is ``unsynced``
        self.unsynced = 0  # files written since the last sync
        self.ready = threading.Condition()
        self.finishing = False
        self.placer: threading.Thread | None = None
        self.changed: dict[str, None] = {}  # directories whose entries changed, in order
        self.failure: BaseException | None = None  # the first file that could not be put in place
        self.synced = False  # the last sync was made: every file written is durable
        self.unveil: list[tuple[str, str, str]] = []  # (temp path, final path, head) of each directory made
        self.making = threading.RLock()  # one thread makes a folder (and its parents) at a time

    def folder(self, rel: str) -> tuple[Folder, str]:
        """The directory ``rel`` goes in (checked and made) and its file name; refuses any path
        that could land outside the tree."""
        if not rel or "\\" in rel or "\0" in rel or rel[0] == "/":
            raise OutputError(rel, "not a relative path")
        head, _, name = rel.rpartition("/")
        if name in ("", ".", ".."):
            raise OutputError(rel, "path must not contain empty, '.' or '..' segments")
        folder = self.folders.get(head)
        return (folder or self._make(head, rel)), name

    def _make(self, head: str, rel: str) -> Folder:
        with self.making:
            folder = self.folders.get(head)
            if folder is not None:  # another thread made it meanwhile
                return folder
            if any(part in ("", ".", "..") for part in head.split("/")):
                raise OutputError(rel, "path must not contain empty, '.' or '..' segments")
            above, _, name = head.rpartition("/")
            parent = self.folders.get(above) or self._make(above, rel)
            path = parent.prefix + name
            if parent.direct:  # inside a directory nobody sees yet
                os.mkdir(path)
                folder = Folder(path + "/", fresh=True, direct=True)
            elif os.path.lexists(path):
                if not (os.path.realpath(path) + "/").startswith(self.prefix):  # a symlinked directory
                    raise OutputError(rel, "resolves outside the output directory")
                if not os.path.isdir(path):
                    raise FileExistsError(errno.EEXIST, "exists and is not a directory", path)
                folder = Folder(path + "/", fresh=False)
            else:
                temp = self._temp_dir(parent.prefix, name, rel)
                self.unveil.append((temp, path, head))
                folder = Folder(temp + "/", fresh=True, direct=True)
            self.folders[head] = folder
            return folder

    def _temp_dir(self, prefix: str, name: str, rel: str) -> str:
        for _ in range(_TEMP_TRIES):
            temp = f"{prefix}{TEMP_PREFIX}{name}.{self.pid}-{next(_serial)}{TEMP_SUFFIX}"
            try:
                os.mkdir(temp)
                return temp
            except FileExistsError:
                continue
        raise OutputError(rel, "no free temp directory name")

    def write(self, folder: Folder, name: str, rel: str, data: bytes) -> bool:
        """Write ``data`` as ``name`` in ``folder`` unless it is already there; True if written."""
        target = folder.prefix + name
        if folder.direct:  # its own name, in a directory no reader sees yet
            try:
                fd = os.open(target, _CREATE, FILE_MODE)
            except (FileExistsError, IsADirectoryError):
                raise OutputError(rel, "exists and is not a regular file") from None
            try:
                self._fill(folder, fd, data)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(target)
                raise
            self._written(None)
            return True
        if not folder.fresh and _same_bytes(target, data, rel):
            return False
        for _ in range(_TEMP_TRIES):
            temp = f"{folder.prefix}{TEMP_PREFIX}{name}.{self.pid}-{next(_serial)}{TEMP_SUFFIX}"
            try:
                fd = os.open(temp, _CREATE, FILE_MODE)
                break
            except FileExistsError:
                continue
        else:
            raise OutputError(rel, "no free temp file name")
        staged = False
        try:
            self._fill(folder, fd, data)
            self._written((temp, target, rel, folder))
            staged = True
        finally:
            if not staged:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp)
        return True

    @staticmethod
    def _fill(folder: Folder, fd: int, data: bytes) -> None:
        """Write all of ``data`` to the new file ``fd`` (mode 0644), and close it."""
        try:
            chmod = folder.chmod
            if chmod is None:
                chmod = folder.chmod = stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE
            if chmod:
                os.fchmod(fd, FILE_MODE)
            done = os.write(fd, data)
            if done < len(data):
                view = memoryview(data)[done:]
                while view:
                    view = view[os.write(fd, view):]
        finally:
            os.close(fd)

    def _written(self, staged: _Staged | None) -> None:
        with self.ready:
            if staged is not None:
                self.staged.append(staged)
            self.unsynced += 1
            if self.unsynced == BATCH:
                self.ready.notify()

    def start(self) -> None:
        self.placer = threading.Thread(target=self._place_batches, name="tagfeed-place", daemon=True)
        self.placer.start()

    def _place_batches(self) -> None:
        """Until ``finish``: each time a batch is written, make it durable and put its temp files
        in place."""
        try:
            while True:
                with self.ready:
                    while not self.finishing and self.unsynced < BATCH:
                        self.ready.wait()
                    batch, self.staged = self.staged, []
                    written, self.unsynced = self.unsynced, 0
                    last = self.finishing
                self._place(batch, written)
                if last:
                    self.synced = True
                    return
        except BaseException as exc:  # a failed sync: nothing more is renamed, the temps are swept later
            self.failure = exc

    def _place(self, batch: list[_Staged], written: int) -> None:
        """One syncfs, then a rename per temp file. A file that cannot be put in place keeps its
        old bytes (its temp is removed); the first such error is kept for ``finish``."""
        if not written:
            return
        _sync_filesystem(self.prefix)  # before any rename: no name ever points at bytes not on disk
        for temp, target, rel, folder in batch:
            try:
                os.replace(temp, target)
            except OSError as exc:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp)
                if self.failure is None:  # only a race (or a directory of that name in this call) is a directory
                    self.failure = OutputError(rel, "exists and is not a regular file") if isinstance(
                        exc, IsADirectoryError) else exc
                continue
            self.changed[folder.prefix] = None

    def finish(self) -> None:
        """Place what is still staged, put each directory made in place, then make the renames
        durable: an fsync per directory that changed. Raises the first failure once everything
        else is in place."""
        with self.ready:
            self.finishing = True
            self.ready.notify()
        if self.placer is not None:
            self.placer.join()
        else:
            self._place_batches()
        if self.synced:  # every file in them is durable: they can be seen
            for temp, final, head in self.unveil:
                try:
                    os.rename(temp, final)
                except OSError as exc:  # something took the name meanwhile; the temp is swept later
                    if self.failure is None:
                        self.failure = OutputError(head, f"cannot put the new directory in place: "
                                                         f"{exc.strerror or exc}")
                    continue
                self.changed[os.path.dirname(final) + "/"] = None
        changed = self.changed
        if changed:
            if self.folders[""].fresh:  # the output directory itself is an entry of its parent
                changed[os.path.dirname(self.prefix[:-1]) + "/"] = None
            for path in changed:
                _fsync_directory(path)
        if self.failure is not None:
            raise self.failure
