"""Dates as listing pages write them: ISO 8601, "Mar. 29, 2026", "29. März 2026", "12.11.2018",
"2020年7月4日", and relative ones ("2 hours ago", "vor 3 Stunden", "5分钟前") resolved against ``now``.

Pure: ``now`` comes in. A date without a zone is taken as UTC (the site's local time is unknown);
a clock-only time ("18:00") is no date.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_MONTHS = {name: i + 1 for i, names in enumerate((
    "jan january januar janv enero", "feb february februar fevr febrero", "mar march märz maerz mars marzo",
    "apr april avr abril", "may mai mayo", "jun june juni juin junio", "jul july juli juil julio",
    "aug august aout agosto", "sep sept september septembre septiembre", "oct october okt oktober octobre octubre",
    "nov november novembre noviembre", "dec december dez dezember decembre diciembre")) for name in names.split()}
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?")
_MDY = re.compile(r"\b([A-Za-zäÄ]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")
_DMY_NAME = re.compile(r"\b(\d{1,2})\.?\s+([A-Za-zäÄ]{3,9})\.?,?\s+(\d{4})\b")
_DMY = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b(?:,?\s*(\d{1,2}):(\d{2}))?")
_YMD_SLASH = re.compile(r"\b(\d{4})/(\d{1,2})/(\d{1,2})\b")
_YEAR = re.compile(r"\d{4}")
_CJK = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_AGO = re.compile(r"(\d+)\s*(seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|"
                  r"sekunden?|minuten?|stunden?|tagen?|wochen?|秒|分钟|小时|天|周)\s*(ago|前)?", re.I)
_AGO_DE = re.compile(r"\bvor\s+(\d+)\s*(sekunden?|minuten?|stunden?|tagen?|wochen?)", re.I)
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "t": 86400,
         "秒": 1, "分": 60, "小": 3600, "天": 86400, "周": 604800}


def _unit(word: str) -> int:
    word = word.lower()
    if word.startswith("st"):
        return 3600  # Stunden
    if word.startswith("mi"):
        return 60
    return _UNIT.get(word[0], 0)


def _make(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
          tz: timezone = timezone.utc) -> datetime | None:
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        return None


def _zone(text: str | None) -> timezone:
    if not text or text == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0)))


def find_date(text: str, now: datetime, *, relative: bool = True) -> datetime | None:
    """The first date ``text`` spells, or None; ``relative`` = False ignores "2 hours ago"."""
    if not text or len(text) > 2000:
        text = text[:2000]
    if _YEAR.search(text) is None:  # every absolute pattern has a four-digit year: one scan, not six
        return _relative(text, now) if relative else None
    if m := _ISO.search(text):
        h, mi, s = (int(g) if g else 0 for g in m.group(4, 5, 6))
        return _make(int(m[1]), int(m[2]), int(m[3]), h, mi, s, _zone(m[7]))
    if m := _CJK.search(text):
        return _make(int(m[1]), int(m[2]), int(m[3]))
    if m := _MDY.search(text):
        if month := _MONTHS.get(m[1].lower()):
            return _make(int(m[3]), month, int(m[2]))
    if m := _DMY_NAME.search(text):
        if month := _MONTHS.get(m[2].lower()):
            return _make(int(m[3]), month, int(m[1]))
    if m := _DMY.search(text):
        h, mi = (int(g) if g else 0 for g in m.group(4, 5))
        return _make(int(m[3]), int(m[2]), int(m[1]), h, mi)
    if m := _YMD_SLASH.search(text):
        return _make(int(m[1]), int(m[2]), int(m[3]))
    return _relative(text, now) if relative else None


def _relative(text: str, now: datetime) -> datetime | None:
    """"2 hours ago", "vor 3 Tagen" resolved against ``now``, marked as relative."""
    if (m := _AGO_DE.search(text)) or ((m := _AGO.search(text)) and m[3]):
        seconds = int(m[1]) * _unit(m[2])
        if seconds:
            return (now - timedelta(seconds=seconds)).replace(microsecond=1)  # items.RELATIVE_MARK
    return None
