"""Every file a real `tagfeed build` writes, held to its standard.

Atom: RFC 4287 RELAX NG + its Schematron rules; JSON Feed: the 1.1 JSON
schema; RSS: the RSS 2.0 spec's required elements; all XML feeds round-trip
through feedparser with bozo == 0 and the same entry count.
"""

from __future__ import annotations

import email.utils
import json
from pathlib import Path

import feedparser
import jsonschema
import pytest
from lxml import etree, isoschematron

from conftest import DATA

SCHEMAS = DATA / "schemas"
ATOM_NS = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def atom_validators() -> tuple[etree.RelaxNG, isoschematron.Schematron]:
    return (etree.RelaxNG(etree.parse(str(SCHEMAS / "atom.rng"))),
            isoschematron.Schematron(etree.parse(str(SCHEMAS / "atom-rules.iso.sch"))))


def _files(output: Path, suffix: str) -> list[Path]:
    files = sorted(output.rglob(f"*{suffix}"))
    assert files, f"no {suffix} files in {output}"
    return files


def test_atom_files_validate(built_output: Path, atom_validators: tuple) -> None:
    rng, sch = atom_validators
    for path in _files(built_output, ".atom"):
        doc = etree.parse(str(path))
        assert rng.validate(doc), (path, rng.error_log)
        assert sch.validate(doc), (path, sch.error_log)
        ids = [e.findtext(f"{ATOM_NS}id") for e in doc.getroot().iter(f"{ATOM_NS}entry")]
        assert len(ids) == len(set(ids)) > 0
        self_links = [link.get("href") for link in doc.getroot().findall(f"{ATOM_NS}link")
                      if link.get("rel") == "self"]
        assert self_links == ["http://127.0.0.1:8080/" + path.relative_to(built_output).as_posix()]


def test_json_feeds_validate(built_output: Path) -> None:
    schema = json.loads((SCHEMAS / "jsonfeed-1.1.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    for path in _files(built_output, ".json"):
        feed = json.loads(path.read_text(encoding="utf-8"))
        validator.validate(feed)
        assert feed["version"] == "https://jsonfeed.org/version/1.1"
        assert feed["feed_url"] == "http://127.0.0.1:8080/" + path.relative_to(built_output).as_posix()
        ids = [item["id"] for item in feed["items"]]
        assert len(ids) == len(set(ids)) > 0


def test_rss_files_follow_rss2(built_output: Path) -> None:
    for path in _files(built_output, ".rss"):
        root = etree.parse(str(path)).getroot()
        assert root.tag == "rss" and root.get("version") == "2.0"
        channel = root.find("channel")
        assert channel is not None
        for required in ("title", "link", "description"):
            assert (channel.findtext(required) or "").strip(), (path, required)
        assert email.utils.parsedate_to_datetime(channel.findtext("lastBuildDate") or "").tzinfo
        self_link = channel.find(f"{ATOM_NS}link[@rel='self']")
        assert self_link is not None and self_link.get("type") == "application/rss+xml"
        for item in channel.findall("item"):
            guid = item.find("guid")
            assert guid is not None and guid.text
            assert guid.get("isPermaLink") == ("true" if guid.text.startswith("http") else "false")
            assert email.utils.parsedate_to_datetime(item.findtext("pubDate") or "").tzinfo
            assert item.findtext("title") and item.findtext("link")


@pytest.mark.parametrize("suffix", [".atom", ".rss"])
def test_feedparser_round_trip(built_output: Path, suffix: str) -> None:
    for path in _files(built_output, suffix):
        parsed = feedparser.parse(path.read_bytes())
        assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
        root = etree.parse(str(path)).getroot()
        count = len(root.findall(f"{ATOM_NS}entry")) or len(root.findall("channel/item"))
        assert len(parsed.entries) == count > 0
        assert parsed.feed.title and all(e.id and e.link and e.title for e in parsed.entries)
        assert all(e.get("published_parsed") or e.get("updated_parsed") for e in parsed.entries)


def test_tag_feeds_have_every_seed_article(built_output: Path) -> None:
    putin = feedparser.parse((built_output / "tags" / "putin.atom").read_bytes())
    lavrov = feedparser.parse((built_output / "tags" / "sergei-lavrov.atom").read_bytes())
    assert len(putin.entries) == 10 and len(lavrov.entries) == 7
    assert "Sergei Lavrov" in lavrov.feed.title
    assert putin.entries[0].title.startswith("Putin refuses to congratulate Biden")
