"""The query language (tagfeed/query/): hand-written expectations over a handful of articles,
errors at their positions, and the limits that keep a query cheap."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

import pytest
from helpers import DATA
from hypothesis import given, settings
from hypothesis import strategies as st

from sources.model import Article, Author, make_tag
from tagfeed.errors import QueryError, TagfeedError
from tagfeed.query import MAX_QUERY, Not, TagTerm, matches, parse_query, select
from tagfeed.query.fold import fold, word_text, words
from tagfeed.query.match import Subject

NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)
CASES = DATA / "query"


def _article(row: dict[str, Any]) -> Article:
    return Article(id=row["id"], title=row["title"], summary=row.get("summary", ""),
                   paragraphs=tuple(row.get("paragraphs", ())), content_html=row.get("content_html"),
                   tags=tuple(make_tag(t) for t in row["tags"]), source=row["source"],
                   source_title=row["source_title"],
                   source_url=row["source"] if "://" in row["source"] else None,
                   authors=tuple(Author(a) for a in row["authors"]),
                   published=datetime.fromisoformat(row["published"]))


ARTICLES = [_article(r) for r in json.loads((CASES / "articles.json").read_text(encoding="utf-8"))]


@pytest.mark.parametrize(("what", "query", "expected"), json.loads((CASES / "cases.json").read_text("utf-8")),
                         ids=lambda v: v if isinstance(v, str) and " " in v else "")
def test_query_matches_exactly_the_expected_articles(what: str, query: str, expected: list[str]) -> None:
    found = [a.id for a, _ in select(parse_query(query), ARTICLES, NOW)]
    assert found == expected, what


@pytest.mark.parametrize(("query", "position", "reason"), json.loads((CASES / "errors.json").read_text("utf-8")))
def test_a_bad_query_names_the_position_and_reason(query: str, position: int, reason: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    assert (caught.value.position, reason in caught.value.reason) == (position, True), str(caught.value)
    assert str(caught.value).startswith(f"query: position {position}: ")
    assert isinstance(caught.value, TagfeedError)


def test_why_names_each_term_that_held_and_what_it_found() -> None:
    why = matches(parse_query('tag:"Sergei Lavrov" title:/tal+ks/ -sport OR football'), ARTICLES[0], NOW)
    assert why is not None
    assert [(h.term, h.found) for h in why.hits] == [
        ('tag:"Sergei Lavrov"', "Sergei Lavrov"), ("title:/tal+ks/", "“talks”"), ("-sport", "not found")]
    assert matches(parse_query("tag:sport"), ARTICLES[0], NOW) is None


def test_the_ast_is_frozen_data_that_keeps_the_spelling() -> None:
    query = parse_query("NOT tag:Turkey")
    assert query.root == Not(TagTerm("turkey", "tag:Turkey"), "NOT tag:Turkey")
    with pytest.raises(AttributeError):
        query.root.text = "x"  # type: ignore[misc]
    assert parse_query("NOT tag:Turkey") == query  # equal queries compare equal (views are compared)


def test_limits_refuse_oversized_input() -> None:
    with pytest.raises(QueryError, match=f"at most {MAX_QUERY} characters"):
        parse_query("a " * (MAX_QUERY // 2 + 1))
    with pytest.raises(QueryError, match="nested deeper"):
        parse_query("(" * 40 + "a" + ")" * 40)
    with pytest.raises(QueryError, match="at most 64 terms"):
        parse_query(" ".join(["word"] * 65))
    with pytest.raises(QueryError, match="at most 200 characters"):
        parse_query("/" + "a" * 201 + "/")


def test_a_catastrophic_pattern_runs_in_linear_time() -> None:
    """(a+)+$ backtracks exponentially in Python's re; RE2 answers at once."""
    article = Article(id="x", title="a" * 5000 + "!", published=NOW)
    started = time.monotonic()
    assert matches(parse_query("title:/(a+)+$/"), article, NOW) is None
    assert time.monotonic() - started < 1.0


# Folding: the fast paths are held to the definition, ``\w+`` over ``fold``.
_WORD_RE = __import__("re").compile(r"\w+")
_NASTY = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60) | st.sampled_from(
    ["Ǆemal İstanbul ﬁne ℌ ①", "naïve café — “quoted” ‘x’", "한국어 テスト Straße", "a\u0301\u0308 b", "x_y 3.14"])


@settings(max_examples=500, deadline=None)
@given(_NASTY)
def test_words_are_the_regex_words_of_the_folded_text(text: str) -> None:
    assert words(text) == tuple(_WORD_RE.findall(fold(text)))
    assert words(fold(text)) == words(text)  # why Subject may take words from the unfolded text
    assert word_text(text) == " ".join(words(text))


def test_subject_words_are_those_of_its_folded_fields() -> None:
    article = Article(id="urn:x", title="Café “Noir” — Ǆemal's ﬁrst", link="https://example.com/a",
                      paragraphs=("İstanbul, naïve", "x_y 3.14"), authors=(Author(name="José Ñ"),))
    s = Subject(article)
    for field in ("title", "text", "author"):
        assert s.padded_words(field) == " " + " ".join(_WORD_RE.findall(getattr(s, field))) + " "
