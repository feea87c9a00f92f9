"""HTML pages: well-formed, phone-ready, autodiscovery, escaped, no script or external assets.

The sample pages are also held byte for byte by tests/data/golden/samples/ (``--update-golden``).
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import lxml.html
import pytest
from helpers import NASTY_TEXT, SLUGS, SOURCE_STATUSES, clean_for_rendering, nasty_articles
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml.html import HtmlElement

from feeds.channel import Channel, sort_articles, xml_text
from feeds.html import TagEntry, _e, render_article_page, render_index, render_tag_page
from feeds.status import SourceStatus
from feeds.urls import Urls
from sources.model import Article, Author, Enclosure, Tag
from tagfeed import __version__
from tagfeed.errors import RenderError

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


# The index's "Sources" section: every state, with and without an error and a next try
# (in UTC and not, a year the fast human_date leaves to strftime), and nasty text.
T0 = datetime(2001, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
SOURCES = (
    SourceStatus("seeds/001_putin.txt", "ok"),
    SourceStatus("https://feeds.example.com/a?x=1&y=<2>", "error", "HTTP 500: <b>\"boom\"</b> & 'more'",
                 datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc)),
    SourceStatus("https://feeds.example.com/b", "backoff", "timed out", T0.astimezone(timezone(timedelta(hours=-8)))),
    SourceStatus("https://feeds.example.com/c", "gone", "HTTP 410 Gone"),
    SourceStatus("seeds/Ünïcødé ✓ 𝄞.txt", "warning", "gave 2 articles, usually 40 — «check» it"),
    SourceStatus("https://feeds.example.com/d", "error", "", datetime(999, 12, 31, 23, 59, tzinfo=timezone.utc)),
    SourceStatus("x & <y>", "unknown-state", None, datetime(2024, 3, 1, 9, 30)),  # no zone: shown as it is
)
NASTY_SITE = 'A & <B> "site" \'q\' Ünï ✓'
NASTY_TAGS = [TagEntry(Tag(slug="putin", name="Putin"), 3), TagEntry(Tag(slug="x-y", name="X & <Y> \"q\" 'é'"), 0)]


def test_sample_pages_are_the_golden_ones(urls: Urls, tag_channel: Channel, sample_articles: list[Article],
                                          golden: Callable[[str, bytes], None]) -> None:
    """Every branch of the pages on nasty text (a teaser, a caption, upstream HTML, updated after
    published, a hub, every source state): tests/test_golden.py lists these files."""
    channel = Channel(urls=urls, site_title=NASTY_SITE, generator_version=__version__, hub="https://hub.example/?x=1&y")
    golden("samples/index.html", render_index(channel, NASTY_TAGS, sample_articles, SOURCES))
    golden("samples/tags/putin.html", render_tag_page(tag_channel, sample_articles))
    for n, article in enumerate(sample_articles):
        golden(f"samples/article-{n}.html", render_article_page(NASTY_SITE, urls, article))


def test_index_cases(sample_articles: list[Article], urls: Urls) -> None:
    """Each branch of the index on its own: no tags, no articles, no sources, and every source line."""
    channel = Channel(urls=urls, site_title=NASTY_SITE, generator_version=__version__, hub="https://hub.example/?x=1&y")
    empty = render_index(channel, [], [], [])
    _page(empty)
    assert b"<p>No tags yet.</p>" in empty and b"<p>No articles yet.</p>" in empty and b"Sources" not in empty
    for source in SOURCES:
        root = _page(render_index(channel, [], [], [source]))
        (line,) = root.xpath("//section[@id='sources']//li")
        assert line.findtext("code") == source.name
        assert (source.last_error or "") in line.text_content() and source.state_name in line.text_content()
        shown = line.xpath(".//time/@datetime")
        assert shown == ([source.next_try.isoformat()] if source.next_try else [])
    page = render_index(channel, NASTY_TAGS, sample_articles, SOURCES)
    assert page.count(b"next try <time") == 4 and page.count(b'<br><span class="meta">') == 8  # 4 errors, 4 next tries
    assert b"X &amp; &lt;Y&gt; &#34;q&#34; &#39;\xc3\xa9&#39;" in page and b"hub.example" not in page
    with pytest.raises(RenderError):  # a slug no URL can hold
        render_index(channel, [TagEntry(Tag(slug="Bad Slug", name="x"), 1)], [], [])


# -- any text: every page parses, and what it shows reads back as the text it was given

def _text(value: str) -> str:
    """Text as an HTML parser gives it back: line ends and runs of white space do not count."""
    return " ".join(value.replace("\r", "\n").split())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(nasty_articles(), max_size=4), st.sampled_from(["http://127.0.0.1:8080/", "https://e.org/s/d?"]))
def test_random_tag_and_article_pages(articles: list[Article], base: str) -> None:
    cleaned = sort_articles([dataclasses.replace(a, content_html=None)  # upstream HTML is sanitized before it
                             for a in clean_for_rendering(articles)])  # gets here (tests/test_sanitize.py)
    urls = Urls(base)
    channel = Channel(urls=urls, site_title="tagfeed & <co>", generator_version=__version__, tag=Tag(slug="putin", name="Putin & <b>"))
    root = _page(render_tag_page(channel, cleaned))
    assert root.findtext(".//h1") == "Putin & <b>"
    assert [_text(a.text_content()) for a in root.xpath("//main//article//h3/a")] == [_text(a.title) for a in cleaned]
    for article in cleaned:
        page = _page(render_article_page("tagfeed & <co>", urls, article))
        assert _text(page.findtext(".//h1") or "") == _text(article.title)
        assert [_text(t.text_content()) for t in page.xpath("//a[@rel='tag']")] == [_text(t.name) for t in article.tags]
        if article.caption:
            assert _text(page.findtext(".//figcaption") or "") == _text(article.caption)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.builds(TagEntry, st.builds(Tag, slug=SLUGS, name=NASTY_TEXT), st.integers(0, 10**6)), max_size=5),
       st.lists(nasty_articles(), max_size=3), st.lists(SOURCE_STATUSES, max_size=3))
def test_random_index(tags: list[TagEntry], articles: list[Article], sources: list[SourceStatus]) -> None:
    """The index on its own: any tag list and counts (not only what the articles give), any sources."""
    cleaned = sort_articles(clean_for_rendering(articles))
    tags = [TagEntry(Tag(slug=t.tag.slug, name=xml_text(t.tag.name)), t.count) for t in tags]  # as articles give them
    sources = [dataclasses.replace(s, name=xml_text(s.name), last_error=s.last_error and xml_text(s.last_error))
               for s in sources]
    root = _page(render_index(Channel(urls=Urls("http://127.0.0.1:8080/"), site_title="t", generator_version=__version__), tags, cleaned, sources))
    listed = root.xpath("//main/section[h2='Tags']/ul/li")
    assert [_text(li.xpath("a")[0].text_content()) for li in listed] == [_text(t.tag.name) for t in tags]
    assert [li.findtext("span[@class='meta']") for li in listed] == [f"({t.count})" for t in tags]
    assert [_text(li.findtext("code") or "") for li in root.xpath("//section[@id='sources']//li")] == \
        [_text(s.name) for s in sources]




@settings(max_examples=300)
@given(NASTY_TEXT)
def test_escaping_is_autoescape(text: str) -> None:
    """The pages escape as markupsafe (Jinja's autoescape) does: the five characters, nothing else."""
    escaped = _e(text)
    assert html.unescape(escaped) == text
    assert not any(c in escaped for c in "<>\"'") and "&" not in escaped.replace("&amp;", "").replace(
        "&lt;", "").replace("&gt;", "").replace("&#39;", "").replace("&#34;", "")
    assert escaped == text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        "'", "&#39;").replace('"', "&#34;")


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
