"""feedparser's reading of common well-formed RSS and Atom 1.0, reproduced from the tree we already parse.

Why: ``parse_feed`` spent about four fifths of its time inside feedparser's
SAX handlers (one Python call per element and per run of character data, a
``FeedParserDict`` lookup per call, a date parse per date element even at feed
level), and we read a dozen of the keys feedparser fills. The XML was already
parsed once by defusedxml (to refuse entity declarations), so this module
walks that tree and builds exactly the entry dicts, for exactly the keys
``sources.feed._raw_from_feedparser`` reads, that feedparser 6 would build.

How exact: it is an emulation, not a reinterpretation. The pieces that carry
the meaning come from feedparser itself (its date parser, URL joiner, safe-base
rule, cp1252 map, "looks like HTML" guess, namespace table and handler table),
and the sequencing rules of its mixin are written out below with the method
they mirror. Everything this module does not reproduce raises ``_Unsupported``
and the caller hands the body to feedparser instead: other encodings than
UTF-8 (or ASCII), a DOCTYPE, RSS 1.0 and Atom 0.3, xhtml or base64 text
constructs, elements with children where feedparser expects text, ``source``,
``media:title``, images inside entries, any element feedparser has a handler
for that is not listed here, and odd namespace bindings. tests/test_fastfeed.py
compares both paths on every sample, the test feeds and generated feeds.

Safety is unchanged: the tree comes from defusedxml (no entity declarations,
no external references, no network) and nothing here fetches anything.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element

try:  # feedparser's own pieces, so the two paths cannot drift apart
    import feedparser.encodings as _fp_encodings
    from feedparser.api import StrictFeedParser as _FP
    from feedparser.datetimes import _parse_date
    from feedparser.html import _cp1252
    from feedparser.urls import _urljoin, make_safe_absolute_uri
    from feedparser.util import FeedParserDict
except ImportError:  # pragma: no cover - a feedparser without them: always use feedparser
    AVAILABLE = False
else:
    AVAILABLE = (all(hasattr(_FP, name) for name in ("namespaces", "looks_like_html", "map_content_type"))
                 and all(hasattr(_fp_encodings, name) for name in ("RE_XML_PI_ENCODING", "parse_content_type",
                                                                     "lazy_chardet_encoding")))

ATOM_NS = "http://www.w3.org/2005/Atom"
_C1 = re.compile("[{}]".format("".join(re.escape(chr(c)) for c in sorted(_cp1252))) if AVAILABLE else "(?!)")
# namespaces that make feedparser guess another version (RSS 1.0/0.90) or another parser
_VERSION_NS = frozenset({"http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"})
_ODD_NS = frozenset({"http://www.w3.org/1999/xlink", "http://www.w3.org/1998/math/mathml",
                     "http://www.w3.org/2000/svg"})
_XML_DECL = re.compile(rb"<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*([\"'])1\.[0-9]+\1"
                       rb"(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*([\"'])([A-Za-z][A-Za-z0-9._-]*)\2)?")
_FIRST_ELEMENT = re.compile(rb"<\w")
_ASCII_SUPERSETS = frozenset({"ascii", "iso8859-1", "cp1252", "iso8859-15", "iso8859-2"})
_LINK_ENTITY = re.compile("&([A-Za-z0-9_]+);")
_HTML_TYPES = frozenset({"application/xhtml+xml", "text/html"})
_COPY_TO_SUMMARY = frozenset({"text/plain", "text/html", "application/xhtml+xml"})
# keys of an entry that sources.feed reads, and the element names feedparser would store under them
_ENTRY_KEYS = frozenset({"id", "link", "links", "title", "title_detail", "content", "summary", "summary_detail",
                         "published_parsed", "created_parsed", "updated_parsed", "tags", "guidislink"})

# -- element names (feedparser's, after namespace mapping and lower-casing) --------------------
_TITLE = frozenset({"title", "dc_title"})
_DATES = {"published": "published_parsed", "issued": "published_parsed", "pubdate": "published_parsed",
          "dcterms_issued": "published_parsed", "updated": "updated_parsed", "modified": "updated_parsed",
          "lastbuilddate": "updated_parsed", "dc_date": "updated_parsed", "dcterms_modified": "updated_parsed",
          "created": "created_parsed", "dcterms_created": "created_parsed"}
_SUMMARY = frozenset({"summary", "itunes_summary"})
_DESCRIPTION = frozenset({"description", "dc_description"})
_ENCODED = frozenset({"content_encoded", "fullitem"})
_CATEGORY = frozenset({"category", "dc_subject"})
# handlers that only write keys nobody here reads and leave no state behind
_HARMLESS = frozenset({
    "author", "dc_author", "dc_creator", "itunes_author", "managingeditor", "webmaster", "dc_publisher",
    "contributor", "dc_contributor", "name", "email", "uri", "url", "homepage", "itunes_name",
    "itunes_email", "itunes_owner", "generator", "cloud", "language", "dc_language", "expirationdate",
    "dcterms_valid", "newlocation", "enclosure", "media_content", "media_thumbnail", "media_credit",
    "media_rating", "media_restriction", "media_license", "media_player", "media_group", "itunes_block",
    "itunes_explicit", "itunes_image", "width", "height",
})
# handlers that keep text as a content construct: harmless, but only without child elements
_HARMLESS_TEXT = frozenset({"rights", "copyright", "dc_rights", "subtitle", "tagline", "itunes_subtitle",
                            "info", "feedburner_browserfriendly"})
# harmless at feed level only (they touch tags, links, ids or dates of the feed, never of an entry)
_FEED_HARMLESS = frozenset({"id", "guid", "link", "category", "dc_subject", "keywords", "tags",
                            "itunes_category", "itunes_keywords", "media_category", "media_keywords",
                            *_DATES})
_IMAGE_CHILDREN = frozenset({"title", "link", "description", "url", "width", "height"})
_TEXTINPUT_CHILDREN = frozenset({"title", "link", "description", "name"})


# feedparser's _matchnamespaces: namespace URI (lower-cased) -> its prefix ('' for the core formats)
_KNOWN: dict[str, str] = {k.lower(): v for k, v in _FP.namespaces.items()} if AVAILABLE else {}
_STANDARD = frozenset(v.lower() for v in _KNOWN.values() if v)


class _Unsupported(Exception):
    """Something this module does not reproduce: feedparser reads the document."""


def read(root: Element, namespaces: list[tuple[str, str]], body: bytes, *,
         headers: Mapping[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """``(parsed.feed, parsed.entries)`` as feedparser would give them, or None.

    The feed dict holds only ``title`` and ``title_detail`` (its type and value);
    each entry dict only the keys ``sources.feed`` reads.

    ``root`` is the defusedxml tree of ``body``, ``namespaces`` its namespace
    declarations in document order, ``headers`` what ``parse_feed`` hands to
    feedparser as response headers (lower-case names, content-location set).
    None means: not a case reproduced here, ask feedparser.
    """
    if not AVAILABLE or not _reads_like_feedparser(body, headers):
        return None
    try:
        return _Reader(namespaces, headers).feed(root)
    except _Unsupported:
        return None


# -- bytes: feedparser must see the same characters expat saw ---------------------------------
def _reads_like_feedparser(body: bytes, headers: Mapping[str, str]) -> bool:
    """True when feedparser's encoding choice and DOCTYPE handling leave the text as expat read it.

    Mirrors ``feedparser.encodings.convert_to_utf8`` (RFC 3023 precedence) and
    ``feedparser.sanitizer.replace_doctype`` for UTF-8 and ASCII documents.
    """
    data = body[3:] if body[:3] == codecs.BOM_UTF8 else body
    bom = "utf-8" if data is not body else ""
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or data[:4] in (
            b"\x4c\x6f\xa7\x94", b"\x00\x3c\x00\x3f", b"\x3c\x00\x3f\x00", b"\x00\x00\x00\x3c",
            b"\x3c\x00\x00\x00", codecs.BOM_UTF32_BE, codecs.BOM_UTF32_LE):
        return False
    ascii_only = data.isascii()
    if not ascii_only:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
    # what expat decoded with: the XML declaration's encoding, else UTF-8
    if data.startswith(b"<?xml"):
        declaration = _XML_DECL.match(data)
        if declaration is None:
            return False
        declared = (declaration.group(3) or b"utf-8").decode("ascii").lower()
        if declared != "utf-8" and not (ascii_only and declared in ("us-ascii", "iso-8859-1")):
            return False
    # what feedparser decodes with: the first of these that decodes at all
    pi = _fp_encodings.RE_XML_PI_ENCODING.match(data)
    try:
        xml_encoding = pi.groups()[0].decode("utf-8").lower() if pi else ""
    except UnicodeDecodeError:
        return False
    mime, charset = _fp_encodings.parse_content_type(headers.get("content-type") or "")
    if mime in ("application/xml", "application/xml-dtd", "application/xml-external-parsed-entity") or (
            mime.startswith("application/") and mime.endswith("+xml")):
        rfc3023 = charset or xml_encoding or "utf-8"
    elif mime.startswith("text/"):  # text/xml, text/*+xml and any other text/*
        rfc3023 = charset or "us-ascii"
    elif headers and "content-type" not in headers:
        rfc3023 = xml_encoding or "iso-8859-1"
    else:
        rfc3023 = xml_encoding or "utf-8"
    for proposed in (rfc3023, xml_encoding, bom):
        if not proposed:
            continue
        try:
            codec = codecs.lookup(proposed).name
        except LookupError:
            continue  # feedparser moves on too
        except ValueError:
            return False  # a NUL in the name: whatever feedparser makes of that, it is not ours
        if codec == "utf-8" or (ascii_only and codec in _ASCII_SUPERSETS):
            break  # decodes, to the very text expat read
        if codec != "ascii":
            return False  # decodes to other characters, or we cannot tell
    else:  # none decoded: next come chardet (when installed), then UTF-8
        if _fp_encodings.lazy_chardet_encoding is not None:
            return False
    # replace_doctype: nothing but the XML declaration may precede the root element
    start = _FIRST_ELEMENT.search(data)
    return start is not None and b"<!" not in data[:start.start()]


# -- the tree ---------------------------------------------------------------------------------
class _Reader:
    """One document: the namespace table, the current xml:base, feedparser's title_depth."""

    def __init__(self, namespaces: list[tuple[str, str]], headers: Mapping[str, str]) -> None:
        self.known = _KNOWN
        self.prefix_of: dict[str, str] = {}  # unknown namespace URI -> its (only) document prefix
        self._check_namespaces(namespaces)
        self.names: dict[str, tuple[str, bool]] = {}
        self.bases: dict[tuple[str, str], str] = {}
        self.dates: dict[str, Any] = {}
        self.handlers: dict[str, bool] = {}
        contentloc = headers.get("content-location", "")
        self.root_base: str = (make_safe_absolute_uri("", contentloc) or make_safe_absolute_uri(contentloc)
                               or "")
        if not self.root_base:
            raise _Unsupported("no base URI")  # feedparser's base stack then behaves differently
        self.atom = False
        self.title_depth = -1

    def _check_namespaces(self, namespaces: list[tuple[str, str]]) -> None:
        """Bindings under which feedparser's prefix tables give each element one fixed name."""
        standard = _STANDARD
        declared = {self.known[uri.lower()].lower() for _, uri in namespaces if uri.lower() in self.known}
        bound: dict[str, str] = {}
        for prefix, uri in namespaces:
            lowered = uri.lower()
            if (not uri or lowered in _VERSION_NS or lowered in _ODD_NS or "backend.userland.com/rss" in lowered
                    or any(c in uri for c in " \t\r\n}")):
                raise _Unsupported("namespace")
            if bound.setdefault(prefix.lower(), lowered) != lowered:
                raise _Unsupported("prefix bound twice")
            std = self.known.get(lowered)
            if std is None:
                # named by its document prefix, which must not be a known namespace's own name
                # here (feedparser's namespaces_in_use would then hold the known one under it)
                if not prefix or prefix.lower() in declared:
                    raise _Unsupported("unknown default namespace or prefix of a known one")
                if self.prefix_of.setdefault(uri, prefix) != prefix:
                    raise _Unsupported("namespace under two prefixes")
            elif prefix and prefix.lower() != std.lower() and prefix.lower() in standard:
                raise _Unsupported("prefix of another known namespace")  # namespacemap would rename

    # names -------------------------------------------------------------------------------------
    def name(self, tag: str) -> tuple[str, bool]:
        """feedparser's method-name part for ``tag`` (``content_encoded``), and whether it has a prefix."""
        hit = self.names.get(tag)
        if hit is None:
            if tag[0] == "{":
                uri, local = tag[1:].split("}", 1)
                std = self.known.get(uri.lower())
                if std is None:
                    prefix = self.prefix_of.get(uri)
                    if prefix is None:
                        raise _Unsupported("undeclared namespace")
                    std = prefix
            else:
                std, local = "", tag
            hit = (f"{std}_{local}".lower(), True) if std else (local.lower(), False)
            self.names[tag] = hit
        return hit

    def has_handler(self, name: str) -> bool:
        hit = self.handlers.get(name)
        if hit is None:
            hit = self.handlers[name] = hasattr(_FP, "_start_" + name) or hasattr(_FP, "_end_" + name)
        return hit

    def base(self, parent: str, attrs: Mapping[str, str]) -> str:
        """``_FeedParserMixin.unknown_starttag``'s xml:base step (``parent`` is never empty)."""
        given = attrs.get("xml:base", attrs.get("base")) or parent
        key = (parent, given)
        hit = self.bases.get(key)
        if hit is None:
            hit = self.bases[key] = make_safe_absolute_uri(parent, given) or parent
        return hit

    def date(self, value: str) -> Any:
        hit = self.dates.get(value, self)
        if hit is self:
            hit = self.dates[value] = _parse_date(value)
        return hit

    # text --------------------------------------------------------------------------------------
    def text(self, element: Element, *, resolve: str | None = None, type_: str | None = None) -> tuple[str, str | None]:
        """``_FeedParserMixin.pop`` on a leaf: its value, and its content type after the HTML guess."""
        if len(element):
            raise _Unsupported("child elements in a text element")
        output = (element.text or "").strip()
        if resolve is not None and output:
            output = _urljoin(resolve, output)
        if type_ == "text/plain" and not self.atom and _FP.looks_like_html(output):
            type_ = "text/html"
        if not output.isascii():
            try:  # feedparser's repair of UTF-8 read as Latin-1, then its cp1252 map
                output = output.encode("iso-8859-1").decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                pass
            if _C1.search(output):
                output = output.translate(_cp1252)
        return output, type_

    @staticmethod
    def content_type(attrs: Mapping[str, str], default: str) -> str:
        """``push_content``'s type; xhtml (markup, not text) and base64 are left to feedparser."""
        if attrs.get("mode", "") == "base64":
            raise _Unsupported("base64")
        type_: str = _FP.map_content_type(attrs.get("type", default))
        if type_ == "application/xhtml+xml" or not (
                type_.startswith("text/") or type_.endswith(("+xml", "/xml"))):
            raise _Unsupported("xhtml or base64 content")
        return type_

    # structure ---------------------------------------------------------------------------------
    def feed(self, root: Element) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        name, _ = self.name(root.tag)
        attrs = _attributes(root, self.known)
        base = self.base(self.root_base, attrs)
        if name == "feed" and root.tag == f"{{{ATOM_NS}}}feed":
            self.atom = True
            return self.channel(root, base, depth=1)
        if name != "rss":
            raise _Unsupported("neither RSS nor Atom 1.0")
        feed: dict[str, Any] | None = None
        entries: list[dict[str, Any]] = []
        for child in root:
            if self.name(child.tag)[0] != "channel" or feed is not None:
                raise _Unsupported("RSS without exactly one channel")
            feed, entries = self.channel(child, self.base(base, _attributes(child, self.known)), depth=2)
        return feed or {}, entries

    def channel(self, element: Element, base: str, *, depth: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The children of RSS ``channel`` or Atom ``feed``: entries, the title, and inert rest."""
        feed: dict[str, Any] = {}
        entries: list[dict[str, Any]] = []
        has_summary = False
        for child in element:
            name, _ = self.name(child.tag)
            attrs = _attributes(child, self.known)
            child_base = self.base(base, attrs)
            if name in ("item", "entry"):
                entries.append(self.entry(child, attrs, child_base, depth=depth + 1))
            elif name in _TITLE:
                self.title(child, attrs, feed, depth=depth + 1)
            elif name in ("image", "textinput"):
                self.image(child, name, depth=depth + 1)
            elif name in _SUMMARY and not has_summary:
                has_summary = True  # a second one would turn into content and set hasContent
                self.text(child)
            elif (name in _DESCRIPTION and not has_summary) or name in _HARMLESS_TEXT:
                self.text(child)
            elif name in _HARMLESS or name in _FEED_HARMLESS:
                self.inert_children(child, allowed=_HARMLESS | _FEED_HARMLESS)
            else:
                self.inert(child, name, {"title"})
        return feed, entries

    def image(self, element: Element, name: str, *, depth: int) -> None:
        """RSS ``image``/``textInput``: feedparser files their titles elsewhere but resets title_depth."""
        self.title_depth = -1
        allowed = _IMAGE_CHILDREN if name == "image" else _TEXTINPUT_CHILDREN
        for child in element:
            child_name, prefixed = self.name(child.tag)
            attrs = _attributes(child, self.known)
            if prefixed or child_name not in allowed:
                raise _Unsupported("unusual image or textInput")
            if child_name == "title":
                self.title(child, attrs, {}, depth=depth + 1)
            else:
                self.text(child)

    def title(self, element: Element, attrs: Mapping[str, str], into: dict[str, Any], *, depth: int) -> None:
        """``_start_title``/``_end_title`` and pop's title_depth rule: the first non-empty one wins.

        ``title_detail`` keeps the type after feedparser's HTML guess: text/plain is text, to be
        published as it is (``Vector<T>``), not markup to strip."""
        value, type_ = self.text(element, type_=self.content_type(attrs, "text/plain"))
        if not (-1 < self.title_depth <= depth):
            into["title"] = value
            into["title_detail"] = {"type": type_, "value": value}
        if value:
            self.title_depth = depth

    def inert(self, element: Element, name: str, reserved: frozenset[str] | set[str]) -> None:
        """An element feedparser has no handler for, down to its leaves: it only stores itself by name."""
        stack = [(element, name)]
        while stack:  # a loop, not recursion: nesting depth is the document's to choose
            element, name = stack.pop()
            if self.has_handler(name):
                raise _Unsupported(f"element {name}")
            key = FeedParserDict.keymap.get(name, name)
            if (key[0] if isinstance(key, list) else key) in reserved:
                raise _Unsupported(f"element {name} lands on a key we read")
            stack.extend((child, self.name(child.tag)[0]) for child in element)

    def inert_children(self, element: Element, *, allowed: frozenset[str]) -> None:
        """Children of a harmless element: harmless themselves, or inert."""
        stack = list(element)
        while stack:
            child = stack.pop()
            name, _ = self.name(child.tag)
            if name in _HARMLESS_TEXT:
                self.text(child)
            elif name in allowed:
                stack.extend(child)
            else:
                self.inert(child, name, _ENTRY_KEYS | {"title"})

    def entry(self, element: Element, attrs: Mapping[str, str], base: str, *, depth: int) -> dict[str, Any]:
        """``_start_item`` to ``_end_item``: the dict feedparser appends to ``entries``."""
        entry: dict[str, Any] = {}
        self.title_depth = -1
        guidislink = False
        has_content = False
        about = attrs.get("rdf:about")
        if about:
            entry["id"] = about
        if "lastmod" in attrs or "href" in attrs:
            raise _Unsupported("CDF")
        for child in element:
            name, _ = self.name(child.tag)
            child_attrs = _attributes(child, self.known)
            child_base = self.base(base, child_attrs)
            if name == "link":
                self.link(child, child_attrs, child_base, entry)
            elif name in ("id", "guid"):
                guidislink = child_attrs.get("ispermalink", "true") == "true"
                value, _ = self.text(child, resolve=child_base if guidislink else None)
                entry["id"] = value
                entry.setdefault("guidislink", guidislink and "link" not in entry)
                if guidislink:
                    entry.setdefault("link", value)
            elif name in _TITLE:
                self.title(child, child_attrs, entry, depth=depth + 1)
            elif name in _DATES:
                entry[_DATES[name]] = self.date(self.text(child)[0])
            elif name in _CATEGORY:
                _category(entry, child_attrs, self.text(child)[0])
            elif (name in _SUMMARY or name in _DESCRIPTION) and "summary" in entry and not has_content:
                has_content = True  # _start_summary/_start_description treat a second one as content
                self.content(child, child_attrs, child_base, entry, "text/plain")
            elif name in _SUMMARY or name in _DESCRIPTION:
                declared = self.content_type(child_attrs, "text/plain" if name in _SUMMARY else "text/html")
                value, type_ = self.text(child, type_=declared)
                entry["summary"] = value
                entry["summary_detail"] = {"type": type_, "base": child_base, "value": value}
            elif name == "content":
                has_content = True
                self.content(child, child_attrs, child_base, entry, "text/plain")
            elif name in _ENCODED:
                has_content = True
                self.content(child, child_attrs, child_base, entry, "text/html")
            elif name in _HARMLESS_TEXT:
                self.text(child)
            elif name in _HARMLESS:
                if name == "enclosure":
                    link = _enforce_href(dict(child_attrs))
                    link["rel"] = "enclosure"
                    entry.setdefault("links", []).append(link)
                self.inert_children(child, allowed=_HARMLESS)
            else:
                self.inert(child, name, _ENTRY_KEYS)
        return entry

    def content(self, element: Element, attrs: Mapping[str, str], base: str, entry: dict[str, Any],
                default: str) -> None:
        """``_start_content``/``_start_content_encoded`` with ``_end_content``."""
        type_ = self.content_type(attrs, default)
        value, final = self.text(element, type_=type_)
        entry.setdefault("content", []).append({"type": final, "base": base, "value": value})
        if type_ in _COPY_TO_SUMMARY:
            entry.setdefault("summary", value)

    def link(self, element: Element, attrs: Mapping[str, str], base: str, entry: dict[str, Any]) -> None:
        """``_start_link``, and pop's link branch when the URL is the element's text."""
        if len(element):
            raise _Unsupported("child elements in a link")
        link = dict(attrs)
        link.setdefault("rel", "alternate")
        link.setdefault("type", "application/atom+xml" if link["rel"] == "self" else "text/html")
        link = _enforce_href(link)
        if "href" in link:
            link["href"] = _urljoin(base, link["href"])
        entry.setdefault("links", []).append(link)
        if "href" in link:
            if link.get("rel") == "alternate" and _FP.map_content_type(link.get("type")) in _HTML_TYPES:
                entry["link"] = link["href"]
            return
        value, _ = self.text(element, resolve=base)
        value = _LINK_ENTITY.sub(r"&\g<1>", value.replace("&amp;", "&"))
        entry["link"] = value
        if value:
            link["href"] = value


def _category(entry: dict[str, Any], attrs: Mapping[str, str], value: str) -> None:
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


def _enforce_href(attrs: dict[str, str]) -> dict[str, str]:
    """``_FeedParserMixin._enforce_href``: url, else uri, else href becomes href."""
    href = attrs.get("url", attrs.get("uri", attrs.get("href", None)))
    if href:
        attrs.pop("url", None)
        attrs.pop("uri", None)
        attrs["href"] = href
    return attrs


def _attributes(element: Element, known: Mapping[str, str]) -> dict[str, str]:
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
            raise _Unsupported("two attributes with one local name")
        locals_seen.add(local.lower())
        out[full.lower()] = value
    for key, value in attrib.items():
        out[(key[1:].split("}", 1)[1] if key[0] == "{" else key).lower()] = value
    for key in ("rel", "type"):
        if key in out:
            out[key] = out[key].lower()
    return out

