"""A throwaway PostgreSQL for the benchmarks (Debian's packages), as tests/pgserver.py starts one for the tests.

initdb + pg_ctl in a temp dir, on 127.0.0.1 and a free port, fsync off;
run as ``postgres`` when we are root (initdb refuses root). Stopped and
removed on leaving.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres() -> Iterator[str]:
    """The server's URL (no database part); see ``database``."""
    bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not bindirs:
        raise SystemExit("PostgreSQL is not installed (Debian package 'postgresql')")
    bindir, workdir = Path(bindirs[-1]), Path(tempfile.mkdtemp(prefix="tagfeed-bench-pg-"))
    as_user = []
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = workdir / "data", _free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120, check=True)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "tagfeed", "--auth=trust", "-E", "UTF8", "--no-locale")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(workdir / "server.log"), "-w", "-t", "60",
        "-o", f"-h 127.0.0.1 -p {port} -k {workdir} -F -c max_connections=200", "start")
    try:
        yield f"postgresql://tagfeed@127.0.0.1:{port}"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(workdir, ignore_errors=True)


def database(server: str) -> str:
    """A fresh, empty database on ``server``."""
    import psycopg

    name = f"b_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{server}/{name}"
