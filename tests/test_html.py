"""HTML pages: well-formed, phone-ready, autodiscovery, escaped, no script or external assets."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import lxml.html
from lxml.html import HtmlElement

from feeds.channel import Channel
from feeds.html import TagEntry, render_article_page, render_index, render_tag_page
from feeds.urls import Urls
from sources.model import Article, Author, Enclosure, Tag

FEED_TYPES = ["application/atom+xml", "application/rss+xml", "application/feed+json"]


def _page(document: bytes) -> HtmlElement:
    assert document.startswith(b"<!doctype html>") and document.rstrip().endswith(b"</html>")
    root = lxml.html.document_fromstring(document)
    assert root.get("lang") == "en"
    assert root.xpath("//meta[@name='viewport']") and root.xpath("//meta[@charset='utf-8']")
    assert not root.xpath("//script"), "no JavaScript, and no markup from the data"
    assets = root.xpath("//link[@rel!='alternate' and @rel!='outline'] | //img | //iframe")
    external = [e.get("href") or e.get("src") for e in assets]
    assert all(ref is None or ref.startswith("data:") for ref in external), external
    return root


def _autodiscovery(root: HtmlElement) -> list[tuple[str, str]]:
    return [(e.get("type"), e.get("href")) for e in root.xpath("//head/link[@rel='alternate']")]


def test_tag_page(tag_channel: Channel, sample_articles: list[Article]) -> None:
    root = _page(render_tag_page(tag_channel, sample_articles))
    assert _autodiscovery(root) == [(t, f"http://127.0.0.1:8080/tags/putin.{f}")
                                    for t, f in zip(FEED_TYPES, ["atom", "rss", "json"], strict=True)]
    assert root.findtext(".//h1") == "Putin"
    titles = [a.text_content() for a in root.xpath("//main//article//h3/a")]
    assert titles == [a.title for a in sample_articles]  # escaped markup reads back as the same text
    hrefs = root.xpath("//main//article//h3/a/@href")
    assert hrefs[0] == f"../articles/{sample_articles[0].id_hex}.html"


def test_index(all_channel: Channel, sample_articles: list[Article]) -> None:
    tags = [TagEntry(Tag(slug="putin", name="Putin"), 3), TagEntry(Tag(slug="x-y", name="X & <Y>"), 1)]
    document = render_index(all_channel, tags, sample_articles[:2])
    root = _page(document)
    assert _autodiscovery(root) == [(t, f"http://127.0.0.1:8080/all.{f}")
                                    for t, f in zip(FEED_TYPES, ["atom", "rss", "json"], strict=True)]
    assert root.xpath("//head/link[@rel='outline']/@href") == ["http://127.0.0.1:8080/feeds.opml"]
    assert root.xpath("//a[@href='tags/x-y.html']/text()") == ["X & <Y>"]
    assert b"X &amp; &lt;Y&gt;" in document
    for fmt in ("atom", "rss", "json"):
        assert root.xpath(f"//a[@href='http://127.0.0.1:8080/tags/putin.{fmt}']")
    assert len(root.xpath("//main//article")) == 2


def test_article_page(urls: Urls, sample_articles: list[Article]) -> None:
    nasty = sample_articles[1]
    document = render_article_page("tagfeed", urls, nasty)
    root = _page(document)
    assert root.findtext(".//h1") == nasty.title
    assert root.findtext(".//figure/figcaption") == nasty.caption
    assert [p.text for p in root.xpath("//article/p[not(@class)]")] == list(nasty.paragraphs)
    assert root.xpath("//a[@rel='tag']/@href") == ["../tags/sergei-lavrov.html", "../tags/putin.html"]
    assert root.xpath("//time/@datetime")[0] == "2001-03-03T05:06:07+00:00"
    assert b"<i>" not in document and b"&lt;i&gt;" in document


def test_article_page_upstream(urls: Urls, sample_articles: list[Article]) -> None:
    root = _page(render_article_page("tagfeed", urls, sample_articles[2]))
    assert root.xpath("//article//em/text()") == ["world"]  # sanitized upstream HTML kept as HTML
    assert root.xpath("//a[@rel='external']/@href") == ["https://example.org/post/1"]
    assert not _page(render_article_page("tagfeed", urls, sample_articles[0])).xpath("//a[@rel='external']")


def test_pages_are_deterministic_and_clock_free(tag_channel: Channel, sample_articles: list[Article]) -> None:
    first = render_tag_page(tag_channel, sample_articles)
    assert first == render_tag_page(tag_channel, sample_articles)
    assert str(datetime.now(timezone.utc).year).encode() not in first


EP84 = "http://www.podtrac.com/pts/redirect.mp3/media.blubrry.com/99percentinvisible/cdn.99percentinvisible.org/wp-content/uploads/84-Ode-to-Ladislav-Sutnar-and-Trading-Places-with-Planet-Money.mp3"


def test_article_page_plays_audio_links_files_and_shows_the_image(urls: Urls, sample_articles: list[Article],
                                                                  real_feeds: dict[str, list[Article]]) -> None:
    episode = dataclasses.replace(real_feeds["podcast_99pi"][0], published=sample_articles[0].published,
                                  updated=sample_articles[0].updated)
    page = render_article_page("tagfeed", urls, episode).decode()
    assert (f'<p><audio controls preload="none" src="{EP84}"></audio><br><a href="{EP84}">Download the audio '
            "(audio/mpeg)</a></p>") in page
    assert '<p class="meta">By roman</p>' in page
    rich = dataclasses.replace(sample_articles[1], authors=(Author("Jane <J> Doe"), Author("Bob")),
                               enclosures=(Enclosure("https://a.example/1.pdf?a=1&b=2", "application/pdf"),),
                               image="https://a.example/1.jpg")
    page = render_article_page("tagfeed", urls, rich).decode()
    assert '<p class="meta">By Jane &lt;J&gt; Doe, Bob</p>' in page
    assert ('<p><a href="https://a.example/1.pdf?a=1&amp;b=2">Download the file (application/pdf)</a></p>') in page
    assert ('<figure><img src="https://a.example/1.jpg" alt="Lavrov: &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; '
            '&amp; &lt;b&gt;bold&lt;/b&gt; &#39;quoted&#39;"></figure>') in page
    assert "<audio" not in page


def test_markup_like_title_is_text_on_the_page(urls: Urls, sample_articles: list[Article]) -> None:
    article = dataclasses.replace(sample_articles[2], title="History of the <blink> tag")
    page = render_article_page("tagfeed", urls, article).decode()
    assert "<h1>History of the &lt;blink&gt; tag</h1>" in page and "<blink>" not in page
