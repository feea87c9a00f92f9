"""Element and attribute names as feedparser sees them, and its small per-element rules.

After namespace mapping and lower-casing; each set says which handlers the
fast reader reproduces, leaves alone, or refuses (``Unsupported``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element

from sources.feed.fast.upstream import _FP, AVAILABLE, Unsupported, _cp1252

ATOM_NS = "http://www.w3.org/2005/Atom"
C1 = re.compile("[{}]".format("".join(re.escape(chr(c)) for c in sorted(_cp1252))) if AVAILABLE else "(?!)")
# namespaces that make feedparser guess another version (RSS 1.0/0.90) or another parser
VERSION_NS = frozenset({"http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"})
ODD_NS = frozenset({"http://www.w3.org/1999/xlink", "http://www.w3.org/1998/math/mathml",
                     "http://www.w3.org/2000/svg"})
LINK_ENTITY = re.compile("&([A-Za-z0-9_]+);")
HTML_TYPES = frozenset({"application/xhtml+xml", "text/html"})
COPY_TO_SUMMARY = frozenset({"text/plain", "text/html", "application/xhtml+xml"})
# keys of an entry that sources.feed reads, and the element names feedparser would store under them
ENTRY_KEYS = frozenset({"id", "link", "links", "title", "title_detail", "content", "summary", "summary_detail",
                         "published_parsed", "created_parsed", "updated_parsed", "tags", "guidislink"})

# -- element names (feedparser's, after namespace mapping and lower-casing) --------------------
TITLE = frozenset({"title", "dc_title"})
DATES = {"published": "published_parsed", "issued": "published_parsed", "pubdate": "published_parsed",
          "dcterms_issued": "published_parsed", "updated": "updated_parsed", "modified": "updated_parsed",
          "lastbuilddate": "updated_parsed", "dc_date": "updated_parsed", "dcterms_modified": "updated_parsed",
          "created": "created_parsed", "dcterms_created": "created_parsed"}
SUMMARY = frozenset({"summary", "itunes_summary"})
DESCRIPTION = frozenset({"description", "dc_description"})
ENCODED = frozenset({"content_encoded", "fullitem"})
CATEGORY = frozenset({"category", "dc_subject"})
# handlers that only write keys nobody here reads and leave no state behind
HARMLESS = frozenset({
    "author", "dc_author", "dc_creator", "itunes_author", "managingeditor", "webmaster", "dc_publisher",
    "contributor", "dc_contributor", "name", "email", "uri", "url", "homepage", "itunes_name",
    "itunes_email", "itunes_owner", "generator", "cloud", "language", "dc_language", "expirationdate",
    "dcterms_valid", "newlocation", "enclosure", "media_content", "media_thumbnail", "media_credit",
    "media_rating", "media_restriction", "media_license", "media_player", "media_group", "itunes_block",
    "itunes_explicit", "itunes_image", "width", "height",
})
# handlers that keep text as a content construct: harmless, but only without child elements
HARMLESS_TEXT = frozenset({"rights", "copyright", "dc_rights", "subtitle", "tagline", "itunes_subtitle",
                            "info", "feedburner_browserfriendly"})
# harmless at feed level only (they touch tags, links, ids or dates of the feed, never of an entry)
FEED_HARMLESS = frozenset({"id", "guid", "link", "category", "dc_subject", "keywords", "tags",
                            "itunes_category", "itunes_keywords", "media_category", "media_keywords",
                            *DATES})
IMAGE_CHILDREN = frozenset({"title", "link", "description", "url", "width", "height"})
TEXTINPUT_CHILDREN = frozenset({"title", "link", "description", "name"})


# feedparser's _matchnamespaces: namespace URI (lower-cased) -> its prefix ('' for the core formats)
KNOWN: dict[str, str] = {k.lower(): v for k, v in _FP.namespaces.items()} if AVAILABLE else {}
STANDARD = frozenset(v.lower() for v in KNOWN.values() if v)


def category(entry: dict[str, Any], attrs: Mapping[str, str], value: str) -> None:
    """``_start_category``, ``_add_tag`` and ``_end_category``."""
    tags: list[dict[str, Any]] = entry.setdefault("tags", [])

    def add(term: str | None, scheme: str | None, label: str | None) -> None:
        if term or scheme or label:
            tag = {"term": term, "scheme": scheme, "label": label}
            if tag not in tags:
                tags.append(tag)

    add(attrs.get("term"), attrs.get("scheme", attrs.get("domain")), attrs.get("label"))
    if value:
        if tags and not tags[-1]["term"]:
            tags[-1]["term"] = value
        else:
            add(value, None, None)


def enforce_href(attrs: dict[str, str]) -> dict[str, str]:
    """``_FeedParserMixin._enforce_href``: url, else uri, else href becomes href."""
    href = attrs.get("url", attrs.get("uri", attrs.get("href", None)))
    if href:
        attrs.pop("url", None)
        attrs.pop("uri", None)
        attrs["href"] = href
    return attrs


def attributes(element: Element, known: Mapping[str, str]) -> dict[str, str]:
    """The attribute dict feedparser's strict parser hands its handlers.

    ``startElementNS`` keys each attribute by its known prefix and local name
    (``xml:base``), then again by its bare local name, all lower-cased;
    ``_normalize_attributes`` lower-cases the values of rel and type.
    """
    attrib = element.attrib
    if not attrib:
        return {}
    out: dict[str, str] = {}
    locals_seen: set[str] = set()
    for key, value in attrib.items():
        if key[0] == "{":
            uri, local = key[1:].split("}", 1)
            prefix = known.get(uri.lower(), "")
            full = f"{prefix}:{local}" if prefix else local
        else:
            local = full = key
        if local.lower() in locals_seen:
            raise Unsupported("two attributes with one local name")
        locals_seen.add(local.lower())
        out[full.lower()] = value
    for key, value in attrib.items():
        out[(key[1:].split("}", 1)[1] if key[0] == "{" else key).lower()] = value
    for key in ("rel", "type"):
        if key in out:
            out[key] = out[key].lower()
    return out
