"""RSS 2.0: required channel elements, RFC 822 dates, guids, self link, feedparser."""

from __future__ import annotations

import dataclasses
import email.utils
from datetime import datetime, timezone

import feedparser
from lxml import etree

from feeds.channel import Channel
from feeds.rss import render_rss
from sources.model import Article, Author, Enclosure, make_tag

ATOM_LINK = "{http://www.w3.org/2005/Atom}link"


def test_channel_structure(tag_channel: Channel, sample_articles: list[Article]) -> None:
    root = etree.fromstring(render_rss(tag_channel, sample_articles))
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    assert channel.findtext("title") == "Putin — tagfeed"
    assert channel.findtext("link") == "http://127.0.0.1:8080/tags/putin.html"
    assert channel.findtext("description") == "Articles tagged Putin on tagfeed"
    self_link = channel.find(ATOM_LINK)
    assert self_link is not None and self_link.get("rel") == "self"
    assert self_link.get("href") == "http://127.0.0.1:8080/tags/putin.rss"
    built = email.utils.parsedate_to_datetime(channel.findtext("lastBuildDate") or "")
    assert built == datetime(2001, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    assert (channel.findtext("generator") or "").startswith("tagfeed ")


def test_items(all_channel: Channel, sample_articles: list[Article]) -> None:
    items = etree.fromstring(render_rss(all_channel, sample_articles)).findall("channel/item")
    assert len(items) == len(sample_articles)
    for item, article in zip(items, sample_articles, strict=True):
        guid = item.find("guid")
        assert guid is not None and guid.text == article.id
        assert guid.get("isPermaLink") == ("true" if article.id.startswith("http") else "false")
        assert email.utils.parsedate_to_datetime(item.findtext("pubDate") or "") == article.published
        assert item.findtext("title") == article.title
        assert item.findtext("link") == all_channel.urls.article_link(article)
        assert [c.text for c in item.findall("category")] == [t.name for t in article.tags]
    assert "<p>&lt;script&gt;" in (items[1].findtext("description") or "")
    source = items[2].find("source")
    assert source is not None and source.get("url") == "https://example.org/feed.xml"


def test_feedparser_round_trip(all_channel: Channel, sample_articles: list[Article]) -> None:
    parsed = feedparser.parse(render_rss(all_channel, sample_articles))
    assert parsed.bozo == 0 and parsed.version == "rss20"
    assert [e.id for e in parsed.entries] == [a.id for a in sample_articles]
    assert [e.title for e in parsed.entries] == [a.title for a in sample_articles]
    assert [e.link for e in parsed.entries] == [all_channel.urls.article_link(a) for a in sample_articles]


def test_plain_text_markup_is_hex_escaped(all_channel: Channel, sample_articles: list[Article]) -> None:
    document = render_rss(all_channel, sample_articles)
    assert b"&#x3C;script&#x3E;" in document and b"<script>" not in document
    title = etree.fromstring(document).findall("channel/item")[1].findtext("title")
    assert title == sample_articles[1].title


def test_deterministic_and_clock_free(all_channel: Channel, sample_articles: list[Article]) -> None:
    first = render_rss(all_channel, sample_articles)
    assert first == render_rss(all_channel, sample_articles)
    assert str(datetime.now(timezone.utc).year).encode() not in first
    assert render_rss(all_channel, []) == render_rss(all_channel, [])


def test_source_title_markup_is_hex_escaped(all_channel: Channel, sample_articles: list[Article]) -> None:
    upstream = dataclasses.replace(sample_articles[2], source_title="Example <Atom> & co")
    document = render_rss(all_channel, [upstream])
    assert b">Example &#x3C;Atom&#x3E; &#x26; co</source>" in document
    assert etree.fromstring(document).findtext("channel/item/source") == "Example <Atom> & co"


def test_markup_like_tag_and_titles_are_hex_references(all_channel: Channel, sample_articles: list[Article]) -> None:
    """Channel, item and category text with ``& < >``: hexadecimal references, the form the W3C
    validator takes for text (no "title should not contain HTML")."""
    tag = make_tag("Scripts & <Tags>")
    article = dataclasses.replace(sample_articles[0], title="Why <script> blocks & stalls", tags=(tag,))
    document = render_rss(dataclasses.replace(all_channel, tag=tag), [article])
    assert b"<title>Scripts &#x26; &#x3C;Tags&#x3E; \xe2\x80\x94 tagfeed</title>" in document
    assert b"<title>Why &#x3C;script&#x3E; blocks &#x26; stalls</title>" in document
    assert b"<category>Scripts &#x26; &#x3C;Tags&#x3E;</category>" in document
    assert b"<description>Articles tagged Scripts &#x26; &#x3C;Tags&#x3E; on tagfeed</description>" in document
    root = etree.fromstring(document)
    assert root.findtext("channel/title") == "Scripts & <Tags> — tagfeed"
    assert root.findtext("channel/item/title") == "Why <script> blocks & stalls"
    assert root.findtext("channel/item/category") == "Scripts & <Tags>"


EP84 = "http://www.podtrac.com/pts/redirect.mp3/media.blubrry.com/99percentinvisible/cdn.99percentinvisible.org/wp-content/uploads/84-Ode-to-Ladislav-Sutnar-and-Trading-Places-with-Planet-Money.mp3"
DC = "{http://purl.org/dc/elements/1.1/}creator"


def test_real_podcast_enclosures_and_arxiv_authors(all_channel: Channel, real_feeds: dict[str, list[Article]]) -> None:
    podcast = render_rss(all_channel, real_feeds["podcast_99pi"])
    assert (f'<enclosure url="{EP84}" length="29922328" type="audio/mpeg"/>').encode() in podcast
    assert podcast.count(b"<enclosure ") == 3
    assert podcast.count(b"<dc:creator>roman</dc:creator>") == 3
    assert b'xmlns:dc="http://purl.org/dc/elements/1.1/"' in podcast and b"xmlns:media" not in podcast
    arxiv = etree.fromstring(render_rss(all_channel, real_feeds["arxiv_atom"]))
    second = arxiv.findall("channel/item")[1]
    assert [n.text for n in second.findall(DC)] == ["Peter Garik", "Yann Benétreau-Dupin"]
    assert second.find("author") is None  # RSS's one <author> is an address; these have none


def test_one_author_with_an_address_is_rss_author(all_channel: Channel, sample_articles: list[Article]) -> None:
    solo = dataclasses.replace(sample_articles[0], authors=(Author("Jane Doe", "jane@example.org"),),
                               enclosures=(Enclosure("https://a.example/1.pdf"), Enclosure("https://a.example/2.mp3")),
                               image="https://a.example/1.jpg")
    document = render_rss(all_channel, [solo, *sample_articles[1:]])
    assert b"<author>jane@example.org (Jane Doe)</author>" in document and b"dc:creator" not in document
    assert b'<enclosure url="https://a.example/1.pdf" length="0" type="application/octet-stream"/>' in document
    assert document.count(b"<enclosure") == 1  # RSS 2.0 allows one per item
    assert b'<media:thumbnail url="https://a.example/1.jpg"/>' in document
    assert b'xmlns:media="http://search.yahoo.com/mrss/"' in document and b"xmlns:dc" not in document
    # without these fields the feed is what it always was
    plain = render_rss(all_channel, sample_articles)
    assert b"xmlns:media" not in plain and b"<enclosure" not in plain and b"<author>" not in plain
