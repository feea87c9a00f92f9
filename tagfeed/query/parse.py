"""Tokenizer and recursive-descent parser of the query language.

    query   := and
    and     := or (["AND"] or)*                juxtaposition is AND
    or      := unary ("OR" unary)*             OR binds tighter, as in web search:
                                               ``tag:a OR tag:b -sport`` is (a OR b) AND NOT sport
    unary   := ("-" | "NOT") unary | primary
    primary := "(" and ")" | [FIELD ":"] (WORD | "PHRASE" | /REGEX/)

Fields: tag, source, title, text, author, after, newer; a bare word, phrase or
regex searches ``text``. Every error is a ``QueryError`` at a 1-based position.
Input is bounded (``MAX_QUERY`` characters, ``MAX_DEPTH`` nesting, ``MAX_TERMS``),
and regexes are RE2's (no backreferences or lookarounds, linear time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Final

from sources.model import slugify
from tagfeed.errors import QueryError
from tagfeed.query.fold import fold, words
from tagfeed.query.nodes import And, DateTerm, Node, Not, Or, Query, RegexTerm, SourceTerm, TagTerm, WordsTerm
from tagfeed.query.regex import check_regex

MAX_QUERY: Final = 1000  # characters
MAX_DEPTH: Final = 32  # nested parentheses and NOTs
MAX_TERMS: Final = 64
FIELDS: Final = ("tag", "source", "title", "text", "author", "after", "newer")
_NEWER = re.compile(r"(\d{1,6})([hdw])")
_UNITS: Final = {"h": 3600, "d": 86400, "w": 7 * 86400}
_STOP: Final = ' \t\r\n()"'


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "(" ")" "AND" "OR" "NOT" "term"
    pos: int  # 0-based
    text: str = ""  # the token as written
    field: str = ""
    value: str = ""
    form: str = "word"  # word | phrase | regex


def parse_query(text: str) -> Query:
    if len(text) > MAX_QUERY:
        raise QueryError(MAX_QUERY + 1, f"a query is at most {MAX_QUERY} characters")
    tokens = tokenize(text)
    if not tokens:
        raise QueryError(1, "the query is empty")
    if sum(t.kind == "term" for t in tokens) > MAX_TERMS:
        raise QueryError(1, f"a query has at most {MAX_TERMS} terms")
    parser = _Parser(tokens, len(text))
    root = parser.parse_and(0)
    if parser.at < len(tokens):
        extra = tokens[parser.at]
        raise QueryError(extra.pos + 1, "')' without a '(' before it" if extra.kind == ")" else
                         f"unexpected {extra.text!r}")
    return Query(root=root, text=text)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(Token(ch, i, ch))
            i += 1
        elif ch == "-" and i + 1 < len(text) and not text[i + 1].isspace() and text[i + 1] != ")":
            tokens.append(Token("NOT", i, "-"))
            i += 1
        else:
            token = _term(text, i)
            tokens.append(token)
            i = token.pos + len(token.text)
    return tokens


def _term(text: str, start: int) -> Token:
    """A word (maybe an operator), or ``field:value``, or a phrase or regex, at ``start``."""
    end = start
    while end < len(text) and text[end] not in _STOP and text[end] != ":" and text[start] not in '/"':
        end += 1
    field = ""
    value_at = start
    if end < len(text) and text[end] == ":" and end > start:
        field = text[start:end].lower()
        if not field.isalpha():
            field = ""  # "10:30" or "http://…" as a bare word
        elif field not in FIELDS:
            raise QueryError(start + 1, f"unknown field {text[start:end]!r} (known: {', '.join(FIELDS)})")
        else:
            value_at = end + 1
    if value_at < len(text) and text[value_at] in '"/':
        form, value, stop = _delimited(text, value_at)
    else:
        stop = value_at
        while stop < len(text) and text[stop] not in _STOP:
            stop += 1
        form, value = "word", text[value_at:stop]
    if field and not value and form == "word":
        raise QueryError(value_at + 1, f"'{field}:' needs a value right after the colon")
    raw = text[start:stop]
    if not field and form == "word" and raw in ("AND", "OR", "NOT"):
        return Token(raw, start, raw)
    return Token("term", start, raw, field, value, form)


def _delimited(text: str, at: int) -> tuple[str, str, int]:
    """(form, value, end) of the ``"phrase"`` or ``/regex/`` opening at ``at``; ``\\/`` is a slash."""
    mark = text[at]
    i = at + 1
    out: list[str] = []
    while i < len(text) and text[i] != mark:
        if mark == "/" and text[i] == "\\" and i + 1 < len(text):
            out.append("/" if text[i + 1] == "/" else text[i:i + 2])
            i += 2
            continue
        out.append(text[i])
        i += 1
    if i >= len(text):
        raise QueryError(at + 1, "unclosed quote" if mark == '"' else "unclosed regex (no closing '/')")
    return ("phrase" if mark == '"' else "regex"), "".join(out), i + 1


class _Parser:
    def __init__(self, tokens: list[Token], length: int) -> None:
        self.tokens = tokens
        self.length = length
        self.at = 0

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def parse_and(self, depth: int) -> Node:
        items = [self.parse_or(depth)]
        while (token := self.peek()) is not None and token.kind != ")":
            if token.kind == "AND":
                self.at += 1
            items.append(self.parse_or(depth))
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_or(self, depth: int) -> Node:
        items = [self.parse_unary(depth)]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.at += 1
            items.append(self.parse_unary(depth))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_unary(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise QueryError(self._where(), f"nested deeper than {MAX_DEPTH} levels")
        token = self.peek()
        if token is not None and token.kind == "NOT":
            self.at += 1
            item = self.parse_unary(depth + 1)
            return Not(item, text=f"{token.text}{' ' if token.text == 'NOT' else ''}{_spelled(item)}")
        return self.parse_primary(depth)

    def parse_primary(self, depth: int) -> Node:
        token = self.peek()
        if token is None:
            raise QueryError(self.length + 1, "a term was expected at the end of the query")
        if token.kind == "(":
            self.at += 1
            inner = self.parse_and(depth + 1)
            close = self.peek()
            if close is None or close.kind != ")":
                raise QueryError(token.pos + 1, "'(' is never closed")
            self.at += 1
            return inner
        if token.kind != "term":
            what = {")": "')' without a term before it"}.get(token.kind, f"{token.kind} needs a term before it")
            raise QueryError(token.pos + 1, what)
        self.at += 1
        return make_term(token)

    def _where(self) -> int:
        token = self.peek()
        return token.pos + 1 if token is not None else self.length + 1


def _spelled(node: Node) -> str:
    """How an explanation names a node: a term as written, a group by its parts."""
    if isinstance(node, (And, Or)):
        joiner = " OR " if isinstance(node, Or) else " "
        return "(" + joiner.join(_spelled(n) for n in node.items) + ")"
    return node.text


def make_term(token: Token) -> Node:
    """The term a token names, its value checked (a date, a duration, a regex RE2 accepts)."""
    field = token.field or "text"
    if field in ("after", "newer"):
        if token.form != "word":
            raise QueryError(token.pos + 1, f"'{field}:' takes a plain value, not a phrase or regex")
        return _date_term(token)
    if token.form == "regex":
        check_regex(token.value, token.pos + len(field) + 2 if token.field else token.pos + 1)
        return RegexTerm(field, token.value, token.text)  # type: ignore[arg-type]  # field is one of FIELDS
    if field == "tag":
        if not token.value.strip():
            raise QueryError(token.pos + 1, "'tag:' needs a tag name")
        return TagTerm(slugify(token.value), token.text)
    if field == "source":
        return SourceTerm(fold(token.value).rstrip("/"), token.text)
    found = words(token.value)
    if not found:
        raise QueryError(token.pos + 1, f"{token.text!r} has no letters or digits to search for")
    return WordsTerm(field, found, token.text)  # type: ignore[arg-type]


def _date_term(token: Token) -> DateTerm:
    value = token.value
    if token.field == "newer":
        match = _NEWER.fullmatch(value)
        if not match or int(match[1]) == 0:
            raise QueryError(token.pos + 7, f"expected an age like 12h, 7d or 2w, got {value!r}")
        return DateTerm(None, int(match[1]) * _UNITS[match[2]], token.text)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise QueryError(token.pos + 7, f"expected a date like 2026-01-01, got {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return DateTerm(moment.astimezone(timezone.utc), None, token.text)
