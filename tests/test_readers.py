"""Real clients against the real server: newsboat subscribes to every feed, and
headless Chromium renders the index page.

Both tools come from Debian packages that scripts/test.sh installs when they are
missing; a machine without them fails here, naming the tool, rather than skipping.
Screenshots go to test-artifacts/ (gitignored) for a human to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import struct
import subprocess
from contextlib import closing
from pathlib import Path

import lxml.html
import pytest
from lxml import etree

from helpers import ROOT, LiveServer

ARTIFACTS = ROOT / "test-artifacts"
FEED_TYPES = {"atom": "application/atom+xml", "rss": "application/rss+xml", "json": "application/feed+json"}
# newsboat log lines look like "[2024-03-01 09:00:00] ERROR: ..."; article text may say "error" too.
NEWSBOAT_PROBLEM = re.compile(r"^\[[^\]]*\] (USERERROR|CRITICAL|ERROR|WARN\w*): .*$", re.MULTILINE)
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-quic"]
SCREENS = {"phone": (412, 915), "desktop": (1366, 900)}


def need(tool: str) -> str:
    """The tool's path, or a failure that says what is missing and who installs it."""
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"`{tool}` is not installed: scripts/test.sh installs it with apt-get "
                    f"(Debian package `{tool}`, needs root or sudo)", pytrace=False)
    return path


def client_env(home: Path) -> dict[str, str]:
    """A private HOME and no proxy, so the clients talk straight to 127.0.0.1 and leave no trace."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return env | {"HOME": str(home), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def run(args: list[str], *, home: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    home.mkdir(parents=True, exist_ok=True)
    try:
        return subprocess.run(args, cwd=home, env=client_env(home), capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{Path(args[0]).name} did not finish within {timeout}s: {' '.join(args)}")


def xml_feeds(output: Path) -> list[Path]:
    """Every feed newsboat can read (it has no JSON Feed support)."""
    return sorted([*output.glob("all.atom"), *output.glob("all.rss"),
                   *output.glob("tags/*.atom"), *output.glob("tags/*.rss")])


def item_count(feed: Path) -> int:
    root = etree.parse(str(feed)).getroot()
    return len(root.findall("{http://www.w3.org/2005/Atom}entry") or root.findall("channel/item"))


def newsboat_reload(url: str, home: Path) -> tuple[list[str], int, list[str]]:
    """Subscribe to one feed in a fresh cache: (problems, items cached, item titles).

    One cache per feed because newsboat keys items by guid alone: an article in
    two feeds of one cache ends up counted under whichever was fetched last.
    """
    newsboat = need("newsboat")
    home.mkdir(parents=True)
    (home / "urls").write_text(url + "\n", encoding="utf-8")
    (home / "config").write_text("download-retries 1\ndownload-timeout 20\nreload-threads 1\nmax-items 0\n",
                                 encoding="utf-8")
    done = run([newsboat, "-u", str(home / "urls"), "-c", str(home / "cache.db"), "-C", str(home / "config"),
                "-x", "reload", "-l", "6", "-d", str(home / "log")], home=home, timeout=60)
    log = (home / "log").read_text(encoding="utf-8", errors="replace") if (home / "log").exists() else ""
    problems = [m.group(0) for m in NEWSBOAT_PROBLEM.finditer(log)]
    if done.returncode != 0:
        problems.insert(0, f"exit {done.returncode}: {done.stderr.strip()[-300:]}")
    if not (home / "cache.db").exists():
        return [*problems, "no cache written"], 0, []
    with closing(sqlite3.connect(home / "cache.db")) as db:
        feed_title = db.execute("SELECT title FROM rss_feed WHERE rssurl = ?", (url,)).fetchone()
        titles = [t for (t,) in db.execute("SELECT title FROM rss_item WHERE feedurl = ? AND deleted = 0", (url,))]
    if not feed_title or not feed_title[0].strip():
        problems.append(f"feed title in cache: {feed_title!r}")
    return problems, len(titles), titles


def test_newsboat_subscribes_to_every_feed(live_server: LiveServer, tmp_path: Path) -> None:
    feeds = xml_feeds(live_server.output)
    assert {f.name for f in feeds} >= {"all.atom", "all.rss", "putin.atom", "putin.rss"}
    failures: dict[str, list[str]] = {}
    for feed in feeds:
        rel = feed.relative_to(live_server.output).as_posix()
        url = f"http://127.0.0.1:{live_server.port}/{rel}"
        problems, cached, titles = newsboat_reload(url, tmp_path / rel.replace("/", "_"))
        if cached != item_count(feed):
            problems.append(f"cache holds {cached} items, the feed has {item_count(feed)}")
        if not all(t.strip() for t in titles):
            problems.append(f"empty item titles: {titles!r}")
        if problems:
            failures[rel] = problems
    assert not failures, failures


# -- headless Chromium: the index page ----------------------------------------------------


def chromium(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    """One headless Chromium run with a fresh profile; fails the test on a non-zero exit."""
    done = run([need("chromium"), *CHROMIUM_FLAGS, f"--user-data-dir={home / 'profile'}", *args],
               home=home, timeout=90)
    assert done.returncode == 0, f"chromium exit {done.returncode}:\n{done.stderr[-2000:]}"
    return done


def tags_of(output: Path) -> dict[str, str]:
    """slug -> display name, from the output tree (each tag page's <h1>)."""
    return {page.stem: lxml.html.parse(str(page)).getroot().findtext(".//h1").strip()
            for page in sorted(output.glob("tags/*.html"))}


def hrefs(element: lxml.html.HtmlElement) -> set[str]:
    return {a.get("href") for a in element.iter("a")}


@pytest.fixture(scope="module")
def rendered_index(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> lxml.html.HtmlElement:
    """The index page's DOM after Chromium has loaded and rendered it, links made absolute."""
    url = f"http://127.0.0.1:{live_server.port}/"
    dom = chromium(["--dump-dom", url], tmp_path_factory.mktemp("chromium")).stdout
    assert "<html" in dom, dom[:500]
    page = lxml.html.document_fromstring(dom)
    page.make_links_absolute(url)
    return page


def test_index_shows_every_tag_with_its_feeds(live_server: LiveServer,
                                              rendered_index: lxml.html.HtmlElement) -> None:
    base = f"http://127.0.0.1:{live_server.port}/tags/"
    tags = tags_of(live_server.output)
    assert tags
    for slug, name in tags.items():
        feeds = {f"{base}{slug}.{ext}" for ext in FEED_TYPES}
        named = [a for a in rendered_index.xpath("//a[@href=$h]", h=f"{base}{slug}.html")
                 if a.text_content().strip() == name]
        assert named, f"no link named {name!r} to its tag page"
        # The tag's own block: the nearest ancestor holding all three of its feeds, and no other tag.
        block = next((el for el in named[0].iterancestors() if feeds <= hrefs(el)), None)
        assert block is not None, f"{name}: feeds {sorted(feeds)} are not on the page"
        others = {f"{base}{s}.html" for s in tags if s != slug}
        assert not hrefs(block) & others, f"{name}: its feed links are not next to it"


def test_index_has_autodiscovery_links(live_server: LiveServer, rendered_index: lxml.html.HtmlElement) -> None:
    alternates = {link.get("type"): link.get("href") for link in rendered_index.xpath("//head/link[@rel='alternate']")}
    base = f"http://127.0.0.1:{live_server.port}/"
    assert alternates == {ctype: f"{base}all.{ext}" for ext, ctype in FEED_TYPES.items()}
    for href in alternates.values():
        assert live_server.request("GET", href.removeprefix(base[:-1]))[0] == 200


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("screen", SCREENS)
def test_index_screenshot(live_server: LiveServer, tmp_path: Path, screen: str) -> None:
    """Screenshots for a human to read (phone and desktop); the test only checks they were made."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"index-{screen}.png"
    shot.unlink(missing_ok=True)
    width, height = SCREENS[screen]
    chromium([f"--screenshot={shot}", f"--window-size={width},{height}", "--hide-scrollbars",
              f"http://127.0.0.1:{live_server.port}/"], tmp_path)
    assert png_size(shot) == (width, height)
