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

from helpers import BUILD_TIME, DATA

SCHEMAS = DATA / "schemas"
ATOM_NS = "{http://www.w3.org/2005/Atom}"


UPSTREAM = DATA / "upstream"
XSS = [line for line in (UPSTREAM / "xss_vectors.txt").read_text(encoding="utf-8").splitlines()
       if line.strip() and not line.startswith("#")]


def _xss_feed() -> bytes:
    """An Atom feed whose every entry carries one XSS vector, in title, summary and content."""
    from xml.sax.saxutils import escape

    entries = "".join(
        f"<entry><id>tag:xss.example,2024:{n}</id><title type='html'>{escape(v)}</title>"
        f"<link href='https://xss.example/{n}'/><updated>2024-01-01T00:{n % 60:02}:00Z</updated>"
        f"<summary type='html'>{escape(v)}</summary><content type='html'>{escape(v)}</content></entry>"
        for n, v in enumerate(XSS))
    return (f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            f"<id>tag:xss.example,2024:feed</id><title>XSS</title><updated>2024-01-01T00:00:00Z</updated>"
            f"<author><name>x</name></author>{entries}</feed>").encode("utf-8")


@pytest.fixture
def aggregated_output(project: Path, httpserver: object) -> Path:
    """Seeds plus every upstream sample feed and an XSS feed, built through real HTTP."""
    from tagfeed.config import load_config
    from tagfeed.building.pipeline import build

    bodies = {f"/{p.name}": p.read_bytes() for p in sorted(UPSTREAM.iterdir())
              if p.suffix in (".xml", ".rdf", ".json") and not p.name.endswith(".expected.json")}
    bodies["/xss.atom"] = _xss_feed()
    with (project / "tagfeed.toml").open("a", encoding="utf-8") as handle:
        for path, body in bodies.items():
            httpserver.expect_request(path).respond_with_data(body)  # type: ignore[attr-defined]
            url = httpserver.url_for(path)  # type: ignore[attr-defined]
            handle.write(f'\n[[sources]]\ntype = "feed"\nurl = "{url}"\ntags = ["Upstream"]\n')
    report = build(load_config(project / "tagfeed.toml", environ={}), now=BUILD_TIME)
    assert report.errors == (), report.errors
    assert report.articles_total > 17 + len(XSS)
    return project / "output"


@pytest.fixture(params=["built_output", "aggregated_output"])
def output(request: pytest.FixtureRequest) -> Path:
    """Each standards test runs on the seeds alone and on seeds merged with external feeds."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def atom_validators() -> tuple[etree.RelaxNG, isoschematron.Schematron]:
    return (etree.RelaxNG(etree.parse(str(SCHEMAS / "atom.rng"))),
            isoschematron.Schematron(etree.parse(str(SCHEMAS / "atom-rules.iso.sch"))))


def _files(output: Path, suffix: str) -> list[Path]:
    files = sorted(output.rglob(f"*{suffix}"))
    assert files, f"no {suffix} files in {output}"
    return files


def test_atom_files_validate(output: Path, atom_validators: tuple) -> None:
    rng, sch = atom_validators
    for path in _files(output, ".atom"):
        doc = etree.parse(str(path))
        assert rng.validate(doc), (path, rng.error_log)
        assert sch.validate(doc), (path, sch.error_log)
        ids = [e.findtext(f"{ATOM_NS}id") for e in doc.getroot().iter(f"{ATOM_NS}entry")]
        assert len(ids) == len(set(ids)) > 0
        self_links = [link.get("href") for link in doc.getroot().findall(f"{ATOM_NS}link")
                      if link.get("rel") == "self"]
        assert self_links == ["http://127.0.0.1:8080/" + path.relative_to(output).as_posix()]


def test_json_feeds_validate(output: Path) -> None:
    schema = json.loads((SCHEMAS / "jsonfeed-1.1.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    for path in _files(output, ".json"):
        feed = json.loads(path.read_text(encoding="utf-8"))
        validator.validate(feed)
        assert feed["version"] == "https://jsonfeed.org/version/1.1"
        assert feed["feed_url"] == "http://127.0.0.1:8080/" + path.relative_to(output).as_posix()
        ids = [item["id"] for item in feed["items"]]
        assert len(ids) == len(set(ids)) > 0


def test_rss_files_follow_rss2(output: Path) -> None:
    for path in _files(output, ".rss"):
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
def test_feedparser_round_trip(output: Path, suffix: str) -> None:
    for path in _files(output, suffix):
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


def _live_markup(fragment: str) -> list[str]:
    """What a browser would run in this HTML: script-ish elements, handlers, script URLs."""
    import lxml.html

    if not fragment.strip():
        return []
    found = []
    for element in lxml.html.fragment_fromstring(fragment, create_parent="div").iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag in ("script", "iframe", "object", "embed", "style", "form", "base", "meta"):
            found.append(element.tag)
        for name, value in element.attrib.items():
            url = "".join(value.split()).lower()
            if name.lower().startswith("on") or url.startswith(("javascript:", "vbscript:", "data:")):
                found.append(f"{element.tag} {name}={value!r}")
    return found


def test_no_live_markup_from_any_xss_vector(aggregated_output: Path) -> None:
    """Every vector went through title, summary and content: readers render nothing live."""
    for path in _files(aggregated_output, ".atom"):
        for node in etree.parse(str(path)).getroot().iter(f"{ATOM_NS}content", f"{ATOM_NS}summary",
                                                          f"{ATOM_NS}title"):
            html = node.text or "" if node.get("type") == "html" else ""
            assert _live_markup(html) == [], (path, html[:200])
    for path in _files(aggregated_output, ".rss"):
        for node in etree.parse(str(path)).getroot().iter("description"):
            assert _live_markup(node.text or "") == [], (path, (node.text or "")[:200])
    for path in _files(aggregated_output, ".json"):
        for item in json.loads(path.read_text(encoding="utf-8"))["items"]:
            assert _live_markup(item.get("content_html", "")) == [], (path, item["id"])
    for path in _files(aggregated_output, ".html"):
        import lxml.html

        body = lxml.html.parse(str(path)).getroot().find("body")
        assert _live_markup(lxml.html.tostring(body, encoding="unicode")) == [], path
