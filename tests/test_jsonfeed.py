"""JSON Feed 1.1: the published schema, fields, dates, determinism."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import datetime, timezone

from feeds.channel import Channel
from feeds.jsonfeed import render_json
from sources.model import Article, Author, Enclosure

Validate = Callable[[bytes], dict[str, object]]


def test_valid_and_complete(tag_channel: Channel, sample_articles: list[Article],
                            assert_valid_jsonfeed: Validate) -> None:
    feed = assert_valid_jsonfeed(render_json(tag_channel, sample_articles))
    assert feed["title"] == "Putin — tagfeed"
    assert feed["description"] == "Articles tagged Putin on tagfeed"
    assert feed["home_page_url"] == "http://127.0.0.1:8080/tags/putin.html"
    assert feed["feed_url"] == "http://127.0.0.1:8080/tags/putin.json"
    assert feed["authors"] == [{"name": "tagfeed", "url": "http://127.0.0.1:8080/"}]


def test_items(all_channel: Channel, sample_articles: list[Article], assert_valid_jsonfeed: Validate) -> None:
    feed = assert_valid_jsonfeed(render_json(all_channel, sample_articles))
    items = feed["items"]
    assert isinstance(items, list)
    assert [i["id"] for i in items] == [a.id for a in sample_articles]
    first, nasty, upstream = items[0], items[1], items[2]
    assert first["date_published"] == "2001-03-04T05:06:07Z" and first["date_modified"] == "2001-03-04T05:06:07Z"
    assert first["url"] == all_channel.urls.article_url(sample_articles[0])
    assert nasty["title"] == sample_articles[1].title  # plain text, as JSON Feed says
    assert "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends</p>" in nasty["content_html"]
    assert nasty["tags"] == ["Sergei Lavrov", "Putin"]
    assert upstream["url"] == "https://example.org/post/1" and upstream["tags"] == ["Путин", "Putin"]


def test_deterministic_utf8_and_clock_free(all_channel: Channel, sample_articles: list[Article],
                                           assert_valid_jsonfeed: Validate) -> None:
    first = render_json(all_channel, sample_articles)
    assert first == render_json(all_channel, sample_articles)
    assert "Путин".encode() in first  # ensure_ascii=False
    assert str(datetime.now(timezone.utc).year).encode() not in first
    assert json.loads(first)["items"][0]["id"] == sample_articles[0].id
    empty = assert_valid_jsonfeed(render_json(all_channel, []))
    assert empty["items"] == []


EP84 = "http://www.podtrac.com/pts/redirect.mp3/media.blubrry.com/99percentinvisible/cdn.99percentinvisible.org/wp-content/uploads/84-Ode-to-Ladislav-Sutnar-and-Trading-Places-with-Planet-Money.mp3"


def test_real_podcast_attachments_and_arxiv_authors(all_channel: Channel, real_feeds: dict[str, list[Article]],
                                                    assert_valid_jsonfeed: Callable[[bytes], dict[str, object]]) -> None:
    podcast = json.loads(render_json(all_channel, real_feeds["podcast_99pi"]))
    first = podcast["items"][0]
    assert first["attachments"] == [{"url": EP84, "mime_type": "audio/mpeg", "size_in_bytes": 29922328}]
    assert first["authors"] == [{"name": "roman"}]
    document = render_json(all_channel, real_feeds["arxiv_atom"])
    assert_valid_jsonfeed(document)
    assert json.loads(document)["items"][1]["authors"] == [{"name": "Peter Garik"}, {"name": "Yann Benétreau-Dupin"}]


def test_author_addresses_become_mailto_urls_and_images_stay(all_channel: Channel,
                                                             sample_articles: list[Article]) -> None:
    rich = dataclasses.replace(sample_articles[0], authors=(Author("", "jane@example.org"),),
                               enclosures=(Enclosure("https://a.example/1.pdf"),), image="https://a.example/1.jpg")
    item = json.loads(render_json(all_channel, [rich]))["items"][0]
    assert item["authors"] == [{"name": "jane@example.org", "url": "mailto:jane@example.org"}]
    assert item["attachments"] == [{"url": "https://a.example/1.pdf", "mime_type": "application/octet-stream"}]
    assert item["image"] == "https://a.example/1.jpg"
