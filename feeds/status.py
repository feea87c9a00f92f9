"""The site's own health, for people and pollers: source lines for the index, and ``status.atom``.

``status.atom`` has one entry per incident (a source failing, or a tag page
whose yield dropped), updated when the source recovers; content feeds never
carry these. Built by hand with lxml (like jsonfeed.py), every date from the
incidents, so an unchanged status gives unchanged bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from lxml import etree

from feeds.channel import GENERATOR, utc, xml_text
from feeds.urls import MEDIA_TYPES, Urls
from sources.model import uuid_urn

ATOM_NS: Final = "http://www.w3.org/2005/Atom"
STATE_NAMES: Final = {"ok": "ok", "error": "broken", "gone": "gone", "backoff": "backing off",
                      "warning": "warning"}


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """One source as the index shows it; ``next_try`` only while it is not ok."""

    name: str
    state: str
    last_error: str | None = None
    next_try: datetime | None = None

    @property
    def state_name(self) -> str:
        return STATE_NAMES.get(self.state, self.state)


@dataclass(frozen=True, slots=True)
class SourceDetail:
    """One source as status.html shows it. Times only while it is not ok (``last_ok``: its last
    success before it failed), so a site whose sources all work keeps the page's bytes."""

    name: str
    kind: str
    state: str
    articles: int
    todo: str  # what the operator should do, in words; "" when nothing
    last_error: str | None = None
    last_ok: datetime | None = None
    next_try: datetime | None = None

    @property
    def state_name(self) -> str:
        return STATE_NAMES.get(self.state, self.state)


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    source: str
    error_class: str
    message: str
    opened: datetime
    resolved: datetime | None = None

    @property
    def updated(self) -> datetime:
        return self.resolved or self.opened

    @property
    def title(self) -> str:
        what = f"{self.source}: {self.error_class}"
        return f"Resolved: {what}" if self.resolved else what


def _add(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ATOM_NS}}}{name}", attrs)
    if text is not None:
        element.text = xml_text(text)
    return element


def _date(moment: datetime) -> str:
    return utc(moment, "incident").isoformat()


def render_status(site_title: str, urls: Urls, incidents: Sequence[Incident], since: datetime, *,
                  version: str, hub: str | None = None) -> bytes:
    """Newest first by updated; a standing last entry (from the day of ``since``) keeps it from being empty."""
    ordered = sorted(incidents, key=lambda i: (i.updated, i.id), reverse=True)
    feed = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    _add(feed, "id", uuid_urn("feed:status"))
    _add(feed, "title", f"Source status — {site_title}")
    _add(feed, "subtitle", "One entry per incident: a source failing, or a tag page giving far fewer articles")
    _add(feed, "updated", _date(max([since, *(i.updated for i in ordered)])))
    author = _add(feed, "author")
    _add(author, "name", site_title)
    _add(author, "uri", urls.home_url)
    _add(feed, "link", href=urls.url(urls.status_path()), rel="self", type=MEDIA_TYPES["atom"])
    _add(feed, "link", href=urls.home_url, rel="alternate", type=MEDIA_TYPES["html"])
    if hub:
        _add(feed, "link", href=hub, rel="hub")
    _add(feed, "generator", GENERATOR, version=version)
    for incident in ordered:
        entry = _add(feed, "entry")
        _add(entry, "id", incident.id)
        _add(entry, "title", incident.title)
        _add(entry, "link", href=urls.home_url + "#sources", rel="alternate", type=MEDIA_TYPES["html"])
        _add(entry, "published", _date(incident.opened))
        _add(entry, "updated", _date(incident.updated))
        body = f"{incident.message}\nFirst seen {_date(incident.opened)}."
        if incident.resolved:
            body += f" Resolved {_date(incident.resolved)}."
        _add(entry, "content", body, type="text")
    entry = _add(feed, "entry")
    _add(entry, "id", uuid_urn("status:watching"))
    _add(entry, "title", "Watching every source")
    _add(entry, "link", href=urls.home_url + "#sources", rel="alternate", type=MEDIA_TYPES["html"])
    start = since.replace(hour=0, minute=0, second=0, microsecond=0)  # apart from any incident's date
    _add(entry, "published", _date(start))
    _add(entry, "updated", _date(start))
    _add(entry, "content", "Incidents appear here as entries; each is updated when its source recovers.",
         type="text")
    etree.indent(feed, space="  ")
    return bytes(etree.tostring(feed, encoding="UTF-8", xml_declaration=True, pretty_print=True))
