"""The feedparser internals sources/feed/fast/ reuses are there, with the arity it calls them with.

fastfeed reads common RSS and Atom from the defusedxml tree with feedparser's own helpers
(its date parser, URL joiner, namespace table, ...), most of them private. pyproject.toml pins
feedparser to the 6.0 series these were checked against; when a release moves or changes one,
a test here fails naming it, instead of fastfeed quietly falling back to the slow path (or
reading differently). ``test_every_internal_fastfeed_uses_is_checked`` keeps the list complete.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import time
from pathlib import Path
from typing import Any

import feedparser
import pytest

from sources.feed import fast as fastfeed

FASTFEED = Path(fastfeed.__file__).parent  # the package: upstream.py imports, the others read attributes
# name -> each way fastfeed calls it: (the positional arguments, what that call must give)
CALLED: dict[str, list[tuple[tuple[Any, ...], Any]]] = {
    "feedparser.datetimes._parse_date": [(("2024-01-02T03:04:05Z",), time.gmtime(1704164645))],
    "feedparser.urls._urljoin": [(("http://a.example/x/", "y"), "http://a.example/x/y")],
    "feedparser.urls.make_safe_absolute_uri": [(("http://a.example/x/", "../y"), "http://a.example/y"),
                                               (("http://a.example/x/",), "http://a.example/x/")],
    "feedparser.api.StrictFeedParser.looks_like_html": [(("<b>bold</b>",), True)],
    "feedparser.api.StrictFeedParser.map_content_type": [(("html",), "text/html")],
    "feedparser.encodings.parse_content_type": [(("text/xml; charset=utf-8",), ("text/xml", "utf-8"))],
}
# name -> a check of the value fastfeed reads
READ: dict[str, Any] = {
    "feedparser.html._cp1252": lambda v: isinstance(v, dict) and v.get(0x80) == "\u20ac",
    "feedparser.api.StrictFeedParser.namespaces": lambda v: isinstance(v, dict)
    and v.get("http://www.w3.org/2005/Atom") == "",
    "feedparser.util.FeedParserDict.keymap": lambda v: isinstance(v, dict) and v.get("description") is not None,
    "feedparser.encodings.RE_XML_PI_ENCODING": lambda v: isinstance(v, re.Pattern)
    and v.match(b'<?xml version="1.0" encoding="utf-8"?>').groups()[0] == b"utf-8",
    "feedparser.encodings.lazy_chardet_encoding": lambda v: v is None or callable(v),
    # fastfeed asks ``hasattr(StrictFeedParser, "_start_" + name)`` to know what feedparser handles
    "feedparser.api.StrictFeedParser._start_title": callable,
    "feedparser.api.StrictFeedParser._end_title": callable,
}


def _resolve(name: str) -> Any:
    """The object at dotted ``name``: the longest importable module, then attributes."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(found, attr):
                pytest.fail(f"{name} is gone from feedparser {feedparser.__version__} "
                            f"(sources/feed/fast/ uses it; see the README's design notes)")
            found = getattr(found, attr)
        return found
    pytest.fail(f"{name}: no such module in feedparser {feedparser.__version__}")


@pytest.mark.parametrize("name", sorted(CALLED))
def test_each_function_fastfeed_calls_takes_its_arguments(name: str) -> None:
    function = _resolve(name)
    assert callable(function), f"{name} is no longer callable in feedparser {feedparser.__version__}"
    for args, expected in CALLED[name]:
        try:
            inspect.signature(function).bind(*args)
        except TypeError as exc:
            pytest.fail(f"{name}{inspect.signature(function)} no longer takes {len(args)} positional "
                        f"argument(s) as sources/feed/fast/ passes them: {exc}")
        assert function(*args) == expected, f"{name}{args} changed its answer in feedparser {feedparser.__version__}"


@pytest.mark.parametrize("name", sorted(READ))
def test_each_value_fastfeed_reads_is_what_it_expects(name: str) -> None:
    assert READ[name](_resolve(name)), f"{name} changed in feedparser {feedparser.__version__}"


def _fastfeed_uses() -> set[str]:
    """Every feedparser name sources/feed/fast/ imports or reads an attribute of (``_FP.x``)."""
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in sorted(FASTFEED.glob("*.py"))]
    aliases: dict[str, str] = {}  # the names feedparser's pieces go by in the package (upstream.py's imports)
    for node in (n for tree in trees for n in ast.walk(tree)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "feedparser":
            aliases.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
        elif isinstance(node, ast.Import):
            aliases.update({a.asname or a.name: a.name for a in node.names if a.name.startswith("feedparser")})
    used = set(aliases.values())
    used.update(f"{aliases[node.value.id]}.{node.attr}" for tree in trees for node in ast.walk(tree)
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases)
    return {name for name in used if not any(other.startswith(name + ".") for other in used)}


def test_every_internal_fastfeed_uses_is_checked() -> None:
    uses = _fastfeed_uses()
    assert "feedparser.datetimes._parse_date" in uses  # the scan sees fastfeed's imports at all
    unchecked = uses - set(CALLED) - set(READ)
    assert not unchecked, f"sources/feed/fast/ uses feedparser's {sorted(unchecked)}: add each to this file"


def test_feedparser_is_the_pinned_series() -> None:
    """pyproject.toml says ``<6.1``; an install outside it was not checked by these tests."""
    assert feedparser.__version__.startswith("6.0."), feedparser.__version__
    assert fastfeed.AVAILABLE
