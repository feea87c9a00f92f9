"""Load on 127.0.0.1: wrk when installed, else a bounded Python load generator.

wrk (Debian's ``wrk`` package) runs 16 keep-alive connections on 2 threads for
a fixed duration per case, under a subprocess timeout; its requests cycle over
the same paths (a Lua table built per thread, with each path's If-None-Match
for 304s) and ``-H`` adds ``Accept-Encoding: gzip``. waitress closes the
connection after every 304 (it sends no Content-Length there, and closes any
HTTP/1.1 answer without one): the naive server does, so its 304 case also
measures a TCP connect per request; tagfeed keeps the connection
(``tagfeed.serving.hotpath.KeepAliveTask``). Without wrk, 16 keep-alive
``http.client`` threads stop at ``count`` requests or ``seconds``, whichever
comes first -- on 2 cores that client, not the server, is the bottleneck, so
its ratios say little. Either way the report names the generator used, and
only a server this benchmark started on the loopback is ever contacted.
"""

from __future__ import annotations

import http.client
import itertools
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

CONNECTIONS = 16
WRK_THREADS = 2


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


def wrk_version() -> str | None:
    """``wrk``'s version line when it is on PATH, else None (then the Python generator is used)."""
    exe = shutil.which("wrk")
    if exe is None:
        return None
    try:
        proc = subprocess.run([exe, "-v"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    first = (proc.stdout + proc.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0].strip() if first else "wrk"


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wrk_script(requests: list[tuple[str, dict[str, str]]]) -> str:
    """Per thread: every request formatted once in init, then cycled (offset per thread)."""
    rows = []
    for path, headers in requests:
        extra = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items())
        rows.append(f"  {{{_lua_string(path)}, {{{extra}}}}},")
    return ("local specs = {\n" + "\n".join(rows) + "\n}\n"
            "local reqs, i = {}, 0\n"
            "local counter = 0\n"
            "function setup(thread) thread:set(\"offset\", counter); counter = counter + 1 end\n"
            "function init(args)\n"
            "  for n, spec in ipairs(specs) do reqs[n] = wrk.format(\"GET\", spec[1], spec[2]) end\n"
            "  i = (offset or 0) * 37\n"
            "end\n"
            "function request()\n"
            "  i = i % #reqs + 1\n"
            "  return reqs[i]\n"
            "end\n")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", value.strip())
    if not match:
        raise ValueError(f"unparsable wrk latency {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(text: str) -> dict[str, Any]:
    """Requests/sec, the ``--latency`` percentiles (ms), request and error counts of wrk's output."""
    rps = re.search(r"^Requests/sec:\s*([0-9.]+)", text, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in ([0-9.]+\w+)", text, re.MULTILINE)
    if not rps or not total:
        raise ValueError("wrk output without Requests/sec:\n" + text[-2000:])
    percentiles = {int(p): _ms(v) for p, v in re.findall(r"^\s*(50|75|90|99)%\s+(\S+)\s*$", text, re.MULTILINE)}
    non_2xx_3xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return {"requests": int(total.group(1)), "rps": float(rps.group(1)),
            "p50_ms": percentiles.get(50, 0.0), "p75_ms": percentiles.get(75, 0.0),
            "p90_ms": percentiles.get(90, 0.0), "p99_ms": percentiles.get(99, 0.0),
            "non_2xx_3xx": int(non_2xx_3xx.group(1)) if non_2xx_3xx else 0,
            "socket_errors": sum(map(int, errors.groups())) if errors else 0}


def wrk_load(port: int, requests: list[tuple[str, dict[str, str]]], seconds: int,
             headers: dict[str, str] | None = None) -> dict[str, Any]:
    """One fixed-duration wrk run (16 connections, 2 threads) against 127.0.0.1:port."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="tagfeed-wrk-", delete=False) as script:
        script.write(_wrk_script(requests))
    try:
        command = ["wrk", "-t", str(WRK_THREADS), "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--timeout", "5s",
                   "--latency", "-s", script.name]
        for name, value in (headers or {}).items():
            command += ["-H", f"{name}: {value}"]
        command.append(f"http://127.0.0.1:{port}/")
        proc = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=False)
    finally:
        os.unlink(script.name)
    if proc.returncode:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr[-2000:]}")
    result = parse_wrk(proc.stdout)
    result["seconds"] = seconds
    return result


def status_of(port: int, request: tuple[str, dict[str, str]], headers: dict[str, str] | None = None) -> int:
    """The status one request of a scenario gets (wrk reports only non-2xx/3xx counts)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", request[0], headers={**request[1], **(headers or {})})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


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
    version = wrk_version()
    results: dict[str, Any] = {"connections": CONNECTIONS, "cpus": os.cpu_count()}
    if version is not None:
        seconds = 1 if quick else 5
        results.update(generator="wrk", generator_detail=f"{version}: {CONNECTIONS} connections, "
                       f"{WRK_THREADS} threads, {seconds} s per case, --latency", seconds=seconds,
                       threads=WRK_THREADS)
    else:
        count, seconds_f = (400, 3.0) if quick else (6000, 10.0)
        results.update(generator="python", generator_detail=f"http.client: {CONNECTIONS} keep-alive threads, "
                       f"at most {count} requests or {seconds_f:g} s per case", count=count, seconds=seconds_f)
    for kind in ("tagfeed", "tagfeed-metrics", "naive"):
        proc, port = start(kind, output)
        try:
            runs = scenarios(port, paths)
            if version is not None:
                wrk_load(port, runs["200"], 1)  # warm caches and connections
                results[kind] = {}
                for name, reqs in runs.items():
                    # gzip goes on the command line (-H); 304s need each path's own ETag, so those are in Lua
                    extra = {"Accept-Encoding": "gzip"} if name == "gzip" else {}
                    plain = [(p, {k: v for k, v in h.items() if k not in extra}) for p, h in reqs]
                    run = wrk_load(port, plain, seconds, extra)
                    run["status"] = status_of(port, plain[0], extra)
                    results[kind][name] = run
            else:
                load(port, runs["200"], 200, 2.0)  # warm caches and connections
                results[kind] = {name: load(port, reqs, count, seconds_f) for name, reqs in runs.items()}
        finally:
            stop(proc)
    return results
