"""The bytes: feedparser must see the same characters expat saw, or the fast reader stands aside."""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

from sources.feed.fast.upstream import _fp_encodings

_ASCII_SUPERSETS = frozenset({"ascii", "iso8859-1", "cp1252", "iso8859-15", "iso8859-2"})

_FIRST_ELEMENT = re.compile(rb"<\w")

_XML_DECL = re.compile(rb"<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*([\"'])1\.[0-9]+\1"
                       rb"(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*([\"'])([A-Za-z][A-Za-z0-9._-]*)\2)?")

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
