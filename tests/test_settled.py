"""tagfeed.store.settled: a rebuild that leaves unchanged dumps unparsed publishes and stores exactly
what reading every dump gives."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import tagfeed.building.ingest
from sources.tagpage import parse_tagpage_bytes
from tagfeed.config import load_config
from tagfeed.building.pipeline import build
from tagfeed.building.report import BuildReport
from tagfeed.store.settled import dump_key

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
TOML = ('[site]\nbase_url = "http://127.0.0.1:8080/"\noutput_dir = "out"\nstate_dir = "state"\n'
        'archive_page_size = 3\nmax_items = 4\n')


def page(tag: str, stories: list[tuple[str, str]]) -> str:
    """A kind-A dump (shared/FORMATS.md): a header, then each story's bullet and body."""
    lines = [f"Contents tagged with {tag}", ""]
    for title, body in stories:
        lines += [f"  • {title}", "", f"    {body}", ""]
    return "\n".join(lines)


STORIES = {n: (f"Story number {n} about the river", f"Body of story {n}, told at some length.") for n in range(12)}
PAGES = {  # every story on two pages, so a change on one page touches articles of another
    "a": [0, 1, 2, 3, 4, 5], "b": [3, 4, 6, 7, 8], "c": [0, 6, 9, 10], "d": [1, 2, 5, 7, 8, 9, 10, 11], "e": [11],
}


class Site:
    """One project directory: dumps under ``dumps/<group>/``, two tag-page sources."""

    def __init__(self, root: Path, full: bool) -> None:
        self.root, self.full = root, full
        root.mkdir(parents=True, exist_ok=True)
        self.write_config(("one", "two"))
        for name, stories in PAGES.items():
            self.write(name, [STORIES[n] for n in stories])

    def group(self, name: str) -> str:
        return "one" if name in "abc" else "two"

    def write(self, name: str, stories: list[tuple[str, str]]) -> None:
        path = self.root / "dumps" / self.group(name) / f"{name}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page(f"Topic {name.upper()}", stories), encoding="utf-8")

    def write_config(self, groups: tuple[str, ...]) -> None:
        blocks = "".join(f'[[sources]]\ntype = "tagpage"\npaths = ["dumps/{g}/*.txt"]\n' for g in groups)
        (self.root / "tagfeed.toml").write_text(TOML + blocks, encoding="utf-8")

    def build(self, hours: int) -> BuildReport:
        if self.full and (self.root / "state" / "tagfeed.sqlite3").exists():
            with sqlite3.connect(self.root / "state" / "tagfeed.sqlite3") as db:  # forget: read every dump
                db.execute("DELETE FROM settled_dumps")
        return build(load_config(self.root / "tagfeed.toml", environ={}), now=NOW + timedelta(hours=hours))

    def published(self) -> dict[str, object]:
        """The output tree and the store's rows."""
        out = self.root / "out"
        with sqlite3.connect(self.root / "state" / "tagfeed.sqlite3") as db:
            tables = {name: db.execute(f"SELECT * FROM {name} ORDER BY 1, 2").fetchall()
                      for name in ("articles", "provenance", "sources")}
        files = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
        return {"files": files, **tables}


def edit_body(site: Site, name: str, story: int, body: str) -> None:
    site.write(name, [(STORIES[n][0], body if n == story else STORIES[n][1]) for n in PAGES[name]])


STEPS: list[tuple[str, Callable[[Site], None]]] = [
    ("nothing changed", lambda site: None),
    ("a body edited on page a, its article also on quiet page c", lambda s: edit_body(s, "a", 0, "New text.")),
    ("a new story on top of page b", lambda s: s.write("b", [("A brand new story", "Fresh."),
                                                             *(STORIES[n] for n in PAGES["b"])])),
    ("a story dropped from page d", lambda s: s.write("d", [STORIES[n] for n in PAGES["d"] if n != 7])),
    ("a story's fuller text on page e, teaser elsewhere", lambda s: s.write("e", [(STORIES[11][0], "Long " * 40)])),
    ("nothing changed again", lambda site: None),
    ("page c broken", lambda s: (s.root / "dumps" / "one" / "c.txt").write_bytes(b"\x00\x01 not text")),
    ("page c back as it was", lambda s: s.write("c", [STORIES[n] for n in PAGES["c"]])),
    ("sources in the other order", lambda s: s.write_config(("two", "one"))),
    ("page e removed", lambda s: (s.root / "dumps" / "two" / "e.txt").unlink()),
]


def test_quiet_rebuilds_equal_full_reads_step_by_step(tmp_path: Path) -> None:
    """The same steps twice in the same folder (paths are in ids and rows): once as tagfeed runs,
    once with every marker forgotten before each build; reports, trees and rows all equal."""

    def run(full: bool) -> list[tuple[str, str, dict[str, object]]]:
        shutil.rmtree(tmp_path / "site", ignore_errors=True)
        site = Site(tmp_path / "site", full=full)
        seen = [("first build", str(site.build(0)), site.published())]
        for hours, (what, change) in enumerate(STEPS, start=1):
            change(site)
            seen.append((what, str(site.build(hours)), site.published()))
        return seen

    quiet, full = run(full=False), run(full=True)
    for (what, report, published), (_, full_report, full_published) in zip(quiet, full, strict=True):
        assert report == full_report, what
        assert published == full_published, what


def test_a_rebuild_parses_only_changed_dumps_and_those_sharing_their_articles(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = Site(tmp_path, full=False)
    site.build(0)
    parsed: list[str] = []

    def counting(data: bytes, *, source: str) -> list[object]:
        parsed.append(Path(source).name)
        return parse_tagpage_bytes(data, source=source)  # the real parser: only counted

    monkeypatch.setattr(tagfeed.building.ingest, "parse_tagpage_bytes", counting)
    assert not site.build(1).written and parsed == []  # nothing changed: nothing parsed
    edit_body(site, "e", 11, "Story eleven, rewritten at greater length. " * 4)  # also on page d: fuller wins
    report = site.build(2)
    assert sorted(parsed) == ["d.txt", "e.txt"]
    assert report.articles_seen == len(STORIES)  # quiet pages' articles still count as read
    assert "articles/" in " ".join(report.written)


def test_a_marker_for_other_bytes_or_another_parser_is_not_quiet(tmp_path: Path) -> None:
    site = Site(tmp_path, full=False)
    site.build(0)
    with sqlite3.connect(tmp_path / "state" / "tagfeed.sqlite3") as db:
        keys = dict(db.execute("SELECT source, key FROM settled_dumps"))
    dump = tmp_path / "dumps" / "one" / "a.txt"
    assert keys[str(dump)] == dump_key(dump.read_bytes())
    assert dump_key(dump.read_bytes()) != dump_key(dump.read_bytes() + b"\n")
    assert keys[str(dump)].split(":")[0] == dump_key(b"").split(":")[0]  # the parser's version leads


def test_the_old_parse_cache_folder_is_removed(tmp_path: Path) -> None:
    site = Site(tmp_path, full=False)
    old = tmp_path / "state" / "parsed"
    old.mkdir(parents=True)
    (old / "0123.parsed").write_bytes(b"old entry")
    site.build(0)
    assert not old.exists()


def test_a_store_from_before_markers_reads_everything_once_then_goes_quiet(tmp_path: Path) -> None:
    site = Site(tmp_path, full=False)
    site.build(0)
    before = site.published()
    with sqlite3.connect(tmp_path / "state" / "tagfeed.sqlite3") as db:  # a version-1 file, before markers
        db.execute("DROP TABLE settled_dumps")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    assert not site.build(1).written
    with sqlite3.connect(tmp_path / "state" / "tagfeed.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM settled_dumps").fetchone()[0] == len(PAGES)
    after = site.published()
    assert after["files"] == before["files"] and after["articles"] == before["articles"]
