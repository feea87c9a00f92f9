"""``python -m benchmarks.polling``: workers' fetches per second against the politeness limit, and their lag.

Real parts only: PostgreSQL (``benchmarks.pgserver``), ``tagfeed work``
subprocesses, and 8 upstream hosts (``benchmarks.upstreams``: 127.0.0.1-8,
one HTTP server each) with ``host_gap = 1``, so at most 8 fetches a second
are allowed in all. Two loads, each on a fresh database:

- saturated: 80 feeds due every 4 s (20 a second wanted): fetches per
  second from one period after the first fetch until the workers are
  stopped, against the limit (hosts / host_gap; a little above what is
  reachable, since the gap runs from the end of one request);
- scheduled: 40 feeds due every 6 s (6.7 a second, the issue's load): the
  lag between a feed falling due and its fetch. A feed falls due ``every``
  after its previous poll's clock reading, taken just before that request,
  so lag = start of a fetch - (start of the one before + every), from the
  upstream's timestamps; the first round (all due at once) is left out.

Both with 1, 2 and 4 workers of this tree, and 2 workers of the code before
the change (``BEFORE``, unpacked with ``git archive``), in the same run. The
smallest spacing seen between two requests to one host is printed too (it
must stay >= host_gap). Prints a table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.pgserver import database, postgres
from benchmarks.upstreams import Upstreams, gaps, upstreams

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "d1e72d9"  # the commit before issue 16.6: one feed after another per worker, builds in the loop
HOSTS, HOST_GAP = 8, 1.0


@dataclass(frozen=True)
class Load:
    feeds: int
    every: int  # seconds
    seconds: float  # how long the workers run


@dataclass(frozen=True)
class Run:
    starts: dict[tuple[int, int], list[float]]  # (host, feed) -> request starts (wall clock)
    min_gap: float  # the closest two requests to one host came, end to start
    stopped: float  # when the workers were told to stop


def write_config(root: Path, pg_url: str, up: Upstreams, load: Load) -> Path:
    sources = "".join(f'\n[[sources]]\ntype = "feed"\nurl = "{url}"\ntags = ["Feed {n}"]\nevery = "{load.every}s"\n'
                      for _, n, url in up.urls(load.feeds))
    path = root / "tagfeed.toml"
    path.write_text(f'[site]\ntitle = "bench"\noutput_dir = "output"\nstate_dir = "state"\nstore = "{pg_url}"\n'
                    f'host_gap = {HOST_GAP:.0f}\nmax_items = 50\n\n[schedule]\nbuild_every = "5s"\n{sources}',
                    encoding="utf-8")
    return path


def run_workers(code: Path, server: str, workers: int, load: Load, new_cli: bool) -> Run:
    """Start ``workers`` processes of the tree at ``code``, let them poll, stop them; the request starts."""
    with upstreams(HOSTS) as up, tempfile.TemporaryDirectory(prefix="tagfeed-polling-") as tmp:
        config = write_config(Path(tmp), database(server), up, load)
        env = {**os.environ, "PYTHONPATH": str(code)}
        extra = ["--fetchers", "4"] if new_cli else []
        procs = [subprocess.Popen([sys.executable, "-m", "tagfeed", "work", "--config", str(config),
                                   "--name", f"w{n}", "--tick", "0.2", "--lease", "60", *extra],
                                  cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=open(Path(tmp) / f"w{n}.log", "wb"))
                 for n in range(workers)]
        try:
            time.sleep(load.seconds)
        finally:
            stopped = time.time()
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        by_host = up.by_host()
        served = up.served()
    min_gap = min((g for times in by_host.values() for g in gaps(times)), default=float("inf"))
    return Run({key: [start for start, _ in times] for key, times in served.items()}, min_gap, stopped)


def saturated(run: Run, load: Load) -> float:
    """Fetches per second in the window from one period after the first fetch to the workers' stop:
    a fixed window, so bursts and window edges count as they fall (unbiased for any phase)."""
    every = [t for times in run.starts.values() for t in times]
    begin = min(every) + load.every
    return sum(begin <= t < run.stopped for t in every) / (run.stopped - begin)


def lags(run: Run, load: Load) -> list[float]:
    return [b - (a + load.every) for times in run.starts.values() for a, b in zip(times, times[1:])]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def measure(quick: bool) -> list[dict[str, Any]]:
    scale = 0.5 if quick else 1.0
    full, on_time = Load(80, 4, 24 * scale), Load(40, 6, 36 * scale)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tagfeed-before-") as before, postgres() as server:
        subprocess.run(f"git -C {ROOT} archive {BEFORE} | tar -x -C {before}", shell=True, check=True)
        cases = [("before", Path(before), 2, False)] + [("after", ROOT, n, True) for n in (1, 2, 4)]
        for code, path, workers, new_cli in cases:
            print(f"[{time.strftime('%H:%M:%S')}] {code}, {workers} worker(s)", file=sys.stderr, flush=True)
            a = run_workers(path, server, workers, full, new_cli)
            b = run_workers(path, server, workers, on_time, new_cli)
            lag = lags(b, on_time)
            rows.append({"code": code, "workers": workers, "rate": saturated(a, full),
                         "limit": HOSTS / HOST_GAP, "lag_p50": pct(lag, 0.5), "lag_p99": pct(lag, 0.99),
                         "lag_max": max(lag, default=float("nan")), "fetches": len(lag),
                         "min_gap": min(a.min_gap, b.min_gap)})
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| code | workers | fetches/s (80 feeds every 4 s) | of the limit (8/s) | lag p50 | lag p99 | lag max "
            "| fetches (40 every 6 s) | closest two requests to a host |\n|---|---|---|---|---|---|---|---|---|\n")
    return head + "".join(
        f"| {r['code']} | {r['workers']} | {r['rate']:.2f} | {r['rate'] / r['limit']:.0%} | {r['lag_p50']:.2f} s "
        f"| {r['lag_p99']:.2f} s | {r['lag_max']:.2f} s | {r['fetches']} | {r['min_gap']:.3f} s |\n" for r in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.polling", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="half as long")
    args = parser.parse_args(argv)
    rows = measure(args.quick)
    print(table(rows))
    after = {r["workers"]: r["rate"] for r in rows if r["code"] == "after"}
    before = next(r["rate"] for r in rows if r["code"] == "before")
    print(f"2 workers, after / before: {after[2] / before:.2f}x fetches per second")
    print(f"median: {statistics.median(after.values()):.2f} fetches/s of {HOSTS / HOST_GAP:.0f} allowed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
