"""Failures visible, content clean: source states on the index, status.atom incidents, the yield check."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from helpers import DATA, run_tagfeed
from sources.model import uuid_urn
from tagfeed.config import load_config
from tagfeed.errors import GONE, HTTP_STATUS, LOW_YIELD, RETRY_AFTER, TIMEOUT, UNREADABLE, Failure
from tagfeed.building.incidents import error_class
from tagfeed.store.records import yield_warning
from tagfeed.building.pipeline import build
from tagfeed.store.sqlite import SourceState

T1 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
A = "{http://www.w3.org/2005/Atom}"
PUTIN = "000_0d1a8655cd7d2e58.txt"
SHRUNK = """\
putin

Putin refuses to congratulate Biden

Russian President Vladimir Putin still…

Putin: Russia to modernize nuclear deterrents

Russia’s modern weapons will force the West to take it seriously.
"""


def _ok(count: int, state: str = "ok") -> SourceState:
    return SourceState(name="p.txt", kind="tagpage", state=state, article_count=count)


@pytest.mark.parametrize(("old", "count", "warns"), [
    (None, 0, False),  # a new page has no history
    (_ok(10), 10, False),
    (_ok(10), 5, False),  # half is fine
    (_ok(10), 4, True),
    (_ok(10), 0, True),
    (_ok(10, "warning"), 3, True),  # stays a warning while low (the baseline is kept)
    (_ok(10, "error"), 0, False),  # after an error there is no trusted count
    (_ok(0), 0, False),
])
def test_yield_warning(old: SourceState | None, count: int, warns: bool) -> None:
    warning = yield_warning(old, "p.txt", count)
    assert (warning is not None) == warns
    if warning:
        assert warning.startswith("p.txt: ") and f"gave {count} article" in warning


@pytest.mark.parametrize(("state", "failure", "cls"), [
    ("error", Failure(kind=HTTP_STATUS, status=500, message="https://x/f: HTTP 500"), "http-500"),
    ("error", Failure(kind=TIMEOUT, message="https://x/f: timed out (ReadTimeout)"), "timeout"),
    ("backoff", Failure(kind=RETRY_AFTER, status=429, message="https://x/f: HTTP 429, Retry-After: 60"),
     "retry-after"),
    ("gone", Failure(kind=GONE, status=410, message="https://x/f: HTTP 410 Gone"), "gone"),
    ("warning", Failure(kind=LOW_YIELD, message="p.txt: gave 0 article(s)"), "low-yield"),
    # the class comes from the record, never from the words of the message
    ("error", Failure(kind=UNREADABLE, message="https://x/f: not a feed; says HTTP 500, timed out"), "error"),
])
def test_error_class(state: str, failure: Failure, cls: str) -> None:
    assert error_class(SourceState(name="x", kind="feed", state=state).failed(failure)) == cls


def test_a_state_stored_before_kinds_were_recorded_gets_the_kind_of_its_state() -> None:
    legacy = SourceState(name="x", kind="feed", state="backoff", last_error="https://x/f: HTTP 429")
    assert legacy.failure == Failure(kind=RETRY_AFTER, message="https://x/f: HTTP 429")
    assert error_class(legacy) == "retry-after"
    assert SourceState(name="x", kind="feed").failure is None


def _status(output: Path) -> list[dict[str, str]]:
    parsed = feedparser.parse((output / "status.atom").read_bytes())
    assert parsed.bozo == 0
    return [{"id": e.id, "title": e.title, "updated": e.updated, "content": e.content[0].value}
            for e in parsed.entries]


def _health(project: Path) -> dict:  # type: ignore[type-arg]
    from server import create_app

    response = create_app(load_config(project / "tagfeed.toml", environ={})).test_client().get("/healthz")
    return response.get_json()  # type: ignore[no-any-return]


def test_yield_drop_is_a_warning_everywhere_and_articles_stay(project: Path) -> None:
    config = load_config(project / "tagfeed.toml", environ={})
    output = config.site.output_dir
    build(config, now=T1)
    assert [e["title"] for e in _status(output)] == ["Watching every source"]
    putin_ids = {e.id for e in feedparser.parse((output / "tags" / "putin.atom").read_bytes()).entries}
    assert len(putin_ids) == 10
    (project / "seeds" / PUTIN).write_text(SHRUNK, encoding="utf-8")
    report = build(config, now=T1 + timedelta(days=1))
    assert report.errors == () and len(report.warnings) == 1 and PUTIN in report.warnings[0]
    assert "warnings: 1" in report.summary() and "gave 2 article(s), 10 before" in report.warnings[0]
    assert putin_ids <= {e.id for e in feedparser.parse((output / "tags" / "putin.atom").read_bytes()).entries}
    health = _health(project)
    source = next(s for s in health["sources"] if s["name"].endswith(PUTIN))
    assert health["status"] == "degraded" and source["state"] == "warning" and "yield" in source["last_error"]
    assert health["build"] is None or "warnings" in health["build"]
    incident = _status(output)[0]
    assert incident["title"] == f"seeds/{PUTIN}: low-yield" and "10 before" in incident["content"]
    assert incident["id"] == uuid_urn(f"incident:{project / 'seeds' / PUTIN}:low-yield:2024-03-02")
    index = (output / "index.html").read_text(encoding="utf-8")
    assert f"<code>seeds/{PUTIN}</code> <span class=\"meta\">warning</span>" in index
    assert str(project) not in index  # the server's disk layout is not published
    again = build(config, now=T1 + timedelta(days=2))  # still low: still warned, the same incident
    assert len(again.warnings) == 1 and [e["id"] for e in _status(output)][0] == incident["id"]
    (project / "seeds" / PUTIN).write_text((DATA / "tagpages" / "seed_kind_a_putin.txt").read_text(
        encoding="utf-8"), encoding="utf-8")
    build(config, now=T1 + timedelta(days=3))
    resolved = _status(output)[0]
    assert resolved["id"] == incident["id"] and resolved["title"].startswith("Resolved: ")
    assert resolved["updated"].startswith("2024-03-04") and "Resolved 2024-03-04" in resolved["content"]
    assert _health(project)["status"] == "ok"


def test_broken_source_opens_an_incident_and_content_feeds_stay_clean(project: Path) -> None:
    config = load_config(project / "tagfeed.toml", environ={})
    output = config.site.output_dir
    build(config, now=T1)
    content = {p: p.read_bytes() for p in output.rglob("*.atom") if p.name != "status.atom"}
    (project / "seeds" / PUTIN).write_bytes(b"\x00\x01\x02 binary now")
    report = build(config, now=T1 + timedelta(hours=1))
    assert report.sources_failed == 1
    incident = _status(output)[0]
    assert incident["title"] == f"seeds/{PUTIN}: unreadable" and str(project) not in incident["content"]
    assert {p: p.read_bytes() for p in content} == content  # no error item reaches a content feed
    index = (output / "index.html").read_text(encoding="utf-8")
    assert "broken" in index and "binary" in index
    status_bytes = (output / "status.atom").read_bytes()
    build(config, now=T1 + timedelta(hours=2))  # still broken: nothing new to say
    assert (output / "status.atom").read_bytes() == status_bytes
    (project / "seeds" / PUTIN).unlink()  # the operator removes the broken dump
    build(config, now=T1 + timedelta(hours=3))
    assert _status(output)[0]["title"] == f"Resolved: seeds/{PUTIN}: unreadable"
    assert PUTIN not in (output / "index.html").read_text(encoding="utf-8").split('id="sources"')[1]


def test_status_feed_validates(built_output: Path) -> None:
    rng = etree.RelaxNG(etree.parse(str(DATA / "schemas" / "atom.rng")))
    assert rng.validate(etree.parse(str(built_output / "status.atom"))), rng.error_log
    assert 'href="http://127.0.0.1:8080/status.atom"' in (built_output / "index.html").read_text(encoding="utf-8")


def test_cli_prints_the_warning(project: Path) -> None:
    assert run_tagfeed("build", cwd=project).returncode == 0
    (project / "seeds" / PUTIN).write_text(SHRUNK, encoding="utf-8")
    result = run_tagfeed("build", "--strict", cwd=project)
    assert result.returncode == 0  # a warning is not an error, even with --strict
    assert f"tagfeed: warning: {project / 'seeds' / PUTIN}: gave 2 article(s)" in result.stderr
    assert "warnings: 1" in result.stdout
