"""A normal install (issue 18.1): ``tagfeed init`` writes a config and seeds from package data,
and a wheel installed into a fresh venv builds and serves in an empty folder."""

from __future__ import annotations

import http.client
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from helpers import ROOT, clean_env, copy_tracked, free_port, stop_process
from tagfeed.commands import settings_text
from tagfeed.config import Config, SiteConfig, parse_config
from tagfeed.settings import SETTINGS, default
from tagfeed.commands.starter import seed_files


def _uncommented(text: str) -> str:
    return "\n".join(line[2:] if line.startswith("# ") and "=" in line or line.startswith("# [[") else line
                     for line in text.splitlines())


def test_the_template_holds_every_key_with_its_default() -> None:
    text = settings_text.toml(seeds=False)
    for setting in SETTINGS.values():
        assert f"{setting.key} = " in text and setting.help in text, setting.name
    data = tomllib.loads(_uncommented(text))  # every key switched on, at its default
    config = parse_config(data, root=Path("/x"))
    site = config.site
    for key in ("title", "base_url", "max_items", "cache_max_age", "archive_page_size", "host_gap", "store"):
        assert getattr(site, key) == default(f"site.{key}"), key
    assert config.build_every == default("schedule.build_every")
    assert {type(s).__name__ for s in config.sources} == {"TagPageSource", "FeedSource", "PageSource"}
    assert parse_config(tomllib.loads(text), root=Path("/x")).sources == ()  # as written: no source on
    seeded = parse_config(tomllib.loads(settings_text.toml(seeds=True)), root=Path("/x"))
    assert [getattr(s, "paths", None) for s in seeded.sources] == [("seeds/*.txt",)]
    assert isinstance(seeded, Config) and isinstance(seeded.site, SiteConfig)


def test_the_packaged_seeds_are_the_checkouts() -> None:
    assert seed_files() == {p.name: p.read_bytes() for p in (ROOT / "seeds").glob("*.txt")}


def _tagfeed(bin_dir: Path, *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bin_dir / "tagfeed"), *args], cwd=cwd, env=clean_env(), capture_output=True,
                          text=True, timeout=timeout, check=False)


def _get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_a_wheel_in_a_fresh_venv_inits_builds_and_serves(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    source = copy_tracked(tmp_path / "source")  # built from the tracked files, like a release
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(source),
                    "-w", str(wheels)], check=True, capture_output=True, timeout=300, env=clean_env())
    (wheel,) = wheels.glob("tagfeed-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], check=True, capture_output=True,
                   timeout=600, env=clean_env())
    bin_dir = venv / "bin"
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = _tagfeed(bin_dir, "build", cwd=empty)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "run `tagfeed init`" in refused.stderr and "--config" in refused.stderr
    assert "site-packages" not in refused.stderr and list(empty.iterdir()) == []
    site = tmp_path / "site"
    site.mkdir()
    init = _tagfeed(bin_dir, "init", "--seeds", cwd=site)
    assert init.returncode == 0, init.stderr
    assert sorted(p.name for p in (site / "seeds").iterdir()) == sorted(seed_files())
    built = _tagfeed(bin_dir, "build", cwd=site)
    assert built.returncode == 0 and built.stdout.startswith("sources: 2 ok, 0 failed;"), built.stderr
    assert (site / "output" / "tags" / "putin.atom").is_file()
    port = free_port()
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen([str(bin_dir / "tagfeed"), "serve", "--port", str(port)], cwd=site, env=clean_env(),
                                stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                status = _get(port, "/tags/putin.atom")
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        assert status == 200
        assert _get(port, "/tags/sergei-lavrov.json") == 200
    finally:
        assert stop_process(proc) == 0
