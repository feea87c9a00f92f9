"""Keep and block rules: applied at ingest, per source; another source may still publish a
blocked article; ``tagfeed explain`` names the rule. Expectations are the seeds' headlines."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from helpers import BUILD_TIME, run_tagfeed
from sources.model import article_id
from tagfeed.building.pipeline import build
from tagfeed.config import Config, load_config
from tagfeed.errors import ConfigError
from tagfeed.store.sqlite import Store

RSS = (Path(__file__).parent / "data/upstream/rss20.xml").read_bytes()
DETERRENTS = "Putin: Russia to modernize nuclear deterrents"
MINI_NUKES = "Lavrov: US are Training Europeans to Use ‘Mini-nukes’ Against Russia"
CENTRE = "Putin: Russia has created new nuclear forces control centre"  # the Putin dump's


def _config(project: Path, sources: str, site: str = "") -> Config:
    """The seeds as two sources, Lavrov's dump and Putin's, with ``sources`` after them."""
    toml = project / "tagfeed.toml"
    text = toml.read_text(encoding="utf-8").replace("[site]\n", f"[site]\n{site}", 1)
    text = text.replace('paths = ["seeds/*.txt"]', 'paths = ["seeds/003_*.txt"]\n' + sources, 1)
    toml.write_text(text + '\n[[sources]]\ntype = "tagpage"\npaths = ["seeds/000_*.txt"]\n', encoding="utf-8")
    return load_config(toml, environ={})


def _titles(config: Config) -> set[str]:
    with Store.open(config.site.state_dir) as store:
        return {a.title for a in store.articles()}


def test_a_block_rule_drops_that_sources_matches_only(project: Path) -> None:
    config = _config(project, "block = 'title:nuclear OR title:/nukes/'")
    build(config, now=BUILD_TIME)
    titles = _titles(config)
    assert DETERRENTS not in titles and MINI_NUKES not in titles
    assert CENTRE in titles  # the other source's nuclear headline: its rules are its own
    assert "Learn from Iraq, Libya Lavrov warns US" in titles  # the rest of the blocked source
    assert len(titles) == 17 - 2


def test_another_source_still_publishes_a_blocked_article(project: Path) -> None:
    shutil.copytree(project / "seeds", project / "again")
    config = _config(project, "block = 'title:nuclear'\n\n[[sources]]\ntype = \"tagpage\"\n"
                              "paths = [\"again/003_*.txt\"]")
    build(config, now=BUILD_TIME)
    assert DETERRENTS in _titles(config)
    out = _explain(project, DETERRENTS)
    assert "rules:\n" in out
    assert "003_349737700d66f2ad.txt: blocked by sources[0].block = 'title:nuclear' (title:nuclear (nuclear)" in out


def test_keep_rules_of_the_site_and_a_source(project: Path) -> None:
    config = _config(project, "keep = 'title:syria OR title:iranian'", site="keep = 'title:lavrov OR title:putin'\n")
    build(config, now=BUILD_TIME)
    titles = _titles(config)
    lavrov = {"Lavrov: Complete Iranian withdrawal from Syria unrealistic",
              "Russia has ‘irrefutable evidence’ chemical attack in Syria was staged – Lavrov"}
    assert lavrov <= titles and "Learn from Iraq, Libya Lavrov warns US" not in titles  # no Syria in its title
    assert CENTRE in titles  # the Putin dump: only the site's keep applies, and its title says Putin
    assert "Erdogan condemns Russian airstrikes in Northern Syria" not in titles  # no Lavrov, no Putin
    assert "Kremlin refuses to recognize Biden's victory" not in titles
    assert len(titles) == 2 + 8


def test_explain_names_the_rule_that_blocked_an_article(project: Path) -> None:
    _config(project, "block = 'title:/nukes/'")
    build(load_config(project / "tagfeed.toml", environ={}), now=BUILD_TIME)
    out = _explain(project, MINI_NUKES)
    assert out.splitlines()[:3] == [f"article {article_id(MINI_NUKES)}", f"  title: {MINI_NUKES}",
                                    "  not published: every source that gave it had it blocked by a rule:"]
    assert "blocked by sources[0].block = 'title:/nukes/' (title:/nukes/ (“nukes”)" in out
    facts = json.loads(_explain(project, article_id(MINI_NUKES), "--json"))
    assert facts["type"] == "blocked" and facts["rules"][0]["rule"] == "sources[0].block"


def test_a_changed_rule_reads_a_settled_dump_again(project: Path) -> None:
    config = _config(project, "block = 'title:nuclear'")
    build(config, now=BUILD_TIME)
    assert DETERRENTS not in _titles(config)
    toml = project / "tagfeed.toml"
    toml.write_text(toml.read_text("utf-8").replace("block = 'title:nuclear'", "block = 'title:zanzibar'"), "utf-8")
    build(load_config(toml, environ={}), now=BUILD_TIME + timedelta(hours=1))
    assert DETERRENTS in _titles(config)


def test_a_feed_sources_rules_apply_when_it_is_polled(project: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/rss").respond_with_data(RSS, content_type="application/rss+xml")
    url = httpserver.url_for("/rss")
    config = _config(project, f'\n[[sources]]\ntype = "feed"\nurl = "{url}"\nblock = "putin"\n')
    build(config, now=BUILD_TIME)
    with Store.open(config.site.state_dir) as store:
        from_feed = sorted(a.title for a in store.articles() if a.source == url)
    assert from_feed and not any("putin" in t.lower() for t in from_feed)


@pytest.mark.parametrize(("rule", "key", "reason"), [
    ("block = 'putin (title:nuclear'", "sources[0].block", "position 7: '(' is never closed"),
    ("keep = 42", "sources[0].keep", "expected a query string, got 42"),
])
def test_a_bad_rule_is_a_config_error_naming_key_and_position(project: Path, rule: str, key: str,
                                                              reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(project, rule)
    assert (caught.value.key, caught.value.reason) == (key, reason)


def _explain(project: Path, target: str, *flags: str) -> str:
    result = run_tagfeed("explain", target, *flags, "--config", str(project / "tagfeed.toml"), cwd=project)
    assert result.returncode == 0, result.stderr
    return result.stdout
