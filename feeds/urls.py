"""Every output path and URL, made in one place (datasette's ``Urls``).

Paths are relative to the output directory and double as URL paths under
``base_url``; nothing else in tagfeed spells a file name or joins a URL.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Final, Literal

from tagfeed.errors import RenderError
from sources.model import Article

Format = Literal["atom", "rss", "json"]
PageFormat = Literal["atom", "rss", "json", "html"]

FORMATS: Final[tuple[Format, ...]] = ("atom", "rss", "json")
MEDIA_TYPES: Final[dict[str, str]] = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
    "html": "text/html",
}
FORMAT_NAMES: Final[dict[str, str]] = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}

INDEX: Final = "index.html"
STATUS: Final = "status.atom"  # incidents, one entry each (feeds/status.py); never content
STATUS_PAGE: Final = "status.html"  # every source, its state and what to do (feeds/html.py)
OPML: Final = "feeds.opml"  # not .xml: every *.xml is taken for a feed by validators and readers
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


@dataclass(frozen=True, slots=True)
class Urls:
    """One site's paths and URLs. ``base_url`` comes validated, ending in "/" (``SiteConfig.base_url``):
    the config checks it once, with the key in its error; a build makes one ``Urls`` and hands it down."""

    base_url: str

    # -- paths, relative to the output directory
    def index_path(self) -> str:
        return INDEX

    def opml_path(self) -> str:
        return OPML

    def status_path(self) -> str:
        return STATUS

    def status_page_path(self) -> str:
        return STATUS_PAGE

    def all_path(self, fmt: PageFormat) -> str:
        """The feeds of every article; their HTML page is the index."""
        return INDEX if fmt == "html" else f"all.{_check_format(fmt)}"

    def tag_path(self, slug: str, fmt: PageFormat) -> str:
        if not _SLUG.fullmatch(slug):
            raise RenderError(f"tag {slug!r}", "slug must be lowercase ASCII letters, digits and dashes")
        return f"tags/{slug}.{_check_format(fmt)}"

    def view_path(self, slug: str, fmt: PageFormat) -> str:
        """A view's feeds and page (a query's matches, ``[[views]]``): beside tags/, one folder deep."""
        return "views/" + self.tag_path(slug, fmt).removeprefix("tags/")

    def archive_path(self, slug: str, page: int, *, view: bool = False) -> str:
        """An RFC 5005 archive page of a tag's (or a view's) Atom feed, numbered from 1 (the oldest)."""
        if page < 1:
            raise RenderError(f"archive page {page}", "pages are numbered from 1")
        feed = self.view_path(slug, "atom") if view else self.tag_path(slug, "atom")
        return f"{feed.removesuffix('.atom')}/archive/{page}.atom"

    def article_path(self, article: Article) -> str:
        return f"articles/{article.id_hex}.html"

    # -- absolute URLs
    def url(self, path: str) -> str:
        """The URL a path is served at; the index is the site's root URL."""
        return self.base_url if path == INDEX else self.base_url + path

    @property
    def home_url(self) -> str:
        return self.base_url

    def article_url(self, article: Article) -> str:
        return self.url(self.article_path(article))

    def article_link(self, article: Article) -> str:
        """Where an entry links: upstream when it has one, else our own page."""
        return article.link or self.article_url(article)

    # -- links between pages
    def href(self, here: str, path: str) -> str:
        """A relative link from page ``here`` to ``path``, so the tree works anywhere."""
        folder, slash, _ = here.rpartition("/")
        if _is_normal(path):  # the fast paths give what relpath gives, without its abspath calls
            if not slash:
                return path
            if folder and "/" not in folder and _is_normal(folder) and path != folder \
                    and not path.startswith(folder + "/"):
                return "../" + path  # a page one folder down (tags/, articles/) to anything else
        return posixpath.relpath(path, posixpath.dirname(here) or ".")


def _is_normal(path: str) -> bool:
    """Relative, with no empty, ``.`` or ``..`` segment: posixpath.normpath would leave it as is."""
    return bool(path) and path[0] not in "/." and "//" not in path and "/." not in path and path[-1] != "/"


def _check_format(fmt: str) -> str:
    if fmt not in MEDIA_TYPES:
        raise RenderError(f"format {fmt!r}", f"not one of {', '.join(MEDIA_TYPES)}")
    return fmt
