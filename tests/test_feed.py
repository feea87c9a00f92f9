"""External feed parsing: every format maps to the right articles, and hostile bodies are refused."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from datetime import timezone
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from sources.feed import parse_feed
from sources.model import Article, Author, Enclosure
from tagfeed.errors import FeedError

UPSTREAM = Path(__file__).parent / "data/upstream"
SAMPLES = sorted(p for p in UPSTREAM.glob("*.*") if p.suffix in (".xml", ".rdf", ".json")
                 and not p.name.endswith(".expected.json"))
FEED_URL = "https://feeds.example.com/"
VECTORS = [line for line in (UPSTREAM / "xss_vectors.txt").read_text("utf-8").splitlines()
           if line.strip() and not line.startswith("#")]


def _parse(body: bytes, **kw: object) -> list[Article]:
    return parse_feed(body, url=str(kw.get("url", FEED_URL)), headers=kw.get("headers", {}),  # type: ignore[arg-type]
                      tags=kw.get("tags", ()))  # type: ignore[arg-type]


def _as_json(article: Article) -> dict[str, object]:
    return {
        "id": article.id, "title": article.title, "link": article.link, "summary": article.summary,
        "content_html": article.content_html, "tags": [t.name for t in article.tags],
        "published": article.published.isoformat() if article.published else None,
        "updated": article.updated.isoformat() if article.updated else None,
        "source_title": article.source_title,
        **({"authors": [[a.name, a.email, a.uri] for a in article.authors]} if article.authors else {}),
        **({"enclosures": [[e.url, e.media_type, e.length] for e in article.enclosures]} if article.enclosures else {}),
        **({"image": article.image} if article.image else {}),
    }


def _rss(items: str, encoding: str = "utf-8") -> str:
    return (f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>T</title>'
            f"<link>https://site.example/</link><description>d</description>{items}</channel></rss>")


def test_samples_cover_every_format() -> None:
    assert {p.name for p in SAMPLES} >= {"atom03.xml", "atom10.xml", "rss091.xml", "rss10.rdf", "rss20.xml",
                                         "jsonfeed10.json", "jsonfeed11.json"}


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_maps_to_expected_articles(path: Path) -> None:
    expected = json.loads(path.with_name(path.name.rsplit(".", 1)[0] + ".expected.json").read_text("utf-8"))
    articles = _parse(path.read_bytes(), url=FEED_URL + path.name, tags=["Configured"])
    assert [_as_json(a) for a in articles] == expected
    for article in articles:
        assert article.source == article.source_url == FEED_URL + path.name
        assert article.paragraphs == ()
        for when in (article.published, article.updated):
            assert when is None or when.tzinfo is timezone.utc


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_ids_are_stable_across_parses_and_content_changes(path: Path) -> None:
    body = path.read_bytes()
    first = [a.id for a in _parse(body)]
    assert first == [a.id for a in _parse(body)]
    edited = body.replace(b"<p>", b"<p>Edited: ").replace(b"description>", b"description>Edited ")
    assert [a.id for a in _parse(edited)] == first
    assert len(set(first)) == len(first)


def test_id_precedence_iri_then_link_then_title_and_date() -> None:
    body = _rss(
        '<item><guid isPermaLink="false">tag:x.example,2024:1</guid><title>a</title>'
        "<link>https://x.example/a</link></item>"
        '<item><guid isPermaLink="false">42</guid><title>b</title><link>https://x.example/b</link></item>'
        "<item><title>c</title><pubDate>Wed, 01 May 2024 09:00:00 GMT</pubDate></item>"
        '<item><guid isPermaLink="false">42</guid><title>d</title></item>'
    ).encode()
    a, b, c, d = _parse(body)
    assert a.id == "tag:x.example,2024:1"
    # Literal ids, computed once: a published id never changes, so each way of keying one
    # (the link, title and date, a local guid scoped by the feed) is pinned as written.
    assert b.id == "urn:uuid:c8598529-c128-5493-8ac2-aff06d648b87"
    assert b.id != _parse(body.replace(b"/b<", b"/b2<"))[1].id
    assert c.id == "urn:uuid:5d9974c7-4460-5ffb-86e2-b0aa64327977" and c.link is None
    assert c.id != _parse(body.replace(b"09:00:00", b"10:00:00"))[2].id
    assert d.id == "urn:uuid:8dae6785-c6ab-54b6-982d-7c3604c651b8" and d.link is None


def test_entries_without_title_or_link_still_work() -> None:
    body = _rss("<item><description>&lt;p&gt;Only a body, which becomes the title.&lt;/p&gt;</description></item>"
                "<item><title>Only a title</title></item>"
                "<item><link>https://x.example/only-link</link></item>").encode()
    first, second, third = _parse(body)
    assert first.title == "Only a body, which becomes the title." and first.link is None
    assert second.title == "Only a title" and second.content_html is None
    assert third.title == "https://x.example/only-link" and third.link == "https://x.example/only-link"


def test_long_bodies_give_short_summaries_and_titles() -> None:
    words = " ".join(f"word{i}" for i in range(200))
    (article,) = _parse(_rss(f"<item><description>{words}</description></item>").encode())
    assert len(article.summary) <= 300 and article.summary.endswith("…")
    assert len(article.title) <= 80


def test_configured_tags_and_upstream_categories_merge() -> None:
    body = _rss("<item><title>t</title><category>Sergei Lavrov</category><category>sergei lavrov</category>"
                "<category>Diplomacy</category></item>").encode()
    (article,) = _parse(body, tags=["Sergei Lavrov", "World"])
    assert [t.slug for t in article.tags] == ["diplomacy", "sergei-lavrov", "world"]


@pytest.mark.parametrize("body", [
    b"<!DOCTYPE html><html><head><title>x</title></head><body>Not a feed</body></html>",
    b"\n\n<html lang=en><body><p>hello</p></body></html>",
    b"", b"   \r\n ",
    b"<note><to>you</to></note>",
    b"just some text",
    b"{not json", b'{"version": "1", "items": []}', b'["a", "b"]',
    b'{"version": "https://jsonfeed.org/version/1.1", "items": "nope"}',
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>broken',
], ids=["html-doctype", "html", "empty", "blank", "other-xml", "text", "bad-json", "json-not-feed",
        "json-array", "json-items", "truncated-xml"])
def test_non_feeds_raise_feed_error_naming_the_url(body: bytes) -> None:
    with pytest.raises(FeedError, match="feeds.example.com"):
        _parse(body)


def test_an_empty_but_valid_feed_has_no_articles() -> None:
    assert _parse(_rss("").encode()) == []


_LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
           + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1 if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
           + "]>")
_XXE = '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


@pytest.mark.parametrize("doctype", [_LAUGHS, _XXE], ids=["billion-laughs", "xxe"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_entity_declarations_are_refused_without_expansion(doctype: str, encoding: str) -> None:
    body = _rss("<item><title>&lol9;&xxe;</title></item>", encoding).replace("<rss", doctype + "<rss", 1)
    started = time.perf_counter()
    with pytest.raises(FeedError, match="unsafe XML"):
        _parse(body.encode(encoding))
    assert time.perf_counter() - started < 1


def test_entity_declarations_in_unparsable_bytes_are_refused() -> None:
    body = _rss("<item><title>x</title></item>").replace("<rss", _XXE + "<rss", 1).encode()
    with pytest.raises(FeedError, match="unsafe XML"):
        _parse(body.replace(b"<?xml", b"\xff\xfe<?xml", 1))


def test_external_dtd_and_url_bodies_never_reach_the_network(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/dtd").respond_with_data("<!ENTITY x 'pwned'>")
    httpserver.expect_request("/feed").respond_with_data(_rss("<item><title>x</title></item>"))
    doctype = f'<!DOCTYPE rss SYSTEM "{httpserver.url_for("/dtd")}">'
    body = _rss("<item><title>ok</title></item>").replace("<rss", doctype + "<rss", 1).encode()
    assert [a.title for a in _parse(body)] == ["ok"]
    with pytest.raises(FeedError):
        _parse(httpserver.url_for("/feed").encode())  # a URL is just bytes that are not a feed
    assert httpserver.log == []


@pytest.mark.parametrize("body", [
    _rss("<item><title>Caf\u00e9</title></item>").encode().replace(b"Caf\xc3\xa9", b"Caf\xe9 \xff"),
    _rss("<item><title>Caf\u00e9</title></item>", "utf-8").encode("cp1252"),
    _rss("<item><title>Caf\u00e9</title></item>", "iso-8859-1").encode("utf-8"),
    _rss("<item><title>Caf\u00e9</title></item>", "no-such-charset").encode("utf-8"),
], ids=["invalid-utf8", "cp1252-declared-utf8", "utf8-declared-latin1", "unknown-charset"])
def test_wrong_or_broken_charsets_still_parse(body: bytes) -> None:
    for headers in ({}, {"Content-Type": "application/rss+xml; charset=us-ascii"}):
        (article,) = _parse(body, headers=headers)
        assert article.title.startswith("Caf")


def _assert_clean(article: Article) -> None:
    for text in (article.content_html or "", article.summary, article.title):
        lowered = text.lower()
        assert "<script" not in lowered and "javascript:" not in lowered and "vbscript:" not in lowered
        assert "data:" not in lowered and "<iframe" not in lowered and "<svg" not in lowered


def test_xss_vectors_in_rss_entries_do_not_survive() -> None:
    items = "".join(f"<item><title>v{i}</title><link>https://x.example/{i}</link>"
                    f"<content:encoded><![CDATA[<p>ok</p>{v}]]></content:encoded></item>"
                    for i, v in enumerate(VECTORS))
    articles = _parse(_rss(items).encode())
    assert len(articles) == len(VECTORS) >= 20
    for article in articles:
        _assert_clean(article)
        assert "<p>ok</p>" in (article.content_html or "")
        assert not _has_event_handler(article.content_html or "")


def test_xss_vectors_in_json_feed_bodies_do_not_survive_and_titles_stay_text() -> None:
    """JSON Feed titles are plain text: a vector there is the headline's text (every renderer
    escapes it), while the HTML body and summary lose it."""
    items = [{"id": f"https://x.example/{i}", "title": v, "content_html": v, "summary": v}
             for i, v in enumerate(VECTORS)]
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "x", "items": items})
    articles = _parse(body.encode())
    assert [a.title for a in articles] == [" ".join(v.split()) for v in VECTORS]
    for article in articles:
        _assert_clean(dataclasses.replace(article, title="x"))
        assert not _has_event_handler(article.content_html or "")


def test_html_titles_lose_their_markup() -> None:
    body = ("<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><id>tag:x,1:f</id>"
            "<title type='html'>&lt;b&gt;Bold&lt;/b&gt; feed</title><updated>2024-01-01T00:00:00Z</updated>"
            "<entry><id>tag:x,1:1</id><title type='html'>&lt;script&gt;alert(1)&lt;/script&gt;A &amp;amp; B</title>"
            "<updated>2024-01-01T00:00:00Z</updated></entry></feed>")
    [article] = _parse(body.encode())
    assert (article.title, article.source_title) == ("A & B", "Bold feed")


@pytest.mark.parametrize("body", [
    "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><id>tag:x,1:f</id>"
    "<title type='text'>Scripts &amp; &lt;Tags&gt;</title><updated>2024-01-01T00:00:00Z</updated>"
    "<entry><id>tag:x,1:1</id><title type='text'>History of the &lt;blink&gt; tag</title>"
    "<category term='Scripts &amp; &lt;Tags&gt;'/><updated>2024-01-01T00:00:00Z</updated></entry></feed>",
    "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><id>tag:x,1:f</id>"
    "<title>Scripts &amp; &lt;Tags&gt;</title><updated>2024-01-01T00:00:00Z</updated>"
    "<entry><id>tag:x,1:1</id><title>History of the &lt;blink&gt; tag</title>"
    "<category term='Scripts &amp; &lt;Tags&gt;' label='x'/><updated>2024-01-01T00:00:00Z</updated></entry></feed>",
    "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Scripts &amp; &lt;Tags&gt;</title>"
    "<link>https://x.example/</link><description>d</description><item><title>History of the &lt;blink&gt; tag"
    "</title><link>https://x.example/1</link><category>Scripts &amp; &lt;Tags&gt;</category></item></channel></rss>",
    '{"version": "https://jsonfeed.org/version/1.1", "title": "Scripts & <Tags>", "items": [{"id": "1", '
    '"url": "https://x.example/1", "title": "History of the <blink> tag", "tags": ["Scripts & <Tags>"]}]}',
], ids=["atom-text", "atom-default", "rss", "json"])
def test_text_titles_and_tags_keep_markup_like_text(body: str) -> None:
    [article] = _parse(body.encode(), tags=("Vector<T> & co",))
    assert article.title == "History of the <blink> tag"
    assert article.source_title == "Scripts & <Tags>"
    assert "Scripts & <Tags>" in [t.name for t in article.tags]
    assert "Vector<T> & co" in [t.name for t in article.tags]


def test_rss_titles_that_look_like_html_are_html() -> None:
    """feedparser's guess for RSS (which never says): an end tag or an entity makes it HTML."""
    items = ("<item><title>Vector&lt;T&gt; explained</title><link>https://x.example/1</link></item>"
             "<item><title>Why &lt;script&gt; blocks</title><link>https://x.example/2</link></item>"
             "<item><title>The &lt;b&gt;bold&lt;/b&gt; news</title><link>https://x.example/3</link></item>")
    assert [a.title for a in _parse(_rss(items).encode())] == [
        "Vector<T> explained", "Why <script> blocks", "The bold news"]


def _has_event_handler(html: str) -> bool:
    return re.search(r"<[^>]*\son\w+\s*=", html, re.IGNORECASE) is not None


def test_an_entry_link_with_a_port_typo_keeps_its_text_without_a_link() -> None:
    """nh3 refuses such a link as a base URL; the entry must not take its feed down with it."""
    [article] = _parse((UPSTREAM / "broken/bad-port-link.xml").read_bytes())
    assert article.title == "Port typo keeps its text" and article.link is None
    assert article.content_html is not None and "a relative link" in article.content_html


def test_an_unparsable_xml_base_keeps_the_content_without_a_base() -> None:
    body = (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x:f</id>'
            b'<updated>2024-01-01T00:00:00Z</updated><entry><id>urn:x:1</id><title>Kept</title>'
            b'<updated>2024-01-01T00:00:00Z</updated>'
            b'<content type="html" xml:base="https://example.org:8o80/">&lt;p&gt;Still here&lt;/p&gt;</content>'
            b'</entry></feed>')
    [article] = _parse(body)
    assert article.title == "Kept" and article.content_html == "<p>Still here</p>"


def test_an_entry_body_over_the_sanitizer_bound_is_published_cut_and_marked_truncated() -> None:
    from sources.sanitize import MAX_FRAGMENT

    body = ("<rss version='2.0'><channel><title>t</title><item><title>Huge</title><link>https://example.org/h</link>"
            "<description>" + "&lt;p&gt;R&amp;amp;D &lt;/p&gt;" * (MAX_FRAGMENT // 10) + "</description>"
            "</item></channel></rss>").encode()
    [article] = _parse(body)
    assert article.truncated and article.content_html and len(article.content_html) <= MAX_FRAGMENT + 1024
    [short] = _parse((UPSTREAM / "rss20.xml").read_bytes())[:1]
    assert not short.truncated


def test_a_body_that_is_not_well_formed_and_over_the_lenient_limit_is_refused_by_name() -> None:
    from sources.feed.xmlfeed import LENIENT_LIMIT

    body = b"<rss version='2.0'><channel><title>t &bogus; </title>" + b"<item><title>x</title></item>" * (
        LENIENT_LIMIT // 20)
    with pytest.raises(FeedError, match="not well-formed XML.*lenient parser"):
        _parse(body)


def test_json_feed_authors_attachments_and_image() -> None:
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "J", "home_page_url": "https://j.example/",
                       "authors": [{"name": "Feed Person", "url": "https://j.example/me"}],
                       "items": [{"id": "1", "url": "https://j.example/1", "title": "One",
                                  "authors": [{"name": "Ann", "url": "mailto:ann@j.example"}, {"name": "Ben"},
                                              {"avatar": "https://j.example/a.png"}],
                                  "attachments": [{"url": "/1.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 5},
                                                  {"url": "javascript:alert(1)", "mime_type": "audio/mpeg"}],
                                  "image": "img/1.jpg"},
                                 {"id": "2", "url": "https://j.example/2", "title": "Two"}]})
    one, two = _parse(body.encode())
    assert one.authors == (Author("Ann", "ann@j.example"), Author("Ben"))
    assert one.enclosures == (Enclosure("https://j.example/1.mp3", "audio/mpeg", 5),)
    assert one.image == "https://j.example/img/1.jpg"
    assert two.authors == (Author("Feed Person", None, "https://j.example/me"),)  # the feed's apply
    assert (two.enclosures, two.image) == ((), None)
    one_point_oh = json.dumps({"version": "https://jsonfeed.org/version/1", "title": "J",
                               "items": [{"id": "1", "url": "https://j.example/1", "title": "One",
                                          "author": {"name": "Old Style"}}]})
    assert _parse(one_point_oh.encode())[0].authors == (Author("Old Style"),)


@pytest.mark.parametrize("value,expected", [
    ("jane@example.org (Jane Doe)", Author("Jane Doe", "jane@example.org")),
    ("Jane Doe <jane@example.org>", Author("Jane Doe", "jane@example.org")),
    ("jane@example.org", Author("", "jane@example.org")),
    ("Jane Doe", Author("Jane Doe")),
])
def test_rss_author_forms(value: str, expected: Author) -> None:
    from xml.sax.saxutils import escape
    items = f"<item><title>t</title><link>https://x.example/1</link><author>{escape(value)}</author></item>"
    assert _parse(_rss(items).encode())[0].authors == (expected,)


def test_atom_entries_without_authors_take_the_feeds_and_rss_items_take_nobodys() -> None:
    atom = ("<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><id>tag:x,1:f</id>"
            "<title>F</title><updated>2024-01-01T00:00:00Z</updated><author><name>Editor</name></author>"
            "<entry><id>tag:x,1:1</id><title>a</title><updated>2024-01-01T00:00:00Z</updated></entry>"
            "<entry><id>tag:x,1:2</id><title>b</title><updated>2024-01-01T00:00:00Z</updated>"
            "<author><name>Writer</name></author></entry></feed>")
    assert [a.authors for a in _parse(atom.encode())] == [(Author("Editor"),), (Author("Writer"),)]
    rss = _rss("<item><title>t</title><link>https://x.example/1</link></item>").replace(
        "<description>d</description>", "<description>d</description><managingEditor>e@x.example (E)</managingEditor>")
    assert _parse(rss.encode())[0].authors == ()
