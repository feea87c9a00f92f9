"""An HTML page's bytes as text: the BOM, the HTTP charset, then the meta charset.

A BOM is checked first, as the HTML spec does (a server's charset header is
often a default nobody set). A declared charset that does not decode the bytes
falls through to the next candidate, then UTF-8, then cp1252 with replacement,
so a page is always text. A meta charset loses to UTF-8 when the bytes are valid
UTF-8 with non-ASCII in them: that is a page saved by a browser, which writes
UTF-8 and leaves the old ``<meta charset=gbk>`` in place.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
# the prescan of the HTML spec, simplified: <meta charset=x> or <meta http-equiv content="...charset=x">
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_PRESCAN = 4096  # where browsers look for the meta charset (the spec says 1024; real pages run longer)


def http_charset(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header, if any."""
    match = _HTTP_CHARSET.search(content_type or "")
    return match.group(1) if match else None


def _candidates(body: bytes, content_type: str | None) -> Iterator[tuple[str, int]]:
    """(encoding, bytes to skip) in the order the HTML spec trusts them."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            yield name, len(bom)  # a BOM outranks everything but is only trusted if it decodes
    if declared := http_charset(content_type):
        yield declared, 0
    if match := _META_CHARSET.search(body[:_PRESCAN]):
        if not body.isascii():
            yield "utf-8", 0  # tried first: valid UTF-8 beats the meta charset; invalid falls through to it
        yield match.group(1).decode("ascii", "replace"), 0
    yield "utf-8", 0


def _lookup(name: str) -> str | None:
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    return {"gb2312": "gb18030", "gbk": "gb18030", "latin-1": "cp1252", "iso8859-1": "cp1252",
            "ascii": "cp1252"}.get(codec, codec)  # as browsers read those labels


def decode_html(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(text, encoding used). Never raises: the last resort is cp1252 with replacement."""
    for name, skip in _candidates(body, content_type):
        codec = _lookup(name)
        if codec is None:
            continue
        try:
            return body[skip:].decode(codec), codec
        except UnicodeDecodeError:
            continue
    return body.decode("cp1252", errors="replace"), "cp1252"
