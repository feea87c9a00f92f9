"""The tree: one document read into the entry dicts feedparser would build."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element

from sources.feed.fast.names import (
    ATOM_NS, C1, CATEGORY, COPY_TO_SUMMARY, DATES, DESCRIPTION, ENCODED, ENTRY_KEYS, FEED_HARMLESS, HARMLESS,
    HARMLESS_TEXT, HTML_TYPES, IMAGE_CHILDREN, KNOWN, LINK_ENTITY, ODD_NS, STANDARD, SUMMARY,
    TEXTINPUT_CHILDREN, TITLE, VERSION_NS, attributes, category, enforce_href,
)
from sources.feed.fast.upstream import (_FP, FeedParserDict, Unsupported, _cp1252, _parse_date, _urljoin,
                                        make_safe_absolute_uri)


class _Reader:
    """One document: the namespace table, the current xml:base, feedparser's title_depth."""

    def __init__(self, namespaces: list[tuple[str, str]], headers: Mapping[str, str]) -> None:
        self.known = KNOWN
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
            raise Unsupported("no base URI")  # feedparser's base stack then behaves differently
        self.atom = False
        self.title_depth = -1

    def _check_namespaces(self, namespaces: list[tuple[str, str]]) -> None:
        """Bindings under which feedparser's prefix tables give each element one fixed name."""
        standard = STANDARD
        declared = {self.known[uri.lower()].lower() for _, uri in namespaces if uri.lower() in self.known}
        bound: dict[str, str] = {}
        for prefix, uri in namespaces:
            lowered = uri.lower()
            if (not uri or lowered in VERSION_NS or lowered in ODD_NS or "backend.userland.com/rss" in lowered
                    or any(c in uri for c in " \t\r\n}")):
                raise Unsupported("namespace")
            if bound.setdefault(prefix.lower(), lowered) != lowered:
                raise Unsupported("prefix bound twice")
            std = self.known.get(lowered)
            if std is None:
                # named by its document prefix, which must not be a known namespace's own name
                # here (feedparser's namespaces_in_use would then hold the known one under it)
                if not prefix or prefix.lower() in declared:
                    raise Unsupported("unknown default namespace or prefix of a known one")
                if self.prefix_of.setdefault(uri, prefix) != prefix:
                    raise Unsupported("namespace under two prefixes")
            elif prefix and prefix.lower() != std.lower() and prefix.lower() in standard:
                raise Unsupported("prefix of another known namespace")  # namespacemap would rename

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
                        raise Unsupported("undeclared namespace")
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
            raise Unsupported("child elements in a text element")
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
            if C1.search(output):
                output = output.translate(_cp1252)
        return output, type_

    @staticmethod
    def content_type(attrs: Mapping[str, str], default: str) -> str:
        """``push_content``'s type; xhtml (markup, not text) and base64 are left to feedparser."""
        if attrs.get("mode", "") == "base64":
            raise Unsupported("base64")
        type_: str = _FP.map_content_type(attrs.get("type", default))
        if type_ == "application/xhtml+xml" or not (
                type_.startswith("text/") or type_.endswith(("+xml", "/xml"))):
            raise Unsupported("xhtml or base64 content")
        return type_

    # structure ---------------------------------------------------------------------------------
    def feed(self, root: Element) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        name, _ = self.name(root.tag)
        attrs = attributes(root, self.known)
        base = self.base(self.root_base, attrs)
        if name == "feed" and root.tag == f"{{{ATOM_NS}}}feed":
            self.atom = True
            return self.channel(root, base, depth=1)
        if name != "rss":
            raise Unsupported("neither RSS nor Atom 1.0")
        feed: dict[str, Any] | None = None
        entries: list[dict[str, Any]] = []
        for child in root:
            if self.name(child.tag)[0] != "channel" or feed is not None:
                raise Unsupported("RSS without exactly one channel")
            feed, entries = self.channel(child, self.base(base, attributes(child, self.known)), depth=2)
        return feed or {}, entries

    def channel(self, element: Element, base: str, *, depth: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The children of RSS ``channel`` or Atom ``feed``: entries, the title, and inert rest."""
        feed: dict[str, Any] = {}
        entries: list[dict[str, Any]] = []
        has_summary = False
        for child in element:
            name, _ = self.name(child.tag)
            attrs = attributes(child, self.known)
            child_base = self.base(base, attrs)
            if name in ("item", "entry"):
                entries.append(self.entry(child, attrs, child_base, depth=depth + 1))
            elif name in TITLE:
                self.title(child, attrs, feed, depth=depth + 1)
            elif name in ("image", "textinput"):
                self.image(child, name, depth=depth + 1)
            elif name in SUMMARY and not has_summary:
                has_summary = True  # a second one would turn into content and set hasContent
                self.text(child)
            elif (name in DESCRIPTION and not has_summary) or name in HARMLESS_TEXT:
                self.text(child)
            elif name in HARMLESS or name in FEED_HARMLESS:
                self.inert_children(child, allowed=HARMLESS | FEED_HARMLESS)
            else:
                self.inert(child, name, {"title"})
        return feed, entries

    def image(self, element: Element, name: str, *, depth: int) -> None:
        """RSS ``image``/``textInput``: feedparser files their titles elsewhere but resets title_depth."""
        self.title_depth = -1
        allowed = IMAGE_CHILDREN if name == "image" else TEXTINPUT_CHILDREN
        for child in element:
            child_name, prefixed = self.name(child.tag)
            attrs = attributes(child, self.known)
            if prefixed or child_name not in allowed:
                raise Unsupported("unusual image or textInput")
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
                raise Unsupported(f"element {name}")
            key = FeedParserDict.keymap.get(name, name)
            if (key[0] if isinstance(key, list) else key) in reserved:
                raise Unsupported(f"element {name} lands on a key we read")
            stack.extend((child, self.name(child.tag)[0]) for child in element)

    def inert_children(self, element: Element, *, allowed: frozenset[str]) -> None:
        """Children of a harmless element: harmless themselves, or inert."""
        stack = list(element)
        while stack:
            child = stack.pop()
            name, _ = self.name(child.tag)
            if name in HARMLESS_TEXT:
                self.text(child)
            elif name in allowed:
                stack.extend(child)
            else:
                self.inert(child, name, ENTRY_KEYS | {"title"})

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
            raise Unsupported("CDF")
        for child in element:
            name, _ = self.name(child.tag)
            child_attrs = attributes(child, self.known)
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
            elif name in TITLE:
                self.title(child, child_attrs, entry, depth=depth + 1)
            elif name in DATES:
                entry[DATES[name]] = self.date(self.text(child)[0])
            elif name in CATEGORY:
                category(entry, child_attrs, self.text(child)[0])
            elif (name in SUMMARY or name in DESCRIPTION) and "summary" in entry and not has_content:
                has_content = True  # _start_summary/_start_description treat a second one as content
                self.content(child, child_attrs, child_base, entry, "text/plain")
            elif name in SUMMARY or name in DESCRIPTION:
                declared = self.content_type(child_attrs, "text/plain" if name in SUMMARY else "text/html")
                value, type_ = self.text(child, type_=declared)
                entry["summary"] = value
                entry["summary_detail"] = {"type": type_, "base": child_base, "value": value}
            elif name == "content":
                has_content = True
                self.content(child, child_attrs, child_base, entry, "text/plain")
            elif name in ENCODED:
                has_content = True
                self.content(child, child_attrs, child_base, entry, "text/html")
            elif name in HARMLESS_TEXT:
                self.text(child)
            elif name in HARMLESS:
                if name == "enclosure":
                    link = enforce_href(dict(child_attrs))
                    link["rel"] = "enclosure"
                    entry.setdefault("links", []).append(link)
                self.inert_children(child, allowed=HARMLESS)
            else:
                self.inert(child, name, ENTRY_KEYS)
        return entry

    def content(self, element: Element, attrs: Mapping[str, str], base: str, entry: dict[str, Any],
                default: str) -> None:
        """``_start_content``/``_start_content_encoded`` with ``_end_content``."""
        type_ = self.content_type(attrs, default)
        value, final = self.text(element, type_=type_)
        entry.setdefault("content", []).append({"type": final, "base": base, "value": value})
        if type_ in COPY_TO_SUMMARY:
            entry.setdefault("summary", value)

    def link(self, element: Element, attrs: Mapping[str, str], base: str, entry: dict[str, Any]) -> None:
        """``_start_link``, and pop's link branch when the URL is the element's text."""
        if len(element):
            raise Unsupported("child elements in a link")
        link = dict(attrs)
        link.setdefault("rel", "alternate")
        link.setdefault("type", "application/atom+xml" if link["rel"] == "self" else "text/html")
        link = enforce_href(link)
        if "href" in link:
            link["href"] = _urljoin(base, link["href"])
        entry.setdefault("links", []).append(link)
        if "href" in link:
            if link.get("rel") == "alternate" and _FP.map_content_type(link.get("type")) in HTML_TYPES:
                entry["link"] = link["href"]
            return
        value, _ = self.text(element, resolve=base)
        value = LINK_ENTITY.sub(r"&\g<1>", value.replace("&amp;", "&"))
        entry["link"] = value
        if value:
            link["href"] = value
