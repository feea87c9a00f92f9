"""Full text for page items (``fulltext = true``) and the public-address rule for URLs from content
and redirects: real builds (subprocess) against pytest-httpserver on 127.0.0.1, and real fetches."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from helpers import DATA, other_loopback_name, run_tagfeed
from pytest_httpserver import HTTPServer

from sources.addresses import refusal
from sources.fetch import Outcome, fetch
from tagfeed.errors import BlockedAddress

ARTICLES = DATA / "htmlpages" / "articles"
TAGESSCHAU = "Der Leitindex Dow Jones verlor am Ende 1,76 Prozent"  # in the article's body, not its teaser
INFOBAE = "denunció este martes la propaganda rusa"
TEASER = "The teaser of story {}, long enough to read as one."


def _listing(links: list[str]) -> bytes:
    items = "".join(f'<li><h2><a href="{link}">Headline number {i} of the list</a></h2><p>{TEASER.format(i)}</p></li>'
                    for i, link in enumerate(links))
    return (f"<html><head><title>Tag: Things</title></head><body><nav><a href='/'>Home</a></nav>"
            f"<h1>Things</h1><main><ul>{items}</ul></main></body></html>").encode()


def _project(path: Path, page_url: str, *, allow_private: bool) -> None:
    (path / "tagfeed.toml").write_text(
        f'[site]\noutput_dir = "out"\nstate_dir = ".state"\nhost_gap = 0\n'
        f'allow_private_hosts = {str(allow_private).lower()}\n\n'
        f'[[sources]]\ntype = "page"\nurl = "{page_url}"\nfulltext = true\nevery = "1s"\n')


def _items(project: Path) -> dict[str, dict[str, object]]:
    feed = json.loads((project / "out" / "all.json").read_text(encoding="utf-8"))
    return {str(item["title"]): item for item in feed["items"]}


def _asked(server: HTTPServer, prefix: str) -> list[str]:
    return [request.path for request, _ in server.log if request.path.startswith(prefix)]


@pytest.fixture
def site(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /articles/private/\n")
    for name in ("tagesschau", "infobae"):
        httpserver.expect_request(f"/articles/{name}.html").respond_with_data(
            (ARTICLES / f"{name}_article_01.html").read_bytes(), content_type="text/html; charset=utf-8")
    httpserver.expect_request("/articles/gone.html").respond_with_data("gone", status=404)
    httpserver.expect_request("/articles/private/x.html").respond_with_data("<p>secret</p>" * 100,
                                                                            content_type="text/html")
    httpserver.expect_request("/tag/things").respond_with_data(
        _listing(["/articles/tagesschau.html", "/articles/infobae.html", "/articles/gone.html",
                  "/articles/private/x.html"]), content_type="text/html")
    return httpserver


def test_full_text_is_published_and_a_rebuild_does_not_fetch_it_again(site: HTTPServer, tmp_path: Path) -> None:
    _project(tmp_path, site.url_for("/tag/things"), allow_private=True)
    first = run_tagfeed("build", "--strict", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    items = _items(tmp_path)
    assert TAGESSCHAU in str(items["Headline number 0 of the list"]["content_html"])
    assert INFOBAE in str(items["Headline number 1 of the list"]["content_html"])
    assert "<script" not in str(items["Headline number 0 of the list"]["content_html"])  # sanitized
    for n in (2, 3):  # a 404 and a page robots.txt disallows: the teaser stays, noted
        assert TEASER.format(n) in str(items[f"Headline number {n} of the list"]["content_html"])
    assert "gone.html: HTTP 404; the teaser was kept" in first.stderr
    assert "private/x.html: robots.txt of this host disallows" in first.stderr
    asked = _asked(site, "/articles/")
    assert sorted(asked) == ["/articles/gone.html", "/articles/infobae.html", "/articles/tagesschau.html"]

    again = run_tagfeed("build", "--fetch-all", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 new" in again.stdout, again.stdout
    assert _asked(site, "/articles/") == asked  # the listing was fetched again, no item page was
    assert _asked(site, "/tag/things") == ["/tag/things"] * 2
    assert _items(tmp_path) == items


def test_links_to_loopback_are_not_fetched_unless_private_hosts_are_allowed(site: HTTPServer,
                                                                             tmp_path: Path) -> None:
    _project(tmp_path, site.url_for("/tag/things"), allow_private=False)
    done = run_tagfeed("build", "--strict", cwd=tmp_path)
    assert done.returncode == 0, done.stderr  # a blocked link is noted, not the source's failure
    assert _asked(site, "/articles/") == []
    assert "resolves to 127.0.0.1, a loopback address: not fetched" in done.stderr
    items = _items(tmp_path)
    assert len(items) == 4
    assert all(TEASER.format(n) in str(items[f"Headline number {n} of the list"]["content_html"]) for n in range(4))
    assert TAGESSCHAU not in json.dumps(items)


def test_a_configured_page_redirected_to_a_private_host_is_that_sources_error(httpserver: HTTPServer,
                                                                            tmp_path: Path) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    elsewhere = other_loopback_name(httpserver.url_for("/tag/things"))
    httpserver.expect_request("/old").respond_with_data("", status=302, headers={"Location": elsewhere})
    httpserver.expect_request("/tag/things").respond_with_data(_listing(["/a/1.html"]), content_type="text/html")
    _project(tmp_path, httpserver.url_for("/old"), allow_private=False)
    done = run_tagfeed("build", cwd=tmp_path)
    assert f"{urlsplit(elsewhere).hostname} resolves to 127.0.0.1, a loopback address" in done.stderr, done.stderr
    assert _asked(httpserver, "/tag/") == []


def test_a_redirect_to_another_host_at_a_private_address_is_refused(httpserver: HTTPServer) -> None:
    target = other_loopback_name(httpserver.url_for("/inside"))
    httpserver.expect_request("/out").respond_with_data("", status=302, headers={"Location": target})
    httpserver.expect_request("/inside").respond_with_data("secret")
    with pytest.raises(BlockedAddress, match=f"{urlsplit(target).hostname} resolves to 127.0.0.1"):
        fetch(httpserver.url_for("/out"), user_agent="t", max_bytes=1000)
    assert _asked(httpserver, "/inside") == []
    allowed = fetch(httpserver.url_for("/out"), user_agent="t", max_bytes=1000, allow_private=True)
    assert (allowed.outcome, allowed.body, allowed.url) == (Outcome.OK, b"secret", target)


def test_a_url_from_content_must_be_public_and_a_same_host_redirect_keeps_its_address(
        httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data("", status=301, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("fine")
    with pytest.raises(BlockedAddress, match="127.0.0.1, a loopback address"):
        fetch(httpserver.url_for("/a"), user_agent="t", max_bytes=1000, from_content=True)
    assert httpserver.log == []
    # the operator's own URL (not from content) may be private, and so may its host's redirects
    done = fetch(httpserver.url_for("/a"), user_agent="t", max_bytes=1000)
    assert (done.body, done.permanent_url) == (b"fine", httpserver.url_for("/b"))
    assert [r.headers["Host"] for r, _ in httpserver.log] == [urlsplit(httpserver.url_for("/")).netloc] * 2


@pytest.mark.parametrize(("address", "why"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.1", "private"),
    ("192.168.1.1", "private"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("fd00:ec2::254", "private"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("240.0.0.1", "reserved"),
    ("100.100.100.200", "non-public"), ("::ffff:127.0.0.1", "loopback"), ("64:ff9b::a00:1", "private"),
    ("2002:c0a8:101::1", "private"),
])
def test_addresses_that_are_not_public(address: str, why: str) -> None:
    assert why in (refusal(ipaddress.ip_address(address)) or "")


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None
