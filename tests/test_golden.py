"""The HTML pages of the seed build, byte for byte: tests/data/golden/ holds them.

The string-built pages have no second renderer to be compared with; these files are the
reference instead. They change only through ``pytest --update-golden``, so every change to
a page shows as a reviewed diff in the commit that makes it. (The seeds' feeds are held by
their oracles in tests/test_render_oracles.py and by the standards in test_output_standards.py.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import GOLDEN, assert_golden

SEED_PAGES = [
    "index.html",  # every tag, the newest articles, the sources
    "tags/putin.html",  # tag-page dump kind A: teasers
    "tags/sergei-lavrov.html",  # kind B: captions, full text
    "articles/43ab42510d5455399dc17a460f066972.html",  # a Putin teaser (truncated)
    "articles/ab2d97bb6ecb58c3a938552315701f97.html",  # a Lavrov article with a caption
]


@pytest.mark.parametrize("page", SEED_PAGES)
def test_seed_build_pages_are_the_golden_ones(built_output: Path, golden: Callable[[str, bytes], None],
                                              page: str) -> None:
    golden(f"seed/{page}", (built_output / page).read_bytes())


def test_golden_files_are_all_in_use() -> None:
    """No stale golden file lingers after a page is dropped or renamed."""
    used = {f"seed/{page}" for page in SEED_PAGES} | {f"samples/{name}" for name in SAMPLE_PAGES}
    on_disk = {str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*") if p.is_file()}
    assert on_disk == used


SAMPLE_PAGES = ["index.html", "tags/putin.html", *(f"article-{n}.html" for n in range(5))]  # test_html.py


def test_a_changed_page_fails_with_a_readable_diff() -> None:
    """The failure names the file and shows the changed lines as a unified diff."""
    name = f"seed/{SEED_PAGES[1]}"
    page = (GOLDEN / name).read_bytes()
    changed = page.replace(b"<h2>Latest articles</h2>", b"<h2>Newest articles</h2>", 1)
    assert changed != page
    with pytest.raises(pytest.fail.Exception) as failure:
        assert_golden(name, changed, update=False)
    message = str(failure.value)
    assert message.startswith(f"{name} differs from its golden file")
    assert f"--- golden/{name}\n" in message and f"+++ rendered {name}\n" in message
    assert "\n-<h2>Latest articles</h2>\n+<h2>Newest articles</h2>\n" in message
    assert "pytest --update-golden" in message
    assert_golden(name, page, update=False)  # the page itself passes
    with pytest.raises(pytest.fail.Exception, match="no golden file"):
        assert_golden("seed/nope.html", page, update=False)
    with pytest.raises(pytest.fail.Exception, match="No newline at end of file"):
        assert_golden(name, page.rstrip(b"\n"), update=False)
