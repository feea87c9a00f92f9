"""tagfeed/outputs.py + feeds/fingerprint.py: rebuilds skip groups whose inputs and files are unchanged."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import feeds.site
from feeds.fingerprint import Prints
from sources.model import Article
from tagfeed.config import load_config
from tagfeed.pipeline import build
from tagfeed.store import Store

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
    same = Prints().of(("x",), [article])
    assert Prints().of(("x",), [dataclasses.replace(article)]) == same
    for change in ({"title": article.title + "!"}, {"caption": "new"}, {"truncated": not article.truncated}):
        assert Prints().of(("x",), [dataclasses.replace(article, **change)]) != same  # type: ignore[arg-type]
    assert Prints().of(("y",), [article]) != same
