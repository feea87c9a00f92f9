"""One listing item's fields, from its subtree: title, link, summary, date, image.

Pure functions over lxml elements. Text is what a reader sees: scripts, styles,
``noscript``, hidden and screen-reader-only elements are left out. Links resolve
as HTML resolves them (the ``<base>`` element, then the page URL); ``canonical_link``
is the key an item's id is made from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from lxml import html

from sources.page.dates import find_date

_SPACE = re.compile(r"[\s\u0080-\u009f\u200b\ufeff]+")  # C1 controls too: a stray U+0097 after a date
_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "button", "select", "option"})
_SR_ONLY = frozenset({"sr-only", "screen-reader-text", "visually-hidden", "visuallyhidden", "screenreader",
                      "element-invisible", "a11y-hidden", "u-hidden-visually", "hidden"})
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_SPACED = frozenset({"br", "p", "div", "li", *HEADINGS})  # a reader sees a break after these
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|_ga|_gl|"
                       r"igshid|icid|ocid|cmpid|ito|at_medium|at_campaign|__twitter_impression|ref_src|spm)$",
                       re.I)
_IMG_ATTRS = ("data-src", "data-lazy-src", "data-original", "data-lazy", "data-url", "data-image",
              "data-hi-res-src", "data-full-src", "src")
_SRCSET_ATTRS = ("data-srcset", "data-lazy-srcset", "srcset")
_CJK = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_BG_URL = re.compile(r"background(?:-image)?\s*:[^;]*url\(\s*['\"]?([^'\")]+)", re.I)


@dataclass(frozen=True, slots=True)
class Item:
    """What one item of a listing page gives, before it becomes an ``Article``."""

    title: str
    link: str
    summary: str = ""
    date: datetime | None = None
    image: str | None = None

    @property
    def date_absolute(self) -> bool:
        """Whether ``date`` is written in the page as a date, not as "2 hours ago" resolved now."""
        return self.date is not None and self.date.microsecond != RELATIVE_MARK


RELATIVE_MARK = 1  # the microsecond dates.find_date gives a resolved relative date (it drops the rest)


def hidden_attributes(attributes: Mapping[str, str]) -> bool:
    """Whether an element with these attributes is hidden by markup alone (CSS classes are not read):
    ``hidden``, ``aria-hidden``, ``display:none``."""
    if "hidden" in attributes or attributes.get("aria-hidden") == "true":
        return True
    style = attributes.get("style")
    if style is None:
        return False
    style = style.replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


def _skipped(el: html.HtmlElement) -> bool:
    tag = el.tag
    if not isinstance(tag, str) or tag in _SKIP:
        return True
    keys = el.keys()
    if not keys:
        return False
    if "class" in keys and _SR_ONLY.intersection(el.get("class").lower().split()):
        return True
    return ("hidden" in keys or "aria-hidden" in keys or "style" in keys) and hidden_attributes(el.attrib)


def text_of(el: html.HtmlElement, *, skip: html.HtmlElement | None = None) -> str:
    """The visible text of ``el``, whitespace-normalised; ``skip`` (a descendant) left out."""
    if not len(el):  # a leaf (most links): its own text, without the walk
        return "" if el is skip or _skipped(el) or not el.text else _SPACE.sub(" ", el.text).strip()
    parts: list[str] = []
    _collect(el, parts, skip)
    return _SPACE.sub(" ", "".join(parts)).strip()


def _collect(el: html.HtmlElement, parts: list[str], skip: html.HtmlElement | None) -> None:
    if el is skip or _skipped(el):
        return
    if el.text:
        parts.append(el.text)
    for child in el:
        tag = child.tag
        if isinstance(tag, str):
            if len(child):
                _collect(child, parts, skip)
            elif child is not skip and not _skipped(child) and child.text:  # a leaf, without the call
                parts.append(child.text)
            if tag in _SPACED:
                parts.append(" ")
        if child.tail:
            parts.append(child.tail)


def base_url(doc: html.HtmlElement, page_url: str) -> str:
    """What relative links resolve against: the first ``<base href>``, else the page URL."""
    for base in doc.iter("base"):
        href = (base.get("href") or "").strip()
        if href:
            return str(urljoin(page_url, href))
    return page_url


def resolve(href: str | None, base: str) -> str | None:
    """An absolute http(s) URL for ``href``, or None for javascript:, mailto:, a bare fragment..."""
    href = (href or "").strip()
    if not href or href.startswith("#"):
        return None
    try:
        url = urljoin(base, href)
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url


def canonical_link(url: str) -> str:
    """The link an item's id is made from: no fragment, no tracking parameters, lower-case host."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
    netloc = (parts.hostname or "").lower()
    if parts.port and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/",
                       urlencode(query) if query != parse_qsl(parts.query, keep_blank_values=True)
                       else parts.query, ""))


def title_element(anchor: html.HtmlElement, item: html.HtmlElement) -> html.HtmlElement:
    """Where the headline's text is: a heading inside the anchor, the anchor, or the item's heading
    holding it; a kicker (a short first part in its own element) is cut by ``title_text``."""
    for heading in anchor.iter(*HEADINGS):
        return heading
    return anchor


_BLOCKS = frozenset({"p", "div", "header", "footer", "section", "li", "figcaption", "dt", "dd", "article",
                     "ul", "ol", "figure", "time", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table"})


def title_text(el: html.HtmlElement) -> str:
    """The headline inside ``el``: all its text when it is inline, else the first text block of
    two words or more that is not a date (a kicker of one word, a category, a timestamp come
    before it); the link's own ``title`` attribute wins when it is one of the blocks."""
    if not len(el) or next(el.iterdescendants(*_BLOCKS), None) is None:  # the tag filter runs in lxml
        return text_of(el)
    blocks = [text_of(b) for b in _leaf_blocks(el)]
    blocks = [b for b in blocks if b]
    hint = _SPACE.sub(" ", el.get("title") or "").strip()
    if hint and hint in blocks:
        return hint
    for block in blocks:
        if _weight(block) >= 2 and not (len(block) < 40 and find_date(block, _EPOCH)):
            return block
    return blocks[0] if blocks else text_of(el)


_EPOCH = datetime(1970, 1, 1)


def _leaf_blocks(el: html.HtmlElement) -> list[html.HtmlElement]:
    """Block elements holding text but no other block, in page order (skipping hidden ones);
    text directly in ``el`` or in a block around blocks is its own block."""
    out: list[html.HtmlElement] = []
    for child in el.iterdescendants(*_BLOCKS):
        if (not len(child) or next(child.iterdescendants(*_BLOCKS), None) is None) and not _hidden_path(child, el):
            out.append(child)
    return out


def _hidden_path(child: html.HtmlElement, top: html.HtmlElement) -> bool:
    el: html.HtmlElement | None = child
    while el is not None and el is not top:
        if _skipped(el):
            return True
        el = el.getparent()
    return False


def _weight(text: str) -> float:
    """Words a reader reads: Latin words, plus two CJK characters to a word."""
    cjk = 0 if text.isascii() else len(_CJK.findall(text))
    return len(text.split()) + cjk / 2 - (1 if cjk and not text.isascii() and " " not in text else 0)


weight = _weight


def summary_of(item: html.HtmlElement, title_el: html.HtmlElement, title: str) -> str:
    """The teaser: the longest text block of the item that is neither the title nor holds it."""
    inside = set(title_el.iter())
    best = ""
    for el in _leaf_blocks(item):
        if el in inside or el.tag in HEADINGS or el.tag == "time":
            continue
        text = text_of(el, skip=title_el)
        if len(text) > len(best) and text != title:
            best = text
    return best if _weight(best) >= 4 else ""


def image_of(item: html.HtmlElement, base: str) -> str | None:
    """The item's picture: lazy-loading attributes and srcset before src, ``noscript`` too, then a CSS
    background; tracking pixels and inline placeholders are skipped."""
    for el in item.iter("img", "source", "noscript", "a-img", "amp-img"):
        if el.tag == "noscript":
            found = _noscript_image(el, base)
        else:
            found = _img_url(el, base)
        if found:
            return found
    for el in item.iter():
        if isinstance(el.tag, str) and (style := el.get("style")) and (match := _BG_URL.search(style)):
            if found := resolve(match.group(1), base):
                return found
    return None


def _noscript_image(el: html.HtmlElement, base: str) -> str | None:
    inner = "".join(el.itertext()) if not len(el) else ""
    if inner and "<img" in inner:
        try:
            frag = html.fragment_fromstring(inner, create_parent="div")
        except Exception:  # noqa: BLE001 - a broken noscript is no picture
            return None
        return next((u for img in frag.iter("img") if (u := _img_url(img, base))), None)
    return next((u for img in el.iter("img") if (u := _img_url(img, base))), None)


def _img_url(el: html.HtmlElement, base: str) -> str | None:
    for attr in _SRCSET_ATTRS:
        if (srcset := el.get(attr)) and (url := _largest(srcset)) and (found := resolve(url, base)):
            return found
    for attr in _IMG_ATTRS:
        value = (el.get(attr) or "").strip()
        if value and not value.startswith("data:") and (found := resolve(value, base)):
            if el.get("width") in ("1", "0") or el.get("height") in ("1", "0"):
                return None
            return found
    return None


def _largest(srcset: str) -> str | None:
    """The widest candidate of a srcset (``url 480w, url 2x``), else the first."""
    best: tuple[float, str] | None = None
    for part in srcset.split(","):
        bits = part.strip().split()
        if not bits or bits[0].startswith("data:"):
            continue
        size = 0.0
        if len(bits) > 1 and bits[1][:-1].replace(".", "", 1).isdigit():
            size = float(bits[1][:-1]) * (1000 if bits[1].endswith("x") else 1)
        if best is None or size > best[0]:
            best = (size, bits[0])
    return best[1] if best else None


def date_of(item: html.HtmlElement, now: datetime) -> datetime | None:
    """``time@datetime`` (or any ``datetime`` attribute), else a visible date in the item's text."""
    for el in item.iter():
        if isinstance(el.tag, str) and (value := el.get("datetime")):
            if found := find_date(value, now):
                return found
    for el in item.iter("time"):
        if found := find_date(text_of(el), now):
            return found
    return find_date(text_of(item), now)
