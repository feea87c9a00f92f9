"""Row leases on feed sources in PostgreSQL: which worker polls which feed right now.

A worker ``claim``s due feeds with ``SELECT ... FOR UPDATE SKIP LOCKED``
(workers claiming at once never wait on each other nor get the same row),
stamping ``owner`` and ``expires``. It ``renew``s a lease just before each
poll, which also fails when the lease ran out and another worker took the
feed, and ``release``s it once the poll's outcome is stored; by then the
source's ``next_fetch`` lies a period ahead, so nobody polls it again in this
period. A worker that dies holds its leases until they expire, then the
feeds are claimed by others. Every time is the database's
(``statement_timestamp()``): workers on several machines share one clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

_CLAIM = """
WITH due AS (
    SELECT l.name FROM leases l JOIN unnest(%(names)s::text[]) WITH ORDINALITY AS n(name, pos) ON n.name = l.name
    LEFT JOIN sources s ON s.name = l.name
    WHERE (l.expires IS NULL OR l.expires <= statement_timestamp())
      AND (s.name IS NULL OR (s.state <> 'gone'
           AND (%(any_time)s OR s.next_fetch IS NULL OR s.next_fetch <= statement_timestamp())))
    ORDER BY s.next_fetch NULLS FIRST, n.pos
    LIMIT %(limit)s
    FOR UPDATE OF l SKIP LOCKED
)
UPDATE leases SET owner = %(owner)s, expires = statement_timestamp() + %(lease)s * interval '1 second'
FROM due WHERE leases.name = due.name
RETURNING leases.name
"""


def db_now(conn: Any) -> datetime:
    """The database's clock, the one every worker goes by."""
    return conn.execute("SELECT statement_timestamp()").fetchone()[0]  # type: ignore[no-any-return]


def register(conn: Any, names: Sequence[str]) -> None:
    """Give each configured feed a lease row (unowned); existing rows are kept."""
    conn.execute("INSERT INTO leases (name) SELECT unnest(%s::text[]) ON CONFLICT (name) DO NOTHING",
                 (list(names),))


def claim(conn: Any, names: Sequence[str], owner: str, *, lease: float, limit: int,
          fetch_all: bool = False) -> list[str]:
    """Lease up to ``limit`` of ``names`` that are due and not leased, most overdue first, then in
    the order of ``names`` (a worker interleaves hosts there, so equally due feeds spread over them);
    ``fetch_all`` also those not due yet (backoff and Retry-After are the poller's to honour)."""
    rows = conn.execute(_CLAIM, {"names": list(names), "owner": owner, "lease": lease,
                                 "limit": limit, "any_time": fetch_all}).fetchall()
    return sorted(name for (name,) in rows)


def renew(conn: Any, name: str, owner: str, *, lease: float) -> datetime | None:
    """Extend ``owner``'s lease on ``name`` by ``lease`` seconds from now; returns now,
    or None when the lease is no longer ``owner``'s."""
    row = conn.execute("UPDATE leases SET expires = statement_timestamp() + %s * interval '1 second' "
                       "WHERE name = %s AND owner = %s RETURNING statement_timestamp()",
                       (lease, name, owner)).fetchone()
    return row[0] if row else None


def release(conn: Any, names: Sequence[str], owner: str) -> None:
    """Give up ``owner``'s leases on ``names`` (a lease taken over by another worker stays theirs)."""
    conn.execute("UPDATE leases SET owner = NULL, expires = NULL WHERE name = ANY(%s) AND owner = %s",
                 (list(names), owner))


def held(conn: Any, owner: str) -> list[str]:
    """The feeds ``owner`` holds an unexpired lease on."""
    rows = conn.execute("SELECT name FROM leases WHERE owner = %s AND expires > statement_timestamp() "
                        "ORDER BY name", (owner,)).fetchall()
    return [name for (name,) in rows]
