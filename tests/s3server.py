"""A real S3 API server on 127.0.0.1 for the tests (moto in server mode, a subprocess), and a
boto3 client for it; conftest.py hands both fixtures to every test module, as pgserver.py does."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import free_port, stop_process, wait_until

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``moto_server -H 127.0.0.1 -p <free port>``, recording requests; stopped at teardown."""
    workdir = tmp_path_factory.mktemp("moto")
    port = free_port()
    env = {**os.environ, **AWS_ENV, "MOTO_ENABLE_RECORDING": "true",
           "MOTO_RECORDER_FILEPATH": str(workdir / "recording.jsonl")}
    with open(workdir / "moto.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"moto_server exited: {(workdir / 'moto.log').read_text()}")
        try:
            httpx.get(f"{url}/moto-api/", timeout=2)
            return True
        except httpx.TransportError:
            return False

    try:
        wait_until(answers, 30, "moto_server to answer", interval=0.1)
        yield url
    finally:
        stop_process(proc, timeout=10)


@pytest.fixture
def s3(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A boto3 client for the server, with test credentials in the environment for tagfeed too."""
    import boto3

    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3", endpoint_url=s3_server)
    yield client
    client.close()
