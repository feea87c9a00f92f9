"""The ``host_turns`` table and the per-host advisory locks: the SQL of ``tagfeed.poll.hostturns``.

A turn holds a PostgreSQL advisory lock per host (the two-key form: a tagfeed
namespace and ``hashtext(host)``) for the whole request; the table keeps when
the last request any process made there ended. Times are the database's clock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Final

HOST_LOCKS: Final = 0x7461_6768  # "tagh": the advisory-lock namespace of upstream hosts


@contextlib.contextmanager
def host_turn(conn: Any, host: str) -> Iterator[Callable[[float], float]]:
    """Hold ``host``'s lock; yields ``wait(gap)``: the seconds left until ``gap`` after the last
    request there ended. On leaving, this request's end is recorded and the lock released."""
    conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (HOST_LOCKS, host))

    def wait(gap: float) -> float:
        row = conn.execute(
            "SELECT extract(epoch FROM last_end + %s * interval '1 second' - statement_timestamp()) "
            "FROM host_turns WHERE host = %s", (gap, host)).fetchone()
        return float(row[0]) if row is not None and row[0] is not None else 0.0

    try:
        yield wait
    finally:
        conn.execute("INSERT INTO host_turns (host, last_end) VALUES (%s, statement_timestamp()) "
                     "ON CONFLICT (host) DO UPDATE SET last_end = EXCLUDED.last_end", (host,))
        conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (HOST_LOCKS, host))
