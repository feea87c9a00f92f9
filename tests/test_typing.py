"""Every def in sources/, feeds/, tagfeed/ and server.py is hinted: mypy --strict holds."""

from __future__ import annotations

import subprocess
import sys

from helpers import ROOT


def test_mypy_strict() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
