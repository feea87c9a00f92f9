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
     │    └── FeedError(url, reason)
     ├── StoreError(reason)
     ├── ExplainError(target, reason)  ``tagfeed explain`` knows no such article or source
     ├── RenderError(what, reason)   an article or tag cannot be rendered (a bug upstream)
     └── OutputError(path, reason)   a file of the output tree cannot be written there
"""

from __future__ import annotations


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

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}")


class TagPageError(SourceError):
    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(path, reason)


class FetchError(SourceError):
    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(url, reason)


class FeedError(SourceError):
    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(url, reason)


class StoreError(TagfeedError):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"store: {reason}")


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
