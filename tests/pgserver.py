"""A real PostgreSQL for the tests (Debian's packages), started in a temp dir on 127.0.0.1.

Imported by conftest.py, so every test module shares one server per session
(tests/test_pgstore.py, tests/test_worker.py). The server runs as the
``postgres`` user when the tests run as root (initdb refuses root), else as
the current user. scripts/test.sh installs the ``postgresql`` package when it
is missing; without it these tests fail naming it, never skip.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.pgserver import database, postgres


def postgres_bindir() -> Path:
    bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not bindirs:
        pytest.fail("PostgreSQL is not installed (Debian package 'postgresql'; scripts/test.sh installs it)")
    return Path(bindirs[-1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """initdb + pg_ctl start in a temp dir, bound to 127.0.0.1:<free port>; stopped at teardown
    (``benchmarks.pgserver.postgres``, the one starter the tests and the benchmarks share)."""
    postgres_bindir()  # fails naming the package when PostgreSQL is missing
    with postgres() as url:
        yield url


@pytest.fixture
def pg_url(postgres_server: str) -> str:
    """A fresh, empty database for one test."""
    return database(postgres_server)
