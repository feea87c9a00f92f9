"""Decoding of dumped text: bytes in, clean lines out. Pure, no I/O.

Dumps come from old and new sites alike: UTF-8 with or without a BOM,
Windows-1252 from legacy pages, CRLF or LF, tabs, trailing blanks and lines
that hold only a no-break space.
"""

from __future__ import annotations

import re

# Windows-1252 leaves these five bytes undefined; a text holding them is not cp1252.
_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


class NotTextError(Exception):
    """Raised by ``decode`` for bytes that are not text; the caller names the file."""


def decode(data: bytes) -> str:
    """Text from bytes: UTF-8 (BOM or not), UTF-16 with a BOM, else Windows-1252, else Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise NotTextError(f"invalid UTF-16: {exc.reason}") from None
    else:
        if b"\x00" in data:
            raise NotTextError("binary data (NUL bytes)")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = _decode_legacy(data)
    text = text.lstrip("\ufeff")
    if _looks_binary(text):
        raise NotTextError("binary data (control characters)")
    return text


def _decode_legacy(data: bytes) -> str:
    if any(b in _CP1252_UNDEFINED for b in data):
        return data.decode("latin-1")
    return data.decode("cp1252")


# Unicode category Cc (U+0000-001F, U+007F-009F) less the whitespace controls \t \n \v \f \r.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def _looks_binary(text: str) -> bool:
    sample = text[:8192]
    if not sample:
        return False
    controls = len(_CONTROLS.findall(sample))
    return controls / len(sample) > 0.01


def is_blank(line: str) -> bool:
    """Whitespace only, counting U+00A0 and every other Unicode space."""
    return not line.strip()


def clean_line(line: str) -> str:
    """Collapse runs of whitespace (tabs, NBSP) inside a line and trim its ends."""
    return " ".join(line.split())


def split_lines(text: str) -> list[str]:
    """Lines with CR, CRLF and LF ends alike, trailing whitespace removed."""
    return [line.rstrip() for line in text.splitlines()]


def indent_width(line: str) -> int:
    """Leading whitespace width, a tab counting as four columns."""
    width = 0
    for ch in line:
        if ch == "\t":
            width += 4
        elif ch.isspace():
            width += 1
        else:
            break
    return width
