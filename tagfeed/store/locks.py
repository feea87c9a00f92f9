"""PostgreSQL advisory locks: who builds, and one settling of articles at a time.

Several workers share one PostgreSQL (``tagfeed work``). ``BUILD_LOCK`` is
held for a whole build, so only one build writes the output at a time (the
SQLite store keeps the ``state_dir`` file lock, ``build_lock``);
``BUILD_TURN`` only picks which worker starts the next build, so a worker
that lost the race skips the round instead of queueing. ``SETTLE_LOCK`` is
taken inside the transaction that dates and stores polled articles: settling
reads then writes an article row, and two workers settling the same article
at once would lose one side's tags. A lock held by a worker that dies is
released by PostgreSQL with its connection.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final, cast

from tagfeed.config import SiteConfig
from tagfeed.errors import StoreError
from tagfeed.store.postgres import PgStore, open_store
from tagfeed.store.sqlite import Store

log = logging.getLogger("tagfeed.store.locks")
BUILD_LOCK: Final = 0x7461_6762  # "tagb": held for a whole build
BUILD_TURN: Final = 0x7461_6774  # "tagt": which worker starts the next build
SETTLE_LOCK: Final = 0x7461_6773  # "tags": one settle transaction at a time (xact lock)


@contextlib.contextmanager
def advisory_lock(conn: Any, key: int, *, wait: bool = True) -> Iterator[bool]:
    """Hold session lock ``key`` on ``conn``; yields False (holding nothing) when ``wait``
    is off and another session has it."""
    if wait:
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))
        held = True
    else:
        held = bool(conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0])
    try:
        yield held
    finally:
        if held and not conn.closed:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


@contextlib.contextmanager
def settling(conn: Any) -> Iterator[None]:
    """A transaction holding ``SETTLE_LOCK`` until it commits or rolls back."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SETTLE_LOCK,))
        yield


@contextlib.contextmanager
def build_lock(state_dir: Path) -> Iterator[None]:
    """One build at a time per state dir (``serve``'s scheduler and a manual ``build`` alike)."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        handle = open(state_dir / "build.lock", "a+")  # not "w": the holder's line stays readable
    except OSError as exc:
        raise StoreError(f"{state_dir}: cannot take the build lock: {exc.strerror or exc}") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # say so before blocking, and for whom
            handle.seek(0)
            holder = handle.read().strip() or "another build"
            log.warning("waiting for the build lock of %s, held by %s", state_dir, holder)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        since = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        handle.write(f"pid {os.getpid()} ({' '.join(['tagfeed', *sys.argv[1:2]])}) since {since}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)  # no stale holder named to the next one waiting
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def locked_store(site: SiteConfig) -> Iterator[Store]:
    """The store, holding the build lock: a PostgreSQL advisory lock when the store is
    shared by workers (``tagfeed.store.locks``), else the file lock in ``state_dir``."""
    if not site.store:
        with build_lock(site.state_dir), open_store(site) as store:
            yield store
        return
    with open_store(site) as store, advisory_lock(cast(PgStore, store).conn, BUILD_LOCK):
        yield store


def settling_articles(store: Store) -> contextlib.AbstractContextManager[None]:
    return settling(store.conn) if isinstance(store, PgStore) else contextlib.nullcontext()
