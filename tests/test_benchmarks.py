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
    assert {row["metric"] for row in result["ratios"]} >= {"cold build", "cold build vs fsync per file", "no-op rebuild",
                                                          "memory growth", "server 304 req/s"}
    assert result["tagfeed"]["cold"]["cli_maxrss_mib"] > 0 and result["baseline"]["nofsync_cold_s"] > 0
    assert (tmp_path / "quick.md").is_file() and "| metric |" in proc.stdout


def test_wrk_output_is_parsed() -> None:
    from benchmarks.serving import parse_wrk

    text = """Running 5s test @ http://127.0.0.1:1/
  2 threads and 16 connections
  Latency Distribution
     50%  612.00us
     75%    1.50ms
     90%    6.00ms
     99%    1.02s
  20772 requests in 5.02s, 5.00MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 3
Requests/sec:   4137.00
Transfer/sec:      1.00MB
"""
    result = parse_wrk(text)
    assert (result["requests"], result["rps"], result["p50_ms"], result["p99_ms"]) == (20772, 4137.0, 0.612, 1020.0)
    assert (result["non_2xx_3xx"], result["socket_errors"]) == (3, 3)
