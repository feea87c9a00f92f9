"""A progress bar for long builds on a terminal; silence in pipes and CI.

click (already a dependency) draws the bar and hides it by itself when the
stream is not a TTY; ``CI`` in the environment hides it too, so logs stay clean
and the summary line is the only output either way.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import click

STAGES = {"reading": "reading sources", "writing": "writing files "}


def wanted(stream: TextIO, environ: Mapping[str, str]) -> bool:
    return stream.isatty() and not environ.get("CI")


class TerminalProgress:
    """The ``progress(stage, done, total)`` callback of ``tagfeed.building.pipeline.build``."""

    def __init__(self, stream: TextIO | None = None, environ: Mapping[str, str] = os.environ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = wanted(self.stream, environ)
        self.stage: str | None = None
        self.bar: Any = None
        self.done = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self.stage:
            self.close()
            self.stage, self.done = stage, 0
            self.bar = click.progressbar(length=max(total, 1), label=STAGES.get(stage, stage),
                                         file=self.stream, show_pos=True)
            self.bar.__enter__()
        step = min(done, max(total, 1)) - self.done
        if step > 0:
            self.bar.update(step)
            self.done += step

    def close(self) -> None:
        """Finish the current bar at the count reached: the estimate gives way to what was done,
        so the last figure shown is the one the summary gives."""
        if self.bar is not None:
            self.bar.length = max(self.done, 1)
            self.bar.update(0)
            self.bar.render_progress()
            self.bar.__exit__(None, None, None)
            self.bar = None

    def above(self, line: str) -> None:
        """Write ``line`` on its own line above the bar, then draw the bar again below it."""
        if self.bar is None:
            click.echo(line, file=self.stream)
            return
        click.echo("\r\x1b[K" + line, file=self.stream)
        self.bar.render_progress()


class LogAroundBar(logging.Handler):
    """Log records as ``tagfeed: warning: ...`` lines, above the progress bar, never through it."""

    def __init__(self, progress: TerminalProgress) -> None:
        super().__init__()
        self.progress = progress
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.progress.above(f"tagfeed: {record.levelname.lower()}: {self.format(record)}")
        except Exception:  # noqa: BLE001 - logging must never break a build
            self.handleError(record)
