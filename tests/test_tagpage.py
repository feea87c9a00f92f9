"""The tag-page adapter on both kinds, hostile input, and a property test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import DATA, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from sources.tagpage import Kind, detect_kind, is_caption, is_titleish, parse_tagpage, read_tagpage
from sources.text import split_lines
from tagfeed.errors import TagPageError

CASES = sorted((DATA / "tagpages").glob("*.txt"))
NOT_TAGPAGES = sorted((DATA / "not_tagpages").iterdir())


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_tagpage_matches_expected(path: Path) -> None:
    expected = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
    articles = read_tagpage(path)
    got = [
        {"title": a.title, "caption": a.caption, "truncated": a.truncated, "paragraphs": list(a.paragraphs)}
        for a in articles
    ]
    assert got == expected["articles"]
    if "tag" in expected:
        assert {(t.name, t.slug) for a in articles for t in a.tags} == {
            (expected["tag"]["name"], expected["tag"]["slug"])
        }


def test_seed_counts_match_formats_md() -> None:
    putin = read_tagpage(DATA / "tagpages" / "seed_kind_a_putin.txt")
    lavrov = read_tagpage(DATA / "tagpages" / "seed_kind_b_lavrov.txt")
    assert (len(putin), sum(a.caption is not None for a in putin)) == (10, 0)
    assert (len(lavrov), sum(a.caption is not None for a in lavrov)) == (7, 3)
    assert putin[0].tags[0].name == "Putin"
    assert lavrov[0].tags[0].name == "Sergei Lavrov" and lavrov[0].tags[0].slug == "sergei-lavrov"


def test_truncation_mark_is_recorded_not_kept() -> None:
    for article in read_tagpage(DATA / "tagpages" / "seed_kind_a_putin.txt"):
        assert article.truncated
        assert not article.paragraphs[-1].endswith(("…", "\u00a0"))


def test_summary_is_first_paragraph_and_caption_kept_apart() -> None:
    first = read_tagpage(DATA / "tagpages" / "seed_kind_b_lavrov.txt")[0]
    assert first.summary == first.paragraphs[0]
    assert first.caption and first.caption.endswith("[PPIO]")
    assert first.caption not in first.paragraphs and first.caption != first.title


@pytest.mark.parametrize("path", NOT_TAGPAGES, ids=lambda p: p.name)
def test_not_a_tagpage_names_file_and_reason(path: Path) -> None:
    with pytest.raises(TagPageError) as info:
        read_tagpage(path)
    assert str(path) in str(info.value)
    assert info.value.reason


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(TagPageError, match="not found"):
        read_tagpage(tmp_path / "nope.txt")
    with pytest.raises(TagPageError, match="directory"):
        read_tagpage(tmp_path)


@pytest.mark.parametrize(
    "encoding, bom, newline",
    [("utf-8", True, "\n"), ("utf-8", False, "\r\n"), ("cp1252", False, "\r\n"), ("utf-16", False, "\n")],
)
def test_encodings_and_line_ends_give_the_same_articles(encoding: str, bom: bool, newline: str,
                                                       tmp_path: Path) -> None:
    source = DATA / "tagpages" / "kind_b_cp1252.txt"
    text = source.read_bytes().decode("cp1252")
    data = (("\ufeff" if bom else "") + text.replace("\n", newline)).encode(encoding)
    copy = tmp_path / "copy.txt"
    copy.write_bytes(data)
    assert [a.title for a in read_tagpage(copy)] == [a.title for a in read_tagpage(source)]
    assert read_tagpage(copy)[0].paragraphs == read_tagpage(source)[0].paragraphs


def test_kind_is_detected_from_content_not_name() -> None:
    a = (DATA / "tagpages" / "kind_a_tabs_crlf_bom.txt").read_text(encoding="utf-8-sig")
    b = (DATA / "tagpages" / "kind_b_shapes.txt").read_text(encoding="utf-8")
    assert detect_kind(split_lines(a)) is Kind.BULLETED
    assert detect_kind(split_lines(b)) is Kind.BARE


def test_ids_do_not_depend_on_page_or_spacing() -> None:
    one = parse_tagpage("Tag one\n\nSame “headline” here\n\nBody text.\n", source="a")
    two = parse_tagpage("tag two\n\nsame  \"Headline\" here\n\nOther body.\n", source="b")
    assert one[0].id == two[0].id and one[0].id.startswith("urn:uuid:")


def test_seed_article_ids_are_the_published_ones() -> None:
    """Literal ids, computed once from the seeds: a published id never changes (readers would show
    every article twice), so any change to how ids are keyed (the "title:" prefix, the
    namespace, normalize_title) must fail here, not pass because both sides changed."""
    putin = read_tagpage(ROOT / "seeds" / "000_0d1a8655cd7d2e58.txt")
    lavrov = read_tagpage(ROOT / "seeds" / "003_349737700d66f2ad.txt")
    assert putin[0].title == "Putin refuses to congratulate Biden despite Trump's decision to hand over power"
    assert putin[0].id == "urn:uuid:43ab4251-0d54-5539-9dc1-7a460f066972"
    assert lavrov[0].title == "Putin: We had nothing to do with US elections"
    assert lavrov[0].id == "urn:uuid:ab2d97bb-6ecb-58c3-a938-552315701f97"


@pytest.mark.parametrize(
    "line, expected",
    [
        ("Putin: We had nothing to do with US elections", True),
        ("Is the new tram line worth its cost?", True),
        ("Mayor: \"We will not raise fares\"", True),
        ("Biden wins the race for the U.S.", True),
        ("The meeting focused on the Syrian settlement.", False),
        ("He said no. Then he left the room", False),
        ("A caption for the photo [AP]", False),
        ("x" * 300, False),
    ],
)
def test_is_titleish(line: str, expected: bool) -> None:
    assert is_titleish(line) is expected


def test_is_caption() -> None:
    assert is_caption("Delegates meet in Helsinki [PPIO]")
    assert not is_caption("[PPIO]")
    assert not is_caption("A sentence with [brackets] inside it.")


_words = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=60)


@settings(max_examples=200, deadline=None)
@given(st.lists(_words, max_size=30), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_any_text_with_a_header_parses_or_raises_tagpage_error(lines: list[str], newline: str,
                                                              bullets: bool) -> None:
    body = [("  • " + line) if bullets and i % 3 == 0 else line for i, line in enumerate(lines)]
    text = newline.join(["A tag", "", *body])
    articles = parse_tagpage(text, source="prop.txt")
    for article in articles:
        assert article.title.strip() and all(p == p.strip() and p for p in article.paragraphs)
        assert article.tags and article.tags[0].name == "A tag"
