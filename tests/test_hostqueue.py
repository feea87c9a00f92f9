"""tagfeed/poll/hostqueue.py: which claimed feed a worker fetches next (pure, no clock of its own)."""

from __future__ import annotations

from tagfeed.poll.hostqueue import HostQueue


def test_a_busy_host_holds_up_only_its_own_feeds() -> None:
    q = HostQueue()
    for name, host in (("a1", "a"), ("a2", "a"), ("b1", "b"), ("c1", "c")):
        q.add(name, host)
    assert q.take(0) == ("a1", "a")
    assert q.take(0) == ("b1", "b")  # a2 waits for a1's host, b1 does not
    assert q.take(0) == ("c1", "c")
    assert q.take(0) is None and q.wait(0) is None  # only a2 left, its host busy
    q.done("a", now=1.0, after=1.0)  # a's gap: ready at 2.0
    assert q.take(1.5) is None and q.wait(1.5) == 0.5
    assert q.take(2.0) == ("a2", "a") and len(q) == 0


def test_a_feed_handed_back_goes_first_once_its_host_is_ready() -> None:
    q = HostQueue()
    q.add("a1", "a")
    q.add("b1", "b")
    assert q.take(0) == ("a1", "a")
    q.done("a", now=0.0, retry="a1", after=0.7)  # another process had the host
    assert q.full() == {"a", "b"}
    assert q.take(0.1) == ("b1", "b")
    q.add("a2", "a")
    assert q.take(0.7) == ("a1", "a")  # before a2, claimed later
    assert q.names() == ["a2"]


def test_with_no_gap_several_fetches_of_one_host_may_be_under_way() -> None:
    q = HostQueue(per_host=2)
    for n in range(3):
        q.add(f"a{n}", "a")
    assert q.take(0) == ("a0", "a") and q.take(0) == ("a1", "a")
    assert q.take(0) is None
    assert q.full() == set()  # one queued, under the share of 2
    q.done("a", now=0.0)
    assert q.take(0) == ("a2", "a")
