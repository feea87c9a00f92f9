"""Settings defined once: tagfeed/config.py's SETTINGS table, read by the dataclasses, the parser,
the environment overrides, ``tagfeed settings`` and the README's Settings table."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from helpers import run_tagfeed
from tagfeed.config import (KINDS, SETTINGS, Config, FeedSource, PageSource, SiteConfig, Setting, load_config, parse_config,
                            parse_duration, table_settings)

ROOT = Path(__file__).resolve().parent.parent
Row = tuple[str, object, str, str, str]


def _expected() -> list[Row]:
    return [(s.name, s.default, s.kind, s.env, s.help) for s in SETTINGS.values()]


def _cells(line: str) -> list[str]:
    """A Markdown table row's cells: split on ``|`` not escaped, ``\\|`` unescaped, code spans unwrapped."""
    cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
    return [c[1:-1] if len(c) > 1 and c.startswith("`") and c.endswith("`") else c for c in cells]


def readme_settings() -> list[Row]:
    """The table under the README's "## Settings" heading, its defaults read as TOML."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    assert _cells(lines[0]) == ["key", "default", "type", "environment", "help"]
    assert set(lines[1]) <= set("|-: ")
    rows: list[Row] = []
    for line in lines[2:]:
        key, default, kind, env, text = _cells(line)
        value = None if default == "(required)" else tomllib.loads(f"v = {default}")["v"]
        rows.append((key, value, kind, env, text))
    return rows


def test_readme_settings_table_is_the_settings_table() -> None:
    assert readme_settings() == _expected(), "regenerate it with `tagfeed settings --markdown`"


def test_every_site_and_schedule_setting_has_a_field() -> None:
    site_fields = set(SiteConfig.__dataclass_fields__)
    assert set(table_settings("site")) <= site_fields
    assert set(table_settings("schedule")) <= set(Config.__dataclass_fields__)
    assert set(table_settings("feed")) <= set(FeedSource.__dataclass_fields__)
    assert set(table_settings("page")) <= set(PageSource.__dataclass_fields__)
    assert {s.table for s in SETTINGS.values()} == {"site", "schedule", "feed", "tagpage", "page"}
    assert {s.kind for s in SETTINGS.values()} <= set(KINDS)  # the kinds ``typed`` checks


def _parsed(setting: Setting) -> object:
    value = setting.default
    if setting.kind == "duration":
        return parse_duration(value, setting.name)
    if isinstance(value, dict):
        return tuple(value.items())
    return tuple(value) if isinstance(value, list) else value


def test_the_dataclasses_take_their_defaults_from_the_table(tmp_path: Path) -> None:
    """A literal default written beside the table (``every: int = 1800``) drifts from it: caught here."""
    feed, site = FeedSource(url="https://example.org/f.xml"), parse_config({}, root=tmp_path).site
    bare = SiteConfig(output_dir=tmp_path / "o", state_dir=tmp_path / "s")
    for key, setting in table_settings("feed").items():
        if setting.default is not None:
            assert getattr(feed, key) == _parsed(setting), setting.name
    for key, setting in table_settings("site").items():
        if key not in ("output_dir", "state_dir"):  # paths, resolved against the config's folder
            assert getattr(site, key) == getattr(bare, key) == _parsed(setting), setting.name
    assert site.output_dir == tmp_path / SETTINGS["site.output_dir"].default
    assert site.state_dir == tmp_path / SETTINGS["site.state_dir"].default
    config = parse_config({"sources": [{"type": "feed", "url": "https://example.org/f.xml"}]}, root=tmp_path)
    assert config.build_every == Config(site=bare).build_every == _parsed(SETTINGS["schedule.build_every"])
    assert config.sources == (feed,)


@pytest.mark.parametrize("setting", [s for s in SETTINGS.values() if s.env], ids=lambda s: s.env)
def test_every_site_key_is_set_from_its_environment_variable(setting: Setting, tmp_path: Path) -> None:
    path = tmp_path / "tagfeed.toml"
    path.write_text("", encoding="utf-8")
    raw = {"base_url": "https://env.example.org/", "output_dir": "elsewhere", "state_dir": "state",
           "websub_hub": "https://hub.example.org/", "s3_endpoint_url": "http://127.0.0.1:9000",
           "store": "postgresql://u@127.0.0.1/db"}.get(setting.key, "7" if setting.kind == "integer" else "Mine")
    raw = "true" if setting.kind == "boolean" else raw
    site = load_config(path, environ={setting.env: raw}).site
    value = getattr(site, setting.key)
    shown = str(value).lower() if isinstance(value, bool) else str(value)
    assert value != _parsed(setting) and shown.endswith(raw), setting.env


def test_base_url_explicit_from_the_file_or_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "tagfeed.toml"
    path.write_text('[site]\ntitle = "x"\n', encoding="utf-8")
    assert not load_config(path, environ={}).site.base_url_explicit
    assert load_config(path, environ={"TAGFEED_BASE_URL": "https://e.example/"}).site.base_url_explicit
    path.write_text(f'[site]\nbase_url = "{SETTINGS["site.base_url"].default}"\n', encoding="utf-8")
    assert load_config(path, environ={}).site.base_url_explicit  # set to the default, yet set


def test_settings_command_lists_every_key() -> None:
    result = run_tagfeed("settings", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["key", "default", "type", "environment", "help"]
    assert len(lines) == 1 + len(SETTINGS)
    for line, setting in zip(lines[1:], SETTINGS.values()):
        assert line.startswith(setting.name + " ") and line.endswith(setting.help), line
        assert (setting.env in line.split()) if setting.env else "TAGFEED_" not in line
        shown = "(required)" if setting.default is None else json.dumps(setting.default)
        assert f" {shown} " in line and f" {setting.kind} " in line, line


def test_settings_command_json_and_markdown() -> None:
    listed = json.loads(run_tagfeed("settings", "--json", cwd=ROOT).stdout)
    assert [(s["key"], s["default"], s["type"], s["env"] or "", s["help"]) for s in listed] == _expected()
    markdown = run_tagfeed("settings", "--markdown", cwd=ROOT).stdout
    assert markdown in (ROOT / "README.md").read_text(encoding="utf-8")
