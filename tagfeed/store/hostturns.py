"""The ``host_turns`` table and the per-host advisory locks: the SQL of ``tagfeed.poll.hostturns``.

A turn holds a PostgreSQL advisory lock per host (the two-key form: a tagfeed
namespace and ``hashtext(host)``) for the whole request; the table keeps when
the last request any process made there ended. Times are the database's clock.
``try_host`` takes the lock only when it is free and the gap has passed, so a
worker with several fetches in flight can try another host instead of waiting
on this one; the session then holds it until its request's ``host_turn``
(``held=True``) ends, or ``let_go``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Final

HOST_LOCKS: Final = 0x7461_6768  # "tagh": the advisory-lock namespace of upstream hosts


def _left(conn: Any, host: str, gap: float) -> float:
    """Seconds until ``gap`` after the end of the last request to ``host`` (<= 0: now)."""
    row = conn.execute(
        "SELECT extract(epoch FROM last_end + %s * interval '1 second' - statement_timestamp()) "
        "FROM host_turns WHERE host = %s", (gap, host)).fetchone()
    return float(row[0]) if row is not None and row[0] is not None else 0.0


@contextlib.contextmanager
def host_turn(conn: Any, host: str, *, held: bool = False) -> Iterator[Callable[[float], float]]:
    """Hold ``host``'s lock (already held by this session with ``held``); yields ``wait(gap)``: the
    seconds left until ``gap`` after the last request there ended. On leaving, this request's end is
    recorded and the lock released."""
    if not held:
        conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (HOST_LOCKS, host))
    try:
        yield lambda gap: _left(conn, host, gap)
    finally:
        conn.execute("INSERT INTO host_turns (host, last_end) VALUES (%s, statement_timestamp()) "
                     "ON CONFLICT (host) DO UPDATE SET last_end = EXCLUDED.last_end", (host,))
        let_go(conn, host)


def try_host(conn: Any, host: str, gap: float) -> float:
    """Take ``host``'s lock if no process holds it and ``gap`` has passed since its last request:
    0.0 when this session now holds it, else the seconds to wait before trying again (not held)."""
    if not conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (HOST_LOCKS, host)).fetchone()[0]:
        return max(gap, 0.05)  # a request of another process is under way; the gap follows it
    if (left := _left(conn, host, gap)) > 0:
        let_go(conn, host)
        return left
    return 0.0


def let_go(conn: Any, host: str) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (HOST_LOCKS, host))
