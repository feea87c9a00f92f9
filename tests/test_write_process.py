"""The writer in a process of its own: the same tree and report as in-process, errors as values
of the same kind, and never a writer left behind by a killed build."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import ROOT, wait_until

import feeds.write_process
from feeds.write import write_tree
from feeds.write_process import write_tree_apart
from tagfeed.errors import OutputError

FILES = [(f"articles/{n}.html", f"<!doctype html><p>{n}</p>".encode()) for n in range(40)] + [
    ("tags/a.atom", b"<feed/>"), ("raw.bin", b"\x00\x01"), ("caf\u00e9/x.json", b"{}")]


def _no_in_process_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("written in this process")

    monkeypatch.setattr(feeds.write_process, "write_tree", refuse)


def test_a_big_write_in_the_child_gives_the_tree_and_report_of_an_in_process_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = write_tree(tmp_path / "here", FILES)
    _no_in_process_writes(monkeypatch)  # so the child did it all
    report = write_tree_apart(tmp_path / "apart", FILES, apart_from=8)
    assert report == expected
    for rel, data in FILES:
        assert (tmp_path / "apart" / rel).read_bytes() == data
        assert (tmp_path / "apart" / rel).read_bytes() == (tmp_path / "here" / rel).read_bytes()
    assert write_tree_apart(tmp_path / "apart", FILES, apart_from=8).written == ()


def test_a_small_write_stays_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_child(*args: object, **kwargs: object) -> None:
        raise AssertionError("a child was started")

    monkeypatch.setattr(subprocess, "Popen", no_child)
    assert len(write_tree_apart(tmp_path, FILES[:5], apart_from=8).written) == 10


def test_without_an_interpreter_to_start_the_write_is_made_here(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    assert write_tree_apart(tmp_path / "out", FILES, apart_from=8) == write_tree(tmp_path / "again", FILES)


def test_an_output_error_in_the_child_names_the_file_and_the_others_are_written(tmp_path: Path) -> None:
    (tmp_path / "tags" / "a.atom").mkdir(parents=True)  # a directory where a file goes
    with pytest.raises(OutputError) as caught:
        write_tree_apart(tmp_path, FILES, apart_from=8)
    assert caught.value.path == "tags/a.atom" and "not a regular file" in caught.value.reason
    assert (tmp_path / "articles" / "39.html").read_bytes() == FILES[39][1]
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_failing_renderer_is_raised_after_the_files_sent_are_in_place(tmp_path: Path) -> None:
    def files() -> Iterator[tuple[str, bytes]]:
        yield from FILES[:20]
        raise ValueError("a renderer bug")

    with pytest.raises(ValueError, match="a renderer bug"):
        write_tree_apart(tmp_path, files(), apart_from=8)
    assert sorted(p.name for p in (tmp_path / "articles").iterdir()) == sorted(
        [f"{n}.html" for n in range(20)] + [f"{n}.html.gz" for n in range(20)])


def test_a_writer_that_dies_is_an_output_error_naming_the_output(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    real_popen = subprocess.Popen

    def dying(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        return real_popen([sys.executable, "-c", "import sys; sys.stdin.buffer.read(100); sys.exit(3)"],
                          **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(subprocess, "Popen", dying)
    with pytest.raises(OutputError) as caught:
        write_tree_apart(tmp_path / "out", FILES, apart_from=8)
    assert caught.value.path == str(tmp_path / "out") and "exit code 3" in caught.value.reason


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(n) for n in (task / "children").read_text().split()}
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the child is used on Linux only")
def test_the_writer_dies_with_a_killed_build_and_renames_nothing(tmp_path: Path) -> None:
    """A build killed while its writer holds staged files: the writer is killed with it (it could
    otherwise rename files under the next build), and no file of the write was put in place."""
    script = textwrap.dedent(f"""
        import sys, time
        from feeds.write_process import write_tree_apart
        def files():
            for n in range(600):
                yield f"a/{{n}}.txt", b"x" * n
            print("sent", flush=True)
            time.sleep(60)
        write_tree_apart({str(tmp_path / "out")!r}, files(), apart_from=512)
    """)
    build = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert build.stdout is not None and build.stdout.readline() == b"sent\n"
        (writer,) = _children(build.pid)
        # most of them (the last few may wait in the pipe's buffer), in the new directory's temp one
        wait_until(lambda: len(list((tmp_path / "out").glob(".a.*.tmp/*.txt"))) >= 500, 10, "the files")
    finally:
        build.kill()
        build.wait(timeout=10)
        if build.stdout is not None:
            build.stdout.close()

    def gone() -> bool:
        try:
            return Path(f"/proc/{writer}/stat").read_text().split(") ")[1][0] in "ZX"
        except FileNotFoundError:
            return True

    wait_until(gone, 10, "the writer process to die with the build")
    time.sleep(0.2)
    assert not (tmp_path / "out" / "a").exists()  # never put in place: the next build sweeps it

