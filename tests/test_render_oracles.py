"""The string-built feeds give the very bytes of their oracles: feedgen for Atom
and RSS (tests/oracles.py), json.dumps for JSON Feed, on the fixtures, the seeds,
the upstream samples (XSS vectors included), archives, hubs, empty feeds and
random articles with nasty text. (HTML pages have no second renderer: they are
held by tests/data/golden/ and checked by tests/test_html.py.)"""

from __future__ import annotations

import dataclasses
import json
import posixpath
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from helpers import NASTY_TEXT, ROOT, ZONES, clean_for_rendering, nasty_articles
from oracles import render_atom_feedgen, render_rss_feedgen

import feeds.archive
import feeds.site
from feeds.archive import TagArchive, render_archived_atom
from feeds.atom import render_atom
from feeds.channel import _NOT_XML, Channel, has_non_xml, sort_articles, xml_clean
from feeds.html import human_date
from feeds.jsonfeed import feed_dict, render_json
from feeds.rss import render_rss
from feeds.urls import Urls
from sources.feed import parse_feed
from sources.model import Article, Tag, make_tag, uuid_urn
from sources.tagpage import read_tagpage
from tagfeed import __version__
from tagfeed.errors import RenderError

UPSTREAM = Path(__file__).parent / "data" / "upstream"
T0 = datetime(2001, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
BASE = "http://127.0.0.1:8080/"


def _json_oracle(channel: Channel, articles: Sequence[Article]) -> bytes:
    return (json.dumps(feed_dict(channel, articles), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _channels(urls: Urls) -> list[Channel]:
    return [
        Channel(urls=urls, site_title="tagfeed", generator_version=__version__),
        Channel(urls=urls, site_title="tagfeed", generator_version=__version__, tag=Tag(slug="putin", name="Putin")),
        Channel(urls=urls, site_title='A & <B> "site"', generator_version=__version__,
                tag=Tag(slug="x-1", name="X & <y> 'z'"),
                language="en", generator_uri="https://example.org/?a=1&b=2", hub="https://hub.example/?x=1&y"),
        Channel(urls=Urls("https://example.org/sub/dir?"), site_title="Ünïcødé ✓ 𝄞", generator_version=__version__,
                hub="https://hub.example/"),
    ]


def assert_same_as_oracles(articles: Sequence[Article], channels: Sequence[Channel]) -> None:
    """Every string-built feed against its oracle, on every channel, the full list and none."""
    for channel in channels:
        for chosen in (articles, ()):
            assert render_atom(channel, chosen) == render_atom_feedgen(channel, chosen)
            assert render_rss(channel, chosen) == render_rss_feedgen(channel, chosen)
            assert render_json(channel, chosen) == _json_oracle(channel, chosen)


def _dated(articles: Sequence[Article]) -> list[Article]:
    """Dates as the pipeline gives them (tag pages and some feeds have none)."""
    return [dataclasses.replace(a, published=a.published or T0 - timedelta(seconds=n),
                                updated=a.updated or a.published or T0 - timedelta(seconds=n))
            for n, a in enumerate(articles)]


def test_fixtures(sample_articles: list[Article], urls: Urls) -> None:
    assert_same_as_oracles(sample_articles, _channels(urls))


@pytest.mark.parametrize("path", sorted((ROOT / "seeds").glob("*.txt")) +
                         sorted((Path(__file__).parent / "data" / "tagpages").glob("*.txt")), ids=lambda p: p.name)
def test_seeds_and_tagpages(path: Path, urls: Urls) -> None:
    articles = sort_articles([xml_clean(a) for a in _dated(read_tagpage(path))])
    assert_same_as_oracles(articles, _channels(urls))


def _upstream_samples() -> Iterator[tuple[str, bytes]]:
    for path in sorted(UPSTREAM.iterdir()):
        if path.suffix in (".xml", ".rdf", ".json") and not path.name.endswith(".expected.json"):
            yield path.name, path.read_bytes()
    vectors = [line for line in (UPSTREAM / "xss_vectors.txt").read_text("utf-8").splitlines()
               if line.strip() and not line.startswith("#")]
    items = [{"id": f"https://x.example/{i}", "url": f"https://x.example/{i}?a=1&b=<2>", "title": v,
              "content_html": f"<p>ok</p>{v}", "summary": v, "tags": [v[:20] or "x"]} for i, v in enumerate(vectors)]
    yield "xss_vectors", json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "x & <y>",
                                     "items": items}).encode()


@pytest.mark.parametrize("name,body", list(_upstream_samples()), ids=lambda v: v if isinstance(v, str) else "")
def test_upstream_samples(name: str, body: bytes, urls: Urls) -> None:
    found = parse_feed(body, url="https://feeds.example.com/feed?x=1&y=2", headers={}, tags=("Upstream & Co",))
    assert found, name
    articles = sort_articles([xml_clean(a) for a in _dated(found)])
    assert_same_as_oracles(articles, _channels(urls))


def _archive_tree(articles: list[Article], channel: Channel, archive: TagArchive,
                  monkeypatch: pytest.MonkeyPatch, oracle: bool) -> list[tuple[str, bytes]]:
    with monkeypatch.context() as patch:
        if oracle:
            patch.setattr(feeds.archive, "render_atom", render_atom_feedgen)
        return list(render_archived_atom(channel, articles, archive))


def test_archives_and_hub(urls: Urls, monkeypatch: pytest.MonkeyPatch) -> None:
    tag = Tag(slug="putin", name="Putin")
    articles = [Article(id=f"urn:uuid:{uuid.UUID(int=n)}", title=f"Story {n} & <b>", paragraphs=(f"p{n}",),
                        tags=(tag,), published=T0 - timedelta(hours=n), updated=T0 - timedelta(hours=n))
                for n in range(7)]
    pages = TagArchive(pages=((articles[6].id, articles[5].id), (articles[4].id, articles[3].id)))
    for hub in (None, "https://hub.example/?a&b"):
        channel = Channel(urls=urls, site_title="tagfeed", generator_version=__version__, tag=tag, hub=hub,
                          language="de")
        ours = _archive_tree(articles, channel, pages, monkeypatch, oracle=False)
        assert ours == _archive_tree(articles, channel, pages, monkeypatch, oracle=True)
        assert [path for path, _ in ours] == ["tags/putin.atom", "tags/putin/archive/1.atom",
                                              "tags/putin/archive/2.atom"]


def _oracle_site(monkeypatch: pytest.MonkeyPatch) -> None:
    def plain(render: Callable[[Channel, Sequence[Article]], bytes]) -> Any:
        return lambda channel, articles, entries=None, updated=None: render(channel, articles)

    monkeypatch.setattr(feeds.site, "RENDERERS", tuple(
        (fmt, plain(oracle)) for (fmt, _), oracle
        in zip(feeds.site.RENDERERS, (render_atom_feedgen, render_rss_feedgen, _json_oracle), strict=True)))


def test_whole_tree_with_shared_entries(sample_articles: list[Article], urls: Urls,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """render_site shares each article's entries between feeds: its feeds are still the oracles'."""
    more = [dataclasses.replace(a, id=uuid_urn(f"{a.id}-{n}"), title=f"{a.title} {n}", published=a.published - timedelta(days=n))
            for n in range(1, 4) for a in sample_articles]  # type: ignore[operator]
    articles = [*sample_articles, *more]
    ours = list(feeds.site.render_site("tag & <feed>", urls, articles, 7, version=__version__))
    assert sum(path.endswith((".atom", ".rss", ".json")) for path, _ in ours) == 4 * 3  # all + 3 tags, 3 formats
    with monkeypatch.context() as patch:
        _oracle_site(patch)
        assert ours == list(feeds.site.render_site("tag & <feed>", urls, articles, 7, version=__version__))


# -- random articles with nasty text

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(nasty_articles(), max_size=4))
def test_random_articles(articles: list[Article]) -> None:
    assert_same_as_oracles(clean_for_rendering(articles), _channels(Urls(BASE)))


@settings(max_examples=100, deadline=None)
@given(nasty_articles())
def test_uncleaned_text_is_refused_like_lxml(article: Article) -> None:
    """Without xml_clean, what lxml refuses the string renderers refuse too."""
    channel = Channel(urls=Urls(BASE), site_title="tagfeed", generator_version=__version__)
    for ours, oracle in ((render_atom, render_atom_feedgen), (render_rss, render_rss_feedgen)):
        try:
            expected = oracle(channel, [article])
        except ValueError:
            with pytest.raises(RenderError):
                ours(channel, [article])
        else:
            assert ours(channel, [article]) == expected


@given(st.integers(0, 2**128 - 1), st.booleans())
def test_id_hex_fast_path(number: int, upper: bool) -> None:
    text = str(uuid.UUID(int=number))
    article = Article(id="urn:uuid:" + (text.upper() if upper else text), title="t")
    assert article.id_hex == uuid.UUID(text).hex


@settings(max_examples=300)
@given(st.lists(st.sampled_from(["a", "tags", "index.html", ".", "..", "", "x.y", ".h"]), min_size=1, max_size=4),
       st.lists(st.sampled_from(["a", "tags", "index.html", ".", "..", "", "x.y", ".h"]), min_size=1, max_size=4))
def test_href_is_relpath(here: list[str], path: list[str]) -> None:
    try:
        expected = posixpath.relpath("/".join(path), posixpath.dirname("/".join(here)) or ".")
    except ValueError:
        return
    assert Urls(BASE).href("/".join(here), "/".join(path)) == expected


def test_make_tag_names_render_alike(urls: Urls) -> None:
    tags = tuple(make_tag(n) for n in ("Путин", "AT&T", "<b>"))
    article = Article(id="urn:uuid:00000000-0000-5000-8000-000000000001", title="t", tags=tags,
                      published=T0, updated=T0)
    assert_same_as_oracles([article], _channels(urls))


@settings(max_examples=300)
@given(NASTY_TEXT | st.text(st.characters(max_codepoint=127)))
def test_has_non_xml_is_the_regex(text: str) -> None:
    """The ASCII fast path of xml_clean's check finds what the regular expression finds."""
    assert has_non_xml(text) == (_NOT_XML.search(text) is not None)


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=ZONES))
def test_human_date_is_strftime(moment: datetime) -> None:
    """The pages' dates are strftime's text, made faster: checked against strftime here."""
    assert human_date(moment) == moment.strftime("%Y-%m-%d %H:%M UTC")
