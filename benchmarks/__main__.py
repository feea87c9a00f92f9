"""``python -m benchmarks [--quick]``: tagfeed against a streaming baseline, in one run.

Generates a synthetic site (kind-A dumps, 50 articles a page, every article
on two pages), then measures side by side: the baseline, a naive feedgen
renderer, tagfeed's cold / no-op / one-dump-changed builds and rendering, peak
memory, the scaling curve, feed parsing and the server against a naive Flask
``send_file``. Prints ratios; writes JSON, markdown and a PNG to
benchmarks/results/. ``--quick`` is a small smoke run for CI: no assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import report, serving, synth

HERE = Path(__file__).resolve().parent
PAIRS = 3  # cold builds of the main site, each beside a no-fsync baseline run (1 with --quick)


def child(task: str, *args: object) -> dict[str, Any]:
    """One measurement in a fresh interpreter; its last stdout line is JSON. Dirty pages of the step
    before are flushed first (sync), so a step that syncs (tagfeed's batched syncfs) does not pay for
    another step's writes, e.g. the no-fsync baseline's 58,000 files."""
    os.sync()
    proc = subprocess.run([sys.executable, "-m", "benchmarks.child", task, *map(str, args)], cwd=HERE.parent,
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"benchmark step {task} failed:\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def quiet_disk(limit_s: float = 30.0) -> None:
    """Wait (up to ``limit_s``) until the disk is idle: the kernel's I/O pressure over the last
    10 s under 2% (Linux PSI). Writeback and freeing of an earlier step's files otherwise land
    on the next step, whichever it is."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            some = Path("/proc/pressure/io").read_text().split("\n")[0]
        except OSError:
            return
        if float(some.split("avg10=")[1].split()[0]) < 2.0:
            return
        time.sleep(1)


def fresh_site(root: Path, dest: Path) -> Path:
    """A copy of the site's inputs (dumps and config) with no state and no output: a cold build."""
    dest.mkdir(parents=True)
    shutil.copytree(root / "dumps", dest / "dumps")
    shutil.copy2(root / "tagfeed.toml", dest / "tagfeed.toml")
    return dest


def cold_pairs(work: Path, root: Path, tags: int, pairs: int) -> tuple[list[dict[str, Any]], Path]:
    """The no-fsync baseline and tagfeed's cold build in turn, ``pairs`` times, each into a fresh
    directory: the ratio is taken pair by pair, so drift of the machine falls on both alike."""
    runs: list[dict[str, Any]] = []
    site = root
    for n in range(pairs):
        say(f"cold pair {n + 1}/{pairs}: baseline without fsync (temp + rename)")
        quiet_disk()
        nofsync = child("baseline", root, work / f"baseline-nofsync-{tags}-{n}", 0)
        say(f"cold pair {n + 1}/{pairs}: tagfeed build (the CLI process)")
        site = fresh_site(root, work / f"cold-{tags}-{n}")
        quiet_disk()
        cold = child("tagfeed-cli", site)
        runs.append({"baseline_nofsync_s": nofsync["cold_s"], "tagfeed": cold,
                     "ratio": cold["seconds"] / nofsync["cold_s"]})
    return runs, site


def measure_site(work: Path, tags: int, servers: bool, quick: bool) -> dict[str, Any]:
    root = work / f"site-{tags}"
    say(f"generating {tags} tag pages in {root}")
    synth.write_site(root, tags)
    say("baseline (streaming) render + cold write, fsync per file")
    quiet_disk()
    baseline = child("baseline", root, work / f"baseline-{tags}")
    say("naive feedgen renderer")
    naive = child("naive", root)
    runs, site = cold_pairs(work, root, tags, 1 if quick else PAIRS)
    middle = sorted(runs, key=lambda run: run["ratio"])[len(runs) // 2]  # the median pair
    cold = middle["tagfeed"]
    say("tagfeed build no-op")
    quiet_disk()
    noop = child("tagfeed-cli", site)
    synth.change_one_dump(site, tags)
    say("tagfeed build after one dump changed")
    change = child("tagfeed-cli", site)
    say("tagfeed rendering alone")
    render = child("tagfeed-render", site)
    baseline["nofsync_cold_s"] = middle["baseline_nofsync_s"]
    result = {"baseline": baseline, "naive": naive, "cold_pairs": [
                  {"baseline_nofsync_s": run["baseline_nofsync_s"], "tagfeed_s": run["tagfeed"]["seconds"],
                   "ratio": run["ratio"], "tagfeed_maxrss_mib": run["tagfeed"]["cli_maxrss_mib"]} for run in runs],
              "tagfeed": {"cold": cold, "noop": noop, "change": change, "render_s": render["render_s"]}}
    say("feed parsing")
    result["parsing"] = child("feed-parsing", root, 5 if quick else 40)
    if servers:
        say("servers: tagfeed vs naive send_file")
        result["server"] = serving.bench_servers(site / "output", quick)
        if shutil.which("nginx"):
            result["server"]["nginx"] = "installed, not measured by this version of the benchmark"
    return result


def scale_point(work: Path, tags: int) -> dict[str, Any]:
    root = work / f"scale-{tags}"
    say(f"scaling point: {tags} tags")
    synth.write_site(root, tags)
    baseline = child("baseline", root, work / f"scale-baseline-{tags}")
    cold = child("tagfeed-cli", root)
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(work / f"scale-baseline-{tags}", ignore_errors=True)
    return {"tagfeed_s": cold["seconds"], "baseline_s": baseline["cold_s"], "tagfeed_maxrss_mib": cold["cli_maxrss_mib"],
            "articles": cold["articles"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small site, short server runs (CI smoke test)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="where results go")
    parser.add_argument("--tags", type=int, help="size of the main site (default 1000, 40 with --quick)")
    parser.add_argument("--no-server", action="store_true", help="skip the server benchmark")
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling points other than the main site")
    args = parser.parse_args(argv)
    tags = args.tags or (40 if args.quick else 1000)
    sizes = [20, 40] if args.quick else [100, 1000, 10000]
    if args.no_scaling:
        sizes = [tags]
    work = Path(tempfile.mkdtemp(prefix="tagfeed-bench-"))
    started = time.perf_counter()
    try:
        result: dict[str, Any] = {"mode": "quick" if args.quick else "full", "tags": tags, "cpus": os.cpu_count(),
                                  "python": sys.version.split()[0]}
        result.update(measure_site(work, tags, not args.no_server, args.quick))
        result["scaling"] = {}
        for size in sizes:
            if size == tags:
                result["scaling"][str(size)] = {"tagfeed_s": result["tagfeed"]["cold"]["seconds"],
                                                "baseline_s": result["baseline"]["cold_s"],
                                                "tagfeed_maxrss_mib": result["tagfeed"]["cold"]["cli_maxrss_mib"],
                                                "articles": result["tagfeed"]["cold"]["articles"]}
            else:
                result["scaling"][str(size)] = scale_point(work, size)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["wall_s"] = time.perf_counter() - started
    rows = report.ratios(result)
    paths = report.save(result, rows, args.out, result["mode"])
    print(report.table(rows))
    print()
    print(report.raw_table(result))
    print(f"\nwall time {result['wall_s']:.0f} s; wrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
