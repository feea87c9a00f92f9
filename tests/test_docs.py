"""The README's first two commands are the ones CI and a new user run, and they work."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
from pathlib import Path

from helpers import copy_tracked, ROOT, clean_env, port_open, stop_process


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
    clone = copy_tracked(tmp_path / "clone")
    assert not port_open(8080), "port 8080 is taken: the README's command needs it"
    env = clean_env("VIRTUAL_ENV")
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
        stop_process(proc, timeout=20, group=True)  # the shell and the server it started
    assert proc.returncode == 0, log.read_text(errors="replace")[-2000:]


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
