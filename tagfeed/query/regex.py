"""Regexes of queries run on RE2 (google-re2): linear time whatever the pattern, so no query
can backtrack for ever; RE2 refuses backreferences and lookarounds, with its reason."""

from __future__ import annotations

import functools
from typing import Any, Final

import re2

from tagfeed.errors import QueryError

MAX_PATTERN: Final = 200  # characters
MAX_MEMORY: Final = 1 << 20  # bytes RE2 may spend on one compiled pattern


def _options() -> Any:
    options = re2.Options()
    options.case_sensitive = False  # on folded text already; this covers what casefold leaves
    options.log_errors = False  # the error comes back as a QueryError, not a stderr line
    options.max_mem = MAX_MEMORY
    return options


@functools.lru_cache(maxsize=256)
def compiled(pattern: str) -> Any:
    """The pattern compiled; ``check_regex`` has vetted it at parse time."""
    return re2.compile(pattern, _options())


def check_regex(pattern: str, position: int) -> None:
    """``QueryError`` at ``position`` (the opening '/') unless RE2 takes ``pattern``."""
    if not pattern:
        raise QueryError(position, "an empty regex matches everything; write a pattern between the slashes")
    if len(pattern) > MAX_PATTERN:
        raise QueryError(position, f"a regex is at most {MAX_PATTERN} characters")
    try:
        compiled(pattern)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise QueryError(position, f"regex not accepted ({reason}; backreferences and lookarounds "
                                   "are not supported)") from None
