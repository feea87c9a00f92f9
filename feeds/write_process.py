"""``feeds.write`` in a process of its own, for big writes: rendering keeps the build's GIL busy.

A build renders on its main thread while ``write_tree``'s threads gzip, write and
rename; in one process every system call of theirs gives the GIL up and waits to
take it back from the renderer, so at 1,000 tags the two took as long side by side
as one after the other. Here the parent renders and streams each file down a pipe
to ``python -m feeds.write_process``, which runs the very same ``write_tree`` (same
temp files, batched syncs, renames and directory fsyncs) with no renderer beside
it, and answers with the ``WriteReport``.

Only for writes of ``APART_FROM`` files or more (a cold build, a site-wide change),
and only on Linux, where the child asks to be killed with its parent
(``PR_SET_PDEATHSIG``): a killed build never leaves a writer behind that could
rename files under the next build. Smaller writes, and everything elsewhere, stay
in-process: a child costs ~50 ms to start.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import json
import os
import signal
import struct
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Final

from feeds.write import WriteReport, write_tree
from tagfeed.errors import OutputError

APART_FROM: Final = 512
_HEADER = struct.Struct("<II")  # len(path), len(data); the path (UTF-8) and the data follow
_END: Final = 0xFFFFFFFF  # as len(path): every file was sent
_PR_SET_PDEATHSIG: Final = 1
# The directory that holds the feeds package, so the child imports this very code.
_CODE_ROOT: Final = str(Path(__file__).resolve().parent.parent)


def write_tree_apart(output_dir: Path | str, files: Iterable[tuple[str, bytes]], *,
                     apart_from: int = APART_FROM) -> WriteReport:
    """``write_tree``, in a child process when there are at least ``apart_from`` files."""
    stream = iter(files)
    head = list(itertools.islice(stream, apart_from))
    if len(head) < apart_from or not sys.platform.startswith("linux"):
        return write_tree(output_dir, itertools.chain(head, stream))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_CODE_ROOT, os.environ.get("PYTHONPATH")]))}
    try:
        child = subprocess.Popen([sys.executable, "-m", "feeds.write_process", os.fspath(output_dir),
                                  str(os.getpid())], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    except OSError:  # no interpreter to start (an embedded Python): write here
        return write_tree(output_dir, itertools.chain(head, stream))
    failed: BaseException | None = None
    with child:
        assert child.stdin is not None and child.stdout is not None
        try:
            for rel, data in itertools.chain(head, stream):
                path = rel.encode("utf-8", "surrogateescape")
                child.stdin.write(_HEADER.pack(len(path), len(data)) + path)
                child.stdin.write(data)
        except BrokenPipeError:  # the child is gone: its answer (or its exit code) says why
            pass
        except BaseException as exc:  # what was sent is still put in place, then this is raised
            failed = exc
        with contextlib.suppress(BrokenPipeError):
            child.stdin.write(_HEADER.pack(_END, 0))
            child.stdin.close()
        answer = child.stdout.read()
    code = child.returncode
    if failed is not None:
        with contextlib.suppress(OutputError):  # the first failure is the one raised
            _report(answer, code, output_dir)
        raise failed
    return _report(answer, code, output_dir)


def _report(answer: bytes, code: int, output_dir: Path | str) -> WriteReport:
    try:
        result: dict[str, Any] = json.loads(answer)
    except ValueError:
        raise OutputError(os.fspath(output_dir), f"the writer process ended with exit code {code} "
                                                 "and no answer") from None
    if "error" in result:
        raise OutputError(result["error"]["path"], result["error"]["reason"])
    return WriteReport(written=tuple(result["written"]), unchanged=result["unchanged"])


def _received(stream: IO[bytes]) -> Iterator[tuple[str, bytes]]:
    """The files the parent sends; an end of input before the end mark is an error (the
    parent failed to send), so the files received are put in place and nothing else."""
    while True:
        header = stream.read(_HEADER.size)
        if len(header) < _HEADER.size:
            raise OutputError("-", "the build stopped sending files")
        size, length = _HEADER.unpack(header)
        if size == _END:
            return
        raw, data = stream.read(size), stream.read(length)
        if len(raw) < size or len(data) < length:
            raise OutputError("-", "the build stopped sending files")
        yield raw.decode("utf-8", "surrogateescape"), data


def _die_with(parent: int) -> None:
    """Be killed when the parent dies (Linux), and leave now if it is already gone."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def main(argv: list[str]) -> int:
    output_dir, parent = argv
    _die_with(int(parent))
    out = sys.stdout
    sys.stdout = sys.stderr  # the answer is the only thing on stdout
    try:
        report = write_tree(output_dir, _received(sys.stdin.buffer))
        answer: dict[str, Any] = {"written": list(report.written), "unchanged": report.unchanged}
    except OutputError as exc:
        answer = {"error": {"path": exc.path, "reason": exc.reason}}
    except OSError as exc:
        answer = {"error": {"path": exc.filename or output_dir, "reason": exc.strerror or str(exc)}}
    out.write(json.dumps(answer))
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
