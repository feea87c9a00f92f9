"""One build end to end, in process, with the clock pinned."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tagfeed.config import load_config
from sources.model import Article, Author, Enclosure
from tagfeed.errors import INTERNAL
from tagfeed.building.pipeline import build
from tagfeed.store.settle import reconcile
from tagfeed.store.sqlite import Store

T1 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
T2 = T1 + timedelta(days=2)

DUPLICATE = """\
kremlin

Putin fires three government ministers

Russian President Vladimir Putin signed decrees dismissing three government ministers.
The full story goes on here, untruncated, with a second paragraph.
"""


def _articles(project: Path) -> dict[str, object]:
    config = load_config(project / "tagfeed.toml", environ={})
    with Store.open(config.site.state_dir) as store:
        return {a.title: a for a in store.articles()}


def test_first_build_dates_keep_page_order(project: Path) -> None:
    config = load_config(project / "tagfeed.toml", environ={})
    report = build(config, now=T1)
    assert report.errors == () and report.articles_total == 17 and report.articles_new == 17
    with Store.open(config.site.state_dir) as store:
        putin = [a for a in store.articles() if a.tags[0].slug == "putin"]
    assert putin[0].title.startswith("Putin refuses to congratulate Biden")
    assert [a.published for a in putin] == [T1 - timedelta(seconds=i + 1) for i in range(10)]
    assert all(a.updated == a.published for a in putin)


def test_rebuild_changes_nothing(project: Path) -> None:
    config = load_config(project / "tagfeed.toml", environ={})
    build(config, now=T1)
    before = _articles(project)
    report = build(config, now=T2)
    assert report.written == () and report.articles_new == 0
    assert _articles(project) == before


def test_same_title_on_two_pages_is_one_article(project: Path) -> None:
    (project / "seeds" / "kremlin.txt").write_text(DUPLICATE, encoding="utf-8")
    config = load_config(project / "tagfeed.toml", environ={})
    report = build(config, now=T1)
    assert report.articles_total == 17
    article = _articles(project)["Putin fires three government ministers"]
    assert {t.slug for t in article.tags} == {"putin", "kremlin"}  # type: ignore[attr-defined]
    assert article.truncated is False and len(article.paragraphs) == 2  # type: ignore[attr-defined]
    atom = (project / "output" / "tags" / "kremlin.atom").read_text(encoding="utf-8")
    assert article.id in atom  # type: ignore[attr-defined]


def test_changed_dump_rewrites_only_its_tag(project: Path) -> None:
    config = load_config(project / "tagfeed.toml", environ={})
    build(config, now=T1)
    lavrov = project / "seeds" / "003_349737700d66f2ad.txt"
    text = lavrov.read_text(encoding="utf-8")
    header, rest = text.split("\n", 1)
    lavrov.write_text(f"{header}\n\nLavrov meets Blinken in Geneva\n\nThe two ministers met for two hours.\n{rest}",
                      encoding="utf-8")
    report = build(config, now=T2)
    written = {p.removesuffix(".gz") for p in report.written}
    assert {"tags/sergei-lavrov.atom", "tags/sergei-lavrov.rss", "tags/sergei-lavrov.json",
            "tags/sergei-lavrov.html", "all.atom", "index.html"} <= written
    assert not any(p.startswith("tags/putin") for p in written)
    assert len([p for p in written if p.startswith("articles/")]) == 1
    new = _articles(project)["Lavrov meets Blinken in Geneva"]
    assert new.published == T2 - timedelta(seconds=1)  # type: ignore[attr-defined]


def test_teaser_later_replaced_by_full_text_updates_only_updated(project: Path) -> None:
    config = load_config(project / "tagfeed.toml", environ={})
    build(config, now=T1)
    old = _articles(project)["Putin fires three government ministers"]
    (project / "seeds" / "kremlin.txt").write_text(DUPLICATE, encoding="utf-8")
    build(config, now=T2)
    new = _articles(project)["Putin fires three government ministers"]
    assert new.id == old.id and new.published == old.published  # type: ignore[attr-defined]
    assert new.updated == T2 and new.truncated is False  # type: ignore[attr-defined]


def test_broken_source_keeps_what_was_published(project: Path) -> None:
    config = load_config(project / "tagfeed.toml", environ={})
    build(config, now=T1)
    putin_atom = (project / "output" / "tags" / "putin.atom").read_bytes()
    (project / "seeds" / "000_0d1a8655cd7d2e58.txt").write_bytes(b"\x00\x01\x02 binary now")
    report = build(config, now=T2)
    assert report.sources_failed == 1 and "000_0d1a8655cd7d2e58.txt" in report.errors[0]
    assert (project / "output" / "tags" / "putin.atom").read_bytes() == putin_atom
    with Store.open(config.site.state_dir) as store:
        state = {s.name: s for s in store.sources()}
    broken = next(s for name, s in state.items() if name.endswith("000_0d1a8655cd7d2e58.txt"))
    assert broken.state == "error" and broken.error_count == 1 and "binary" in (broken.last_error or "")


def test_base_url_does_not_change_ids(project: Path) -> None:
    config = load_config(project / "tagfeed.toml", environ={})
    build(config, now=T1)
    ids = {a.id for a in _articles(project).values()}  # type: ignore[attr-defined]
    other = dataclasses.replace(config, site=dataclasses.replace(
        config.site, base_url="https://feeds.example.org/x/", state_dir=project / "other-state",
        output_dir=project / "other-output"))
    build(other, now=T2)
    with Store.open(project / "other-state") as store:
        assert {a.id for a in store.articles()} == ids
    assert "https://feeds.example.org/x/tags/putin.atom" in (project / "other-output/tags/putin.atom").read_text()


def test_same_source_edit_wins_even_when_shorter(tmp_path: Path) -> None:
    from sources.model import Article, make_tag
    from tagfeed.store.settle import settle

    upstream_t = datetime(2024, 1, 1, tzinfo=timezone.utc)
    first = Article(id="https://example.org/p/1", title="Post", content_html="<p>long original text</p>",
                    tags=(make_tag("A"),), source="https://example.org/feed", published=upstream_t,
                    updated=upstream_t)
    edited = dataclasses.replace(first, content_html="<p>short</p>", tags=(make_tag("B"),),
                                 updated=upstream_t + timedelta(hours=1))
    with Store.open(tmp_path) as store:
        assert settle(store, {first.id: first}, T1) == 1
        assert settle(store, {edited.id: edited}, T2) == 0
        stored, _ = store.get_article(first.id)  # type: ignore[misc]
    assert stored.content_html == "<p>short</p>" and stored.id == first.id
    assert stored.published == upstream_t and stored.updated == upstream_t + timedelta(hours=1)
    assert {t.slug for t in stored.tags} == {"a", "b"}


def test_a_dump_that_trips_a_bug_fails_alone_with_its_traceback_logged(
        project: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import tagfeed.building.ingest

    real = tagfeed.building.ingest.parse_tagpage_bytes
    bad = "000_0d1a8655cd7d2e58.txt"

    def buggy(data: bytes, *, source: str) -> list[Article]:
        if source.endswith(bad):
            raise AttributeError("'NoneType' object has no attribute 'strip'")
        return real(data, source=source)

    monkeypatch.setattr(tagfeed.building.ingest, "parse_tagpage_bytes", buggy)
    config = load_config(project / "tagfeed.toml", environ={})
    report = build(config, now=T1)
    assert report.sources_failed == 1 and bad in report.errors[0] and "a bug in tagfeed" in report.errors[0]
    assert report.sources_ok >= 1 and report.articles_total > 0
    assert any(r.exc_info and r.exc_info[0] is AttributeError for r in caplog.records)
    with Store.open(config.site.state_dir) as store:
        failed = next(s for s in store.sources() if s.name.endswith(bad))
    assert failed.failure is not None and failed.failure.kind == INTERNAL


def test_reconcile_keeps_authors_enclosures_and_image_of_either_reading() -> None:
    old = Article(id="i", title="T", paragraphs=("old",), source="s", authors=(Author("Ann"),),
                  enclosures=(Enclosure("https://a.example/1.mp3", "audio/mpeg"),), image="https://a.example/1.jpg")
    new = Article(id="i", title="T", paragraphs=("edited",), source="s", authors=(Author("Ben"),),
                  enclosures=(Enclosure("https://a.example/2.mp3"),))
    same_source = reconcile(old, new)
    assert same_source.paragraphs == ("edited",)  # the same source's new text wins
    assert same_source.authors == (Author("Ben"), Author("Ann"))
    assert [e.url for e in same_source.enclosures] == ["https://a.example/2.mp3", "https://a.example/1.mp3"]
    assert same_source.image == "https://a.example/1.jpg"
    other = reconcile(old, dataclasses.replace(new, source="t"))
    assert set(other.authors) == {Author("Ann"), Author("Ben")} and len(other.enclosures) == 2


def test_cycles_made_while_reading_are_freed_by_the_end_of_the_build(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sources are read without cyclic collections (tagfeed.building.pipeline._no_collections);
    garbage in cycles made meanwhile is still collected before the build ends."""
    import gc
    import weakref

    import tagfeed.building.ingest

    real = tagfeed.building.ingest.parse_tagpage_bytes
    made: list[weakref.ref[object]] = []

    class Node:
        other: object = None

    def cyclic(data: bytes, *, source: str) -> list[Article]:
        a, b = Node(), Node()
        a.other, b.other = b, a  # garbage once this returns, freed only by a cyclic collection
        made.append(weakref.ref(a))
        return real(data, source=source)

    monkeypatch.setattr(tagfeed.building.ingest, "parse_tagpage_bytes", cyclic)
    collecting = gc.isenabled()
    build(load_config(project / "tagfeed.toml", environ={}), now=T1)
    assert made and all(ref() is None for ref in made)
    assert gc.isenabled() == collecting
