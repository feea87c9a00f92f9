"""tagfeed/worker.py, leases.py and locks.py: several `tagfeed work` processes on one PostgreSQL.

Everything is real: PostgreSQL from Debian's packages (tests/pgserver.py),
worker subprocesses, and upstream feeds from a threaded HTTP server on
127.0.0.1 that counts and times every request per feed. Each answer carries
the feed's five newest items, and every request adds one, so each poll brings
one new article and a lost poll shows as a missing one unless a later poll
picks it up. The tests of several hosts use ``benchmarks.upstreams`` (one
server per loopback address, 127.0.0.1-8, as ``host_of`` ignores the port)
and the S3 API server of tests/test_s3.py.
"""

from __future__ import annotations

import itertools
import json
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from helpers import (
    clean_env,
    other_loopback_name,
    run_tagfeed,
    stop_process,
    wait_until,
)
from pytest_httpserver import HTTPServer

from benchmarks.upstreams import Upstreams, feed_rss, gaps, most_at_once, upstreams
from tagfeed.building.pipeline import build
from tagfeed.config import load_config
from tagfeed.store.leases import claim, db_now, held, register, release, renew
from tagfeed.store.locks import BUILD_LOCK, advisory_lock
from tagfeed.store.postgres import PgStore
from tagfeed.store.sqlite import SourceState

FEEDS = 200
EVERY = 3.0  # seconds, each feed's `every`
LEASE = 6  # seconds, the workers' --lease
SLACK = 3.0  # seconds a due feed may wait for a worker on a loaded 2-core machine (builds included)


@dataclass
class Upstream:
    """One host of ``benchmarks.upstreams`` as these tests ask it: by feed number, each request's
    start (wall clock)."""

    state: Upstreams

    def url(self, n: int) -> str:
        return self.state.url(0, n)

    def link(self, n: int, item: int) -> str:
        return self.state.link(0, n, item)

    def served(self) -> dict[int, list[float]]:
        return {n: [start for start, _ in times] for (_, n), times in self.state.served().items() if times}


def _freeze_holding_leases(conn: Any, proc: subprocess.Popen[bytes], owner: str) -> None:
    """SIGSTOP ``proc`` at a moment it holds leases, so they cannot be released before it is killed."""
    def frozen_holding_leases() -> bool:
        if not held(conn, owner):  # only stopped when it looks like the moment: its polls stay on time
            return False
        proc.send_signal(signal.SIGSTOP)
        if held(conn, owner):
            return True
        proc.send_signal(signal.SIGCONT)
        return False

    # a worker holds leases only while its claimed feeds wait for their host's turn, and another
    # worker may hold most of them: on 2 loaded cores that moment can take more than 10 s to catch
    wait_until(frozen_holding_leases, 30, f"{owner} to hold leases")


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with upstreams(1) as state:
        yield Upstream(state)


def _write_config(root: Path, pg_url: str, upstream: Upstream, feeds: int, every: str = f"{EVERY:.0f}s") -> Path:
    sources = "".join(f'\n[[sources]]\ntype = "feed"\nurl = "{upstream.url(n)}"\ntags = ["Topic {n % 8}"]\n'
                      f'every = "{every}"\n' for n in range(feeds))
    path = root / "tagfeed.toml"
    path.write_text(f'[site]\ntitle = "workers"\noutput_dir = "output"\nstate_dir = "state"\nstore = "{pg_url}"\n'
                    f'host_gap = 0\nmax_items = 20\n\n[schedule]\nbuild_every = "10s"\n{sources}', encoding="utf-8")
    return path


class Workers:
    """`tagfeed work` subprocesses; whatever is still running at teardown is stopped by its own pid."""

    def __init__(self, root: Path, config: Path,
                 args: tuple[str, ...] = ("--lease", str(LEASE), "--tick", "0.2", "--batch", "5")) -> None:
        self.root, self.config, self.args = root, config, args
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        with open(self.root / f"{name}.log", "ab") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "tagfeed", "work", "--config", str(self.config), "--name", name,
                 *self.args],
                cwd=self.root, env=clean_env(), stdout=log, stderr=log)

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def stop(self, name: str, timeout: float = 30) -> int | None:
        return stop_process(self.procs[name], timeout)

    def stop_all(self) -> None:
        for name in self.procs:
            self.stop(name, timeout=10)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[Workers]]:
    started: list[Workers] = []
    yield started
    for group in started:
        group.stop_all()


def _worst(served: dict[int, list[float]]) -> list[tuple[int, float, float]]:
    """The longest gaps (feed, gap, when), for a failure message."""
    t0 = min(t for times in served.values() for t in times)
    gaps = [(n, round(b - a, 2), round(a - t0, 2)) for n, times in served.items() for a, b in itertools.pairwise(times)]
    return sorted(gaps, key=lambda g: -g[1])[:12]


def test_three_workers_fetch_each_feed_once_per_period_and_survive_a_kill(
        tmp_path: Path, pg_url: str, upstream: Upstream, workers: list[Workers]) -> None:
    config = _write_config(tmp_path, pg_url, upstream, FEEDS)
    group = Workers(tmp_path, config)
    workers.append(group)
    started = time.time()
    for name in ("w0", "w1", "w2"):
        group.start(name)
    wait_until(lambda: len(upstream.served()) == FEEDS, 30, f"all {FEEDS} feeds fetched once")
    time.sleep(EVERY)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        _freeze_holding_leases(conn, group.procs["w0"], "w0")
        group.procs["w0"].send_signal(signal.SIGKILL)
        killed_at = time.time()
        orphans = held(conn, "w0")
    group.procs["w0"].wait(10)
    time.sleep(LEASE + 2 * EVERY)
    assert group.stop("w1") == 0, group.log("w1")
    assert group.stop("w2") == 0, group.log("w2")
    stopped = time.time()
    served = upstream.served()

    orphan_ids = {int(re.search(r"/feed/(\d+)\.xml", url).group(1)) for url in orphans}  # type: ignore[union-attr]
    assert orphan_ids
    for n, times in served.items():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        # two workers fetching in one period arrive within moments of each other; a fetch that is
        # merely late (a loaded machine) is followed by an on-time one, a gap short by that lateness
        assert min(gaps) >= EVERY / 2, f"feed {n} fetched twice in one period: {gaps}"
        allowed = EVERY + SLACK + (LEASE if n in orphan_ids else 0)
        assert max(gaps) <= allowed, f"feed {n} waited too long: {gaps} (worst: {_worst(served)})"
        assert stopped - times[-1] <= EVERY + SLACK + 1, f"feed {n} no longer polled"
        assert len(times) >= (stopped - started) / (EVERY + SLACK) - 2
    for n in orphan_ids:  # taken over after the lease expired, not before
        assert any(t > killed_at for t in served[n]), n

    expected = {upstream.link(n, j) for n, times in served.items() for j in range(1, len(times) + 1)}
    with PgStore(pg_url) as store:
        links = [a.link for a in store.articles()]
        assert len(links) == len(set(links)), "an article stored twice"
        assert set(links) == expected, f"lost: {sorted(expected - set(links))[:5]}"
        assert held(store.conn, "w1") == held(store.conn, "w2") == []
        assert store.get_meta("last_build")
    assert (tmp_path / "output" / "all.json").is_file()
    assert "built:" in group.log("w1") + group.log("w2") + group.log("w0")


def test_leases_are_disjoint_expire_and_cannot_be_renewed_once_taken_over(pg_url: str) -> None:
    names = [f"https://example.org/{n}.xml" for n in range(10)]
    with PgStore(pg_url) as store:
        conn = store.conn
        register(conn, names)
        register(conn, names)  # idempotent
        first = claim(conn, names, "a", lease=60, limit=4)
        second = claim(conn, names, "b", lease=0.5, limit=100)
        assert len(first) == 4 and len(second) == 6 and not set(first) & set(second)
        assert claim(conn, names, "c", lease=60, limit=100) == []
        time.sleep(0.6)
        taken = claim(conn, names, "c", lease=60, limit=100)  # b's leases ran out
        assert taken == second
        assert renew(conn, second[0], "b", lease=60) is None
        assert renew(conn, first[0], "a", lease=60) is not None
        release(conn, first, "a")
        release(conn, taken, "b")  # not b's any more: stays c's
        assert held(conn, "c") == taken and held(conn, "a") == []
        later = db_now(conn) + timedelta(hours=1)
        store.put_source(SourceState(name=first[0], kind="feed", next_fetch=later))
        store.put_source(SourceState(name=first[1], kind="feed", state="gone", next_fetch=None))
        assert claim(conn, names, "d", lease=60, limit=100) == first[2:]  # not due, gone


def test_a_build_waits_for_the_postgresql_build_lock(project: Path, pg_url: str) -> None:
    path = project / "tagfeed.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('output_dir = "output"',
                                                             f'output_dir = "output"\nstore = "{pg_url}"'),
                    encoding="utf-8")
    config = load_config(path, environ={})
    done = threading.Event()
    with PgStore(pg_url) as holder, advisory_lock(holder.conn, BUILD_LOCK):
        def build_then_say() -> None:
            build(config)
            done.set()

        thread = threading.Thread(target=build_then_say)
        thread.start()
        assert not done.wait(2), "the build ran while another session held the build lock"
        with PgStore(pg_url) as other, advisory_lock(other.conn, BUILD_LOCK, wait=False) as got:
            assert not got
    thread.join(60)
    assert done.is_set() and (project / "output" / "index.html").is_file()
    assert not (project / ".tagfeed" / "build.lock").exists()  # the file lock is SQLite's


def test_work_needs_a_postgresql_store(project: Path) -> None:
    result = run_tagfeed("work", "--config", str(project / "tagfeed.toml"), cwd=project, timeout=30)
    assert result.returncode == 2
    assert "site.store" in result.stderr and "postgresql://" in result.stderr


def test_a_build_on_a_shared_store_polls_only_feeds_no_worker_holds(tmp_path: Path, pg_url: str,
                                                                     upstream: Upstream) -> None:
    """`tagfeed build` / `serve` against the workers' store poll as a worker would: a feed a
    worker has leased is left to it, the others are polled once, stored with their state and
    released; a second build in the same period polls nothing."""
    config = load_config(_write_config(tmp_path, pg_url, upstream, 3, every="1h"), environ={})
    build(config, poll_feeds=False)  # schema and lease rows in place, nothing polled
    with PgStore(pg_url) as store:
        register(store.conn, [upstream.url(n) for n in range(3)])
        assert claim(store.conn, [upstream.url(0)], "a-worker", lease=60, limit=1) == [upstream.url(0)]
        report = build(config)
        assert set(upstream.served()) == {1, 2} and all(len(t) == 1 for t in upstream.served().values())
        assert report.errors == () and report.articles_total == 2  # one item each on a first request
        owned = store.conn.execute("SELECT name FROM leases WHERE owner IS NOT NULL").fetchall()
        assert owned == [(upstream.url(0),)]  # the build released what it took; the worker's stays
        for n in (1, 2):
            assert store.get_source(upstream.url(n)).next_fetch > db_now(store.conn)  # type: ignore[union-attr,operator]
        build(config)
        assert all(len(t) == 1 for t in upstream.served().values())  # not due again within the hour


def test_a_worker_reconnects_after_losing_the_database(tmp_path: Path, pg_url: str, upstream: Upstream,
                                                       workers: list[Workers]) -> None:
    """Every session of the worker is terminated server-side (as a PostgreSQL restart or a
    failover would): the worker logs it, reconnects and goes on polling; it does not exit."""
    config = _write_config(tmp_path, pg_url, upstream, 3, every="1s")
    group = Workers(tmp_path, config)
    workers.append(group)
    group.start("w0")
    wait_until(lambda: len(upstream.served()) == 3, 30, "the first polls")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        wait_until(lambda: conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                       "AND pid <> pg_backend_pid()").fetchone()[0] > 0, 10, "the worker's session")
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    cut = time.time()
    wait_until(lambda: "reconnecting" in group.log("w0"), 20, "the worker to notice")
    wait_until(lambda: all(any(t > cut + 1 for t in times) for times in upstream.served().values()), 30,
              "polling to go on after the reconnect")
    assert group.procs["w0"].poll() is None, group.log("w0")
    assert group.stop("w0") == 0, group.log("w0")


HOSTS = 8
HOST_GAP = 1.0


def _hosts_config(root: Path, pg_url: str, up: Upstreams, feeds: int, every: str, output: str = 'output_dir = "output"',
                  build_every: str = "1h") -> Path:
    sources = "".join(f'\n[[sources]]\ntype = "feed"\nurl = "{url}"\ntags = ["Feed {n}"]\nevery = "{every}"\n'
                      for _, n, url in up.urls(feeds))
    path = root / "tagfeed.toml"
    path.write_text(f'[site]\ntitle = "workers"\n{output}\nstate_dir = "state"\nstore = "{pg_url}"\n'
                    f'host_gap = {HOST_GAP:.0f}\nmax_items = 1000\n\n[schedule]\nbuild_every = "{build_every}"\n{sources}',
                    encoding="utf-8")
    return path


def _assert_polite(up: Upstreams) -> None:
    """Never two requests to one host closer than the gap (server side: end of one to start of next)."""
    for host, times in up.by_host().items():
        assert most_at_once(times) == 1, f"host {host}: two requests at once"
        assert min(gaps(times), default=HOST_GAP) >= HOST_GAP - 0.01, f"host {host}: {gaps(times)}"


def test_one_worker_fetches_several_hosts_at_once_and_each_host_gap_apart(
        tmp_path: Path, pg_url: str, workers: list[Workers]) -> None:
    """16 feeds on 8 hosts, each answer taking 0.3 s: one worker with 4 fetchers has requests to
    several hosts under way at once (a serial worker never does, and needs 16 x 0.3 s and more), never two to
    one host, and the second feed of a host waits out the gap after the first."""
    with upstreams(HOSTS, delay=0.3) as up:
        group = Workers(tmp_path, _hosts_config(tmp_path, pg_url, up, 2 * HOSTS, "1h"),
                        ("--lease", "10", "--tick", "0.2", "--batch", "16", "--fetchers", "4"))
        workers.append(group)
        group.start("w0")
        wait_until(lambda: sum(map(len, up.served().values())) == 2 * HOSTS, 30, "all feeds fetched")
        assert group.stop("w0") == 0, group.log("w0")
        every = sorted(t for times in up.served().values() for t in times)
        assert most_at_once(every) >= 3, every  # several hosts in flight
        assert most_at_once(every) <= 4  # no more than --fetchers
        assert every[-1][1] - every[0][0] < 3.5, "fetches of other hosts waited behind one host's turn"
        _assert_polite(up)
        assert all(len(times) == 1 for times in up.served().values())


PERIOD = 6.0  # seconds, every feed's `every`
SHARE_LEASE = 4  # seconds, the workers' --lease
ON_TIME = 2.0  # seconds a fetch may come after its feed fell due


def test_two_workers_poll_forty_feeds_on_eight_hosts_on_time_and_publish_all_to_the_bucket(
        tmp_path: Path, pg_url: str, workers: list[Workers], s3_server: str, s3: Any) -> None:
    """The issue's check: 40 feeds on 8 hosts due every 6 s, host_gap 1 s (5 of every 6 seconds of
    each host's turns are needed), two workers on PostgreSQL publishing to an S3 API server, one
    killed mid-run: every feed fetched within ON_TIME of falling due (plus the lease for the killed
    worker's feeds), never twice within half its period, each host's requests a gap apart, and
    every article stored before the last build in the bucket's all.json."""
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    output = f'output_dir = "s3://{bucket}/site/"\ns3_endpoint_url = "{s3_server}"'
    with upstreams(HOSTS) as up:
        config = _hosts_config(tmp_path, pg_url, up, 40, f"{PERIOD:.0f}s", output, build_every="5s")
        group = Workers(tmp_path, config, ("--lease", str(SHARE_LEASE), "--tick", "0.2", "--batch", "10"))
        workers.append(group)
        for name in ("w0", "w1"):
            group.start(name)
        wait_until(lambda: len(up.served()) == 40, 30, "all 40 feeds fetched once")
        time.sleep(2 * PERIOD)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            _freeze_holding_leases(conn, group.procs["w0"], "w0")
            group.procs["w0"].send_signal(signal.SIGKILL)
            orphans = set(held(conn, "w0"))
        group.procs["w0"].wait(10)
        time.sleep(SHARE_LEASE + 3 * PERIOD)
        assert group.stop("w1") == 0, group.log("w1")
        stopped = time.time()
        served = up.served()
        _assert_polite(up)

    for (host, n), times in served.items():
        starts = [start for start, _ in times]
        spacing = [b - a for a, b in itertools.pairwise(starts)]
        # the first round finds all 40 due at once: a host's fifth feed waits 4 gaps for its turn
        late = PERIOD + ON_TIME + (SHARE_LEASE if up.url(host, n) in orphans else 0)
        assert min(spacing) >= PERIOD / 2, f"feed {n} fetched twice in one period: {spacing}"
        assert max(spacing[1:]) <= late, f"feed {n} fetched late: {spacing}"
        assert stopped - starts[-1] <= PERIOD + ON_TIME + 1, f"feed {n} no longer polled"
    with PgStore(pg_url) as store:
        links = {a.link for a in store.articles()}
        last_build = datetime.fromisoformat(store.get_meta("last_build") or "").timestamp()
    assert links == {up.link(host, n, j) for (host, n), times in served.items() for j in range(1, len(times) + 1)}
    published = json.loads(s3.get_object(Bucket=bucket, Key="site/all.json")["Body"].read())
    in_bucket = {item["url"] for item in published["items"]}
    due = {up.link(host, n, j) for (host, n), times in served.items()
           for j, (_, end) in enumerate(times, 1) if end < last_build - 1}
    assert len(due) > 200 and due <= in_bucket, f"not published: {sorted(due - in_bucket)[:5]}"
    assert "built:" in group.log("w1")


def test_feeds_polled_under_leases_pass_their_keep_and_block_rules(tmp_path: Path, pg_url: str,
                                                                   upstream: Upstream) -> None:
    """A feed polled as workers poll (here by a build on the shared store) is judged by its rules
    like any source: a blocked article is not published, and the verdict is stored for explain."""
    path = _write_config(tmp_path, pg_url, upstream, 2, every="1h")
    text = path.read_text(encoding="utf-8").replace(
        f'url = "{upstream.url(1)}"\n', f'url = "{upstream.url(1)}"\nblock = \'"feed 1"\'\n')
    path.write_text(text, encoding="utf-8")
    report = build(load_config(path, environ={}))
    assert report.errors == () and report.articles_total == 1
    assert (tmp_path / "output" / "tags" / "topic-0.atom").is_file()
    assert not (tmp_path / "output" / "tags" / "topic-1.atom").exists()
    with PgStore(pg_url) as store:
        (verdict,) = store.verdicts_for("Feed 1 item 1")
    assert verdict[1] == upstream.url(1) and verdict[4] == 1 and verdict[5] == "sources[1].block"


@pytest.mark.parametrize("allow", [True, False])
def test_feeds_polled_under_leases_follow_site_allow_private_hosts(tmp_path: Path, pg_url: str,
                                                                  httpserver: HTTPServer, allow: bool) -> None:
    """A redirect to another host at a private address is followed exactly when the site allows
    private hosts, on the workers' path as on a build's own."""
    target = other_loopback_name(httpserver.url_for("/feed.xml"))
    httpserver.expect_request("/old.xml").respond_with_data("", status=302, headers={"Location": target})
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed_rss(0, 1, target, lambda j: f"{target}#{j}"), content_type="application/rss+xml")
    path = tmp_path / "tagfeed.toml"
    path.write_text(f'[site]\noutput_dir = "output"\nstate_dir = "state"\nstore = "{pg_url}"\nhost_gap = 0\n'
                    f'allow_private_hosts = {str(allow).lower()}\n\n[[sources]]\ntype = "feed"\n'
                    f'url = "{httpserver.url_for("/old.xml")}"\ntags = ["Topic"]\n', encoding="utf-8")
    report = build(load_config(path, environ={}))
    if allow:
        assert report.errors == () and report.articles_total == 1
    else:
        assert report.articles_total == 0 and "a loopback address" in report.errors[0]
