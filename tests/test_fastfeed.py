"""sources.feed.fast reads RSS and Atom exactly as feedparser does, or leaves the document to feedparser.

Every comparison runs both real paths on the same bytes: ``sources.feed.read._parse``
with ``fast=False`` asks feedparser, with ``fast=True`` takes the tree reader
where it applies. They must give equal articles, and where the tree reader
applies, the very entry dicts feedparser builds (for the keys sources.feed reads).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import feedparser
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from benchmarks.feedsample import sample_feed
from sources.feed import fast as fastfeed
from sources.feed import read as feedmod
from sources.feed import xmlfeed
from sources.model import Article, Author, Enclosure
from tagfeed.errors import FeedError

DATA = Path(__file__).parent / "data"
XML_FILES = sorted(p for p in DATA.rglob("*") if p.suffix in (".xml", ".rdf", ".atom", ".rss"))
URL = "https://feeds.example.com/feed"
KEYS = ("id", "link", "title", "summary", "published_parsed", "created_parsed", "updated_parsed", "guidislink")
HEADERS: list[dict[str, str]] = [{}, {"Content-Type": "application/atom+xml"}, {"Content-Type": "text/xml"},
                                 {"Content-Type": "application/rss+xml; charset=utf-8"}]


def _both(body: bytes, url: str = URL, headers: dict[str, str] | None = None) -> list[Article]:
    """The articles, after asserting both paths give the same ones (or the same FeedError)."""
    outcomes: list[list[Article] | FeedError] = []
    for fast in (False, True):
        try:
            outcomes.append(feedmod._parse(body, url=url, headers=headers or {}, tags=["Configured"], fast=fast))
        except FeedError as exc:
            outcomes.append(exc)
    slow, quick = (str(o) if isinstance(o, FeedError) else o for o in outcomes)
    assert quick == slow
    if isinstance(outcomes[1], FeedError):
        raise outcomes[1]
    return outcomes[1]


def _read(body: bytes, url: str = URL, headers: dict[str, str] | None = None) -> Any:
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    tree = xmlfeed._parse_safely(body, url)
    return fastfeed.read(tree[0], tree[1], body, headers={"content-location": url, **lowered}) if tree else None


def _entry_view(entry: Any) -> dict[str, Any]:
    get = dict.get  # FeedParserDict.get would answer some keys with others
    out: dict[str, Any] = {k: get(entry, k) for k in KEYS}
    title = get(entry, "title_detail")
    out["title_detail"] = (title["type"], title["value"]) if title else None
    out["links"] = [(link.get("rel"), link.get("href")) for link in get(entry, "links") or []]
    out["content"] = [(c["type"], c["base"], c["value"]) for c in get(entry, "content") or []]
    detail = get(entry, "summary_detail")
    out["summary_detail"] = (detail["type"], detail["base"], detail["value"]) if detail else None
    out["tags"] = [(t["term"], t["scheme"], t["label"]) for t in get(entry, "tags") or []]
    present = (*KEYS, "links", "content", "summary_detail", "tags")
    out["has"] = sorted(k for k in present if dict.__contains__(entry, k))
    return out


def assert_same_reading(body: bytes, url: str = URL, headers: dict[str, str] | None = None) -> bool:
    """Articles agree; where the tree reader applies, so do the entry dicts. True when it applied."""
    try:
        _both(body, url, headers)
    except FeedError:
        pass
    read = _read(body, url, headers)
    if read is None:
        return False
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    parsed = feedparser.parse(body, response_headers={"content-location": url, **lowered},
                              sanitize_html=False, resolve_relative_uris=False)
    assert read[0].get("title", "") == parsed.feed.get("title", "")
    detail = parsed.feed.get("title_detail")
    assert read[0].get("title_detail") == ({"type": detail["type"], "value": detail["value"]} if detail else None)
    assert [_entry_view(e) for e in read[1]] == [_entry_view(e) for e in parsed.entries]
    return True


# -- the fast path is taken where it matters ----------------------------------------------------
def test_the_tree_reader_is_available_with_this_feedparser() -> None:
    assert fastfeed.AVAILABLE, "feedparser changed the internals sources.feed.fast reuses"


@pytest.mark.parametrize("headers", HEADERS, ids=["none", "atom", "text-xml", "rss-utf8"])
def test_benchmark_sample_takes_the_tree_reader_and_agrees(headers: dict[str, str]) -> None:
    body = sample_feed(12)
    assert assert_same_reading(body, "http://127.0.0.1/feed.atom", headers)
    articles = _both(body, "http://127.0.0.1/feed.atom", headers)
    assert len(articles) == 12 and articles[0].link == "http://example.org/posts/0.html"
    assert articles[0].content_html and 'src="http://example.org/img/0.jpg"' in articles[0].content_html


def test_typical_rss_and_atom_take_the_tree_reader() -> None:
    assert assert_same_reading((DATA / "upstream/rss20.xml").read_bytes())
    assert assert_same_reading(_rss(WORDPRESS_ITEM * 3))
    assert assert_same_reading(_atom(BLOGGER_ENTRY * 3))


def test_title_types_agree_with_feedparser() -> None:
    """Text titles stay text on both paths (their type is what keeps ``<blink>`` a word)."""
    rss = _rss("<item><title>Vector&lt;T&gt; explained</title><link>https://x.example/1</link></item>"
               "<item><title>The &lt;b&gt;bold&lt;/b&gt; one</title><link>https://x.example/2</link></item>")
    atom = _atom("<entry><id>tag:x,1:1</id><title type='text'>History of the &lt;blink&gt; tag</title>"
                 "<updated>2024-01-01T00:00:00Z</updated></entry>"
                 "<entry><id>tag:x,1:2</id><title type='html'>A &lt;i&gt;b&lt;/i&gt;</title>"
                 "<updated>2024-01-01T00:00:00Z</updated></entry>")
    assert assert_same_reading(rss) and assert_same_reading(atom)
    assert [a.title for a in _both(rss)] == ["Vector<T> explained", "The bold one"]
    assert [a.title for a in _both(atom)] == ["History of the <blink> tag", "A b"]


# -- every data file --------------------------------------------------------------------------
@pytest.mark.parametrize("path", XML_FILES, ids=[str(p.relative_to(DATA)) for p in XML_FILES])
@pytest.mark.parametrize("headers", HEADERS, ids=["none", "atom", "text-xml", "rss-utf8"])
def test_both_paths_agree_on_every_data_file(path: Path, headers: dict[str, str]) -> None:
    assert_same_reading(path.read_bytes(), URL + "/" + path.name, headers)


# -- documents, rule by rule ------------------------------------------------------------------
NS = ('xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
      'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
      'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:media="http://search.yahoo.com/mrss/" '
      'xmlns:atom="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0" '
      'xmlns:slash="http://purl.org/rss/1.0/modules/slash/" xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
      'xmlns:foo="urn:example:foo" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"')
WORDPRESS_ITEM = """<item><title>Caf\u00e9 &#8211; news</title><link>https://blog.example/2024/05/post/</link>
<comments>https://blog.example/2024/05/post/#respond</comments><dc:creator><![CDATA[Editor]]></dc:creator>
<pubDate>Wed, 01 May 2024 09:00:00 +0000</pubDate><category><![CDATA[World]]></category><category>Politics</category>
<guid isPermaLink="false">https://blog.example/?p=123</guid>
<description><![CDATA[<p>Short &#8230;</p>]]></description>
<content:encoded><![CDATA[<p>Full <a href="/x">text</a> <img src="i.jpg"></p><script>x()</script>]]></content:encoded>
<wfw:commentRss>https://blog.example/2024/05/post/feed/</wfw:commentRss><slash:comments>3</slash:comments>
<enclosure url="https://blog.example/a.mp3" length="1" type="audio/mpeg"/>
<media:content url="https://blog.example/m.jpg" medium="image"><media:thumbnail url="t.jpg"/></media:content>
</item>"""
BLOGGER_ENTRY = """<entry><id>tag:blogger.com,1999:blog-1.post-2</id>
<published>2024-05-01T08:30:00.000+02:00</published>
<updated>2024-05-02T10:00:00.001-07:00</updated><category scheme="http://www.blogger.com/atom/ns#" term="News"/>
<title type="text">A &amp;amp; B</title>
<content type="html">&lt;p&gt;Body &lt;a href="rel"&gt;x&lt;/a&gt;&lt;/p&gt;</content>
<link rel="replies" type="application/atom+xml" href="https://b.example/feeds/2/comments" title="Comments"/>
<link rel="edit" type="application/atom+xml" href="https://b.example/edit/2"/>
<link rel="alternate" type="text/html" href="https://b.example/2024/05/a-b.html" title="A &amp; B"/>
<author><name>Ann</name><uri>https://b.example/profile</uri><email>noreply@b.example</email></author>
<thr:total>0</thr:total><media:thumbnail url="https://b.example/t.jpg" height="72" width="72"/></entry>"""


def _rss(items: str, head: str = "<title>T</title><link>https://site.example/</link>", *, attrs: str = "",
         decl: str = '<?xml version="1.0" encoding="UTF-8"?>\n') -> bytes:
    return f'{decl}<rss version="2.0" {NS}{attrs}><channel>{head}{items}</channel></rss>'.encode()


def _atom(entries: str, head: str = "<title>T</title><id>urn:x</id>", *, attrs: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" {NS}{attrs}>'
            f"{head}{entries}</feed>").encode()


TREE_CASES = {
    "second-description-is-content": _rss("<item><description>a &lt;b&gt;x&lt;/b&gt;</description>"
                                          "<description>plain</description></item>"),
    "description-after-encoded": _rss("<item><content:encoded>full</content:encoded>"
                                      "<description>s</description></item>"),
    "itunes-summary-then-description": _rss("<item><itunes:summary>1 &lt; 2</itunes:summary>"
                                            "<description>&lt;p&gt;d&lt;/p&gt;</description></item>"),
    "looks-like-html-summary": _rss("<item><itunes:summary>&lt;b&gt;bold&lt;/b&gt; &amp;amp; co"
                                    "</itunes:summary></item>"),
    "guid-permalink-variants": _rss('<item><guid>rel/1</guid></item><item><guid isPermaLink="false">rel/2</guid>'
                                    '<link>l</link></item><item><guid isPermaLink="True">x</guid></item>'
                                    '<item><link>a</link><guid>b</guid><guid isPermaLink="false">c</guid></item>'),
    "link-text-ampersands": _rss("<item><link> https://x.example/?a=1&amp;b=2&amp;amp;c=3&amp;d;e </link></item>"),
    "atom-links-in-rss": _rss('<item><atom:link rel="self" href="s"/><atom:link href="/alt" type="TEXT/HTML"/>'
                              "<link>https://x/</link></item>"),
    "xml-base-nesting": _rss('<item xml:base="http://i.example/a/"><link xml:base="b/">c</link>'
                             '<guid xml:base="javascript:x">g</guid>'
                             '<description xml:base="../d/">x</description></item>',
                             attrs=' xml:base="http://root.example/r/"'),
    "categories": _rss('<item><category domain="d"/><category>One</category><category domain="d">Two</category>'
                       "<category>One</category><dc:subject>Three</dc:subject><category></category></item>"),
    "titles-first-non-empty": _rss("<item><title></title><title> A </title><dc:title>B</dc:title></item>"),
    "feed-title-rules": _rss("<item><title>i</title></item><title>late</title>",
                             head="<title>first</title><title>second</title><image><title>img</title><url>u</url>"
                                  "</image><title>third</title>"
                                  "<textInput><title>t</title><name>n</name></textInput>"),
    "mojibake-and-c1": _rss("<item><title>Caf\u00c3\u00a9 &#150; &#x80; \u00fcber</title>"
                            "<description>&#147;q&#148;</description></item>"),
    "dates": _rss("<item><pubDate>not a date</pubDate><dc:date>2024-05-01</dc:date><dcterms:created>"
                  "Sun, 31 Dec 2023 23:59:59 +0100</dcterms:created><pubDate>2024-13-45</pubDate></item>"
                  "<item><atom:updated>2024-05-01T08:30:00Z</atom:updated>"
                  "<dcterms:issued>2024-04-01</dcterms:issued></item>"),
    "rdf-about-and-extensions": _rss('<item rdf:about="http://about.example/1"><foo:x a="1">t</foo:x>'
                                     "<foo:wrap><foo:y>z</foo:y></foo:wrap><itunes:explicit>no</itunes:explicit>"
                                     "<itunes:image href='i.png'/><media:group><media:content url='v'/></media:group>"
                                     "</item>"),
    "no-declaration-text-xml": _rss("<item><title>x</title></item>", decl=""),
    "atom-summary-content-order": _atom("<entry><content>c1</content><summary>s</summary></entry>"
                                        "<entry><summary>s1</summary><summary>s2</summary></entry>"
                                        "<entry><content type='text/markdown'>*m*</content></entry>"
                                        "<entry><content type='html'>&lt;p&gt;h&lt;/p&gt;</content>"
                                        "<content type='text'>t</content></entry>"),
    "atom-links": _atom('<entry><link href=""/><link rel="alternate" href="a" type="application/xhtml+xml"/></entry>'
                        '<entry><link rel="related" href="r"/><id>http://id.example/x</id></entry>'
                        '<entry><id>rel-id</id><link rel="ALTERNATE" href="/up"/></entry>'),
    "atom-categories": _atom('<entry><category term="t" scheme="s" label="L"/><category label="only"/>'
                             '<category term="t" scheme="s" label="L"/><category scheme="x">text</category></entry>'),
    "atom-base": _atom('<entry xml:base="sub/"><link href="p.html"/><content type="html" xml:base="/c/">'
                       "&lt;img src='i.png'&gt;</content></entry>", attrs=' xml:base="http://base.example/a/"'),
    "atom-title-types": _atom("<entry><title type='html'>A &amp;lt;b&amp;gt;</title></entry>",
                              head="<title type='html'>&lt;em&gt;T&lt;/em&gt;</title>"),
}


@pytest.mark.parametrize("body", TREE_CASES.values(), ids=TREE_CASES.keys())
def test_tree_reader_reproduces_feedparser(body: bytes) -> None:
    for headers in HEADERS:
        assert assert_same_reading(body, URL, headers)


LEFT_TO_FEEDPARSER = {
    "xhtml-content": _atom("<entry><content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'>x</div></content>"
                           "</entry>"),
    "base64": _atom("<entry><content type='application/octet-stream'>aGk=</content></entry>"),
    "doctype": _rss("<item><title>x</title></item>").replace(b"<rss", b'<!DOCTYPE rss SYSTEM "x.dtd"><rss', 1),
    "latin1": _rss("<item><title>Caf\u00e9</title></item>", decl='<?xml version="1.0" encoding="iso-8859-1"?>')
    .decode().encode("latin-1"),
    "rss-source": _rss("<item><source url='http://s/'>S</source></item>"),
    "media-title": _rss("<item><media:title>M</media:title></item>"),
    "markup-in-title": _rss("<item><title>a<foo:b/></title></item>"),
    "image-in-item": _rss("<item><image><title>x</title></image><title>y</title></item>"),
    "rss10": b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">'
             b"<channel><title>t</title></channel><item><title>i</title></item></rdf:RDF>",
    "atom03": b'<feed version="0.3" xmlns="http://purl.org/atom/ns#"><entry><title>t</title></entry></feed>',
    "unknown-default-namespace": _rss("<item><x xmlns='urn:other'><title>t</title></x></item>"),
    "cdf-item": _rss("<item lastmod='2024-01-01'><title>t</title></item>"),
}


@pytest.mark.parametrize("body", LEFT_TO_FEEDPARSER.values(), ids=LEFT_TO_FEEDPARSER.keys())
def test_what_the_tree_reader_does_not_reproduce_goes_to_feedparser(body: bytes) -> None:
    assert _read(body, URL, {"Content-Type": "application/rss+xml"}) is None
    assert not assert_same_reading(body, URL, {"Content-Type": "application/rss+xml"})


def test_headers_that_change_the_characters_go_to_feedparser() -> None:
    body = _rss("<item><title>Caf\u00e9</title></item>", decl='<?xml version="1.0"?>')
    assert _read(body, URL, {"Content-Type": "application/rss+xml; charset=iso-8859-1"}) is None
    assert _read(body, URL, {}) is None  # no content-type, no declared encoding: feedparser reads Latin-1
    assert _read(body, URL, {"Content-Type": "text/xml"}) is not None  # us-ascii fails, then UTF-8
    for headers in ({"Content-Type": "application/rss+xml; charset=iso-8859-1"}, {}, {"Content-Type": "text/xml"}):
        assert_same_reading(body, URL, headers)


def test_unsafe_xml_is_refused_before_either_reader() -> None:
    body = _rss("<item><title>&x;</title></item>").replace(b"<rss", b'<!DOCTYPE r [<!ENTITY x "y">]><rss', 1)
    started = time.perf_counter()
    with pytest.raises(FeedError, match="feeds.example.com.*unsafe XML"):
        feedmod.parse_feed(body, url=URL, headers={})
    assert time.perf_counter() - started < 1


# -- generated feeds ----------------------------------------------------------------------------
TEXTS = ["", "  ", "Plain words", "Caf\u00e9", "Caf\u00c3\u00a9", "a &amp; b", "&lt;b&gt;bold&lt;/b&gt;",
         "<![CDATA[<p>x &amp; y</p>]]>", "x &#150; y", "&#x80;&#x9f;", " spaced \n out ",
         "http://example.org/a?b=1&amp;c=2", "/relative/path", "relative", "../up", "tag:x,2024:1",
         "2024-05-01T08:30:00Z", "Wed, 01 May 2024 09:00:00 GMT", "2024-05-01", "not a date",
         "&lt;p&gt;para &lt;a href='/x'&gt;l&lt;/a&gt;&lt;/p&gt;", "&amp;amp;", "a &amp;amp;b; c", "&lt;/p&gt;",
         "\u2014 dash \u00a0", "javascript:alert(1)", "&#0233;t&#233;", "\u00c3\u00bc"]
URLS = ["", "http://example.org/p", "/abs", "rel/x", "../up", "https://other.example/x?a=1&amp;b=2",
        "javascript:x", "#frag", "http:///triple", "  http://example.org/sp  "]
BASES = ["", "", "", ' xml:base="http://base.example/dir/"', ' xml:base="sub/"', ' xml:base="javascript:x"',
         ' xml:base=""']
TYPES = ["", "", ' type="text"', ' type="html"', ' type="TEXT"', ' type="text/html"', ' type="text/plain"',
         ' type="text/markdown"', ' type="xhtml"']
RELS = ["", ' rel="alternate"', ' rel="self"', ' rel="enclosure"', ' rel="related"', ' rel="ALTERNATE"', ' rel=""']
text, url, base, type_, rel = (st.sampled_from(x) for x in (TEXTS, URLS, BASES, TYPES, RELS))


def _templates(*items: str) -> st.SearchStrategy[str]:
    return st.sampled_from(items).flatmap(
        lambda t: st.tuples(text, url, base, type_, rel).map(
            lambda a: t.format(t=a[0], u=a[1], b=a[2], y=a[3], r=a[4])))


rss_child = _templates(
    "<title{b}{y}>{t}</title>", "<dc:title>{t}</dc:title>", "<link{b}>{u}</link>", "<link{b}>{t}</link>",
    '<atom:link{b} href="{u}"{r}/>', "<guid{b}>{u}</guid>", '<guid isPermaLink="false"{b}>{t}</guid>',
    "<pubDate>{t}</pubDate>", "<dc:date>{t}</dc:date>", "<atom:updated>{t}</atom:updated>",
    "<dcterms:created>{t}</dcterms:created>", '<category domain="d">{t}</category>', "<category>{t}</category>",
    "<dc:subject>{t}</dc:subject>", "<description{b}{y}>{t}</description>", "<description{b}>{t}</description>",
    "<content:encoded{b}>{t}</content:encoded>", "<itunes:summary>{t}</itunes:summary>", "<author>{t}</author>",
    "<dc:creator>{t}</dc:creator>", '<enclosure url="{u}" type="audio/mpeg" length="1"/>',
    '<media:content url="{u}"><media:thumbnail url="x"/></media:content>', "<comments>{t}</comments>",
    "<foo:bar>{t}</foo:bar>", '<foo:baz a="1">{t}</foo:baz>', "<atom:summary{y}>{t}</atom:summary>",
    "<atom:content{y}>{t}</atom:content>", "<atom:id>{t}</atom:id>", "<atom:published>{t}</atom:published>",
    "<foo:wrap><foo:inner>{t}</foo:inner></foo:wrap>", "<slash:comments>3</slash:comments>",
)
atom_child = _templates(
    "<title{b}{y}>{t}</title>", '<link{b} href="{u}"{r}/>', '<link{b} href="{u}"{r} type="text/html"/>',
    "<id{b}>{u}</id>", "<id{b}>{t}</id>", "<published>{t}</published>", "<updated>{t}</updated>",
    '<category term="{t}"/>', '<category scheme="s" label="{t}"/>', "<category>{t}</category>",
    "<summary{b}{y}>{t}</summary>", "<content{b}{y}>{t}</content>", '<content src="{u}"/>',
    "<author><name>{t}</name><uri>{u}</uri></author>", "<rights{y}>{t}</rights>", "<foo:bar>{t}</foo:bar>",
    "<dc:subject>{t}</dc:subject>", "<dc:date>{t}</dc:date>", "<issued>{t}</issued>",
    "<media:group><media:content url='{u}'/></media:group>", "<thr:in-reply-to ref='{u}'/>",
)
rss_head = _templates("<title{y}>{t}</title>", "<link>{u}</link>", "<description>{t}</description>",
                      "<image><title>{t}</title><url>{u}</url><link>{u}</link></image>",
                      '<atom:link rel="self" href="{u}"/>',
                      "<language>en</language>", "<pubDate>{t}</pubDate>", "<itunes:summary>{t}</itunes:summary>",
                      "<textInput><title>{t}</title><name>n</name></textInput>", "<dc:title>{t}</dc:title>",
                      "<category>{t}</category>",
                      "<itunes:category text='A'><itunes:category text='B'/></itunes:category>")
atom_head = _templates("<title{y}>{t}</title>", "<id>{u}</id>", "<updated>{t}</updated>", '<link href="{u}"{r}/>',
                       "<subtitle>{t}</subtitle>", "<author><name>{t}</name></author>")


@st.composite
def feeds(draw: st.DrawFn) -> bytes:
    decl = draw(st.sampled_from(['<?xml version="1.0" encoding="utf-8"?>\n', '<?xml version="1.0"?>', ""]))
    if draw(st.booleans()):
        items = "".join(f"<item{draw(base)}>{''.join(draw(st.lists(rss_child, max_size=8)))}</item>"
                        for _ in range(draw(st.integers(0, 3))))
        head, tail = "".join(draw(st.lists(rss_head, max_size=4))), "".join(draw(st.lists(rss_head, max_size=1)))
        return _rss(items, head, attrs=draw(base), decl=decl).replace(b"</channel>", tail.encode() + b"</channel>")
    entries = "".join(f"<entry{draw(base)}>{''.join(draw(st.lists(atom_child, max_size=8)))}</entry>"
                      for _ in range(draw(st.integers(0, 3))))
    return _atom(entries, "".join(draw(st.lists(atom_head, max_size=4))), attrs=draw(base))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=feeds(), headers=st.sampled_from(HEADERS),
       url=st.sampled_from([URL, "http://127.0.0.1/feed.atom", "https://f.example/a/b?c=1"]))
def test_generated_feeds_read_the_same_by_both_paths(body: bytes, headers: dict[str, str], url: str) -> None:
    event("tree reader" if assert_same_reading(body, url, headers) else "feedparser")


@pytest.mark.parametrize("wrapper", ["foo:a", "author"])
def test_deeply_nested_extensions_read_the_same(wrapper: str) -> None:
    deep = f"<{wrapper}>" * 3000 + "x" + f"</{wrapper}>" * 3000
    body = _rss(f"<item><title>i</title>{deep}</item>")
    assert [a.title for a in _both(body)] == ["i"]


# -- authors, enclosures, images: one reading of the tree for both paths ----------------------
PODCAST_ITEM = """<item><title>Episode 1</title><link>https://pod.example/1</link>
<author>host@pod.example (The Host)</author><dc:creator>Guest One</dc:creator><itunes:author>Ignored</itunes:author>
<enclosure url="https://cdn.pod.example/1.mp3" length="24986239" type="audio/mpeg"/>
<itunes:image href="https://pod.example/1.jpg"/><guid>https://pod.example/1</guid></item>"""
MULTI_AUTHOR_ENTRY = """<entry><id>tag:x,1:1</id><title>Two hands</title><updated>2024-01-01T00:00:00Z</updated>
<author><name>Jane</name><email>jane@a.example</email><uri>https://jane.example/</uri></author>
<author><name>Bob</name></author><contributor><name>Carl</name></contributor>
<link rel="enclosure" href="/e.ogg" type="audio/ogg" length="99"/>
<media:thumbnail url="https://a.example/t.jpg"/></entry>"""


def test_authors_enclosures_and_image_agree_on_both_paths() -> None:
    [episode] = _both(_rss(PODCAST_ITEM))
    assert episode.authors == (Author("The Host", "host@pod.example"), Author("Guest One"))
    assert episode.enclosures == (Enclosure("https://cdn.pod.example/1.mp3", "audio/mpeg", 24986239),)
    assert episode.image == "https://pod.example/1.jpg"
    [entry] = _both(_atom(MULTI_AUTHOR_ENTRY, attrs=' xml:base="https://a.example/blog/"'))
    # feedparser itself would give Bob a cut-off copy of Jane's address
    assert entry.authors == (Author("Jane", "jane@a.example", "https://jane.example/"), Author("Bob"), Author("Carl"))
    assert entry.enclosures == (Enclosure("https://a.example/e.ogg", "audio/ogg", 99),)
    assert entry.image == "https://a.example/t.jpg"


def test_a_body_expat_refuses_takes_authors_from_feedparser() -> None:
    """Bad bytes: no tree, feedparser's loose reading. Its enclosures come through, and the people it
    did not split into name and address (it cuts ``host@pod.example`` to ``host@pod.exam``)."""
    body = _rss(PODCAST_ITEM).replace(b"Episode 1", b"Episode \xff 1")
    assert xmlfeed._parse_safely(body, URL) is None
    [episode] = _both(body)
    assert episode.authors == (Author("Guest One"), Author("Ignored"))
    assert episode.enclosures == (Enclosure("https://cdn.pod.example/1.mp3", "audio/mpeg", 24986239),)
