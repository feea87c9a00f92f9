"""deploy/: run-local.sh really starts PostgreSQL and two workers that build, and stops them all.

The script is started as a user would (bash, its own PostgreSQL on a free
port under a temp dir); it is stopped by SIGTERM to its own pid, then killed
with its process group if it overstays.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers import ROOT, clean_env, free_port, port_open
from pgserver import postgres_bindir


def test_run_local_starts_postgresql_and_two_workers_that_build(project: Path, tmp_path: Path) -> None:
    postgres_bindir()  # fails naming the package when PostgreSQL is missing
    run_dir = Path(tempfile.mkdtemp(prefix="tagfeed-run-"))  # not under tmp_path: postgres must reach it
    port = free_port()
    env = clean_env()
    env.update(RUN_DIR=str(run_dir), PGPORT=str(port), WORKERS="2", TAGFEED=f"{sys.executable} -m tagfeed")
    with open(tmp_path / "run-local.log", "wb") as log:
        proc = subprocess.Popen(["bash", str(ROOT / "deploy" / "run-local.sh"), "tagfeed.toml"], cwd=project,
                                env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        index = project / "output" / "index.html"
        while not index.is_file() or not all((run_dir / f"worker-{n}.log").is_file() for n in (1, 2)):
            assert proc.poll() is None, (tmp_path / "run-local.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "run-local.log").read_text()
            time.sleep(0.2)
        assert port_open(port)
        time.sleep(1)
        logs = [(run_dir / f"worker-{n}.log").read_text() for n in (1, 2)]
        assert all(f"worker local-{n}:" in text for n, text in zip((1, 2), logs)), logs
        assert sum("built:" in text for text in logs) >= 1, logs
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, (tmp_path / "run-local.log").read_text()
        assert "run-local.sh: stopped" in (tmp_path / "run-local.log").read_text()
        assert not port_open(port)
        assert all("stopped" in (run_dir / f"worker-{n}.log").read_text() for n in (1, 2))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        shutil.rmtree(run_dir, ignore_errors=True)
