"""Errors the feed builder raises: a render that cannot be made, a path that may not be written.

Both are ``TagfeedError`` subclasses so ``cli`` and ``server`` translate them
like every other tagfeed error; they build their own message from their fields.
"""

from __future__ import annotations

from tagfeed.errors import TagfeedError


class RenderError(TagfeedError):
    """An article or tag cannot be rendered (a programming error upstream)."""

    def __init__(self, what: str, reason: str) -> None:
        self.what = what
        self.reason = reason
        super().__init__(f"render: {what}: {reason}")


class OutputError(TagfeedError):
    """A file of the output tree cannot be written where it was asked to be."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"output: {path}: {reason}")
