"""An article page's bytes to its main text, as HTML safe to republish (pure).

trafilatura finds the main text (it does that better than anything we would
write: boilerplate, comments and link lists out); nh3 (``sources.sanitize``)
then keeps only allow-listed markup, with links made absolute against the page.
Too little text is no full text: the teaser is better than a cookie banner.
"""

from __future__ import annotations

import re

from lxml import etree

from sources.page.decode import decode_html
from sources.sanitize import plain_text, sanitize_html

MIN_TEXT = 200  # characters of text below which an extraction is taken for a failure
_FIRST_H1 = re.compile(r"<h1\b[^>]*>.*?</h1>", re.IGNORECASE | re.DOTALL)
_HTML_TYPES = ("", "text/html", "application/xhtml+xml")


def main_text(body: bytes, url: str, content_type: str | None = None) -> str | None:
    """The main text of the article page at ``url`` as sanitized HTML; None when none is found
    (not HTML, empty, or too little text). Its first h1 (the headline, the entry's title) is left out."""
    if (content_type or "").split(";")[0].strip().lower() not in _HTML_TYPES or not body.strip():
        return None
    import trafilatura  # ~0.2 s to import: paid only by builds with full text

    text, _ = decode_html(body, content_type)
    try:
        found = trafilatura.extract(text.replace("\x00", ""), url=url, output_format="html", include_images=True,
                                    include_links=True, include_tables=True, include_comments=False,
                                    favor_precision=True, deduplicate=False)
    except (ValueError, UnicodeError, etree.LxmlError):  # a page the library cannot read: the teaser stays
        return None
    if not found:
        return None
    cleaned = sanitize_html(_FIRST_H1.sub("", found, count=1), base_url=url)
    return cleaned if len(plain_text(cleaned)) >= MIN_TEXT else None
