"""`python -m benchmarks.publish --quick` runs end to end against a moto S3 server (no timing is asserted)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_publish_benchmark_writes_ratios(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.publish", "--quick", "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "publish-quick.json").read_text(encoding="utf-8"))
    assert [row["step"] for row in result["rows"]] == ["cold build + publish", "no-op rebuild", "one dump changed"]
    for row in result["rows"]:
        assert isinstance(row["ratio"], float) and math.isfinite(row["ratio"]) and row["ratio"] > 0
    steps = result["steps"]
    assert steps["cold"]["s3"]["written"] == steps["cold"]["local"]["written"] == result["bucket"]["objects"] > 0
    assert result["trees_match"]
    assert steps["noop"]["s3"]["written"] == steps["noop"]["local"]["written"] == 0
    assert 0 < steps["change"]["s3"]["written"] == steps["change"]["local"]["written"] < result["bucket"]["objects"]
    assert "| step | local s | S3 s | S3 / local |" in (tmp_path / "publish-quick.md").read_text(encoding="utf-8")
    assert "S3 / local" in proc.stdout
