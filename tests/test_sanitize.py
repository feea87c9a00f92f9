"""The nh3 allow-list: XSS vectors die, relative URLs become absolute, plain text reads well."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sources.sanitize import LINK_REL, excerpt, plain_text, sanitize_html

VECTORS = [
    line for line in (Path(__file__).parent / "data/upstream/xss_vectors.txt").read_text("utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]
_DANGER = re.compile(r"<\s*(script|style|iframe|object|embed|form|svg|math|base|meta|link)\b|\son\w+\s*="
                     r"|javascript:|vbscript:|data:", re.IGNORECASE)


def assert_safe(output: str) -> None:
    assert not _DANGER.search(output), output


def test_corpus_is_big_enough() -> None:
    assert len(VECTORS) >= 20


@pytest.mark.parametrize("vector", VECTORS)
def test_xss_vector_does_not_survive(vector: str) -> None:
    assert_safe(sanitize_html(vector, base_url="https://example.org/post/1"))
    assert_safe(sanitize_html(f"<p>before</p>{vector}<p>after</p>"))


def test_relative_urls_become_absolute_against_the_base() -> None:
    out = sanitize_html('<a href="/x">x</a> <a href="y?q=1">y</a> <img src="../i.png" alt="i">',
                        base_url="https://example.org/blog/post/")
    assert 'href="https://example.org/x"' in out
    assert 'href="https://example.org/blog/post/y?q=1"' in out
    assert 'src="https://example.org/blog/i.png"' in out


def test_relative_urls_without_a_base_are_dropped() -> None:
    out = sanitize_html('<a href="/x">x</a>')
    assert "href" not in out and ">x</a>" in out


def test_links_get_rel_and_keep_safe_schemes() -> None:
    out = sanitize_html('<a href="https://a.example/" rel="author" target="_blank">a</a>'
                        '<a href="mailto:me@example.org">m</a>')
    assert out.count(f'rel="{LINK_REL}"') == 2
    assert "target" not in out and 'rel="author"' not in out
    assert 'href="mailto:me@example.org"' in out


def test_harmless_markup_stays() -> None:
    html = "<p>A <strong>b</strong> <em>c</em></p><ul><li>d</li></ul><blockquote>e</blockquote>"
    assert sanitize_html(html) == html


def test_plain_text_strips_tags_decodes_entities_and_spaces_blocks() -> None:
    assert plain_text("<p>a &amp; b</p><p>c<script>bad()</script></p>\n  <b>d</b>e") == "a & b c de"
    assert plain_text("Fish &lt;&amp;&gt; chips") == "Fish <&> chips"
    assert plain_text("") == ""


def test_excerpt_cuts_at_a_word() -> None:
    text = "word " * 100
    cut = excerpt(text.strip(), 50)
    assert len(cut) <= 50 and cut.endswith("…") and not cut.endswith(" …")
    assert excerpt("short", 50) == "short"


_html_bits = st.sampled_from([
    "<script>", "</script>", "<img src=x onerror=alert(1)>", "<a href='javascript:x'>", "<svg onload=y>",
    "<p onclick=\"z\">", "<style>", "<iframe src=data:text/html,x>", "<", ">", "\"", "'", "=", "on", "load",
    "<b>", "</b>", "<a href=\"http://ok.example/\">", "&#", "&lt;", "\x00", "java", "script:", " ",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_html_bits, st.text(max_size=8)), max_size=30).map("".join))
def test_sanitizer_output_never_holds_script_or_event_handlers(html: str) -> None:
    out = sanitize_html(html, base_url="https://example.org/")
    assert not re.search(r"<\s*script|<\s*style|<\s*iframe|<\s*svg", out, re.IGNORECASE)
    assert not re.search(r"<[^>]*\son\w+\s*=", out, re.IGNORECASE)
    assert not re.search(r"(href|src)\s*=\s*\"?\s*(javascript|data|vbscript):", out, re.IGNORECASE)


def _one_off(html: str, base_url: str | None) -> str:
    """What sanitize_html computed before it kept its nh3 configurations: a fresh nh3.clean per call."""
    import nh3

    from sources import sanitize

    return nh3.clean(
        html, tags=set(sanitize.TAGS), clean_content_tags=set(sanitize.DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in sanitize.ATTRIBUTES.items()},
        attribute_filter=sanitize._drop_scripty_urls, url_schemes=set(sanitize.URL_SCHEMES),
        link_rel=LINK_REL, strip_comments=True,
        url_relative=sanitize._relative_policy(base_url),  # type: ignore[arg-type]
    ).strip()


def _one_off_text(html: str) -> str:
    import html as html_module

    import nh3

    from sources import sanitize

    spaced = sanitize._BLOCK.sub(r" <\1", html)
    text = nh3.clean(spaced, tags=set(), clean_content_tags=set(sanitize.DROPPED_WITH_CONTENT))
    return sanitize._SPACE.sub(" ", html_module.unescape(text)).strip()


_BASES = [None, "https://example.org/blog/post/", "http://a.example/x?y", "ftp://no.example/", "relative/"]


@pytest.mark.parametrize("vector", VECTORS)
def test_kept_sanitizers_give_what_a_fresh_nh3_clean_gives(vector: str) -> None:
    for base in _BASES:
        html = f'<p><a href="../r">r</a><img src="i.png"></p>{vector}'
        assert sanitize_html(html, base_url=base) == _one_off(html, base)
    assert plain_text(vector) == _one_off_text(vector)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_html_bits, st.text(max_size=8)), max_size=30).map("".join), st.sampled_from(_BASES))
def test_kept_sanitizers_match_fresh_ones_on_any_input(html: str, base: str | None) -> None:
    assert sanitize_html(html, base_url=base) == _one_off(html, base)
    assert plain_text(html) == _one_off_text(html)


def test_a_fragment_over_the_bound_is_cut_before_a_tag_not_inside_one() -> None:
    from sources.sanitize import MAX_FRAGMENT, bounded

    fragment = "<p>" + "a&b " * (MAX_FRAGMENT // 4) + "</p><p>tail</p>"
    cut = bounded(fragment)
    assert len(cut) <= MAX_FRAGMENT and fragment.startswith(cut)
    long_markup = "<p>x</p>" * (MAX_FRAGMENT // 8 + 10)
    cut_markup = bounded(long_markup)
    assert len(cut_markup) <= MAX_FRAGMENT and cut_markup.rfind("<") < cut_markup.rfind(">")  # no tag cut in two
    assert bounded("<p>short</p>") == "<p>short</p>"
    assert "tail" not in sanitize_html(fragment)
