"""A bounded load generator on 127.0.0.1: 16 keep-alive ``http.client`` threads.

Every run stops at ``count`` requests or ``seconds``, whichever comes first,
and only ever talks to a server this benchmark started on the loopback.
"""

from __future__ import annotations

import http.client
import itertools
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

CONNECTIONS = 16


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(kind: str, output: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.servers", kind, str(output), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=Path(__file__).resolve().parent.parent)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/all.atom")
            conn.getresponse().read()
            conn.close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{kind} server did not start on port {port}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def etags(port: int, paths: list[str], headers: dict[str, str]) -> dict[str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    found = {}
    for path in paths:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        found[path] = response.getheader("ETag") or ""
    conn.close()
    return found


def load(port: int, requests: list[tuple[str, dict[str, str]]], count: int, seconds: float) -> dict[str, Any]:
    """Requests per second, p50/p99 latency (ms) and status counts of one bounded run."""
    cycle = itertools.cycle(requests)
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    issued = 0
    deadline = time.monotonic() + seconds

    def worker() -> None:
        nonlocal issued
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        codes: dict[int, int] = {}
        while time.monotonic() < deadline:
            with lock:
                if issued >= count:
                    break
                issued += 1
                path, headers = next(cycle)
            t = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - t)
            codes[response.status] = codes.get(response.status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for code, n in codes.items():
                statuses[code] = statuses.get(code, 0) + n

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - t0
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0
    return {"requests": len(latencies), "rps": len(latencies) / elapsed, "p50_ms": pick(0.50),
            "p99_ms": pick(0.99), "statuses": {str(k): v for k, v in sorted(statuses.items())}}


def scenarios(port: int, paths: list[str]) -> dict[str, list[tuple[str, dict[str, str]]]]:
    plain = etags(port, paths, {})
    return {
        "200": [(p, {}) for p in paths],
        "304": [(p, {"If-None-Match": plain[p]}) for p in paths],
        "gzip": [(p, {"Accept-Encoding": "gzip"}) for p in paths],
    }


def bench_servers(output: Path, quick: bool) -> dict[str, Any]:
    """Each server in turn, each scenario in turn, on the same files and budget."""
    tags = sorted(p.name for p in (output / "tags").glob("*.atom"))[:100]
    paths = ["/all.atom"] + [f"/tags/{name}" for name in tags]
    count, seconds = (400, 3.0) if quick else (6000, 10.0)
    results: dict[str, Any] = {"connections": CONNECTIONS, "count": count, "seconds": seconds,
                               "cpus": os.cpu_count()}
    for kind in ("tagfeed", "naive"):
        proc, port = start(kind, output)
        try:
            runs = scenarios(port, paths)
            load(port, runs["200"], 200, 2.0)  # warm caches and connections
            results[kind] = {name: load(port, reqs, count, seconds) for name, reqs in runs.items()}
        finally:
            stop(proc)
    return results
