"""`python -m benchmarks --quick` runs end to end (a smoke test: no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_finishes_and_writes_results(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "quick.json").read_text(encoding="utf-8"))
    assert result["tagfeed"]["noop"]["written"] == 0
    assert {row["metric"] for row in result["ratios"]} >= {"cold build", "no-op rebuild", "server 304 req/s"}
    assert (tmp_path / "quick.md").is_file() and "| metric |" in proc.stdout
