"""The string-built renderers give the very bytes of their oracles: feedgen for
Atom and RSS, json.dumps for JSON Feed, the Jinja2 templates for tag, article
and index pages, on the fixtures, the seeds, the upstream samples (XSS vectors
included), archives, hubs, empty feeds, every state of the index's sources and
random articles and sources with nasty text."""

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

import feeds.archive
import feeds.site
from feeds.archive import TagArchive, render_archived_atom
from feeds.atom import render_atom, render_atom_feedgen
from feeds.channel import _NOT_XML, Channel, has_non_xml, sort_articles, xml_clean, xml_text
from feeds.html import (
    TagEntry, human_date, render_article_page, render_article_page_jinja, render_index, render_index_jinja,
    render_tag_page, render_tag_page_jinja,
)
from feeds.jsonfeed import feed_dict, render_json
from feeds.rss import render_rss, render_rss_feedgen
from feeds.status import STATE_NAMES, SourceStatus
from feeds.urls import Urls
from sources.feed import parse_feed
from sources.model import Article, Tag, make_tag, uuid_urn
from sources.tagpage import read_tagpage
from tagfeed import __version__
from tagfeed.errors import RenderError

ROOT = Path(__file__).parent.parent
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


# The index's "Sources" section: every state, with and without an error and a next try
# (in UTC and not, a year the fast human_date leaves to strftime), and nasty text.
SOURCES = (
    SourceStatus("seeds/001_putin.txt", "ok"),
    SourceStatus("https://feeds.example.com/a?x=1&y=<2>", "error", "HTTP 500: <b>\"boom\"</b> & 'more'",
                 datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc)),
    SourceStatus("https://feeds.example.com/b", "backoff", "timed out", T0.astimezone(timezone(timedelta(hours=-8)))),
    SourceStatus("https://feeds.example.com/c", "gone", "HTTP 410 Gone"),
    SourceStatus("seeds/Ünïcødé ✓ 𝄞.txt", "warning", "gave 2 articles, usually 40 — «check» it"),
    SourceStatus("https://feeds.example.com/d", "error", "", datetime(999, 12, 31, 23, 59, tzinfo=timezone.utc)),
    SourceStatus("x & <y>", "unknown-state", None, datetime(2024, 3, 1, 9, 30)),  # no zone: as the filters show it
)


def _tag_entries(articles: Sequence[Article]) -> list[TagEntry]:
    return [TagEntry(group.tag, len(group.articles)) for group in feeds.site.group_by_tag(articles)]


def assert_same_as_oracles(articles: Sequence[Article], channels: Sequence[Channel],
                           sources: Sequence[SourceStatus] = SOURCES) -> None:
    """Every string-built renderer against its oracle, on every channel, the full list and none."""
    for channel in channels:
        for chosen in (articles, ()):
            assert render_atom(channel, chosen) == render_atom_feedgen(channel, chosen)
            assert render_rss(channel, chosen) == render_rss_feedgen(channel, chosen)
            assert render_json(channel, chosen) == _json_oracle(channel, chosen)
            if channel.tag:
                assert render_tag_page(channel, chosen) == render_tag_page_jinja(channel, chosen)
            for tags in (_tag_entries(chosen), ()):
                for shown in (sources, ()):
                    assert (render_index(channel, tags, chosen, shown)
                            == render_index_jinja(channel, tags, chosen, shown))
    for article in articles:
        for channel in channels[:1]:
            assert (render_article_page(channel.site_title, channel.urls, article)
                    == render_article_page_jinja(channel.site_title, channel.urls, article))


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
    monkeypatch.setattr(feeds.site, "render_tag_page", lambda channel, articles, rows=None:
                        render_tag_page_jinja(channel, articles))
    monkeypatch.setattr(feeds.site, "render_article_page", render_article_page_jinja)
    monkeypatch.setattr(feeds.site, "render_index", render_index_jinja)


def test_whole_tree_with_shared_entries(sample_articles: list[Article], urls: Urls,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """render_site shares each article's entries between feeds: the tree is still the oracles'."""
    more = [dataclasses.replace(a, id=uuid_urn(f"{a.id}-{n}"), title=f"{a.title} {n}", published=a.published - timedelta(days=n))
            for n in range(1, 4) for a in sample_articles]  # type: ignore[operator]
    articles = [*sample_articles, *more]
    for sources in (SOURCES, ()):
        ours = list(feeds.site.render_site("tag & <feed>", urls, articles, 7, sources=sources, version=__version__))
        assert "index.html" in dict(ours)
        with monkeypatch.context() as patch:
            _oracle_site(patch)
            assert ours == list(feeds.site.render_site("tag & <feed>", urls, articles, 7, sources=sources,
                                                       version=__version__))


# -- random articles with nasty text

_NASTY = st.text(st.characters(codec="utf-8") | st.sampled_from("&<>\"'\r\n\t\x0c\x00\x85\u2028\ufffe]]>"),
                 max_size=30)
_SLUG = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_ZONE = st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
_DATE = st.builds(lambda d, z: d.replace(tzinfo=timezone.utc).astimezone(z),
                  st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9998, 12, 31)), _ZONE)


@st.composite
def _articles(draw: st.DrawFn) -> Article:
    published = draw(_DATE)
    return Article(
        id=draw(st.sampled_from(["urn:uuid:" + str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))),
                                 "https://example.org/a?b=1&c=<d>", draw(_NASTY.filter(bool))])),
        title=draw(_NASTY), summary=draw(_NASTY), paragraphs=tuple(draw(st.lists(_NASTY, max_size=3))),
        content_html=draw(st.none() | _NASTY), caption=draw(st.none() | _NASTY),
        tags=tuple(draw(st.lists(st.builds(Tag, slug=_SLUG, name=_NASTY), max_size=3))),
        link=draw(st.none() | st.sampled_from(["https://e.org/x?a=1&b=2", "ftp://e.org/", "http://e.org/\"<>"])),
        published=published, updated=draw(st.none() | _DATE), truncated=draw(st.booleans()),
        source_title=draw(st.none() | _NASTY), source_url=draw(st.none() | st.just("https://e.org/f?a&b")),
    )


_SOURCE = st.builds(SourceStatus, name=_NASTY, state=st.sampled_from([*STATE_NAMES, "other & <x>"]),
                    last_error=st.none() | _NASTY, next_try=st.none() | _DATE)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_articles(), max_size=4), st.lists(_SOURCE, max_size=4))
def test_random_articles(articles: list[Article], sources: list[SourceStatus]) -> None:
    cleaned = [dataclasses.replace(xml_clean(a), id=xml_text(a.id) or "x") for a in articles]  # ids are never dirty
    assert_same_as_oracles(cleaned, _channels(Urls(BASE)), sources)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.builds(TagEntry, st.builds(Tag, slug=_SLUG, name=_NASTY), st.integers(0, 10**6)), max_size=5),
       st.lists(_articles(), max_size=3), st.lists(_SOURCE, max_size=3))
def test_random_index(tags: list[TagEntry], articles: list[Article], sources: list[SourceStatus]) -> None:
    """The index on its own: any tag list and counts (not only what the articles give), any sources."""
    cleaned = sort_articles([dataclasses.replace(xml_clean(a), id=xml_text(a.id) or "x") for a in articles])
    for channel in _channels(Urls(BASE)):
        assert render_index(channel, tags, cleaned, sources) == render_index_jinja(channel, tags, cleaned, sources)


def test_index_cases(sample_articles: list[Article], urls: Urls) -> None:
    """Each branch of index.html on its own: no tags, no articles, no sources, and every source line."""
    channel = Channel(urls=urls, site_title='A & <B> "site" \'q\' Ünï ✓', generator_version=__version__,
                      hub="https://hub.example/?x=1&y")
    tags = [TagEntry(Tag(slug="putin", name="Putin"), 3), TagEntry(Tag(slug="x-y", name="X & <Y> \"q\" 'é'"), 0)]
    empty = render_index(channel, [], [], [])
    assert empty == render_index_jinja(channel, [], [], [])
    assert b"<p>No tags yet.</p>" in empty and b"<p>No articles yet.</p>" in empty and b"Sources" not in empty
    for source in SOURCES:
        for shown_tags, shown_articles in ((tags, sample_articles), ([], [])):
            assert (render_index(channel, shown_tags, shown_articles, [source])
                    == render_index_jinja(channel, shown_tags, shown_articles, [source]))
    page = render_index(channel, tags, sample_articles, SOURCES)
    assert page == render_index_jinja(channel, tags, sample_articles, SOURCES)
    assert page.count(b"next try <time") == 4 and page.count(b'<br><span class="meta">') == 8  # 4 errors, 4 next tries
    assert b"X &amp; &lt;Y&gt; &#34;q&#34; &#39;\xc3\xa9&#39;" in page and b"hub.example" not in page
    with pytest.raises(RenderError):  # a slug no URL can hold fails the same way in both
        render_index(channel, [TagEntry(Tag(slug="Bad Slug", name="x"), 1)], [], [])
    with pytest.raises(RenderError):
        render_index_jinja(channel, [TagEntry(Tag(slug="Bad Slug", name="x"), 1)], [], [])


@settings(max_examples=100, deadline=None)
@given(_articles())
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
@given(_NASTY | st.text(st.characters(max_codepoint=127)))
def test_has_non_xml_is_the_regex(text: str) -> None:
    """The ASCII fast path of xml_clean's check finds what the regular expression finds."""
    assert has_non_xml(text) == (_NOT_XML.search(text) is not None)


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=_ZONE))
def test_human_date_is_strftime(moment: datetime) -> None:
    """The Jinja filter and the string-built pages share human_date: it is checked against strftime here."""
    assert human_date(moment) == moment.strftime("%Y-%m-%d %H:%M UTC")
