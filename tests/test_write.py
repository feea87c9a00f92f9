"""The writer: atomic, only when changed, .gz twins, nothing outside the output dir."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
from helpers import clean_env, run_tagfeed
from lxml import etree

import feeds.staging
from tagfeed.errors import OutputError
from feeds.write import TEXT_SUFFIXES, gzip_bytes, has_twin, sweep_temp_files, write_tree

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
    stale = [tmp_path / "tags" / ".putin.atom.ab_12XyZ.tmp",  # an older version's mkstemp name
             tmp_path / "tags" / ".putin.atom.4242-17.tmp", tmp_path / ".all.atom.gz.1-0.tmp"]
    for path in stale:
        path.write_bytes(b"half")
    mine_not = [tmp_path / ".keep.tmp", tmp_path / ".well-known", tmp_path / "notes.tmp",
                tmp_path / ".x.k2j3.tmp", tmp_path / ".x.12-.tmp", tmp_path / ".x.-3.tmp", tmp_path / ".12-3.tmp"]
    for path in mine_not:
        path.write_bytes(b"x")
    assert sweep_temp_files(tmp_path) == (".all.atom.gz.1-0.tmp", "tags/.putin.atom.4242-17.tmp",
                                          "tags/.putin.atom.ab_12XyZ.tmp")
    assert not any(p.exists() for p in stale) and all(p.exists() for p in mine_not)
    assert sweep_temp_files(tmp_path / "missing") == ()


def _temp_names(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every (temp, target) the writer renames, recorded."""
    renames: list[tuple[str, str]] = []
    real = os.replace

    def replace(src: str, dst: str) -> None:
        renames.append((src, dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    return renames


def test_temp_names_are_unique_and_swept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    renames = _temp_names(monkeypatch)
    files = [(f"d{i % 3}/f{i}.html", b"x" * i) for i in range(300)]
    for d in ("d0", "d1", "d2"):  # existing: every file goes through a temp file
        (tmp_path / d).mkdir()
    write_tree(tmp_path, files, workers=4)
    assert len(renames) == 600 and len({src for src, _ in renames}) == 600
    for src, dst in renames:
        temp, target = Path(src), Path(dst)
        assert temp.parent == target.parent and temp.name.startswith(f".{target.name}.")
        assert feeds.staging.TEMP_NAME.fullmatch(temp.name), temp.name  # a killed build's temp is swept
        temp.write_bytes(b"left by a killed build")
    assert len(sweep_temp_files(tmp_path)) == 600
    assert _all_files(tmp_path) == {rel for rel, _ in files} | {rel + ".gz" for rel, _ in files}


def test_a_temp_name_in_use_is_skipped_not_touched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process writing the same tree (or a killed build) holds the next name: O_EXCL moves on."""
    monkeypatch.setattr(feeds.staging, "_serial", itertools.count(7))
    taken = tmp_path / f".data.bin.{os.getpid()}-7.tmp"
    taken.write_bytes(b"someone else's")
    assert write_tree(tmp_path, [("data.bin", b"mine")]).written == ("data.bin",)
    assert (tmp_path / "data.bin").read_bytes() == b"mine"
    assert taken.read_bytes() == b"someone else's"
    assert _all_files(tmp_path) == {"data.bin", taken.name}


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


@pytest.mark.parametrize("mask", [0o077, 0o027, 0o022, 0o002, 0o000, 0o777])
@pytest.mark.usefixtures("umask")
def test_files_are_0644_whatever_the_umask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mask: int) -> None:
    chmods: list[int] = []
    real = os.fchmod

    def fchmod(fd: int, mode: int) -> None:
        chmods.append(mode)
        real(fd, mode)

    monkeypatch.setattr(os, "fchmod", fchmod)
    out = tmp_path / "out"
    out.mkdir()
    (out / "tags").mkdir()
    os.umask(mask)
    try:
        write_tree(out, FILES)
    finally:
        os.umask(0o022)
    for rel in ("all.atom", "all.atom.gz", "tags/putin.html", "tags/putin.html.gz", "data.bin"):
        assert oct((out / rel).stat().st_mode & 0o7777) == oct(0o644), rel
    # an fchmod only where the umask strips bits of 0644
    assert chmods == ([] if not mask & 0o644 else [0o644] * 5)


def test_unchanged_files_are_compared_only_outside_fresh_directories(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    looked: list[str] = []
    real = os.lstat

    def lstat(path: str) -> os.stat_result:
        if path.endswith(".bin"):  # not os.path.realpath's
            looked.append(os.path.relpath(path, tmp_path))
        return real(path)

    monkeypatch.setattr(os, "lstat", lstat)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "same.bin").write_bytes(b"same")
    files = [("old/same.bin", b"same"), ("old/new.bin", b"new"), ("made/deep/b.bin", b"b"), ("made/a.bin", b"a")]
    report = write_tree(tmp_path, files, workers=1)  # one thread: which call makes "made" is known
    assert report.written == ("old/new.bin", "made/deep/b.bin", "made/a.bin") and report.unchanged == 1
    assert sorted(looked) == ["old/new.bin", "old/same.bin"]  # "made" and "made/deep" are new: nothing to compare
    looked.clear()
    report = write_tree(tmp_path, files)  # they exist now: every file is compared
    assert report.written == () and report.unchanged == 4
    assert sorted(looked) == sorted(rel for rel, _ in files)


def test_fresh_output_dir_writes_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "a" / "b" / "out"
    real = os.lstat

    def lstat(path: str) -> os.stat_result:
        assert not path.endswith(("atom", "html", "gz", "bin")), path  # nothing there to compare with
        return real(path)

    monkeypatch.setattr(os, "lstat", lstat)
    report = write_tree(out, FILES)
    monkeypatch.undo()
    assert report.written == ("all.atom", "all.atom.gz", "tags/putin.html", "tags/putin.html.gz", "data.bin")
    assert write_tree(out, FILES).unchanged == 5


def test_a_directory_in_the_way_is_refused_in_a_fresh_directory(tmp_path: Path) -> None:
    """The fresh-directory shortcut skips the lstat: a directory of the file's name is still refused."""
    with pytest.raises(OutputError, match="not a regular file"):
        write_tree(tmp_path / "out", [("tags/a/b.html", b"x"), ("tags/a", b"y")], workers=1)
    assert _all_files(tmp_path) == {"out/tags/a/b.html", "out/tags/a/b.html.gz"}
    with pytest.raises(OutputError, match="not a regular file"):
        write_tree(tmp_path / "out", [("tags/a", b"y")])  # an old directory: the lstat sees it


@pytest.mark.parametrize("rel", ["x.atom", "tags/x.rss", "..atom", ".atom", "tags/.html", "x.atom.", "x.html.gz",
                                 "a.json/b", "x.ATOM", "x..xml", "x.opml", "a/b.c/x.json", "README"])
def test_has_twin_is_the_path_suffix(rel: str) -> None:
    assert has_twin(rel) == (PurePosixPath(rel).suffix in TEXT_SUFFIXES)


# -- durability at the cost of a sync per batch (issue 16) -------------------------------------------
def _syscalls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The order of the writer's syncs, renames and fsyncs: ("sync", path), ("replace", target),
    ("fsync", "file" or "dir")."""
    events: list[tuple[str, str]] = []
    real_replace, real_fsync, real_sync = os.replace, os.fsync, feeds.staging._sync_filesystem

    def replace(src: str, dst: str) -> None:
        events.append(("replace", dst))
        real_replace(src, dst)

    def fsync(fd: int) -> None:
        events.append(("fsync", "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"))
        real_fsync(fd)

    def sync(path: str) -> None:
        events.append(("sync", path))
        real_sync(path)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(feeds.staging, "_sync_filesystem", sync)
    return events


def test_a_write_is_one_sync_then_the_renames_then_one_fsync_per_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events = _syscalls(monkeypatch)
    files = [(f"d{i % 3}/f{i}.html", b"x" * i) for i in range(60)]
    for d in ("d0", "d1", "d2"):
        (tmp_path / "out" / d).mkdir(parents=True)
    write_tree(tmp_path / "out", files)
    kinds = [kind for kind, _ in events]
    assert kinds.count("sync") == 1 and kinds[0] == "sync"  # every byte durable before any name shows it
    assert kinds.count("replace") == 120 and ("fsync", "file") not in events
    assert kinds[121:] == ["fsync"] * 3 and kinds.count("fsync") == 3  # d0, d1, d2 (renamed into): once each
    events.clear()
    assert write_tree(tmp_path / "out", files).written == ()
    assert events == []  # nothing changed: no sync at all


def test_new_directories_appear_whole_after_the_sync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A directory the write makes is made under a temp name with its files under their own names
    (no temp file, no rename each), and renamed into place once, after the one sync."""
    events = _syscalls(monkeypatch)
    real_rename = os.rename

    def rename(src: str, dst: str) -> None:
        events.append(("rename", os.path.relpath(dst, tmp_path)))
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    seen: list[bool] = []

    def files() -> Iterator[tuple[str, bytes]]:
        for i in range(60):
            if i == 30:  # halfway: nothing of the new directories shows under their names
                seen.append(any((tmp_path / "out" / d).exists() for d in ("d0", "d1", "d2", "d0/deep")))
            yield (f"d{i % 3}/f{i}.html" if i % 10 else f"d0/deep/f{i}.json"), b"x" * i
        yield "top.html", b"top"

    report = write_tree(tmp_path / "out", files())
    assert seen == [False] and len(report.written) == 122
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "sync" and kinds.count("sync") == 1
    assert kinds.count("replace") == 2  # top.html and its twin, in the output dir that was there
    assert sorted(path for kind, path in events if kind == "rename") == ["out/d0", "out/d1", "out/d2"]
    assert kinds.index("rename") > kinds.index("sync") and kinds[-2:] == ["fsync", "fsync"]  # out and its parent
    assert (tmp_path / "out" / "d0" / "deep" / "f10.json").read_bytes() == b"x" * 10
    assert not [p for p in (tmp_path / "out").rglob("*") if p.name.endswith(".tmp")]


def test_a_killed_writes_temp_directories_are_swept(tmp_path: Path) -> None:
    stale = tmp_path / "tags" / ".new-tag.4242-3.tmp"
    (stale / "archive").mkdir(parents=True)
    (stale / "archive" / "1.atom").write_bytes(b"<feed")
    (tmp_path / "tags" / "kept").mkdir()
    assert sweep_temp_files(tmp_path) == ("tags/.new-tag.4242-3.tmp",)
    assert not stale.exists() and (tmp_path / "tags" / "kept").is_dir()


def test_big_writes_are_synced_and_placed_in_batches_each_rename_after_its_sync(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With batches of 16, 60 files and their twins take several syncs; every rename comes after a
    sync made once its temp file was closed, and the directories are fsynced once, after all."""
    monkeypatch.setattr(feeds.staging, "BATCH", 16)
    events = _syscalls(monkeypatch)
    real_open, real_close = os.open, os.close
    temps: dict[int, str] = {}

    def tracked_open(path: str, flags: int, mode: int = 0o777) -> int:
        fd = real_open(path, flags, mode)
        if str(path).endswith(".tmp"):
            temps[fd] = str(path)
        return fd

    def tracked_close(fd: int) -> None:
        temp = temps.pop(fd, None)  # before the fd number is free for another thread's open
        real_close(fd)
        if temp is not None:
            events.append(("closed", temp))

    monkeypatch.setattr(os, "open", tracked_open)
    monkeypatch.setattr(os, "close", tracked_close)
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:  # the temp's name too, to find when it was closed
        events.append(("replace-from", src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    files = [(f"d{i % 3}/f{i}.html", b"y" * i) for i in range(60)]
    for d in ("d0", "d1", "d2"):  # existing: each file goes through a temp file and a rename
        (tmp_path / "out" / d).mkdir(parents=True)
    write_tree(tmp_path / "out", files)
    kinds = [kind for kind, _ in events]
    # a batch is at least 16 files, more when files were staged while the last one was placed
    assert 2 <= kinds.count("sync") <= 120 // 16 + 1
    closed_at = {path: i for i, (kind, path) in enumerate(events) if kind == "closed"}
    syncs = [i for i, kind in enumerate(kinds) if kind == "sync"]
    renames = [(i, path) for i, (kind, path) in enumerate(events) if kind == "replace-from"]
    assert len(renames) == 120
    for at, temp in renames:
        assert any(closed_at[temp] < s < at for s in syncs), f"{temp} renamed before a sync made it durable"
    last_rename = renames[-1][0]
    dir_fsyncs = [i for i, event in enumerate(events) if event == ("fsync", "dir")]
    assert len(dir_fsyncs) == 3 and min(dir_fsyncs) > last_rename
    assert ("fsync", "file") not in events
    for rel, data in files:
        assert (tmp_path / "out" / rel).read_bytes() == data


def test_a_sigkill_during_a_build_leaves_only_whole_files(tmp_path: Path) -> None:
    """Killed at moments across a real `tagfeed build` of a few thousand files, every file in the
    tree is whole (it parses, its twin decompresses) and the next build finishes the job."""
    root = tmp_path / "site"
    (root / "dumps").mkdir(parents=True)
    for page in range(60):
        items = "".join(f"  • Story {page}-{n} about topic {page}\n\n    Body of story {page}-{n}, "
                        f"long enough to be a paragraph of text.\n\n" for n in range(25))
        (root / "dumps" / f"{page:03}.txt").write_text(f"Contents tagged with Topic {page}\n\n{items}",
                                                       encoding="utf-8")
    (root / "tagfeed.toml").write_text('[site]\nbase_url = "https://feeds.example.org/"\n\n'
                                       '[[sources]]\ntype = "tagpage"\npaths = ["dumps/*.txt"]\n', encoding="utf-8")
    env = clean_env()
    for delay in (0.5, 1.5, 2.5, 3.5, 4.5):  # reading, writing temp files, renaming, done
        process = subprocess.Popen([sys.executable, "-m", "tagfeed", "build"], cwd=root, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.kill()
        process.wait(timeout=30)
        _assert_whole(root / "output")
    done = run_tagfeed("build", cwd=root)
    assert done.returncode == 0, done.stderr
    _assert_whole(root / "output")
    assert not [p for p in (root / "output").rglob("*.tmp")]  # the killed builds' temp files are swept
    assert (root / "output" / "tags" / "topic-59.atom").is_file()


def _assert_whole(output: Path) -> None:
    if not output.exists():
        return
    for path in output.rglob("*"):
        rel = path.relative_to(output).parts
        if not path.is_file() or any(part.endswith(".tmp") for part in rel):  # a write in progress, never served
            continue
        data = path.read_bytes()
        assert data, f"{path} is empty"
        if path.suffix == ".gz":
            gzip.decompress(data)  # raises for a cut-off file
        elif path.suffix in (".atom", ".rss", ".opml"):
            etree.fromstring(data)
        elif path.suffix == ".json":
            json.loads(data)
        elif path.suffix == ".html":
            assert data.rstrip().endswith(b"</html>"), f"{path} is cut off"
