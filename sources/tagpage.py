"""Tag-page dumps (shared/FORMATS.md) to articles, by structure alone.

``detect_kind`` looks at the shape of the text (bullets, indentation), never
at a site's words; ``parse_tagpage`` is pure; ``read_tagpage`` is the one edge
that touches disk. Anything that is not a tag page raises ``TagPageError``
naming the file and the reason.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sources.model import Article, Tag, article_id, make_tag
from sources.text import NotTextError, clean_line, decode, indent_width, is_blank, split_lines
from tagfeed.errors import TagPageError


class Kind(enum.Enum):
    BULLETED = "A"  # "Contents tagged with X", then "• title" and indented teasers
    BARE = "B"  # bare tag name, then title / caption / body blocks


_UNICODE_BULLETS = "•●◦▪‣∙"
_BULLET = re.compile(rf"^\s*([{_UNICODE_BULLETS}*·–-])\s+(\S.*)$")
_TAGGED = re.compile(r"\btagged(?:\s+(?:with|as|under|in))?\s*[:\-–—]?\s*(?P<tag>\S.*)$", re.I)
_TRUNCATED = re.compile(r"\s*(?:\[…\]|\[\.\.\.\]|…|\.\.\.)$")
_CREDIT = re.compile(r"\[[^\[\]]{1,80}\]$")
_SENTENCE_BREAK = re.compile(r"[a-z]{2}[.!?][\"'”’)]*\s+[\"“‘(]*[A-Z]")
_ABBREVIATION_END = re.compile(r"(?:\b(?:[A-Z]\.){2,}|\b(?:Jr|Sr|Inc|Ltd|Co|St|vs)\.)$")
_CLOSERS = "\"'”’»)]"
MAX_TAG_LENGTH = 200
MAX_TITLE_LENGTH = 250


@dataclass
class _Draft:
    """An article being assembled while lines are read."""

    title: str
    caption: str | None = None
    paragraphs: list[str] = field(default_factory=list)


def detect_kind(lines: Sequence[str]) -> Kind:
    """Kind A opens its articles with bullets; anything else with a header is kind B.

    A bullet inside a kind-B body (a list in an article) does not make it kind A:
    kind A's first line after the header is a bullet, or its header says "tagged".
    """
    content = [line for line in lines if not is_blank(line)][1:]
    if not content:
        return Kind.BULLETED if _TAGGED.search(clean_line(lines_header(lines))) else Kind.BARE
    if _BULLET.match(content[0]):
        return Kind.BULLETED
    tagged = _TAGGED.search(clean_line(lines_header(lines)))
    unicode_bullets = any(_BULLET.match(line) and line.lstrip()[0] in _UNICODE_BULLETS for line in content)
    return Kind.BULLETED if tagged and unicode_bullets else Kind.BARE


def lines_header(lines: Sequence[str]) -> str:
    return next((line for line in lines if not is_blank(line)), "")


def parse_tagpage(text: str, *, source: str) -> list[Article]:
    """Articles of one tag page, newest first as the page lists them."""
    lines = split_lines(text)
    header = clean_line(lines_header(lines))
    _check_header(header, source)
    start = next(i for i, line in enumerate(lines) if not is_blank(line)) + 1
    kind = detect_kind(lines)
    if kind is Kind.BULLETED:
        match = _TAGGED.search(header)
        tag = make_tag(_unquote(match.group("tag") if match else header))
        drafts = _parse_kind_a(lines[start:])
    else:
        tag = make_tag(_unquote(header))
        drafts = _parse_kind_b(lines[start:])
    return [_to_article(d, tag, source) for d in drafts]


def read_tagpage(path: Path | str) -> list[Article]:
    """Read and parse one dump; every failure is a ``TagPageError`` naming the file."""
    return parse_tagpage_bytes(read_dump(path), source=str(path))


def read_dump(path: Path | str) -> bytes:
    """The bytes of one dump, or a ``TagPageError`` naming the file and why not."""
    name = str(path)
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise TagPageError(name, "file not found") from None
    except IsADirectoryError:
        raise TagPageError(name, "is a directory, not a tag-page dump") from None
    except OSError as exc:
        raise TagPageError(name, f"cannot read: {exc.strerror or exc}") from None


def parse_tagpage_bytes(data: bytes, *, source: str) -> list[Article]:
    """``parse_tagpage`` of a dump's bytes in whatever encoding ``sources.text.decode`` detects."""
    try:
        text = decode(data)
    except NotTextError as exc:
        raise TagPageError(source, f"not a text file: {exc}") from None
    return parse_tagpage(text, source=source)


def _check_header(header: str, source: str) -> None:
    if not header:
        raise TagPageError(source, "empty file: no tag-page header")
    first = header[:1]
    if first == "<":
        raise TagPageError(source, "looks like HTML or XML, not a tag-page dump")
    if first in "{[":
        raise TagPageError(source, "looks like JSON, not a tag-page dump")
    if len(header) > MAX_TAG_LENGTH:
        raise TagPageError(source, f"first line is {len(header)} characters long: not a tag name")
    if not any(ch.isalnum() for ch in header):
        raise TagPageError(source, "first line names no tag")


def _unquote(name: str) -> str:
    return name.strip().strip("\"'“”‘’«»").strip() or name.strip()


def _parse_kind_a(lines: Sequence[str]) -> list[_Draft]:
    """A bullet at the outer indent opens an article; runs of other lines are paragraphs."""
    drafts: list[_Draft] = []
    buffer: list[str] = []
    top = next((indent_width(line) for line in lines if _BULLET.match(line)), 0)
    for line in lines:
        bullet = _BULLET.match(line)
        if bullet and indent_width(line) <= top:
            _flush(drafts, buffer)
            drafts.append(_Draft(title=clean_line(bullet.group(2))))
        elif is_blank(line):
            _flush(drafts, buffer)
        elif drafts:
            buffer.append(clean_line(line))
    _flush(drafts, buffer)
    return drafts


def _flush(drafts: list[_Draft], buffer: list[str]) -> None:
    """A run of non-blank lines is one (wrapped) paragraph of the last article."""
    if buffer and drafts:
        drafts[-1].paragraphs.append(" ".join(buffer))
    buffer.clear()


def _blocks(lines: Sequence[str]) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for line in lines:
        if is_blank(line):
            if blocks[-1]:
                blocks.append([])
        else:
            blocks[-1].append(clean_line(line))
    return [b for b in blocks if b]


def _parse_kind_b(lines: Sequence[str]) -> list[_Draft]:
    """Title, then body blocks, until a block shaped like a title opens the next article.

    The block right after a title is always body (a body may be one short
    line); after a body, a one-line block that reads as a headline is a title.
    """
    drafts: list[_Draft] = []
    for block in _blocks(lines):
        current = drafts[-1] if drafts else None
        if current is None or (current.paragraphs and _opens_article(block)):
            drafts.append(_Draft(title=block[0]))
            _add_body(drafts[-1], block[1:])
        else:
            _add_body(current, block)
    return drafts


def _opens_article(block: Sequence[str]) -> bool:
    if not is_titleish(block[0]):
        return False
    return len(block) == 1 or (len(block[0]) <= 150 and not is_titleish(block[1]))


def _add_body(draft: _Draft, lines: Sequence[str]) -> None:
    lines = list(lines)
    if lines and not draft.paragraphs and draft.caption is None and is_caption(lines[0]):
        draft.caption = lines.pop(0)
    draft.paragraphs.extend(lines)


def is_caption(line: str) -> bool:
    """A photo caption: some words, then a bracketed credit such as ``[AP]``."""
    credit = _CREDIT.search(line)
    return credit is not None and credit.start() > 1


def is_titleish(line: str) -> bool:
    """Does this one line read as a headline rather than a sentence of body text?"""
    if not line or len(line) > MAX_TITLE_LENGTH or is_caption(line):
        return False
    if _SENTENCE_BREAK.search(line):
        return False
    core = line.rstrip(_CLOSERS + " ")
    if not core:
        return False
    if core[-1] in ",;:…" or (core[-1] == "." and not _ABBREVIATION_END.search(core)):
        return False
    return True


def _to_article(draft: _Draft, tag: Tag, source: str) -> Article:
    paragraphs = [p for p in draft.paragraphs if p]
    truncated = False
    if paragraphs and _TRUNCATED.search(paragraphs[-1]):
        truncated = True
        paragraphs[-1] = _TRUNCATED.sub("", paragraphs[-1]).rstrip()
        if not paragraphs[-1]:
            paragraphs.pop()
    return Article(
        id=article_id(draft.title),
        title=draft.title,
        summary=paragraphs[0] if paragraphs else "",
        paragraphs=tuple(paragraphs),
        caption=draft.caption,
        tags=(tag,),
        truncated=truncated,
        source=source,
    )
