"""A progress bar for long builds on a terminal; silence in pipes and CI.

click (already a dependency) draws the bar and hides it by itself when the
stream is not a TTY; ``CI`` in the environment hides it too, so logs stay clean
and the summary line is the only output either way.
"""

from __future__ import annotations

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
        """Finish the current bar (a skipped group leaves it short of its estimate)."""
        if self.bar is not None:
            self.bar.update(self.bar.length - self.done)
            self.bar.__exit__(None, None, None)
            self.bar = None
