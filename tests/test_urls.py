"""The URL scheme: one place for every path and URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagfeed.config import parse_config
from tagfeed.errors import ConfigError, RenderError
from feeds.urls import FORMATS, Urls
from sources.model import Article, article_id


def test_paths_follow_the_output_tree(urls: Urls) -> None:
    art = Article(id=article_id("x"), title="x")
    assert FORMATS == ("atom", "rss", "json")
    assert [urls.all_path(f) for f in FORMATS] == ["all.atom", "all.rss", "all.json"]
    assert urls.all_path("html") == urls.index_path() == "index.html"
    assert urls.opml_path() == "feeds.opml"
    assert urls.tag_path("sergei-lavrov", "rss") == "tags/sergei-lavrov.rss"
    assert urls.tag_path("putin", "html") == "tags/putin.html"
    assert urls.article_path(art) == f"articles/{art.id_hex}.html"


def test_urls_and_links(urls: Urls) -> None:
    own = Article(id=article_id("x"), title="x")
    upstream = Article(id="https://e.org/1", title="y", link="https://e.org/1")
    assert urls.url("tags/putin.atom") == "http://127.0.0.1:8080/tags/putin.atom"
    assert urls.url("index.html") == urls.home_url == "http://127.0.0.1:8080/"
    assert urls.article_link(own) == urls.article_url(own) == urls.url(urls.article_path(own))
    assert urls.article_link(upstream) == "https://e.org/1"


def test_base_url_gets_its_slash(tmp_path: Path) -> None:
    """The config checks and completes base_url once; ``Urls`` takes it as it is."""
    site = parse_config({"site": {"base_url": "https://example.org/feeds"}}, root=tmp_path).site
    assert Urls(site.base_url).url("all.atom") == "https://example.org/feeds/all.atom"


def test_relative_hrefs_between_pages(urls: Urls) -> None:
    assert urls.href("index.html", "tags/putin.html") == "tags/putin.html"
    assert urls.href("tags/putin.html", "index.html") == "../index.html"
    assert urls.href("articles/ab.html", "tags/putin.html") == "../tags/putin.html"
    assert urls.href("tags/a.html", "tags/b.html") == "b.html"


@pytest.mark.parametrize("slug", ["../etc", "Putin", "a/b", "", "-x", "a b"])
def test_bad_slugs_are_refused(urls: Urls, slug: str) -> None:
    with pytest.raises(RenderError, match="slug"):
        urls.tag_path(slug, "atom")


def test_bad_format_and_base_url_are_refused(urls: Urls, tmp_path: Path) -> None:
    with pytest.raises(RenderError):
        urls.tag_path("putin", "exe")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="site.base_url"):
        parse_config({"site": {"base_url": "/relative/"}}, root=tmp_path)
