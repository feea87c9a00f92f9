"""The build's progress bar: drawn on a terminal, silent in pipes and CI."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

from tagfeed.commands.progress import TerminalProgress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_on_a_terminal_and_silence_elsewhere() -> None:
    tty = _Tty()
    progress = TerminalProgress(tty, environ={})
    for done in range(0, 5):
        progress("reading", done, 4)
    for done in range(1, 30):
        progress("writing", done, 40)
    progress.close()
    assert "reading sources" in tty.getvalue() and "writing files" in tty.getvalue()
    # finished at the count reached (as the summary counts), not at the estimate
    assert "29/29" in tty.getvalue() and "40/40" not in tty.getvalue()
    for stream, environ in ((io.StringIO(), {}), (_Tty(), {"CI": "true"})):
        quiet = TerminalProgress(stream, environ=environ)
        quiet("writing", 1, 2)
        quiet.close()
        assert stream.getvalue() == ""


def test_build_in_a_pipe_prints_only_the_summary(project: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "tagfeed", "build"], cwd=project, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("sources: 2 ok") and len(result.stdout.splitlines()) == 2


def test_build_on_a_terminal_draws_the_bar(project: Path) -> None:
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    with subprocess.Popen([sys.executable, "-m", "tagfeed", "build"], cwd=project, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=terminal, env=env) as proc:
        os.close(terminal)
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the pty closes when the build exits
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=120) == 0
        summary = proc.stdout.read().decode() if proc.stdout else ""
    os.close(controller)
    drawn = b"".join(chunks).decode(errors="replace")
    assert "writing files" in drawn and "sources: 2 ok" in summary
