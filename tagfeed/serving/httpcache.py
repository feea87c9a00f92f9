"""HTTP rules for the served output tree, as pure functions.

Content types, entity tags, conditional requests (RFC 9110 §13),
Accept-Encoding negotiation (§12.5.3) and the access-log line. Nothing here
touches disk or a socket; ``server`` feeds it headers and bytes and turns the
answers into responses, so every rule can be table-tested.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, Final, Literal

from werkzeug.http import parse_date

Status = Literal[200, 304]

GZIP_SUFFIX: Final = "-gzip"
_CHARSET: Final = "; charset=utf-8"
_BY_SUFFIX: Final[dict[str, str]] = {
    ".atom": "application/atom+xml" + _CHARSET,
    ".rss": "application/rss+xml" + _CHARSET,
    ".json": "application/feed+json" + _CHARSET,
    ".html": "text/html" + _CHARSET,
    ".opml": "text/x-opml" + _CHARSET,
    ".xml": "application/xml" + _CHARSET,
    ".txt": "text/plain" + _CHARSET,
    ".gz": "application/gzip",
}
_ENTITY_TAG = re.compile(r'(?:W/)?"[^"]*"')
_CODING = re.compile(r"^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


def content_type_for(path: str) -> str:
    """The Content-Type of a file in the tree, by its name (the tree has no other metadata)."""
    name = path.rsplit("/", 1)[-1].lower()
    dot = name.rfind(".")
    return _BY_SUFFIX.get(name[dot:] if dot > 0 else "", "application/octet-stream")


_KINDS = {".atom": "atom", ".rss": "rss", ".json": "json", ".html": "html", ".opml": "opml"}


def file_kind(url_path: str) -> str:
    """What a request asked for, by its path: a feed format, a page, an archive page, or the rest."""
    if "/archive/" in url_path:
        return "archive"
    name = url_path.rsplit("/", 1)[-1].removesuffix(".gz")
    if url_path in ("", "/"):
        return "html"
    dot = name.rfind(".")
    return _KINDS.get(name[dot:] if dot > 0 else "", name if name in ("healthz", "metrics") else "other")


def etag_for(body: bytes) -> str:
    """A strong ETag from the bytes themselves, so it moves only when the content does."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def gzip_etag(etag: str) -> str:
    """The gzip variant's ETag: a different representation needs a different strong tag."""
    return etag[:-1] + GZIP_SUFFIX + '"'


def _opaque(tag: str) -> str:
    """The tag's identity for weak comparison: no ``W/``, and both variants of one content are equal."""
    tag = tag.strip().removeprefix("W/")
    return tag[: -len(GZIP_SUFFIX) - 1] + '"' if tag.endswith(GZIP_SUFFIX + '"') else tag


def parse_entity_tags(value: str) -> list[str]:
    """The tags of an If-None-Match value, ``["*"]`` for a star; junk between them is ignored."""
    if value.strip() == "*":
        return ["*"]
    return _ENTITY_TAG.findall(value)


def none_match(value: str, etag: str) -> bool:
    """True when If-None-Match ``value`` matches ``etag`` (weak comparison, RFC 9110 §13.1.2)."""
    tags = parse_entity_tags(value)
    if not tags:
        return False
    return tags == ["*"] or any(_opaque(tag) == _opaque(etag) for tag in tags)


def conditional(request_headers: Mapping[str, str], etag: str | None,
                last_modified: datetime | None) -> Status:
    """200 or 304 for a GET/HEAD, following RFC 9110 §13.2.2's order.

    If-None-Match, when sent, decides alone; If-Modified-Since counts only
    without it, and an unparsable date is ignored.
    """
    headers = {key.lower(): value for key, value in request_headers.items()}
    if "if-none-match" in headers:
        return 304 if etag and none_match(headers["if-none-match"], etag) else 200
    since = parse_date(headers.get("if-modified-since"))
    if since is None or last_modified is None:
        return 200
    return 304 if _whole_seconds(last_modified) <= since.astimezone(timezone.utc) else 200


def _whole_seconds(moment: datetime) -> datetime:
    """HTTP dates have one-second resolution, so compare at that resolution."""
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when the client takes gzip (or x-gzip, or ``*``) with a non-zero quality."""
    explicit: float | None = None
    star: float | None = None
    for item in (accept_encoding or "").split(","):
        if not item.strip():
            continue
        match = _CODING.match(item)
        if not match:
            continue
        coding, quality = match.group(1).lower(), _quality(match.group(2))
        if coding in ("gzip", "x-gzip"):
            explicit = quality if explicit is None else max(explicit, quality)
        elif coding == "*":
            star = quality
    if explicit is not None:
        return explicit > 0
    return star is not None and star > 0


def _quality(raw: str | None) -> float:
    """A q-value; a malformed one makes the coding unacceptable rather than preferred."""
    if raw is None:
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        return 0.0
    return value if 0.0 <= value <= 1.0 else 0.0


def clf_line(environ: Mapping[str, Any], status: str, size: int, now: datetime) -> str:
    """One Common Log Format line; the request line is escaped so it cannot forge log lines."""
    uri = environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
    if not environ.get("REQUEST_URI") and environ.get("QUERY_STRING"):
        uri += "?" + environ["QUERY_STRING"]
    request_line = f"{environ.get('REQUEST_METHOD', '-')} {uri} {environ.get('SERVER_PROTOCOL', '-')}"
    if request_line.isascii() and request_line.isprintable() and '"' not in request_line \
            and "\\" not in request_line:
        safe = request_line  # nothing to escape: the usual case
    else:
        safe = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else f"\\x{ord(c):02x}" for c in request_line)
    stamp = now.strftime("%d/%b/%Y:%H:%M:%S %z")
    return (f'{environ.get("REMOTE_ADDR", "-")} - {environ.get("REMOTE_USER") or "-"} [{stamp}] '
            f'"{safe}" {status} {size or "-"}')
