"""feeds/ and sources/ reach into tagfeed/ only for its errors: the version is passed in by the build."""

from __future__ import annotations

import ast
from datetime import datetime, timezone
from pathlib import Path

from lxml import etree

from feeds.site import render_site
from feeds.status import render_status
from feeds.urls import Urls
from sources.model import Article, make_tag

ROOT = Path(__file__).resolve().parent.parent
ATOM = "{http://www.w3.org/2005/Atom}"


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at its top or inside a function (``from x import y`` gives x.y too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_feeds_and_sources_import_only_the_errors_of_tagfeed() -> None:
    found = {f"{path.relative_to(ROOT)}: {name}"
             for folder in ("feeds", "sources") for path in sorted((ROOT / folder).rglob("*.py"))
             for name in _imports(path)
             if name.split(".")[0] == "tagfeed" and name != "tagfeed.errors" and not name.startswith("tagfeed.errors.")}
    assert not found


def test_the_version_rendered_is_the_one_passed_in() -> None:
    article = Article(id="urn:uuid:00000000-0000-4000-8000-000000000001", title="t", link="https://e.org/1",
                      published=datetime(2024, 1, 1, tzinfo=timezone.utc), tags=(make_tag("News"),))
    tree = dict(render_site("site", Urls("http://127.0.0.1:8080/"), [article], 10, version="9.8.7"))
    atom = etree.fromstring(tree["all.atom"]).find(f"{ATOM}generator")
    assert atom is not None and atom.get("version") == "9.8.7"
    assert etree.fromstring(tree["tags/news.rss"]).findtext("channel/generator") == "tagfeed 9.8.7"
    status = render_status("site", Urls("http://127.0.0.1:8080/"), [], datetime(2024, 1, 1, tzinfo=timezone.utc),
                           version="9.8.7")
    generator = etree.fromstring(status).find(f"{ATOM}generator")
    assert generator is not None and generator.get("version") == "9.8.7"
