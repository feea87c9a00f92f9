"""tagfeed.parsecache: parsed dumps are reused only for the same bytes, path and parser."""

from __future__ import annotations

import marshal
import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sources.model import Article, Tag
from sources.tagpage import read_tagpage
from tagfeed.config import load_config
from tagfeed.errors import TagPageError
from tagfeed.parsecache import FIELDS, ParseCache, decode, encode, parser_version
from tagfeed.pipeline import build

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def full_article() -> Article:
    """Every field set to something other than its default, so a field the cache forgets shows."""
    return Article(
        id="urn:uuid:00000000-0000-5000-8000-000000000001", title="T <&>", summary="S", paragraphs=("a", "b"),
        content_html="<p>x</p>", caption="C", tags=(Tag("a-b", "A B"), Tag("c", "C")), link="https://e.org/1",
        published=datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        updated=datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))), truncated=True,
        source="https://e.org/feed", source_title="E", source_url="https://e.org/")


def test_encode_decode_round_trip_keeps_every_field() -> None:
    article = full_article()
    for name in FIELDS:  # the fixture really sets every field
        assert getattr(article, name) != getattr(Article(id="x", title="y"), name) or name in ("id", "title"), name
    assert decode(marshal.loads(marshal.dumps(encode(article)))) == article


def dump(tmp_path: Path, name: str = "page.txt", text: str | None = None) -> Path:
    path = tmp_path / name
    if text is None:
        shutil.copy(sorted(SEEDS.glob("*.txt"))[0], path)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_second_read_comes_from_the_cache_and_equals_a_parse(tmp_path: Path) -> None:
    path = dump(tmp_path)
    cache = ParseCache(tmp_path / "parsed")
    first = cache.read(path)
    assert first == read_tagpage(path)
    entries = list((tmp_path / "parsed").iterdir())
    assert len(entries) == 1
    # the next build reads the entry: prove it by planting a different (valid) result under the same key
    version, name, key, rows = marshal.loads(entries[0].read_bytes())
    planted = [encode(Article(id=first[0].id, title="from the cache", source=str(path)))]
    entries[0].write_bytes(marshal.dumps((version, name, key, tuple(planted))))
    assert [a.title for a in ParseCache(tmp_path / "parsed").read(path)] == ["from the cache"]


def test_changed_bytes_are_parsed_again(tmp_path: Path) -> None:
    path = dump(tmp_path, text="Contents tagged with Rivers\n\n  • First headline\n\n    Body one.\n")
    cache = ParseCache(tmp_path / "parsed")
    assert [a.title for a in cache.read(path)] == ["First headline"]
    stat = path.stat()
    path.write_text("Contents tagged with Rivers\n\n  • Other headline\n\n    Body one.\n", encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size and mtime: only the bytes tell
    assert [a.title for a in ParseCache(tmp_path / "parsed").read(path)] == ["Other headline"]


@pytest.mark.parametrize("damage", [b"", b"not marshal", marshal.dumps(("other-version", "x", "y", ()))])
def test_a_damaged_or_foreign_entry_is_a_miss(tmp_path: Path, damage: bytes) -> None:
    path = dump(tmp_path)
    cache = ParseCache(tmp_path / "parsed")
    expected = cache.read(path)
    for entry in (tmp_path / "parsed").iterdir():
        entry.write_bytes(damage)
    assert ParseCache(tmp_path / "parsed").read(path) == expected


def test_an_entry_of_another_path_is_not_used(tmp_path: Path) -> None:
    """The path is each article's ``source``: the same bytes elsewhere are another result."""
    a, b = dump(tmp_path, "a.txt"), dump(tmp_path, "b.txt")
    cache = ParseCache(tmp_path / "parsed")
    assert {x.source for x in cache.read(a)} == {str(a)}
    assert {x.source for x in cache.read(b)} == {str(b)}


def test_errors_still_name_the_file_and_are_not_cached(tmp_path: Path) -> None:
    path = dump(tmp_path, text="<html><body>nope</body></html>\n")
    cache = ParseCache(tmp_path / "parsed")
    with pytest.raises(TagPageError, match="page.txt"):
        cache.read(path)
    with pytest.raises(TagPageError, match="file not found"):
        cache.read(tmp_path / "missing.txt")
    assert not (tmp_path / "parsed").exists() or not list((tmp_path / "parsed").iterdir())


def test_prune_drops_entries_of_dumps_not_read(tmp_path: Path) -> None:
    a, b = dump(tmp_path, "a.txt"), dump(tmp_path, "b.txt")
    first = ParseCache(tmp_path / "parsed")
    first.read(a), first.read(b)
    second = ParseCache(tmp_path / "parsed")
    second.read(a)
    second.prune()
    assert len(list((tmp_path / "parsed").iterdir())) == 1
    assert parser_version() == parser_version()  # stable within a process


def test_builds_with_and_without_the_cache_publish_the_same_tree(tmp_path: Path) -> None:
    """A warm-cache rebuild after a dump changed writes exactly what an uncached one does."""
    (tmp_path / "dumps").mkdir()
    for seed in sorted(SEEDS.glob("*.txt")):
        shutil.copy(seed, tmp_path / "dumps" / seed.name)
    config_path = tmp_path / "tagfeed.toml"
    config_path.write_text('[site]\nbase_url = "http://127.0.0.1:8080/"\noutput_dir = "out"\nstate_dir = "state"\n'
                           '[[sources]]\ntype = "tagpage"\npaths = ["dumps/*.txt"]\n', encoding="utf-8")
    build(load_config(config_path, environ={}), now=NOW)
    assert len(list((tmp_path / "state" / "parsed").iterdir())) == len(list(SEEDS.glob("*.txt")))
    for name in ("state", "out"):
        shutil.copytree(tmp_path / name, tmp_path / "before" / name)
    first = sorted((tmp_path / "dumps").iterdir())[0]
    first.write_text(first.read_text(encoding="utf-8") + "\n  • A new headline here\n\n    New body.\n",
                     encoding="utf-8")

    def rebuilt() -> dict[str, bytes]:
        report = build(load_config(config_path, environ={}), now=NOW + timedelta(hours=1))
        assert report.written and not report.errors
        out = tmp_path / "out"
        return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}

    warm = rebuilt()
    for name in ("state", "out"):
        shutil.rmtree(tmp_path / name)
        shutil.copytree(tmp_path / "before" / name, tmp_path / name)
    shutil.rmtree(tmp_path / "state" / "parsed")
    assert rebuilt() == warm
