"""``tagfeed settings``: the SETTINGS table of ``tagfeed.config`` as text, Markdown or JSON.

The Markdown form is the README's Settings table (tests/test_docs.py holds the two equal),
so a key's default and help are written once, in ``tagfeed/config.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tagfeed.settings import SETTINGS, Setting

COLUMNS = ("key", "default", "type", "environment", "help")
REQUIRED = "(required)"


def literal(setting: Setting) -> str:
    """The default as it is written in tagfeed.toml; ``(required)`` for a key without one."""
    return REQUIRED if setting.default is None else json.dumps(setting.default, ensure_ascii=False)


def rows(settings: Iterable[Setting] = SETTINGS.values()) -> list[tuple[str, str, str, str, str]]:
    return [(s.name, literal(s), s.kind, s.env, s.help) for s in settings]


def plain(settings: Iterable[Setting] = SETTINGS.values()) -> str:
    """Aligned columns for a terminal; help last, unpadded."""
    table = [COLUMNS, *rows(settings)]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS) - 1)]
    lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths)), row[-1]]) for row in table]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def markdown(settings: Iterable[Setting] = SETTINGS.values()) -> str:
    """The README's table: code spans for keys, defaults and variables; ``|`` escaped in help."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for key, default, kind, env, text in rows(settings):
        shown = default if default == REQUIRED else f"`{default}`"
        cells = [f"`{key}`", shown, kind, f"`{env}`" if env else "", text.replace("|", "\\|")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def as_json(settings: Iterable[Setting] = SETTINGS.values()) -> list[dict[str, Any]]:
    """One object per key; ``default`` as in TOML (null when required), ``env`` null when none."""
    return [{"key": s.name, "default": s.default, "type": s.kind, "env": s.env or None, "help": s.help}
            for s in settings]


SAMPLE_FEED = "https://example.org/feed.xml"
SOURCE_TABLES = ("tagpage", "feed")  # ``[[sources]]`` kinds in the order tagfeed.toml shows them


def _commented(setting: Setting, value: str | None = None, *, on: bool = False) -> str:
    """``key = value  # help`` (commented out unless ``on``): the default unless ``value`` is given."""
    shown = value if value is not None else literal(setting)
    env = f" (env {setting.env})" if setting.env else ""
    return f"{'' if on else '# '}{setting.key} = {shown}  # {setting.help}{env}"


VIEW_EXAMPLE = {"name": "Russian diplomacy", "query": 'tag:putin OR tag:"sergei lavrov" -sport'}


def toml(seeds: bool) -> str:
    """The commented tagfeed.toml ``tagfeed init`` writes: every key with its default and help,
    from SETTINGS. With ``seeds`` a tag-page source publishes ``seeds/*.txt``; without it every
    source is an example to uncomment."""
    lines = ["# tagfeed configuration, written by `tagfeed init`.",
             "# Every key is shown with its default, commented out: remove the '# ' to change it.",
             "# `tagfeed settings` lists the same keys; docs: README.md, Settings.", ""]
    for table in ("site", "schedule"):
        lines.append(f"[{table}]")
        lines += [_commented(s) for s in SETTINGS.values() if s.table == table]
        lines.append("")
    kinds = [*SOURCE_TABLES, *sorted({s.table for s in SETTINGS.values()} - {"site", "schedule", "views", *SOURCE_TABLES})]
    for kind in kinds:
        on = seeds and kind == "tagpage"
        mark = "" if on else "# "
        lines += [f"# A source of type {kind!r}:" if not on else "# The seed tag-page dumps:",
                  f"{mark}[[sources]]", f'{mark}type = "{kind}"']
        for s in (s for s in SETTINGS.values() if s.table == kind):
            if s.default is None:  # required: shown with an example value, on when the source is
                example = '["seeds/*.txt"]' if s.kind == "list of strings" else json.dumps(SAMPLE_FEED)
                lines.append(_commented(s, example, on=on))
            else:
                lines.append(_commented(s))
        lines.append("")
    lines.append("# A view: a feed of a query's matches, published like a tag (README: Views):")
    lines.append("# [[views]]")
    lines += [_commented(s, json.dumps(VIEW_EXAMPLE[s.key])) for s in SETTINGS.values() if s.table == "views"]
    lines.append("")
    return "\n".join(lines)
