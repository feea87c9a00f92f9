"""Who wrote an entry, the files that go with it and its picture, read off a feed. Pure.

Why a module of its own, reading the defusedxml tree rather than feedparser's
dicts: feedparser 6 gets people wrong in Atom entries with several authors
(the second author inherits a truncated copy of the first one's e-mail), and
``sources.feed.fast`` would have to reproduce that. Both paths of
``sources.feed.read`` already hold the same tree, so reading these three things
from it gives identical articles whichever path read the rest. Only a body
expat cannot parse (feedparser's loose parser then reads it) falls back on
feedparser's dicts (``from_feedparser``).

What counts: Atom author and contributor (the feed's authors when an entry
has none, RFC 4287 §4.2.1), RSS author and dc:creator (itunes:author when
neither is given); RSS enclosure, Atom link rel="enclosure", Media RSS audio
or video content; media:thumbnail, else media:content of an image type, else
the item's itunes:image. Only http(s) URLs are kept, relative ones resolved
against xml:base and the feed URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import Element

from sources.model import Author, Enclosure, unite_authors, unite_enclosures

ATOM = "http://www.w3.org/2005/Atom"
ATOM03 = "http://purl.org/atom/ns#"
DC = "http://purl.org/dc/elements/1.1/"
MEDIA = ("http://search.yahoo.com/mrss/", "http://search.yahoo.com/mrss")
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"  # compared lower-cased: Apple's own spelling varies
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
# the namespaces whose item/entry elements feedparser takes for entries
_ENTRY_NS = frozenset({"", ATOM, ATOM03, "http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/",
                       "http://backend.userland.com/rss2", "http://blogs.law.harvard.edu/tech/rss"})
_EMAIL = re.compile(r"[^\s@()<>\"',;:]+@[^\s@()<>\"',;:]+\.[^\s@()<>\"',;:]+")
_MEDIA_TYPE = re.compile(r"^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Extras:
    """What one entry says besides its text."""

    authors: tuple[Author, ...] = ()
    enclosures: tuple[Enclosure, ...] = ()
    image: str | None = None


NONE = Extras()


# -- the tree -----------------------------------------------------------------------------------
def from_tree(root: Element, url: str) -> list[Extras]:
    """The extras of every entry of the document, in document order (feedparser's entry order)."""
    base = _base(url, root)
    feed_authors: tuple[Author, ...] = ()
    out: list[Extras] = []
    for element, entry_base, feed_level in _entries(root, base):
        if feed_level is not None:
            feed_authors = feed_level
            continue
        out.append(_entry(element, entry_base, feed_authors))
    return out


def _entries(root: Element, base: str) -> Iterator[tuple[Element, str, tuple[Author, ...] | None]]:
    """Each entry element with its base, outermost first, never looking inside one; an Atom
    feed's own authors come as ``(feed, base, authors)`` before its entries."""
    stack = [(root, base)]
    while stack:
        element, here = stack.pop()
        ns, local = _split(element.tag)
        if local in ("item", "entry") and ns in _ENTRY_NS and element is not root:
            yield element, here, None
            continue
        if local == "feed" and ns in (ATOM, ATOM03):
            yield element, here, _people(element, ("author",), here)
        stack.extend((child, _base(here, child)) for child in reversed(element))


def _entry(entry: Element, base: str, feed_authors: tuple[Author, ...]) -> Extras:
    authors: tuple[Author, ...] = ()
    fallback: tuple[Author, ...] = ()
    enclosures: list[Enclosure] = []
    thumbnail = media_image = itunes_image = None
    for child in entry:
        ns, local = _split(child.tag)
        here = _base(base, child)
        if ns in (ATOM, ATOM03) and local in ("author", "contributor"):
            authors = unite_authors(authors, _person(child, here))
        elif ns == ATOM and local == "source" and not any(_split(c.tag) == (ATOM, "author") for c in entry):
            fallback = _people(child, ("author",), here)
        elif ns == "" and local == "author":
            authors = unite_authors(authors, _rss_author(_text(child)))
        elif ns == DC and local == "creator":
            authors = unite_authors(authors, _named(_text(child)))
        elif ns.lower() == ITUNES and local == "author" and not fallback:
            fallback = _named(_text(child))
        elif ns == "" and local == "enclosure":
            enclosures.extend(_enclosure(here, child.get("url"), child.get("type"), child.get("length")))
        elif ns in (ATOM, ATOM03) and local == "link" and (child.get("rel") or "").strip().lower() == "enclosure":
            enclosures.extend(_enclosure(here, child.get("href"), child.get("type"), child.get("length")))
        elif ns in MEDIA:
            found = _media(child, here)
            enclosures.extend(found[0])
            thumbnail, media_image = thumbnail or found[1], media_image or found[2]
        elif ns.lower() == ITUNES and local == "image" and itunes_image is None:
            itunes_image = _http(here, child.get("href") or _text(child))
    if not authors:
        authors = fallback or feed_authors
    return Extras(authors, unite_enclosures(tuple(enclosures), ()), thumbnail or media_image or itunes_image)


def _media(element: Element, base: str) -> tuple[list[Enclosure], str | None, str | None]:
    """media:content (audio or video: an enclosure; an image: a picture), media:thumbnail, media:group."""
    local = _split(element.tag)[1]
    if local == "group":
        enclosures: list[Enclosure] = []
        thumbnail = image = None
        for child in element:
            if _split(child.tag)[0] in MEDIA:
                found = _media(child, _base(base, child))
                enclosures.extend(found[0])
                thumbnail, image = thumbnail or found[1], image or found[2]
        return enclosures, thumbnail, image
    if local == "thumbnail":
        return [], _http(base, element.get("url")), None
    if local == "content":
        kind = (element.get("type") or "").strip().lower()
        medium = (element.get("medium") or "").strip().lower()
        if medium == "image" or kind.startswith("image/"):
            return [], None, _http(base, element.get("url"))
        if medium in ("audio", "video") or kind.startswith(("audio/", "video/")):
            return _enclosure(base, element.get("url"), element.get("type"), element.get("fileSize")), None, None
    return [], None, None


def _people(parent: Element, names: tuple[str, ...], base: str) -> tuple[Author, ...]:
    found: tuple[Author, ...] = ()
    for child in parent:
        ns, local = _split(child.tag)
        if ns in (ATOM, ATOM03) and local in names:
            found = unite_authors(found, _person(child, _base(base, child)))
    return found


def _person(element: Element, base: str) -> tuple[Author, ...]:
    """An Atom person construct: name, email, uri (Atom 0.3: url)."""
    parts: dict[str, str] = {}
    for child in element:
        ns, local = _split(child.tag)
        if ns in (ATOM, ATOM03) and local in ("name", "email", "uri", "url"):
            parts.setdefault("uri" if local == "url" else local, _text(child))
    uri = _http(base, parts.get("uri")) or _mailto(parts.get("uri"))
    email = parts.get("email") or None
    name = parts.get("name", "")
    return (Author(name, email, uri),) if name or email or uri else ()


def _mailto(value: str | None) -> str | None:
    return value if value and value.lower().startswith("mailto:") and "@" in value else None


def _rss_author(value: str) -> tuple[Author, ...]:
    """RSS ``author``: an e-mail address, by convention ``jane@example.org (Jane Doe)``; many
    feeds put just a name there."""
    found = _EMAIL.search(value)
    if not found:
        return _named(value)
    rest = (value[:found.start()] + value[found.end():]).replace("mailto:", "")
    name = _SPACE.sub(" ", rest.strip(" \t\r\n()<>[]\"',;:-")).strip()
    return (Author(name, found[0]),)


def _named(value: str) -> tuple[Author, ...]:
    return (Author(value),) if value else ()


def _enclosure(base: str, url: str | None, kind: str | None, length: str | None) -> list[Enclosure]:
    href = _http(base, url)
    if href is None:
        return []
    media_type = (kind or "").strip().lower()
    size = (length or "").strip()
    return [Enclosure(href, media_type if _MEDIA_TYPE.match(media_type) else None,
                      int(size) if size.isdigit() and 0 < int(size) < 1 << 63 else None)]


# -- feedparser's dicts (a body expat could not read) -------------------------------------------
def from_feedparser(entry: Mapping[str, Any], base: str) -> Extras:
    """The same three from feedparser's entry dict: its people, rel=enclosure links, media.

    People feedparser split into a name and an address are left out: its address pattern
    cuts long top-level domains (``host@pod.example (Host)`` becomes the name ``ple (Host``
    and the address ``host@pod.exam``), and a wrong address is worse than none."""
    authors: tuple[Author, ...] = ()
    for person in [*(entry.get("authors") or []), *(entry.get("contributors") or [])]:
        if isinstance(person, Mapping) and not person.get("email"):
            name = _SPACE.sub(" ", str(person.get("name") or "")).strip()
            uri = _http(base, person.get("href"))
            if name or uri:
                authors = unite_authors(authors, (Author(name, None, uri),))
    enclosures: list[Enclosure] = []
    for link in entry.get("links") or []:
        if isinstance(link, Mapping) and link.get("rel") == "enclosure":
            enclosures.extend(_enclosure(base, link.get("href"), link.get("type"), link.get("length")))
    image = None
    for thumb in entry.get("media_thumbnail") or []:
        image = image or (_http(base, thumb.get("url")) if isinstance(thumb, Mapping) else None)
    for content in entry.get("media_content") or []:
        if isinstance(content, Mapping) and (content.get("medium") == "image"
                                             or str(content.get("type") or "").startswith("image/")):
            image = image or _http(base, content.get("url"))
    picture = entry.get("image")
    if image is None and isinstance(picture, Mapping):
        image = _http(base, picture.get("href"))
    return Extras(authors, unite_enclosures(tuple(enclosures), ()), image)


# -- JSON Feed ----------------------------------------------------------------------------------
def json_authors(value: Any, base: str) -> tuple[Author, ...]:
    """JSON Feed 1.1 ``authors`` (a list) or 1.0 ``author`` (one object): name, url."""
    people = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    found: tuple[Author, ...] = ()
    for person in people:
        if not isinstance(person, dict):
            continue
        given, link = person.get("name"), person.get("url")
        name = given if isinstance(given, str) else ""
        url = link if isinstance(link, str) else None
        email = url[7:] if url and url.lower().startswith("mailto:") else None
        author = Author(_SPACE.sub(" ", name).strip(), email, None if email else _http(base, url))
        if author.name or author.email or author.uri:
            found = unite_authors(found, (author,))
    return found


def json_attachments(value: Any, base: str) -> tuple[Enclosure, ...]:
    found: list[Enclosure] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict):
            size = item.get("size_in_bytes")
            found.extend(_enclosure(base, item.get("url") if isinstance(item.get("url"), str) else None,
                                    item.get("mime_type") if isinstance(item.get("mime_type"), str) else None,
                                    str(size) if isinstance(size, int) and not isinstance(size, bool) else None))
    return unite_enclosures(tuple(found), ())


def json_image(value: Any, base: str) -> str | None:
    return _http(base, value) if isinstance(value, str) else None


# -- small pieces -------------------------------------------------------------------------------
def _split(tag: Any) -> tuple[str, str]:
    if not isinstance(tag, str):  # comments and processing instructions
        return "", ""
    if tag[:1] == "{":
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _text(element: Element) -> str:
    return _SPACE.sub(" ", "".join(element.itertext())).strip()


def _base(parent: str, element: Element) -> str:
    given = element.get(_XML_BASE)
    if not given:
        return parent
    try:
        return urljoin(parent, given.strip())
    except ValueError:
        return parent


def _http(base: str, value: Any) -> str | None:
    """``value`` as an absolute http(s) URL, else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        absolute = urljoin(base, value.strip())
        parts = urlsplit(absolute)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    if (parts.scheme not in ("http", "https") or not parts.netloc or any(c in absolute for c in " <>\"{}|\\^`")
            or not absolute.isprintable()):
        return None
    return absolute
