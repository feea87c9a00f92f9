"""The writer: atomic, only when changed, .gz twins, nothing outside the output dir."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from tagfeed.errors import OutputError
from feeds.write import gzip_bytes, sweep_temp_files, write_tree

FILES = [("all.atom", b"<feed/>"), ("tags/putin.html", b"<!doctype html>"), ("data.bin", b"\x00\x01")]


def _all_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_first_write_then_nothing_to_do(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = write_tree(out, FILES)
    assert first.written == ("all.atom", "all.atom.gz", "tags/putin.html", "tags/putin.html.gz", "data.bin")
    assert first.unchanged == 0
    assert _all_files(out) == set(first.written)  # no temp files, no .gz for binary files
    assert (out / "tags" / "putin.html").read_bytes() == b"<!doctype html>"
    assert oct((out / "all.atom").stat().st_mode & 0o777) == oct(0o644)
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    second = write_tree(out, FILES)
    assert second.written == () and second.unchanged == 5
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes


def test_only_changed_files_are_rewritten(tmp_path: Path) -> None:
    write_tree(tmp_path, FILES)
    report = write_tree(tmp_path, [("all.atom", b"<feed>new</feed>"), *FILES[1:]])
    assert report.written == ("all.atom", "all.atom.gz") and report.unchanged == 3
    assert gzip.decompress((tmp_path / "all.atom.gz").read_bytes()) == b"<feed>new</feed>"


def test_gz_twin_is_deterministic_and_restored(tmp_path: Path) -> None:
    write_tree(tmp_path, FILES)
    twin = (tmp_path / "all.atom.gz").read_bytes()
    assert twin == gzip_bytes(b"<feed/>") and gzip.decompress(twin) == b"<feed/>"
    assert twin[4:8] == b"\x00\x00\x00\x00"  # mtime 0
    assert not twin[3] & 0x08  # FNAME flag: no file name in the header
    (tmp_path / "all.atom.gz").unlink()
    assert write_tree(tmp_path, FILES).written == ("all.atom.gz",)


def test_nothing_is_ever_deleted(tmp_path: Path) -> None:
    write_tree(tmp_path, FILES)
    write_tree(tmp_path, FILES[:1])
    assert (tmp_path / "data.bin").exists() and (tmp_path / "tags" / "putin.html.gz").exists()


@pytest.mark.parametrize("path", ["../evil.html", "/etc/passwd", "tags/../../x.html", "a//b.html",
                                  "./a.html", "tags\\x.html", "", "tags/"])
def test_paths_outside_are_refused(tmp_path: Path, path: str) -> None:
    out = tmp_path / "out"
    with pytest.raises(OutputError):
        write_tree(out, [(path, b"x")])
    assert _all_files(tmp_path) == set()


def test_symlinked_directory_escape_is_refused(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "tags").symlink_to(elsewhere)
    with pytest.raises(OutputError, match="outside"):
        write_tree(out, [("tags/putin.atom", b"x")])
    assert list(elsewhere.iterdir()) == []


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, FILES)

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_tree(tmp_path, [("all.atom", b"<feed>half</feed>")])
    assert (tmp_path / "all.atom").read_bytes() == b"<feed/>"
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_sweep_removes_only_our_temp_files(tmp_path: Path) -> None:
    (tmp_path / "tags").mkdir()
    stale = tmp_path / "tags" / ".putin.atom.ab_12XyZ.tmp"
    stale.write_bytes(b"half")
    mine_not = [tmp_path / ".keep.tmp", tmp_path / ".well-known", tmp_path / "notes.tmp"]
    for path in mine_not:
        path.write_bytes(b"x")
    assert sweep_temp_files(tmp_path) == ("tags/.putin.atom.ab_12XyZ.tmp",)
    assert not stale.exists() and all(p.exists() for p in mine_not)
    assert sweep_temp_files(tmp_path / "missing") == ()
