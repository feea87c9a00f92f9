"""How long an upstream feed says it stays fresh, and the polite wait that follows. Pure.

The next poll after a success is the largest of the configured ``every``, the
response's freshness (``Cache-Control: max-age`` less ``Age``, else
``Expires`` less ``Date``, RFC 9111 §4.2.1) and the feed's RSS ``<ttl>``
(minutes), clamped to ``FRESHNESS_CAP`` and never below ``every``. A server
cannot make us poll more often than configured, nor silence a feed for days.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

FRESHNESS_CAP = timedelta(hours=24)
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)
_TTL = re.compile(rb"<ttl>\s*(\d{1,9})\s*</ttl>", re.IGNORECASE)
_FIRST_ITEM = re.compile(rb"<(?:item|entry)[\s>/]", re.IGNORECASE)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def header_freshness(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    """What is left of the response's freshness lifetime; None when it states none.

    ``max-age`` wins over ``Expires`` (RFC 9111 §5.3). An unreadable or past
    ``Expires`` (``0`` is common) states nothing.
    """
    control = _header(headers, "cache-control") or ""
    if match := _MAX_AGE.search(control):
        age = _header(headers, "age") or ""
        left = int(match.group(1)) - (int(age) if age.strip().isdigit() else 0)
        return timedelta(seconds=max(left, 0))
    expires = _http_date(_header(headers, "expires"))
    if expires is None:
        return None
    date = _http_date(_header(headers, "date")) or now
    lifetime = expires - date
    return lifetime if lifetime > timedelta(0) else None


def feed_ttl(body: bytes) -> int | None:
    """An RSS channel's ``<ttl>`` in minutes, read before the first item; None without one."""
    first = _FIRST_ITEM.search(body)
    match = _TTL.search(body, 0, first.start() if first else len(body))
    return int(match.group(1)) if match else None


def polite_interval(every: int, headers: Mapping[str, str], now: datetime, *,
                    ttl: int | None = None) -> timedelta:
    """The wait before the next poll of a feed that answered: see the module docstring."""
    base = timedelta(seconds=every)
    hints = [base, min(header_freshness(headers, now) or base, FRESHNESS_CAP)]
    if ttl:
        hints.append(min(timedelta(minutes=ttl), FRESHNESS_CAP))
    return max(hints)
