"""Failures made visible by a build: the yield check, and the incidents behind ``status.atom``.

An incident is one source failing in one way: its id is stable, derived from
the source, the error class and the UTC day it began, so a reader never sees
it twice. It is resolved (and its entry updated) when the source is ok again.
``yield_warning``, ``error_class`` and ``next_incidents`` are pure; the rest
reads and writes the store.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from feeds.html import human_date, render_status_page
from feeds.status import Incident, SourceDetail, SourceStatus, render_status
from feeds.urls import Urls
from sources.model import uuid_urn
from tagfeed.errors import (GONE, HTTP_STATUS, INTERNAL, LOW_YIELD, RETRY_AFTER, TIMEOUT, UNREACHABLE, UNREADABLE,
                            Failure)
from tagfeed.store.records import WARNING
from tagfeed.store.sqlite import SourceState, Store

if TYPE_CHECKING:
    pass

def record_low_yield(store: Store, name: str, now: datetime, warning: str) -> None:
    """The source worked, so it is not failing, but it keeps its old count as the baseline."""
    old = store.get_source(name) or SourceState(name=name, kind="tagpage")
    store.put_source(old.failed(Failure(kind=LOW_YIELD, message=warning), state=WARNING, last_ok=now,
                                last_attempt=now, error_count=0))


def error_class(state: SourceState) -> str:
    """The incident class of a failing source, from its recorded failure (part of the incident's id,
    so these names stay as they were when they were derived from messages)."""
    failure = state.failure
    if failure is None:
        return "error"
    if failure.kind == HTTP_STATUS and failure.status is not None:
        return f"http-{failure.status}"
    if failure.kind in (LOW_YIELD, GONE, RETRY_AFTER, TIMEOUT):
        return failure.kind
    return "unreadable" if state.kind == "tagpage" else "error"


def next_incidents(open_: dict[str, Incident], state: SourceState,
                   now: datetime) -> tuple[Incident | None, Incident | None]:
    """(incident to resolve, incident to open or reopen) for one source after a build."""
    current = open_.get(state.name)
    if state.state == "ok":
        return (dataclasses.replace(current, resolved=now) if current else None), None
    cls = error_class(state)
    if current is not None and current.error_class == cls:
        return None, None
    resolved = dataclasses.replace(current, resolved=now) if current else None
    incident_id = uuid_urn(f"incident:{state.name}:{cls}:{now.astimezone(timezone.utc).date().isoformat()}")
    opened = Incident(id=incident_id, source=state.name, error_class=cls,
                      message=state.last_error or cls, opened=now)
    return resolved, opened


def _load(store: Store) -> list[Incident]:
    rows = store.incident_rows()
    return [Incident(id=r[0], source=r[1], error_class=r[2], message=r[3], opened=datetime.fromisoformat(r[4]),
                     resolved=datetime.fromisoformat(r[5]) if r[5] else None) for r in rows]


def update_incidents(store: Store, now: datetime, configured: set[str] | None = None) -> list[Incident]:
    """Open, resolve or reopen incidents from every source's state; returns them all.

    A source no longer ``configured`` (a dump removed) counts as ok: its incident is resolved.
    """
    incidents = {i.id: i for i in _load(store)}
    open_ = {i.source: i for i in incidents.values() if i.resolved is None}
    changed: list[Incident] = []
    for state in store.sources():
        if configured is not None and state.name not in configured:
            state = dataclasses.replace(state, state="ok")
        # one second apart, like new articles: no two entries share an updated (validators warn)
        resolved, opened = next_incidents(open_, state, now - timedelta(seconds=len(changed)))
        if resolved is not None:
            changed.append(resolved)
        if opened is not None:
            earlier = incidents.get(opened.id)  # the same failure again on the same day: reopen it
            changed.append(dataclasses.replace(earlier, resolved=None) if earlier else opened)
    if changed:
        store.put_incidents([(i.id, i.source, i.error_class, i.message, i.opened.isoformat(),
                              i.resolved.isoformat() if i.resolved else None) for i in changed])
        incidents.update({i.id: i for i in changed})
    return list(incidents.values())


def status_since(store: Store, now: datetime) -> datetime:
    """When the status feed began: the first build that made it, kept in the store."""
    since = store.get_meta("status_since")
    if since is None:
        store.set_meta("status_since", now.isoformat())
        return now
    return datetime.fromisoformat(since)


def display_name(name: str, root: Path | None) -> str:
    """A tag-page path relative to the config's folder, so the index does not show the server's disk."""
    if root is None or not os.path.isabs(name):
        return name
    rel = os.path.relpath(name, root)
    return name if rel.startswith("..") else rel


def _display_text(text: str, root: Path | None) -> str:
    return text.replace(f"{root}{os.sep}", "") if root is not None else text


def public(incidents: Sequence[Incident], root: Path | None) -> list[Incident]:
    return [dataclasses.replace(i, source=display_name(i.source, root), message=_display_text(i.message, root))
            for i in incidents]


def source_lines(states: Sequence[SourceState], root: Path | None) -> list[SourceStatus]:
    """What the index shows: state always, the error and next try only while not ok (stable bytes)."""
    lines = []
    for s in states:
        failing = s.state != "ok"
        lines.append(SourceStatus(
            name=display_name(s.name, root), state=s.state,
            last_error=_display_text(s.last_error, root) if failing and s.last_error else None,
            next_try=s.next_fetch if failing and s.state in ("error", "backoff") else None))
    return sorted(lines, key=lambda line: line.name)


def todo(state: SourceState) -> str:
    """What an operator should do about a source, in words, from its recorded failure ("" when ok)."""
    failure = state.failure
    if state.state == "ok" or failure is None:
        return ""
    if failure.kind == GONE:
        return "the feed is gone for good (HTTP 410): remove it from tagfeed.toml; its articles stay published."
    if failure.kind == RETRY_AFTER:
        until = f" until {human_date(failure.retry_after)}" if failure.retry_after else ""
        return (f"nothing: the server asked tagfeed to wait (HTTP {failure.status or 'Retry-After'}), "
                f"so it is backing off{until}; it polls again by itself.")
    if failure.kind == LOW_YIELD:
        return "check that the dump is complete: it gave far fewer articles than before."
    if failure.kind == HTTP_STATUS:
        return (f"the server answered HTTP {failure.status}: check the URL in a browser; tagfeed retries with "
                "growing waits meanwhile.")
    if failure.kind in (TIMEOUT, UNREACHABLE):
        return "no answer from the server: check the URL, its DNS and the network; tagfeed retries meanwhile."
    if failure.kind == INTERNAL:
        return "a bug in tagfeed met this source: report it with the traceback from the log."
    if failure.kind == UNREADABLE or state.kind == "tagpage":
        return "fix the file or the feed so it can be read; the reason is the last error above."
    return "see the last error above; tagfeed retries meanwhile."


def source_details(states: Sequence[SourceState], root: Path | None) -> list[SourceDetail]:
    """What status.html shows, by name: times only while failing, like the index (stable bytes)."""
    details = []
    for s in states:
        failing = s.state != "ok"
        details.append(SourceDetail(
            name=display_name(s.name, root), kind=s.kind, state=s.state, articles=s.article_count, todo=todo(s),
            last_error=_display_text(s.last_error, root) if failing and s.last_error else None,
            last_ok=s.last_ok if failing else None,
            next_try=s.next_fetch if failing and s.state in ("error", "backoff") else None))
    return sorted(details, key=lambda d: d.name)


def site_health(store: Store, site_title: str, urls: Urls, now: datetime, root: Path | None,
                configured: set[str] | None = None, *, version: str,
                hub: str | None = None) -> tuple[list[SourceStatus], list[tuple[str, bytes]]]:
    """After ingest: the index's lines for the ``configured`` sources, and ``status.atom`` and
    ``status.html``, incidents updated."""
    incidents = public(update_incidents(store, now, configured), root)
    feed = render_status(site_title, urls, incidents, status_since(store, now), version=version, hub=hub)
    states = [s for s in store.sources() if configured is None or s.name in configured]
    page = render_status_page(site_title, urls, source_details(states, root))
    return source_lines(states, root), [(urls.status_path(), feed), (urls.status_page_path(), page)]
