"""The README's first two commands are the ones CI and a new user run, and they work."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from conftest import ROOT


def _readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    return [block.strip() for block in blocks[:2]]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    _, test_command = _readme_commands()
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith("#") and not line.startswith(("set ", "cd "))]
    assert ci == [test_command]


def test_readme_main_command_installs_and_serves_the_seeds(tmp_path: Path) -> None:
    """A fresh copy of the tracked files, the README's first command, run as a new user would."""
    serve_command, _ = _readme_commands()
    assert serve_command.endswith("tagfeed serve")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    clone = tmp_path / "clone"
    for name in filter(None, tracked.decode().split("\0")):
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", 8080)) != 0, "port 8080 is taken: the README's command needs it"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAGFEED_", "VIRTUAL_ENV"))}
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(["bash", "-c", serve_command], cwd=clone, env=env, start_new_session=True,
                                stdout=sink, stderr=subprocess.STDOUT)
    try:
        health = _wait_for_health(proc, log, timeout=240)
        assert health["status"] == "ok" and health["articles"] == 17
        with urllib.request.urlopen("http://127.0.0.1:8080/tags/putin.atom", timeout=10) as response:
            assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
            assert response.read().count(b"<entry>") == 10
    finally:
        _stop(proc)
    assert proc.returncode == 0, log.read_text(errors="replace")[-2000:]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the command's own process group (never by name), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _wait_for_health(proc: subprocess.Popen[bytes], log: Path, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            with urllib.request.urlopen("http://127.0.0.1:8080/healthz", timeout=5) as response:
                return json.loads(response.read())  # type: ignore[no-any-return]
        except OSError:
            time.sleep(0.5)
    raise AssertionError("the README's serve command did not answer /healthz in time")
