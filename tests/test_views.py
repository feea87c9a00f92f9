"""Views (``[[views]]``): a query's matches published exactly like a tag, on the seeds.

Expectations are written by hand from the seed dumps' headlines.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree
from pytest_httpserver import HTTPServer

from helpers import BUILD_TIME
from tagfeed.building.pipeline import build
from tagfeed.config import Config, load_config
from tagfeed.errors import ConfigError

A = "{http://www.w3.org/2005/Atom}"
BASE = "http://127.0.0.1:8080/"
VIEWS = """
[[views]]
name = "Syria, not the chemical attack"
query = 'title:syria -"chemical attack"'

[[views]]
name = "Nuclear"
query = 'title:/nucle|nukes/'
"""
SYRIA = {"Erdogan condemns Russian airstrikes in Northern Syria",
         "Lavrov: Complete Iranian withdrawal from Syria unrealistic"}
NUCLEAR = {"Putin: Russia has created new nuclear forces control centre",
           "Putin offers NATO concessions in Intermediate-Range Nuclear Forces Treaty",
           "Putin: Russia to modernize nuclear deterrents",
           "Lavrov: US are Training Europeans to Use ‘Mini-nukes’ Against Russia"}


def _config(project: Path, views: str = VIEWS, site: str = "", max_items: int = 50) -> Config:
    toml = project / "tagfeed.toml"
    text = toml.read_text(encoding="utf-8").replace("[site]\n", f"[site]\n{site}", 1)
    text = text.replace("max_items = 50 ", f"max_items = {max_items} ", 1)
    toml.write_text(text + views, encoding="utf-8")
    return load_config(toml, environ={})


def _atom_titles(path: Path) -> set[str]:
    return {e.findtext(f"{A}title") or "" for e in etree.parse(str(path)).getroot().iter(f"{A}entry")}


def test_a_view_publishes_its_matches_in_every_format(project: Path, assert_valid_atom: Callable[[bytes], None],
                                                       assert_valid_jsonfeed: Callable[[bytes], dict[str, object]]
                                                       ) -> None:
    config = _config(project)
    build(config, now=BUILD_TIME)
    out = config.site.output_dir
    assert _atom_titles(out / "views/syria-not-the-chemical-attack.atom") == SYRIA
    assert _atom_titles(out / "views/nuclear.atom") == NUCLEAR
    rss = etree.parse(str(out / "views/nuclear.rss"))
    assert {t.text for t in rss.iterfind("channel/item/title")} == NUCLEAR
    feed = assert_valid_jsonfeed((out / "views/nuclear.json").read_bytes())
    assert {item["title"] for item in feed["items"]} == NUCLEAR  # type: ignore[attr-defined]
    assert feed["feed_url"] == BASE + "views/nuclear.json"
    atom = (out / "views/nuclear.atom").read_bytes()
    assert_valid_atom(atom)
    root = etree.fromstring(atom)
    assert root.findtext(f"{A}title") == "Nuclear — tagfeed"
    assert root.find(f"{A}link[@rel='self']").get("href") == BASE + "views/nuclear.atom"  # type: ignore[union-attr]
    page = (out / "views/nuclear.html").read_text(encoding="utf-8")
    assert f'<link rel="alternate" type="application/atom+xml" title="Nuclear — tagfeed (Atom)" ' \
           f'href="{BASE}views/nuclear.atom">' in page
    assert all(title.replace("’", "&#x27;") in page or title in page for title in NUCLEAR)
    index = (out / "index.html").read_text(encoding="utf-8")
    views_section = index.split("<h2>Views</h2>", 1)[1].split("</section>", 1)[0]
    assert 'href="views/nuclear.html">Nuclear</a>' in views_section and "(4)" in views_section
    opml = etree.parse(str(out / "feeds.opml"))
    assert [o.get("xmlUrl") for o in opml.iterfind("body/outline") if "/views/" in (o.get("xmlUrl") or "")] == [
        BASE + "views/syria-not-the-chemical-attack.atom", BASE + "views/nuclear.atom"]


def test_views_are_rebuilt_only_when_their_matches_change(project: Path) -> None:
    config = _config(project)
    build(config, now=BUILD_TIME)
    assert build(config, now=BUILD_TIME + timedelta(hours=1)).written == ()
    dump = next((project / "seeds").glob("003_*.txt"))
    header, rest = dump.read_text(encoding="utf-8").split("\n", 1)
    dump.write_text(f"{header}\n\nLavrov: no nuclear talks this year\n\nHe said so.\n{rest}", encoding="utf-8")
    written = set(build(config, now=BUILD_TIME + timedelta(hours=2)).written)
    assert {"views/nuclear.atom", "views/nuclear.rss", "views/nuclear.json", "views/nuclear.html"} <= written
    assert not any(p.startswith("views/syria") for p in written)  # its matches did not change


def test_view_bytes_are_deterministic_across_trees(project: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(project, other)
    first, second = _config(project), _config(other)
    build(first, now=BUILD_TIME)
    build(second, now=BUILD_TIME)
    for name in ("nuclear.atom", "nuclear.rss", "nuclear.json", "nuclear.html"):
        assert (first.site.output_dir / "views" / name).read_bytes() == \
            (second.site.output_dir / "views" / name).read_bytes()


def test_a_view_gets_rfc5005_archives(project: Path) -> None:
    config = _config(project, site="archive_page_size = 1\n", max_items=2)
    build(config, now=BUILD_TIME)
    out = config.site.output_dir
    current = etree.parse(str(out / "views/nuclear.atom")).getroot()
    prev = current.find(f"{A}link[@rel='prev-archive']")
    assert prev is not None and prev.get("href") == BASE + "views/nuclear/archive/2.atom"
    pages = sorted(p.name for p in (out / "views/nuclear/archive").glob("*.atom"))
    assert pages == ["1.atom", "2.atom"]
    titles = set().union(*(_atom_titles(out / "views/nuclear/archive" / p) for p in pages), _atom_titles(
        out / "views/nuclear.atom"))
    assert titles == NUCLEAR  # every match once, through the archive
    assert etree.parse(str(out / "views/nuclear/archive/1.atom")).getroot().find(
        "{http://purl.org/syndication/history/1.0}archive") is not None


def test_the_hub_hears_of_a_view_whose_matches_changed(project: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hub", method="POST").respond_with_data("", status=204)
    config = _config(project, site=f'websub_hub = "{httpserver.url_for("/hub")}"\n')
    build(config, now=BUILD_TIME)
    pinged = {r.form["hub.url"] for r, _ in httpserver.log}
    assert {BASE + "views/nuclear.atom", BASE + "views/nuclear.rss", BASE + "views/nuclear.json"} <= pinged
    atom = etree.parse(str(config.site.output_dir / "views/nuclear.atom")).getroot()
    assert atom.find(f"{A}link[@rel='hub']").get("href") == httpserver.url_for("/hub")  # type: ignore[union-attr]


@pytest.mark.parametrize(("views", "key", "reason"), [
    ('[[views]]\nname = "Bad"\nquery = \'tag:putin (nuclear\'\n', "views[0].query",
     "view 'Bad': position 11: '(' is never closed"),
    ('[[views]]\nname = "X"\nquery = "a"\n[[views]]\nname = "x"\nquery = "b"\n', "views[1].name",
     "view 'x' has the slug of view 'X'"),
    ('[[views]]\nname = "X"\n', "views[0].query", "view 'X': expected a query string"),
    ('[[views]]\nname = "X"\nquery = "a"\ncolour = "red"\n', "views[0].colour", "unknown key"),
])
def test_a_bad_view_is_a_config_error_naming_it(project: Path, views: str, key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(project, views="\n" + views)
    assert (caught.value.key, caught.value.reason) == (key, reason)


def test_a_view_matching_nothing_still_publishes_an_empty_feed(project: Path) -> None:
    config = _config(project, views='[[views]]\nname = "Nothing"\nquery = "zanzibar"\n')
    build(config, now=BUILD_TIME)
    assert json.loads((config.site.output_dir / "views/nothing.json").read_bytes())["items"] == []
