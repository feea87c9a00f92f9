"""``tagfeed settings``: the SETTINGS table of ``tagfeed.config`` as text, Markdown or JSON.

The Markdown form is the README's Settings table (tests/test_docs.py holds the two equal),
so a key's default and help are written once, in ``tagfeed/config.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tagfeed.config import SETTINGS, Setting

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
