"""The one error hierarchy of tagfeed.

Library code raises these; only ``tagfeed.cli`` (a stderr line and an exit
code) and ``server`` (an HTTP status) translate them. Each error builds its own
message from its fields, so every message names the file, URL or key::

    TagfeedError
     ├── ConfigError(key, reason)
     ├── OpmlError(path, reason)     an OPML file to import is unreadable
     ├── SourceError                 a source could not be read; others still publish
     │    ├── TagPageError(path, reason)
     │    ├── FetchError(url, reason)
     │    ├── FeedError(url, reason)
     │    └── PageError(url, reason)  an HTML listing page with no list we can read
     ├── StoreError(reason)
     ├── QueryError(position, reason)  a query of a view, rule, preview or search does not parse
     ├── ExplainError(target, reason)  ``tagfeed explain`` knows no such article or source
     ├── RenderError(what, reason)   an article or tag cannot be rendered (a bug upstream)
     └── OutputError(path, reason)   a file of the output tree cannot be written there

A source's failure is also kept as a value, ``Failure``: the error's kind, HTTP
status and message, made once where the error is raised (``SourceError.failure``)
or caught (``unexpected``), so incidents, /healthz and status.atom read fields
and never parse a message back.
"""

from __future__ import annotations

import sysconfig
import traceback
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

# What went wrong with a source, as ``Failure.kind`` names it.
HTTP_STATUS: Final = "http-status"  # 4xx/5xx other than those below; ``status`` says which
RETRY_AFTER: Final = "retry-after"  # 429/503: backing off as upstream asked
GONE: Final = "gone"  # 410: no longer polled
TIMEOUT: Final = "timeout"
UNREACHABLE: Final = "unreachable"  # no answer: DNS, refused connection, TLS, redirect trouble
UNREADABLE: Final = "unreadable"  # an answer or a file that is not a source we can read
LOW_YIELD: Final = "low-yield"  # read fine, but far fewer articles than before (a warning)
INTERNAL: Final = "internal"  # a bug of tagfeed's own, met while reading this source
_OURS: Final = tuple(str(Path(__file__).resolve().parent.parent / name) for name in ("tagfeed", "sources", "feeds"))
_LIBRARIES: Final = tuple(sorted({str(Path(p).resolve()) for key in ("stdlib", "platstdlib", "purelib", "platlib")
                                  if (p := sysconfig.get_paths().get(key))}))
# exception types that mean "the code is wrong", not "the input is bad"
_PROGRAMMING: Final = (TypeError, AttributeError, NameError, KeyError, IndexError, AssertionError,
                       RecursionError, NotImplementedError)


@dataclass(frozen=True, slots=True)
class Failure:
    """One source's failure as a value: what kind, the HTTP status and Retry-After when
    there were any, and the message (naming the file or URL) shown to people."""

    kind: str
    message: str
    status: int | None = None
    retry_after: datetime | None = None


class TagfeedError(Exception):
    """Base of every error tagfeed raises on purpose."""


class ConfigError(TagfeedError):
    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"config: {key}: {reason}")


class OpmlError(TagfeedError):
    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class SourceError(TagfeedError):
    """A single source failed; the build goes on with the others."""

    kind = UNREADABLE

    def __init__(self, where: str, reason: str, *, kind: str | None = None) -> None:
        self.where = where
        self.reason = reason
        if kind is not None:
            self.kind = kind
        super().__init__(f"{where}: {reason}")

    def failure(self) -> Failure:
        return Failure(kind=self.kind, message=str(self))


class TagPageError(SourceError):
    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(path, reason)


class FetchError(SourceError):
    kind = UNREACHABLE

    def __init__(self, url: str, reason: str, *, kind: str | None = None) -> None:
        self.url = url
        super().__init__(url, reason, kind=kind)


class BlockedAddress(FetchError):
    """A link from content, or a redirect, leads to an address that is not public (``sources.addresses``)."""


class FeedError(SourceError):
    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(url, reason)


class PageError(SourceError):
    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(url, reason)


class StoreError(TagfeedError):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"store: {reason}")


class QueryError(TagfeedError):
    """``position`` is 1-based, counted in characters of the query."""

    def __init__(self, position: int, reason: str) -> None:
        self.position = position
        self.reason = reason
        super().__init__(f"query: position {position}: {reason}")


class ExplainError(TagfeedError):
    def __init__(self, target: str, reason: str) -> None:
        self.target = target
        self.reason = reason
        super().__init__(f"explain: {target}: {reason}")


class RenderError(TagfeedError):
    def __init__(self, what: str, reason: str) -> None:
        self.what = what
        self.reason = reason
        super().__init__(f"render: {what}: {reason}")


class OutputError(TagfeedError):
    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"output: {path}: {reason}")


def unexpected(where: str, exc: BaseException) -> Failure:
    """The failure of a source that raised something other than a ``SourceError`` (see ``classify``)."""
    kind, reason = classify(exc)
    return Failure(kind=kind, message=f"{where}: {reason}")


def classify(exc: BaseException) -> tuple[str, str]:
    """(kind, reason) of an exception that is not tagfeed's own.

    A library refusing what a source handed it (nh3's URL parser, feedparser's
    fallback parser, a codec) is that source being ``UNREADABLE``. A programming
    error raised in tagfeed's own code is a bug (``INTERNAL``): callers log its
    traceback, and the other sources still publish either way.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    ours = bool(frames) and _is_ours(frames[-1].filename)
    if ours and isinstance(exc, _PROGRAMMING):
        return INTERNAL, f"internal error ({type(exc).__name__}: {exc}); a bug in tagfeed, please report it"
    origin = "" if ours or not frames else f" in {_module_of(frames[-1].filename)}"
    return UNREADABLE, f"cannot be read ({type(exc).__name__}{origin}: {exc})"


def _is_ours(filename: str) -> bool:
    """Raised in tagfeed's own code: its packages wherever installed, or any file that is neither
    the standard library nor an installed package (a checkout, a test)."""
    path = str(Path(filename).resolve())
    return path.startswith(_OURS) or not path.startswith(_LIBRARIES)


def _module_of(filename: str) -> str:
    """The top-level package a traceback frame's file belongs to, as people name it (feedparser, lxml)."""
    parts = Path(filename).parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts and parts.index(marker) + 1 < len(parts):
            return parts[parts.index(marker) + 1].removesuffix(".py")
    return Path(filename).stem
