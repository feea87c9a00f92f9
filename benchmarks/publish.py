"""``python -m benchmarks.publish [--tags N] [--quick]``: build + publish to a directory and to S3.

Issue #8's check: the same synthetic site (benchmarks/synth.py, kind-A dumps,
every article on two tag pages) is built and published twice, to a local
directory and to ``s3://bench/site`` on a moto S3 server (server mode, a
subprocess on 127.0.0.1, stopped at the end), each step in a fresh interpreter:
cold, no-op rebuild, one dump changed. Prints seconds and the S3/local ratio of
each step, objects and bytes written; writes JSON and markdown to
benchmarks/results/publish-<mode>.{json,md}. ``--quick`` is a small smoke run:
no timing is asserted anywhere.

moto keeps every object in RAM and runs on the same cores as the build, so the
S3 figures include the server's CPU time; a remote store adds network latency
instead. The default site has 10 articles a page (not 50 as in
``python -m benchmarks``) so 10,000 tags stay near 200,000 objects.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks import synth
from benchmarks.s3server import AWS_ENV, moto_server, s3_client

HERE = Path(__file__).resolve().parent
T0 = datetime(2024, 1, 1, tzinfo=UTC)
BUCKET, PREFIX = "bench", "site"
CONFIGS = {"local": "tagfeed.toml", "s3": "s3.toml"}  # the order each step runs them in
STEPS = (("cold", "cold build + publish"), ("noop", "no-op rebuild"), ("change", "one dump changed"))


# --- in the child: one build, timed ---------------------------------------------------------------

def child_build(root: Path, target: str, hours: int) -> dict[str, Any]:
    """Build ``target``'s config at ``T0 + hours``; only ``build()`` is timed (it publishes too).

    Bytes written are looked up in the local tree, which the parent builds from
    the same dumps at the same time just before the S3 step, so it holds the
    same bytes under the same paths (the parent checks the totals after the cold step).
    """
    from tagfeed.config import load_config
    from tagfeed.building.pipeline import build

    config = load_config(root / CONFIGS[target], environ={})
    t = time.perf_counter()
    report = build(config, now=T0 + timedelta(hours=hours))
    seconds = time.perf_counter() - t
    if report.errors:
        raise SystemExit(f"{target} build failed: {report.errors[:3]}")
    output = root / "output"
    return {"seconds": seconds, "written": len(report.written), "unchanged": report.unchanged,
            "bytes": sum((output / rel).stat().st_size for rel in report.written),
            "articles": report.articles_total,
            "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_main(argv: list[str]) -> None:
    root, target, hours = argv
    print(json.dumps(child_build(Path(root), target, int(hours))))


# --- in the parent --------------------------------------------------------------------------------

def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def child(root: Path, target: str, hours: int) -> dict[str, Any]:
    """One build in a fresh interpreter, so neither target inherits the other's caches or memory."""
    proc = subprocess.run([sys.executable, "-m", "benchmarks.publish", "--child", str(root), target, str(hours)],
                          cwd=HERE.parent, capture_output=True, text=True, check=False,
                          env={**os.environ, **AWS_ENV})
    if proc.returncode:
        raise SystemExit(f"{target} build (hour {hours}) failed:\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def bucket_totals(endpoint: str) -> tuple[int, int]:
    """(objects, bytes) under the prefix, by listing: what a reader of the bucket would find.

    Large pages: moto sorts the whole bucket for every page (AWS stops at 1,000 a page anyway).
    """
    client = s3_client(endpoint)
    objects = size = 0
    try:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX + "/",
                                                                   PaginationConfig={"PageSize": 50_000})
        for page in pages:
            for item in page.get("Contents", []):
                objects += 1
                size += item["Size"]
    finally:
        client.close()
    return objects, size


def tree_totals(root: Path) -> tuple[int, int]:
    """(files, bytes) of the local output tree, ``.gz`` twins included."""
    files = size = 0
    for directory, _, names in os.walk(root):
        for name in names:
            files += 1
            size += os.stat(os.path.join(directory, name)).st_size
    return files, size


def write_site(root: Path, tags: int, per_page: int, endpoint: str) -> None:
    """The dumps, ``tagfeed.toml`` (output/, state/) and ``s3.toml`` (the bucket, state-s3/)."""
    local = synth.write_site(root, tags, per_page=per_page).read_text(encoding="utf-8")
    remote = local.replace('output_dir = "output"',
                           f'output_dir = "s3://{BUCKET}/{PREFIX}"\ns3_endpoint_url = "{endpoint}"')
    (root / "s3.toml").write_text(remote.replace('state_dir = "state"', 'state_dir = "state-s3"'), encoding="utf-8")


def measure(work: Path, tags: int, per_page: int) -> dict[str, Any]:
    """Every step for both targets, local first; the moto server lives only as long as this call."""
    root = work / "site"
    result: dict[str, Any] = {"steps": {}}
    with moto_server(work) as moto:
        say(f"moto S3 server at {moto.url}; generating {tags} tag pages of {per_page} articles in {root}")
        write_site(root, tags, per_page, moto.url)
        client = s3_client(moto.url)
        client.create_bucket(Bucket=BUCKET)
        client.close()
        for step, (name, what) in enumerate(STEPS):
            if name == "change":
                synth.change_one_dump(root, tags, per_page=per_page)
            result["steps"][name] = {}
            for target in CONFIGS:
                say(f"{what}: {target}")
                result["steps"][name][target] = child(root, target, step)
                say(f"  {result['steps'][name][target]['seconds']:.2f} s, "
                    f"{result['steps'][name][target]['written']} written")
            if name == "cold":
                say("listing the bucket")
                result["local_tree"] = dict(zip(("files", "bytes"), tree_totals(root / "output")))
                result["bucket"] = dict(zip(("objects", "bytes"), bucket_totals(moto.url)))
        result["moto_peak_rss_mib"] = moto.peak_rss_mib()
    result["articles"] = result["steps"]["cold"]["local"]["articles"]
    return result


def _div(a: float, b: float) -> float | None:
    return a / b if b else None


def rows(r: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per step: seconds for each target, the ratio S3/local and what each wrote."""
    out = []
    for name, what in STEPS:
        local, s3 = r["steps"][name]["local"], r["steps"][name]["s3"]
        out.append({"step": what, "local_s": local["seconds"], "s3_s": s3["seconds"],
                    "ratio": _div(s3["seconds"], local["seconds"]),
                    "local_written": local["written"], "s3_uploaded": s3["written"],
                    "local_bytes": local["bytes"], "s3_bytes": s3["bytes"]})
    return out


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def table(table_rows: list[dict[str, Any]]) -> str:
    lines = ["| step | local s | S3 s | S3 / local | files written (local) | objects uploaded (S3) | bytes (S3) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for row in table_rows:
        ratio = "n/a" if row["ratio"] is None else f"{row['ratio']:.2f}"
        lines.append(f"| {row['step']} | {row['local_s']:.2f} | {row['s3_s']:.2f} | {ratio} | "
                     f"{row['local_written']} | {row['s3_uploaded']} | {_mb(row['s3_bytes'])} |")
    return "\n".join(lines)


def details(r: dict[str, Any]) -> str:
    """The site, the trees and the machine behind the table, for the record."""
    cold = r["steps"]["cold"]
    moto_rss = r["moto_peak_rss_mib"]
    s3_rate = cold["s3"]["written"] / cold["s3"]["seconds"] if cold["s3"]["seconds"] else 0.0
    site = (f"- site: {r['tags']} tag pages (kind-A dumps, benchmarks/synth.py), {r['per_page']} articles a page, "
            f"every article on 2 pages: {r['articles']} articles")
    trees = (f"- local tree after the cold build: {r['local_tree']['files']} files, {_mb(r['local_tree']['bytes'])}; "
             f"bucket: {r['bucket']['objects']} objects, {_mb(r['bucket']['bytes'])} "
             f"({'the same' if r['trees_match'] else 'NOT the same'} totals)")
    memory = (f"- peak RSS: local build {cold['local']['maxrss_mib']:.0f} MiB, "
              f"S3 build {cold['s3']['maxrss_mib']:.0f} MiB, "
              f"moto server {'n/a' if moto_rss is None else f'{moto_rss:.0f} MiB'}")
    server = (f"- S3 server: moto {r['versions']['moto']} in server mode on 127.0.0.1, on the same {r['cpus']} CPUs "
              f"(its CPU time counts against S3; no network latency); boto3 {r['versions']['boto3']}; "
              f"Python {r['python']}")
    rate = f"- cold S3 publish: {s3_rate:.0f} objects/s including the build"
    code = f"- code: {r.get('code') or 'not a git checkout'}; wall time {r['wall_s']:.0f} s"
    return f"{site}\n{trees}\n{rate}\n{memory}\n{server}\n{code}"


def code_version() -> str | None:
    """The commit measured, ``+changes`` when tracked files differ from it: a long run's figures
    only compare with another run of the same code."""
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True, text=True, check=False)

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    except OSError:
        return None
    return head.stdout.strip() + (" +changes" if dirty else "") if head.returncode == 0 else None


def save(r: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"publish-{r['mode']}.json", out / f"publish-{r['mode']}.md"]
    paths[0].write_text(json.dumps(r, indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(f"# tagfeed publish benchmark ({r['mode']}): local directory vs S3\n\n"
                        f"{table(r['rows'])}\n\n{details(r)}\n", encoding="utf-8")
    return paths


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.publish", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small site (CI smoke test)")
    parser.add_argument("--tags", type=int, help="tag pages (default 10000, 20 with --quick)")
    parser.add_argument("--per-page", type=int, default=10, help="articles a tag page, even (default 10)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="where results go")
    args = parser.parse_args(argv)
    tags = args.tags or (20 if args.quick else 10_000)
    if args.per_page < 2 or args.per_page % 2:
        parser.error("--per-page must be an even number >= 2 (every article is on two pages)")
    work = Path(tempfile.mkdtemp(prefix="tagfeed-publish-bench-"))
    started = time.perf_counter()
    try:
        result: dict[str, Any] = {"mode": "quick" if args.quick else "full", "tags": tags, "per_page": args.per_page,
                                  "cpus": os.cpu_count(), "python": sys.version.split()[0],
                                  "versions": {name: version(name) for name in ("moto", "boto3")},
                                  "code": code_version()}
        result.update(measure(work, tags, args.per_page))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["wall_s"] = time.perf_counter() - started
    result["trees_match"] = (result["local_tree"]["files"], result["local_tree"]["bytes"]) == (
        result["bucket"]["objects"], result["bucket"]["bytes"])
    result["rows"] = rows(result)
    paths = save(result, args.out)
    print(table(result["rows"]))
    print()
    print(details(result))
    print("\nwrote " + ", ".join(str(p) for p in paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
