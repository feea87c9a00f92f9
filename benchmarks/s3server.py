"""A moto S3 API server for the benchmarks (server mode, a subprocess on 127.0.0.1), and a client for it.

Split out of benchmarks/publish.py; tests/test_s3.py starts its own the same way.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# moto accepts any credentials; these keep boto3 from reading the user's profile or the EC2 metadata service
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Moto:
    url: str
    pid: int

    def peak_rss_mib(self) -> float | None:
        """VmHWM of the server process (Linux); None where /proc is not there."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text(encoding="ascii")
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return None


@contextmanager
def moto_server(workdir: Path) -> Iterator[Moto]:
    """``python -m moto.server`` on 127.0.0.1 and a free port; stopped on the way out, error or not."""
    port = free_port()
    log_path = workdir / "moto.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env={**os.environ, **AWS_ENV})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=2).close()
                break
            except (urllib.error.URLError, OSError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"moto server did not start:\n{log_path.read_text()[-3000:]}") from None
                time.sleep(0.2)
        yield Moto(url, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def s3_client(endpoint: str) -> Any:
    import boto3

    return boto3.session.Session(aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
                                 aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
                                 region_name=AWS_ENV["AWS_DEFAULT_REGION"]).client("s3", endpoint_url=endpoint)
