"""tagfeed/poll/hostturns.py: one request at a time per upstream host, gap apart, across processes.

Real PostgreSQL (tests/pgserver.py). Each "process" is a thread with its own
connection and its own local HostGate, so only the database can keep them apart.
"""

from __future__ import annotations

import threading
import time

from sources.hostgate import HostGate
from tagfeed.poll.hostturns import SharedHostGate
from tagfeed.store.postgres import PgStore

GAP = 0.3
HOLD = 0.1  # how long each "request" takes


def test_processes_take_turns_per_host_with_the_gap_between_requests(pg_url: str) -> None:
    spans: list[tuple[float, float, str]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def process(name: str) -> None:
        try:
            with PgStore(pg_url) as store:
                gate = SharedHostGate(store.conn, local=HostGate())
                for _ in range(3):
                    with gate.turn("https://Example.org/feed.xml", GAP):
                        start = time.monotonic()
                        time.sleep(HOLD)
                        with lock:
                            spans.append((start, time.monotonic(), name))
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=process, args=(f"p{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    spans.sort()
    assert len(spans) == 9 and {name for *_, name in spans} == {"p0", "p1", "p2"}
    for (_, end, _), (start, _, _) in zip(spans, spans[1:]):
        assert start - end >= GAP - 0.05, spans  # never overlapping, and the gap after each


def test_other_hosts_do_not_wait(pg_url: str) -> None:
    with PgStore(pg_url) as a, PgStore(pg_url) as b:
        first, second = SharedHostGate(a.conn, local=HostGate()), SharedHostGate(b.conn, local=HostGate())
        with first.turn("https://one.example/feed", 5):
            t = time.monotonic()
            with second.turn("https://two.example/feed", 5):
                pass
            assert time.monotonic() - t < 1
        t = time.monotonic()
        with second.turn("https://one.example:8443/other", 0.5):  # the same host, another port
            waited = time.monotonic() - t
        assert waited >= 0.4


def test_a_reservation_waits_for_nobody_and_is_the_next_request_turn(pg_url: str) -> None:
    """``reserve`` never blocks: a host another session holds, or whose gap has not passed, gives the
    seconds to come back after; a held reservation is used by the next turn there (no wait, the end
    recorded, the lock given back), and ``unreserve`` gives back one no request used."""
    with PgStore(pg_url) as a, PgStore(pg_url) as b:
        first, second = SharedHostGate(a.conn, local=HostGate()), SharedHostGate(b.conn, local=HostGate())
        with first.turn("https://one.example/feed", GAP):
            t = time.monotonic()
            assert second.reserve("https://one.example/other", GAP) >= GAP  # held by the other session
            assert time.monotonic() - t < 0.2
        left = second.reserve("https://one.example/other", GAP)  # free, but within its gap
        assert 0 < left <= GAP
        time.sleep(left + 0.02)
        assert second.reserve("https://one.example/other", GAP) == 0.0
        assert first.reserve("https://ONE.example:8443/x", GAP) > 0  # the reservation is a turn too
        t = time.monotonic()
        with second.turn("https://one.example/other", GAP):
            assert time.monotonic() - t < 0.2  # the reservation's turn: no second wait, no deadlock
        assert first.reserve("https://one.example/x", GAP) > 0  # the gap after that request
        assert second.reserve("https://two.example/", GAP) == 0.0
        assert first.reserve("https://two.example/", GAP) > 0
        second.unreserve()
        assert first.reserve("https://two.example/", GAP) == 0.0
        first.unreserve()
        locks = a.conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                               "(SELECT oid FROM pg_database WHERE datname = current_database())").fetchone()[0]
        assert locks == 0
