"""A real PostgreSQL for the tests (Debian's packages), started in a temp dir on 127.0.0.1.

Imported by conftest.py, so every test module shares one server per session
(tests/test_pgstore.py, tests/test_worker.py). The server runs as the
``postgres`` user when the tests run as root (initdb refuses root), else as
the current user. scripts/test.sh installs the ``postgresql`` package when it
is missing; without it these tests fail naming it, never skip.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import free_port


def postgres_bindir() -> Path:
    bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not bindirs:
        pytest.fail("PostgreSQL is not installed (Debian package 'postgresql'; scripts/test.sh installs it)")
    return Path(bindirs[-1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """initdb + pg_ctl start in a temp dir, bound to 127.0.0.1:<free port>; stopped at teardown."""
    bindir = postgres_bindir()
    workdir = Path(tempfile.mkdtemp(prefix="tagfeed-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = workdir / "data", free_port()

    def run(*args: str) -> None:
        result = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, f"{args[0]} failed: {result.stdout}{result.stderr}"

    run(str(bindir / "initdb"), "-D", str(data), "-U", "tagfeed", "--auth=trust", "-E", "UTF8", "--no-locale")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(workdir / "server.log"), "-w", "-t", "60",
        "-o", f"-h 127.0.0.1 -p {port} -k {workdir} -F", "start")
    try:
        yield f"postgresql://tagfeed@127.0.0.1:{port}"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def pg_url(postgres_server: str) -> str:
    """A fresh, empty database for one test."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{postgres_server}/{name}"
