"""``python -m benchmarks.keepalive``: 304s per second over keep-alive connections, tagfeed against nginx and send_file.

One tree (``benchmarks.synth``, 100 tag pages, built by ``tagfeed build``),
served on 127.0.0.1 in turn by ``tagfeed serve``'s server, by nginx (when
the Debian package is installed: one worker process, ``etag on``,
``gzip_static on``, access log on as tagfeed's is, from a temp config), and
by a naive Flask ``send_file`` app under waitress (``benchmarks.servers``).
The load is ``benchmarks.serving``'s: wrk when installed (16 keep-alive
connections), else its bounded Python clients; each request is
conditional on the file's own ETag. Whether a server keeps the connection
open after a 304 is checked on one real socket and printed beside its
figures. Ratios are against nginx and send_file measured in the same run.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import serving, synth

TAGS = 100


def nginx_conf(tmp: Path, output: Path, port: int) -> Path:
    user = "user root;\n" if os.geteuid() == 0 else ""  # else its workers (nobody) cannot read a 0700 temp dir
    temps = "".join(f"{kind}_temp_path {tmp}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    path = tmp / "nginx.conf"
    path.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n{temps}access_log {tmp}/access.log;\n"
        "types { application/atom+xml atom; application/rss+xml rss; application/feed+json json; text/html html; }\n"
        "default_type application/octet-stream;\nsendfile on;\nkeepalive_requests 1000000;\nkeepalive_timeout 60;\n"
        f"etag on;\ngzip_static on;\nserver {{ listen 127.0.0.1:{port}; root {output}; }}\n}}\n", encoding="utf-8")
    return path


def start_nginx(tmp: Path, output: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = serving.free_port()
    proc = subprocess.Popen([shutil.which("nginx") or "nginx", "-c", str(nginx_conf(tmp, output, port)), "-p", str(tmp)],
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "stderr.log", "wb"))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            serving.status_of(port, ("/all.atom", {}))
            return proc, port
        except OSError:
            time.sleep(0.1)
    serving.stop(proc)
    raise SystemExit(f"nginx did not start: {(tmp / 'error.log').read_text()[-2000:]}")


def keeps_alive(port: int, path: str, etag: str) -> bool:
    """Does the connection stay open after a 304 (``http.client`` drops its socket on close)?"""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"If-None-Match": etag})
        response = conn.getresponse()
        response.read()
        return response.status == 304 and conn.sock is not None
    finally:
        conn.close()


def run(port: int, paths: list[str], seconds: int) -> dict[str, Any]:
    runs = serving.scenarios(port, paths)
    path, headers = runs["304"][0]
    out: dict[str, Any] = {"keepalive": keeps_alive(port, path, headers["If-None-Match"])}
    for name in ("304", "200"):
        if serving.wrk_version() is not None:
            out[name] = serving.wrk_load(port, runs[name], seconds)
        else:
            out[name] = serving.load(port, runs[name], 10**9, float(seconds))
        out[name]["status"] = serving.status_of(port, runs[name][0])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.keepalive", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="load per case")
    args = parser.parse_args(argv)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="tagfeed-keepalive-") as work:
        root = Path(work) / "site"
        config = synth.write_site(root, TAGS)
        subprocess.run([sys.executable, "-m", "tagfeed", "build", "--config", str(config)], cwd=root, check=True,
                       capture_output=True)
        output = root / "output"
        paths = ["/all.atom"] + [f"/tags/{p.name}" for p in sorted((output / "tags").glob("*.atom"))[:TAGS]]
        for kind in ("tagfeed", "nginx", "naive"):
            if kind == "nginx" and shutil.which("nginx") is None:
                print("nginx is not installed (Debian package nginx): no nginx row", file=sys.stderr)
                continue
            print(f"[{time.strftime('%H:%M:%S')}] {kind}", file=sys.stderr, flush=True)
            proc, port = start_nginx(Path(work), output) if kind == "nginx" else serving.start(kind, output)
            try:
                serving.load(port, [(p, {}) for p in paths], 200, 2.0)  # warm up
                results[kind] = run(port, paths, args.seconds)
            finally:
                serving.stop(proc)
    generator = serving.wrk_version() or "python http.client threads"
    print(f"load: {generator}, {serving.CONNECTIONS} keep-alive connections, {args.seconds} s per case, "
          f"{len(paths)} paths, {os.cpu_count()} CPUs\n")
    print("| server | keeps alive after 304 | status | 304 req/s | 304 p99 ms | 200 req/s | 304 vs tagfeed |\n"
          "|---|---|---|---|---|---|---|")
    base = results["tagfeed"]["304"]["rps"]
    for kind, r in results.items():
        print(f"| {kind} | {'yes' if r['keepalive'] else 'no'} | {r['304']['status']} | {r['304']['rps']:.0f} | {r['304']['p99_ms']:.1f} "
              f"| {r['200']['rps']:.0f} | {r['304']['rps'] / base:.2f}x |")
    for other in ("nginx", "naive"):
        if other in results:
            print(f"tagfeed / {other}, 304 req/s: {base / results[other]['304']['rps']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
