"""`tagfeed import-opml`: OPML subscriptions appended to the config as feed sources."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from tagfeed.cli import main
from tagfeed.config import FeedSource, load_config
from tagfeed.errors import OpmlError
from tagfeed.commands.subscriptions import read_opml, toml_string

OPML = Path(__file__).parent / "data/opml/subscriptions.opml"
CONFIG = """\
# my config: keep this comment
[site]
title = "mine"

[[sources]]
type = "feed"
url = "https://already.example/feed"
tags = ["Mine"]"""  # no trailing newline on purpose


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_read_opml_finds_nested_outlines_in_order() -> None:
    urls = [s.url for s in read_opml(OPML)]
    assert urls == ["https://rss2.example.org/feed.xml", "https://atom.example.org/blog/feed.atom?a=1&b=2",
                    "https://already.example/feed", "https://rss2.example.org/feed.xml", "ftp://old.example/feed"]


def test_import_appends_only_new_feeds_and_keeps_the_file(tmp_path: Path) -> None:
    config = tmp_path / "tagfeed.toml"
    config.write_text(CONFIG, encoding="utf-8")
    code, out, err = _run("import-opml", str(OPML), "--config", str(config))
    assert code == 0, err
    assert "2 feeds added" in out and "ftp://old.example/feed" in err
    text = config.read_text(encoding="utf-8")
    assert text.startswith(CONFIG + "\n")
    feeds = [s for s in load_config(config, environ={}).sources if isinstance(s, FeedSource)]
    assert [f.url for f in feeds] == ["https://already.example/feed", "https://rss2.example.org/feed.xml",
                                      "https://atom.example.org/blog/feed.atom?a=1&b=2"]
    assert feeds[0].tags == ("Mine",) and feeds[1].tags == ()
    assert "# RSS 2 news\n" in text
    code, out, _ = _run("import-opml", str(OPML), "--config", str(config))
    assert code == 0 and "0 feeds added" in out
    assert config.read_text(encoding="utf-8") == text  # a second import changes nothing


def test_import_creates_a_missing_config(tmp_path: Path) -> None:
    config = tmp_path / "new.toml"
    code, _, err = _run("import-opml", str(OPML), "--config", str(config))
    assert code == 0, err
    assert len(load_config(config, environ={}).sources) == 3


@pytest.mark.parametrize("body", [
    "<opml><body><outline xmlUrl='https://x.example/f'></body>",  # not well-formed
    "<rss version='2.0'><channel/></rss>",  # not OPML
    "",
    "<?xml version='1.0'?><!DOCTYPE opml [<!ENTITY x 'y'>]><opml><body><outline xmlUrl='&x;'/></body></opml>",
], ids=["malformed", "not-opml", "empty", "entity"])
def test_malformed_opml_is_a_clear_error_naming_the_file(tmp_path: Path, body: str) -> None:
    opml = tmp_path / "broken.opml"
    opml.write_text(body, encoding="utf-8")
    config = tmp_path / "tagfeed.toml"
    config.write_text(CONFIG, encoding="utf-8")
    code, _, err = _run("import-opml", str(opml), "--config", str(config))
    assert code == 1 and str(opml) in err and err.startswith("tagfeed: error:")
    assert config.read_text(encoding="utf-8") == CONFIG
    with pytest.raises(OpmlError):
        read_opml(opml)


def test_missing_opml_file_is_an_error(tmp_path: Path) -> None:
    code, _, err = _run("import-opml", str(tmp_path / "nope.opml"), "--config", str(tmp_path / "c.toml"))
    assert code == 1 and "nope.opml" in err


def test_toml_string_escapes() -> None:
    for value in ['plain', 'q"uote', "back\\slash", "tab\tnl\n", "del\x7f", "ü ✓ 😀"]:
        assert tomllib.loads(f"v = {toml_string(value)}")["v"] == value
