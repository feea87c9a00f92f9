"""Atom 1.0: RFC 4287 schema and rules, feedparser round trip, determinism, escaping."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable
from datetime import datetime, timezone

import feedparser
import pytest
from lxml import etree

from feeds.atom import render_atom
from feeds.channel import EMPTY_FEED_DATE, Channel, sort_articles
from tagfeed.errors import RenderError
from sources.model import Article

A = "{http://www.w3.org/2005/Atom}"


def _text(detail: dict[str, str]) -> str:
    """The plain text a reader shows for an Atom text construct."""
    return html.unescape(detail["value"]) if detail["type"] == "text/html" else detail["value"]


def test_only_markup_like_text_becomes_html(all_channel: Channel, sample_articles: list[Article]) -> None:
    titles = ["AT&T and a < b", "Says <b>hi</b>", "Tom &amp; Jerry", "&#x263A; smile"]
    articles = [dataclasses.replace(sample_articles[0], id=f"urn:x:{i}", title=t) for i, t in enumerate(titles)]
    entries = feedparser.parse(render_atom(all_channel, articles)).entries
    assert [e.title_detail.type for e in entries] == ["text/plain", "text/html", "text/html", "text/html"]
    assert [_text(e.title_detail) for e in entries] == titles


def test_valid_and_complete(tag_channel: Channel, sample_articles: list[Article],
                            assert_valid_atom: Callable[[bytes], None]) -> None:
    document = render_atom(tag_channel, sample_articles)
    assert_valid_atom(document)
    root = etree.fromstring(document)
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{A}link")}
    assert links == {"self": "http://127.0.0.1:8080/tags/putin.atom",
                     "alternate": "http://127.0.0.1:8080/tags/putin.html"}
    assert root.findtext(f"{A}title") == "Putin — tagfeed"
    assert root.findtext(f"{A}subtitle") == "Articles tagged Putin on tagfeed"
    assert root.findtext(f"{A}author/{A}name") == "tagfeed"
    assert root.findtext(f"{A}updated") == "2001-03-04T05:06:07+00:00"  # newest entry's updated
    generator = root.find(f"{A}generator")
    assert generator is not None and generator.text == "tagfeed" and generator.get("version")


def test_feedparser_reads_every_entry(all_channel: Channel, sample_articles: list[Article]) -> None:
    parsed = feedparser.parse(render_atom(all_channel, sample_articles))
    assert parsed.bozo == 0 and parsed.version == "atom10"
    assert [e.id for e in parsed.entries] == [a.id for a in sample_articles]
    assert [_text(e.title_detail) for e in parsed.entries] == [a.title for a in sample_articles]
    assert [e.link for e in parsed.entries] == [all_channel.urls.article_link(a) for a in sample_articles]
    assert parsed.entries[0].title_detail.type == "text/plain"
    first = parsed.entries[0]
    assert first.published == "2001-03-04T05:06:07+00:00" and first.summary.startswith("Russian")
    assert [t.term for t in parsed.entries[1].tags] == ["sergei-lavrov", "putin"]
    assert [t.label for t in parsed.entries[1].tags] == ["Sergei Lavrov", "Putin"]


def test_content_is_escaped_html(all_channel: Channel, sample_articles: list[Article]) -> None:
    root = etree.fromstring(render_atom(all_channel, sample_articles))
    entry = root.findall(f"{A}entry")[1]
    content = entry.find(f"{A}content")
    assert content is not None and content.get("type") == "html"
    assert content.text is not None
    assert "<figure><figcaption>The delegations meet &lt;in Geneva&gt; [PPIO]</figcaption></figure>" in content.text
    assert "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends</p>" in content.text
    assert "<script>" not in content.text
    title = entry.find(f"{A}title")
    assert title is not None and title.get("type") == "html" and "<script>" not in (title.text or "")


def test_upstream_html_and_source(all_channel: Channel, sample_articles: list[Article]) -> None:
    root = etree.fromstring(render_atom(all_channel, sample_articles))
    entry = root.findall(f"{A}entry")[2]
    assert entry.findtext(f"{A}content") == "<p>Hello <em>world</em></p>"
    source = entry.find(f"{A}source")
    assert source is not None and source.findtext(f"{A}title") == "Example feed"
    assert source.findtext(f"{A}id") == "https://example.org/feed.xml"
    assert [s.tag for s in root.iter(f"{A}source")] == [f"{A}source"]  # only copied entries


def test_order_is_kept(all_channel: Channel, sample_articles: list[Article]) -> None:
    reversed_ids = [a.id for a in reversed(sample_articles)]
    parsed = feedparser.parse(render_atom(all_channel, list(reversed(sample_articles))))
    assert [e.id for e in parsed.entries] == reversed_ids  # feedgen would prepend by default
    assert [a.id for a in sort_articles(list(reversed(sample_articles)))] == [a.id for a in sample_articles]


def test_deterministic_and_clock_free(all_channel: Channel, sample_articles: list[Article]) -> None:
    first = render_atom(all_channel, sample_articles)
    assert first == render_atom(all_channel, sample_articles)
    assert str(datetime.now(timezone.utc).year).encode() not in first


def test_empty_feed_is_valid_and_fixed(all_channel: Channel, assert_valid_atom: Callable[[bytes], None]) -> None:
    document = render_atom(all_channel, [])
    assert_valid_atom(document)
    assert etree.fromstring(document).findtext(f"{A}updated") == EMPTY_FEED_DATE.isoformat()
    assert document == render_atom(all_channel, [])


def test_missing_or_naive_dates_are_errors(all_channel: Channel, sample_articles: list[Article]) -> None:
    undated = dataclasses.replace(sample_articles[0], published=None, updated=None)
    with pytest.raises(RenderError, match="no published or updated date"):
        render_atom(all_channel, [undated])
    naive = dataclasses.replace(sample_articles[0], published=datetime(2001, 1, 1))
    with pytest.raises(RenderError, match="time zone"):
        render_atom(all_channel, [naive])
    half = dataclasses.replace(sample_articles[0], updated=None)
    entry = feedparser.parse(render_atom(all_channel, [half])).entries[0]
    assert entry.updated == entry.published


def test_teaser_content_shows_where_it_stops(all_channel: Channel, sample_articles: list[Article]) -> None:
    teaser = dataclasses.replace(sample_articles[0], paragraphs=("First.", "Cut short here"), truncated=True)
    content = etree.fromstring(render_atom(all_channel, [teaser])).findtext(
        "{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}content")
    assert content is not None and content.endswith("<p>Cut short here\u00a0\u2026</p>")
    whole = etree.fromstring(render_atom(all_channel, [dataclasses.replace(teaser, truncated=False)]))
    assert "\u2026" not in (whole.findtext(".//{http://www.w3.org/2005/Atom}content") or "")


EP84 = "http://www.podtrac.com/pts/redirect.mp3/media.blubrry.com/99percentinvisible/cdn.99percentinvisible.org/wp-content/uploads/84-Ode-to-Ladislav-Sutnar-and-Trading-Places-with-Planet-Money.mp3"


def test_real_podcast_enclosures_and_arxiv_authors(all_channel: Channel, real_feeds: dict[str, list[Article]],
                                                   assert_valid_atom: Callable[[bytes], None]) -> None:
    ns = {"a": "http://www.w3.org/2005/Atom"}
    podcast = etree.fromstring(render_atom(all_channel, real_feeds["podcast_99pi"]))
    [enclosure] = podcast.findall("a:entry[1]/a:link[@rel='enclosure']", ns)
    assert dict(enclosure.attrib) == {"href": EP84, "rel": "enclosure", "type": "audio/mpeg", "length": "29922328"}
    assert len(podcast.findall("a:entry/a:link[@rel='enclosure']", ns)) == 3
    assert [n.text for n in podcast.findall("a:entry[1]/a:author/a:name", ns)] == ["roman"]
    document = render_atom(all_channel, real_feeds["arxiv_atom"])
    assert_valid_atom(document)
    arxiv = etree.fromstring(document)
    second = arxiv.findall("a:entry", ns)[1]
    assert [n.text for n in second.findall("a:author/a:name", ns)] == ["Peter Garik", "Yann Benétreau-Dupin"]
    assert b"<author>\n      <name>Yangyong Zhu</name>\n    </author>\n    <author>\n      <name>Yun Xiong</name>" in document


def test_source_titles_that_read_as_html_are_escaped_html(all_channel: Channel, sample_articles: list[Article]) -> None:
    """``&id_list=`` reads as an entity to the W3C validator (and some readers): type="html"."""
    query = "ArXiv Query: search_query=all:science&id_list=&start=0"
    document = render_atom(all_channel, [dataclasses.replace(sample_articles[2], source_title=query)])
    assert b'<title type="html">ArXiv Query: search_query=all:science&amp;amp;id_list=&amp;amp;start=0</title>' in document
    source = etree.fromstring(document).find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}source")
    assert source is not None and html.unescape(source.findtext("{http://www.w3.org/2005/Atom}title") or "") == query
    plain = render_atom(all_channel, [dataclasses.replace(sample_articles[2], source_title="AT&T news")])
    assert b"      <title>AT&amp;T news</title>" in plain
