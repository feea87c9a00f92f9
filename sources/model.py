"""The one article model every source produces and every renderer reads.

Pure data and pure functions only: no I/O, no clock. Ids are derived from
content (never from base_url, paths or time) so they are stable across
rebuilds and machines.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime

# Fixed namespace for every uuid5 tagfeed mints. Changing it changes every id.
ID_NAMESPACE = uuid.UUID("6f0c2a4e-4a8e-5b1d-9d3c-7a1f2b0e9c11")

_QUOTES = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u2015": "-", "\u2212": "-",
    }
)
_SPACE = re.compile(r"\s+")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # as uuid_urn writes it


@dataclass(frozen=True, slots=True, order=True)
class Tag:
    """A tag as readers see it (``name``) and as URLs name it (``slug``)."""

    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote an article, as the upstream feed named them (Atom person, RSS author, JSON Feed author)."""

    name: str
    email: str | None = None
    uri: str | None = None

    @property
    def label(self) -> str:
        """What a reader is shown: the name, else the address."""
        return self.name or self.email or self.uri or ""


@dataclass(frozen=True, slots=True)
class Enclosure:
    """A file that goes with an article (a podcast's audio): URL, media type, size in bytes."""

    url: str
    media_type: str | None = None
    length: int | None = None

    @property
    def is_audio(self) -> bool:
        return (self.media_type or "").startswith("audio/")


@dataclass(frozen=True, slots=True, kw_only=True)
class Article:
    id: str
    title: str
    summary: str = ""
    paragraphs: tuple[str, ...] = ()
    content_html: str | None = None
    caption: str | None = None
    tags: tuple[Tag, ...] = ()
    link: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    truncated: bool = False
    source: str = ""
    source_title: str | None = None
    source_url: str | None = None
    authors: tuple[Author, ...] = ()
    enclosures: tuple[Enclosure, ...] = ()
    image: str | None = None  # the article's picture (media:thumbnail, itunes:image, JSON Feed image)

    @property
    def id_hex(self) -> str:
        """The id as 32 hex digits, for file names (``articles/<hex>.html``)."""
        return id_hex(self.id)


@functools.lru_cache(maxsize=1 << 17)  # a render asks for each article's several times
def id_hex(article_id: str) -> str:
    """``Article.id_hex`` of an id: a uuid's hex, else the first 32 hex digits of its sha256."""
    if article_id.startswith("urn:uuid:"):
        if _UUID.fullmatch(article_id, 9):
            return article_id[9:].replace("-", "")  # what uuid.UUID(...).hex gives, without parsing
        return uuid.UUID(article_id[9:]).hex
    return hashlib.sha256(article_id.encode("utf-8")).hexdigest()[:32]


def normalize_title(title: str) -> str:
    """The key under which two spellings of one headline are the same article."""
    text = unicodedata.normalize("NFKC", title).translate(_QUOTES).casefold()
    return _SPACE.sub(" ", text).strip()


_NAMESPACE_BYTES = ID_NAMESPACE.bytes


def uuid_urn(key: str) -> str:
    """``urn:uuid:`` + ``uuid.uuid5(ID_NAMESPACE, key)``, spelled out: a build mints one per article
    read, and a ``UUID`` object costs more than the hash (tests compare it with uuid5)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + key.encode("utf-8"), usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def article_id(title: str) -> str:
    """Id of a tag-page article: independent of the page, base_url and time."""
    return uuid_urn("title:" + normalize_title(title))


def slugify(name: str) -> str:
    """An ASCII slug; names with letters ASCII cannot spell get a hash suffix.

    The suffix keeps two non-Latin tags (say two Cyrillic names) apart while
    the slug stays stable, as it depends on the casefolded name only.
    """
    folded = unicodedata.normalize("NFKC", name).translate(_QUOTES).casefold()
    ascii_part = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_part).strip("-")
    lost = any(ch.isalnum() and not ch.isascii() for ch in unicodedata.normalize("NFKD", folded)
               if not unicodedata.combining(ch))
    if lost or not slug:
        digest = hashlib.sha256(_SPACE.sub(" ", folded).strip().encode()).hexdigest()[:8]
        slug = f"{slug}-{digest}" if slug else f"tag-{digest}"
    return slug[:80].strip("-")


def display_name(name: str) -> str:
    """How a tag is shown: a site's all-lowercase name gets capitalised words."""
    clean = _SPACE.sub(" ", name).strip()
    if clean and clean == clean.lower():
        return " ".join(w[:1].upper() + w[1:] for w in clean.split(" "))
    return clean


def make_tag(name: str) -> Tag:
    return Tag(slug=slugify(name), name=display_name(name))


def _fullness(article: Article) -> tuple[int, int]:
    body = len(article.content_html) if article.content_html else sum(map(len, article.paragraphs))
    return (0 if article.truncated else 1, body)


def merge(a: Article, b: Article) -> Article:
    """One article from two sightings of it: tags united, fuller body wins.

    Dates: the earliest ``published`` and the latest ``updated`` survive.
    Authors are united (the fuller one's first), enclosures by URL; the image
    is the fuller one's, else the other's.
    """
    full, other = (b, a) if _fullness(b) > _fullness(a) else (a, b)
    tags = {t.slug: t for t in (*other.tags, *full.tags)}
    return dataclasses.replace(
        full,
        tags=tuple(sorted(tags.values())),
        caption=full.caption or other.caption,
        link=full.link or other.link,
        published=_earliest(a.published, b.published),
        updated=_latest(a.updated, b.updated),
        authors=unite_authors(full.authors, other.authors),
        enclosures=unite_enclosures(full.enclosures, other.enclosures),
        image=full.image or other.image,
    )


def unite_authors(first: tuple[Author, ...], second: tuple[Author, ...]) -> tuple[Author, ...]:
    """``first`` and then the authors of ``second`` it lacks; one person named with and without
    an address counts once (the fuller spelling is kept)."""
    if not second or first == second:
        return first
    out = list(first)
    for author in second:
        same = [i for i, known in enumerate(out) if _same_person(known, author)]
        if not same:
            out.append(author)
        elif _details(author) > _details(out[same[0]]):
            out[same[0]] = author
    return tuple(out)


def _same_person(x: Author, y: Author) -> bool:
    if x.name and y.name:
        return x.name.casefold() == y.name.casefold() and (not x.email or not y.email or x.email == y.email)
    return (x.email or x.uri) == (y.email or y.uri)


def _details(author: Author) -> int:
    return bool(author.name) + bool(author.email) + bool(author.uri)


def unite_enclosures(first: tuple[Enclosure, ...], second: tuple[Enclosure, ...]) -> tuple[Enclosure, ...]:
    """``first`` and then the enclosures of ``second`` at URLs ``first`` lacks."""
    if not second or first == second:
        return first
    urls = {e.url for e in first}
    return (*first, *(e for e in second if e.url not in urls))


def _earliest(x: datetime | None, y: datetime | None) -> datetime | None:
    return y if x is None else x if y is None else min(x, y)


def _latest(x: datetime | None, y: datetime | None) -> datetime | None:
    return y if x is None else x if y is None else max(x, y)
