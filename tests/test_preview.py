"""``tagfeed preview``: what a view or a rule would match, through the real CLI, changing nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from helpers import BUILD_TIME, run_tagfeed
from tagfeed.building.pipeline import build
from tagfeed.config import load_config

NUCLEAR_NOT_PUTIN = ["Putin: Russia to modernize nuclear deterrents",
                     "Lavrov: US are Training Europeans to Use ‘Mini-nukes’ Against Russia"]
LAVROV_DUMP = "seeds/003_349737700d66f2ad.txt"


def _checksums(*folders: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


def _preview(project: Path, *args: str) -> str:
    result = run_tagfeed("preview", *args, "--config", str(project / "tagfeed.toml"), cwd=project)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_preview_shows_matches_and_changes_nothing(project: Path) -> None:
    config = load_config(project / "tagfeed.toml", environ={})
    build(config, now=BUILD_TIME)
    before = _checksums(config.site.state_dir, config.site.output_dir)
    assert any(name.endswith("tagfeed.sqlite3") for name in before)
    facts = json.loads(_preview(project, "title:/nucle|nukes/ -tag:putin", "--json"))
    assert (facts["articles"], facts["count"]) == (17, 2)
    assert sorted(item["title"] for item in facts["newest"]) == sorted(NUCLEAR_NOT_PUTIN)
    assert all(item["tags"] == ["Sergei Lavrov"] for item in facts["newest"])
    assert [w["term"] for w in facts["newest"][0]["why"]] == ["title:/nucle|nukes/", "-tag:putin"]
    text = _preview(project, "tag:putin", "--limit", "1")
    assert "matches: 10\n" in text and text.count("      tags: ") == 1  # --limit caps the list, not the count
    rule = json.loads(_preview(project, "title:nuclear", "--source", LAVROV_DUMP, "--json"))
    assert rule["articles"] == 7
    assert [i["title"] for i in rule["block_drops"]["newest"]] == ["Putin: Russia to modernize nuclear deterrents"]
    assert rule["keep_drops"]["count"] == 6
    assert _checksums(config.site.state_dir, config.site.output_dir) == before


def test_a_bad_query_is_exit_2_with_the_position(project: Path) -> None:
    build(load_config(project / "tagfeed.toml", environ={}), now=BUILD_TIME)
    result = run_tagfeed("preview", 'tag:"putin', "--config", str(project / "tagfeed.toml"), cwd=project)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == "tagfeed: error: query: position 5: unclosed quote"


def test_an_unknown_source_is_exit_1(project: Path) -> None:
    build(load_config(project / "tagfeed.toml", environ={}), now=BUILD_TIME)
    result = run_tagfeed("preview", "x", "--source", "https://nowhere.example/feed",
                         "--config", str(project / "tagfeed.toml"), cwd=project)
    assert result.returncode == 1 and "no source by that name" in result.stderr
