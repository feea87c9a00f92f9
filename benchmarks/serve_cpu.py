"""``python -m benchmarks.serve_cpu``: CPU seconds per hour of ``tagfeed serve`` when every poll answers 304.

A site of 1,000 tag pages (``benchmarks.synth``, ``--tags``) and 200 feeds
with ``every = "1m"`` (one tag each, five items), on one local
upstream (``benchmarks.upstreams``, ``fixed``: the same body with an ETag,
so every conditional poll after the first is a 304) with ``host_gap = 0``
and ``build_every`` at its default. ``serve`` runs as a process; once its
first build is out and the first round of polls has ended, its CPU time
(utime + stime of the process and its waited-for children, /proc) is read
at the start and the end of a window of whole minutes, so each window holds
the same number of ticks; per hour = that x 3600 / window.

before: the tree of ``BEFORE`` (the commit before issue 16.3, unpacked with
``git archive``), whose tick ran the whole build, polls included, every
minute. after: this tree, whose tick polls the due feeds and builds only
when something changed or ``build_every`` has passed. Same config, same
upstream, one after the other in one run. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks import serving, synth
from benchmarks.upstreams import Upstreams, upstreams

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "c0ed8d5"  # 5fd0ccc^: serve built everything every tick
FEEDS, EVERY = 200, 60


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime


def write_config(root: Path, up: Upstreams, tags: int) -> Path:
    """``benchmarks.synth``'s site of ``tags`` tag pages, plus the 200 feeds (no host gap: CPU, not waits)."""
    path = synth.write_site(root, tags)
    sources = "".join(f'\n[[sources]]\ntype = "feed"\nurl = "{url}"\ntags = ["Feed {n}"]\nevery = "1m"\n'
                      for _, n, url in up.urls(FEEDS))
    text = path.read_text(encoding="utf-8").replace('state_dir = "state"\n', 'state_dir = "state"\nhost_gap = 0\n')
    path.write_text(text + sources, encoding="utf-8")
    return path


def measure(code: Path, minutes: int, tags: int) -> dict[str, float]:
    with upstreams(1, fixed=True) as up, tempfile.TemporaryDirectory(prefix="tagfeed-serve-cpu-") as tmp:
        config, port = write_config(Path(tmp), up, tags), serving.free_port()
        log = open(Path(tmp) / "serve.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "tagfeed", "serve", "--config", str(config),
                                 "--port", str(port)], cwd=tmp, env={**os.environ, "PYTHONPATH": str(code)},
                                stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:  # the first build served, all 200 polled once
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/all.json", timeout=2).status_code == 200 \
                            and len(up.served()) == FEEDS:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
            else:
                raise SystemExit(f"serve did not come up: {(Path(tmp) / 'serve.log').read_text()[-2000:]}")
            time.sleep(5)
            requests0, cpu0, t0 = sum(map(len, up.served().values())), cpu_seconds(proc.pid), time.monotonic()
            time.sleep(minutes * EVERY)
            cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
            polls = sum(map(len, up.served().values())) - requests0
        finally:
            proc.terminate()
            proc.wait(30)
            log.close()
    return {"cpu_per_hour": (cpu1 - cpu0) * 3600 / (t1 - t0), "polls_per_minute": polls * EVERY / (t1 - t0)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve_cpu", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=3, help="length of each measured window")
    parser.add_argument("--tags", type=int, default=1000, help="tag pages of the site beside the feeds")
    args = parser.parse_args(argv)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="tagfeed-before-") as before:
        subprocess.run(f"git -C {ROOT} archive {BEFORE} | tar -x -C {before}", shell=True, check=True)
        for name, code in (("before", Path(before)), ("after", ROOT)):
            print(f"[{time.strftime('%H:%M:%S')}] {name}", file=sys.stderr, flush=True)
            rows[name] = measure(code, args.minutes, args.tags)
    print(f"| serve, {FEEDS} feeds every minute, all 304, {args.tags} tag pages | CPU s per hour | polls per minute | ratio to before |\n"
          "|---|---|---|---|")
    for name, row in rows.items():
        print(f"| {name} | {row['cpu_per_hour']:.0f} | {row['polls_per_minute']:.0f} "
              f"| {row['cpu_per_hour'] / rows['before']['cpu_per_hour']:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
