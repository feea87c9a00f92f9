"""A synthetic site: N kind-A tag-page dumps (shared/FORMATS.md) of 50 articles each.

Every article is on exactly two pages: article ``j`` is on page ``j // 25``
and on page ``j // 25 + k`` (mod N), where ``k`` depends only on ``j % 25``;
for each ``k`` that is a bijection of pages, so every page holds exactly 50.
Deterministic: the same N gives the same bytes. ``per_page`` (default 50) makes
smaller pages the same way, ``per_page // 2`` articles a slot (benchmarks/publish.py
uses it to keep the object count of a 10,000-tag site manageable).
"""

from __future__ import annotations

import random
from pathlib import Path

PER_PAGE = 50
_WORDS = ("minister talks summit budget election court ruling energy prices market strike port border "
          "council vote reform health school river storm harvest bank rates trade deal protest mayor "
          "report inquiry festival museum league transfer coach stadium satellite launch vaccine study").split()


def pages_of(n_tags: int, per_page: int = PER_PAGE) -> list[list[int]]:
    """Article numbers of each page, newest first."""
    per_slot = per_page // 2
    pages: list[list[int]] = [[] for _ in range(n_tags)]
    for j in range(n_tags * per_slot):
        first = j // per_slot
        pages[first].append(j)
        if n_tags > 1:
            pages[(first + 1 + (j % per_slot) % (n_tags - 1)) % n_tags].append(j)
    for page in pages:
        page.sort(reverse=True)
    return pages


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def article_text(j: int, edition: int = 0) -> tuple[str, list[str]]:
    rng = random.Random(j * 7919 + edition)
    title = f"Story {j}: {_sentence(rng, 6)[:-1]}"
    paragraphs = [_sentence(rng, 18) + " " + _sentence(rng, 12) for _ in range(2)]
    if j % 3 == 0:
        paragraphs[-1] = paragraphs[-1][:-1] + " …"
    return title, paragraphs


def tag_name(p: int) -> str:
    rng = random.Random(p)
    return f"{rng.choice(_WORDS).title()} {rng.choice(_WORDS).title()} {p}"


def render_dump(p: int, articles: list[int], edited: dict[int, int] | None = None) -> str:
    lines = [f"Contents tagged with {tag_name(p)}", ""]
    for j in articles:
        title, paragraphs = article_text(j, (edited or {}).get(j, 0))
        lines += [f"  • {title}", ""]
        for paragraph in paragraphs:
            lines += [f"    {paragraph}", ""]
    return "\n".join(lines)


def write_site(root: Path, n_tags: int, base_url: str = "http://127.0.0.1:8080/",
               per_page: int = PER_PAGE) -> Path:
    """The dumps under ``root/dumps`` and a ``root/tagfeed.toml`` that publishes them."""
    dumps = root / "dumps"
    dumps.mkdir(parents=True, exist_ok=True)
    for p, articles in enumerate(pages_of(n_tags, per_page)):
        (dumps / f"{p:05d}.txt").write_text(render_dump(p, articles), encoding="utf-8")
    config = root / "tagfeed.toml"
    config.write_text(
        f'[site]\ntitle = "bench"\nbase_url = "{base_url}"\noutput_dir = "output"\n'
        f'state_dir = "state"\nmax_items = {per_page}\n\n'
        '[[sources]]\ntype = "tagpage"\npaths = ["dumps/*.txt"]\n', encoding="utf-8")
    return config


def change_one_dump(root: Path, n_tags: int, p: int = 0, per_page: int = PER_PAGE) -> None:
    """Edit the text of one article of page ``p`` and put a new article on top."""
    articles = pages_of(n_tags, per_page)[p]
    new = n_tags * per_page  # beyond every existing article number
    text = render_dump(p, [new, *articles], edited={articles[0]: 1})
    (root / "dumps" / f"{p:05d}.txt").write_text(text, encoding="utf-8")
