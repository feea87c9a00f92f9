"""tagfeed/building/outputs.py + feeds/fingerprint.py: rebuilds skip groups whose inputs and files are unchanged."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import feeds.site
from feeds.fingerprint import Prints
from sources.model import Article
from tagfeed.config import load_config
from tagfeed.building.pipeline import build
from tagfeed.store.sqlite import Store

T1 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)


def _tree(output: Path) -> dict[str, bytes]:
    return {p.relative_to(output).as_posix(): p.read_bytes() for p in sorted(output.rglob("*")) if p.is_file()}


def _count_renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = feeds.site.render_article_page

    def counting(site_title: str, urls: object, article: Article) -> bytes:
        calls.append(article.id)
        return real(site_title, urls, article)  # type: ignore[arg-type]

    monkeypatch.setattr(feeds.site, "render_article_page", counting)
    return calls


def test_noop_rebuild_renders_and_writes_nothing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(project / "tagfeed.toml", environ={})
    first = build(config, now=T1)
    before = _tree(project / "output")
    calls = _count_renders(monkeypatch)
    second = build(config, now=T1 + timedelta(hours=1))
    assert second.written == () and calls == []
    assert second.unchanged == len(first.written)  # skipped files still count as unchanged
    assert _tree(project / "output") == before


def test_removed_or_edited_files_are_restored(project: Path) -> None:
    config = load_config(project / "tagfeed.toml", environ={})
    build(config, now=T1)
    output = project / "output"
    before = _tree(output)
    (output / "tags" / "putin.atom").unlink()
    (output / "index.html.gz").write_bytes(b"tampered")
    report = build(config, now=T1 + timedelta(hours=1))
    assert {"tags/putin.atom", "index.html.gz"} <= set(report.written)
    assert _tree(output) == before


def test_skipping_rebuild_equals_a_full_render(project: Path) -> None:
    """After a changed page, a rebuild that skips leaves the tree a full render would write."""
    config = load_config(project / "tagfeed.toml", environ={})
    build(config, now=T1)
    seed = next((project / "seeds").glob("003_*.txt"))
    seed.write_text(seed.read_text(encoding="utf-8").replace("Lavrov", "Lavroff", 1), encoding="utf-8")
    report = build(config, now=T1 + timedelta(hours=1))
    assert report.written and all(not p.startswith("tags/putin.") for p in report.written)
    with Store.open(config.site.state_dir) as store, store.db:
        store.db.execute("DELETE FROM output_groups")  # forget every fingerprint: render it all again
    assert build(config, now=T1 + timedelta(hours=2)).written == ()


def test_fingerprint_moves_with_any_field(sample_articles: list[Article]) -> None:
    import dataclasses

    article = sample_articles[0]
    same = Prints(version="1").of(("x",), [article])
    assert Prints(version="1").of(("x",), [dataclasses.replace(article)]) == same
    for change in ({"title": article.title + "!"}, {"caption": "new"}, {"truncated": not article.truncated}):
        assert Prints(version="1").of(("x",), [dataclasses.replace(article, **change)]) != same  # type: ignore[arg-type]
    assert Prints(version="1").of(("y",), [article]) != same


def test_files_edited_replaced_or_removed_by_hand_are_rendered_again(project: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Each of (mtime, size, inode) of a file or its twin moving alone is enough: a same-size edit,
    a replacement by an identical copy with the same mtime (a new inode), a removed twin."""
    import os
    import shutil

    config = load_config(project / "tagfeed.toml", environ={})
    build(config, now=T1)
    output = project / "output"
    before = _tree(output)
    pages = sorted((output / "articles").glob("*.html"))
    edited, replaced, twinless = pages[0], pages[1], pages[2]
    data = edited.read_bytes()
    edited.write_bytes(data[:-2] + b"X\n")  # same size, new mtime
    stat = replaced.stat()
    shutil.copyfile(replaced, replaced.with_name("copy"))
    os.replace(replaced.with_name("copy"), replaced)  # the same bytes under a new inode
    os.utime(replaced, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert replaced.stat().st_mtime_ns == stat.st_mtime_ns and replaced.stat().st_size == stat.st_size
    Path(f"{twinless}.gz").unlink()
    calls = _count_renders(monkeypatch)
    report = build(config, now=T1 + timedelta(hours=1))
    assert len(calls) == 3  # those three pages, no other
    rel = {p: p.relative_to(output).as_posix() for p in pages[:3]}
    assert set(report.written) == {rel[edited], f"{rel[twinless]}.gz"}  # the copy had the right bytes already
    assert _tree(output) == before
    assert build(config, now=T1 + timedelta(hours=2)).written == () and len(calls) == 3  # and recorded again


def test_state_is_compared_only_when_the_fingerprint_matches(project: Path) -> None:
    from tagfeed.building.outputs import OutputIndex

    config = load_config(project / "tagfeed.toml", environ={})
    build(config, now=T1)
    asked: list[tuple[str, ...]] = []

    def state(paths: object) -> str | None:
        asked.append(tuple(paths))  # type: ignore[arg-type]
        return "x"

    with Store.open(config.site.state_dir) as store:
        outputs = OutputIndex(store, state)
        assert not outputs.fresh(("index.html",), "another fingerprint") and asked == []
        fingerprint = store.db.execute("SELECT fingerprint FROM output_groups WHERE path = 'all.atom'").fetchone()[0]
        assert not outputs.fresh(("all.atom", "all.rss", "all.json"), fingerprint)
        assert asked == [("all.atom", "all.atom.gz", "all.rss", "all.rss.gz", "all.json", "all.json.gz")]
        assert outputs.skipped_files == 0


def test_records_of_an_older_state_format_render_again_once(project: Path) -> None:
    """A store written with another state text (an older version hashed it) is simply not fresh."""
    config = load_config(project / "tagfeed.toml", environ={})
    first = build(config, now=T1)
    with Store.open(config.site.state_dir) as store, store.db:
        store.db.execute("UPDATE output_groups SET files = '0123456789abcdef0123456789abcdef'")
    second = build(config, now=T1 + timedelta(hours=1))
    assert second.written == () and second.unchanged == len(first.written)  # rendered, the same bytes
    with Store.open(config.site.state_dir) as store:
        assert not store.db.execute("SELECT 1 FROM output_groups WHERE files LIKE '0123%'").fetchall()


def test_local_state(tmp_path: Path) -> None:
    import os

    from feeds.target import LocalPublisher

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.html").write_bytes(b"one")
    (tmp_path / "y").write_bytes(b"two!")
    publisher = LocalPublisher(tmp_path)
    text = publisher.state(["a/x.html", "y"])
    stats = [os.stat(tmp_path / "a" / "x.html"), os.stat(tmp_path / "y")]
    assert text == " ".join(f"{s.st_mtime_ns}:{s.st_size}:{s.st_ino}" for s in stats)
    assert publisher.state([]) == ""
    assert publisher.state(["a/x.html", "missing"]) is None and publisher.state(["a"]) is not None
    assert LocalPublisher(Path(f"{tmp_path}/")).state(["y"]) == publisher.state(["y"])
    os.utime(tmp_path / "y", ns=(stats[1].st_atime_ns, stats[1].st_mtime_ns + 1))
    assert publisher.state(["a/x.html", "y"]) != text
    (tmp_path / "link").symlink_to(tmp_path / "y")
    assert publisher.state(["link"]) != publisher.state(["y"])  # the link's own, not followed
    monkey = tmp_path / "cwd"
    monkey.mkdir()
    (monkey / "z").write_bytes(b"3")
    old = os.getcwd()
    try:
        os.chdir(monkey)
        assert LocalPublisher(Path(".")).state(["z"]) == LocalPublisher(monkey).state(["z"])
        assert LocalPublisher(Path("")).state(["z"]) == LocalPublisher(monkey).state(["z"])
    finally:
        os.chdir(old)


def test_twins_are_the_writers() -> None:
    """``with_twins`` gives a file its ``.gz`` twin exactly when the writer writes one."""
    import itertools
    from pathlib import PurePosixPath

    from feeds.write import TEXT_SUFFIXES, has_twin
    from tagfeed.building.outputs import with_twins

    pieces = ["a", ".", "/", "atom", "html", "opml", "gz", "json"]
    for size in range(1, 6):
        for parts in itertools.product(pieces, repeat=size):
            rel = "".join(parts)
            if all(segment not in ("", ".", "..") for segment in rel.split("/")):  # what the writer accepts
                assert has_twin(rel) == (PurePosixPath(rel).suffix in TEXT_SUFFIXES), rel
    assert with_twins(("articles/x.html",)) == ("articles/x.html", "articles/x.html.gz")
    assert with_twins(("x.bin",)) == ("x.bin",)
    assert with_twins(("t/a.atom", "t/a.rss", "t/b")) == ("t/a.atom", "t/a.atom.gz", "t/a.rss", "t/a.rss.gz", "t/b")
