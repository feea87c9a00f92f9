"""feeds/s3.py, feeds/target.py and tagfeed/building/publish.py: the output tree in an S3-compatible store.

The store is a real S3 API server on 127.0.0.1 (moto in server mode, a
subprocess), reached with the real boto3 client. Its request recorder counts
and orders the uploads from the server's side.
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from helpers import BUILD_TIME, run_tagfeed

from feeds.target import ALL_FEEDS, ARCHIVES, ARTICLES, LINKING_PAGES, TAG_FEEDS, TAG_PAGES, publish_rank
from tagfeed.config import load_config, parse_output_url
from tagfeed.errors import ConfigError, OutputError
from tagfeed.serving.httpcache import content_type_for
from tagfeed.building.pipeline import build
from tagfeed.building.report import BuildReport
from feeds.archive import ARCHIVE_MAX_AGE
from tagfeed.building.publish import cache_control_for

T2 = BUILD_TIME + timedelta(hours=1)
PREFIX = "site"
@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"tagfeed-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _configs(project: Path, endpoint: str, bucket: str) -> tuple[Path, Path]:
    """The default project's config to a local directory, and the same site to the bucket."""
    local = project / "tagfeed.toml"
    remote = project / "s3.toml"
    text = local.read_text(encoding="utf-8")
    remote.write_text(text.replace('output_dir = "output"',
                                   f'output_dir = "s3://{bucket}/{PREFIX}/"\ns3_endpoint_url = "{endpoint}"')
                      .replace('state_dir = ".tagfeed"', 'state_dir = ".tagfeed-s3"'), encoding="utf-8")
    return local, remote


def _bucket_tree(s3: Any, bucket: str) -> dict[str, bytes]:
    tree = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            rel = item["Key"].removeprefix(PREFIX + "/")
            tree[rel] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return tree


def _local_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _recorded_puts(endpoint: str, bucket: str) -> list[str]:
    """Object keys PUT to ``bucket`` since the last reset, in the order the server got them."""
    text = httpx.get(f"{endpoint}/moto-api/recorder/download-recording", timeout=10).text
    puts = []
    for entry in _json_values(text):
        path = unquote(urlsplit(entry["url"]).path)
        if entry["method"] == "PUT" and path.startswith(f"/{bucket}/{PREFIX}/"):
            puts.append(path.removeprefix(f"/{bucket}/{PREFIX}/"))
    return puts


def _json_values(text: str) -> Iterator[Any]:
    """The recorder writes one JSON object per request, but concurrent requests can share a line."""
    decoder, blank = json.JSONDecoder(), re.compile(r"\s*")
    index = blank.match(text).end()  # type: ignore[union-attr]
    while index < len(text):
        value, index = decoder.raw_decode(text, index)
        yield value
        index = blank.match(text, index).end()  # type: ignore[union-attr]


def _reset_recording(endpoint: str) -> None:
    httpx.post(f"{endpoint}/moto-api/recorder/reset-recording", timeout=10).raise_for_status()


def _build_both(local: Path, remote: Path, now: Any) -> tuple[BuildReport, BuildReport]:
    return build(load_config(local, environ={}), now=now), build(load_config(remote, environ={}), now=now)


def test_bucket_tree_equals_local_tree_byte_for_byte(project: Path, s3: Any, bucket: str, s3_server: str) -> None:
    local, remote = _configs(project, s3_server, bucket)
    local_report, remote_report = _build_both(local, remote, BUILD_TIME)
    tree = _bucket_tree(s3, bucket)
    assert tree == _local_tree(project / "output")
    assert {"index.html", "feeds.opml", "all.atom", "all.atom.gz", "tags/putin.rss.gz"} <= tree.keys()
    assert sorted(remote_report.written) == sorted(local_report.written) == sorted(tree)
    assert not (project / "output").joinpath("..", ".tagfeed-s3", "unused-output").exists()


def test_publishing_twice_uploads_nothing(project: Path, s3: Any, bucket: str, s3_server: str) -> None:
    _, remote = _configs(project, s3_server, bucket)
    config = load_config(remote, environ={})
    first = build(config, now=BUILD_TIME)
    _reset_recording(s3_server)
    # The bucket is never listed nor read back: only the hashes in the store count.
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}/index.html", Body=b"changed behind tagfeed's back")
    second = build(config, now=T2)
    assert second.written == ()
    assert second.unchanged == len(first.written)
    assert _recorded_puts(s3_server, bucket) == ["index.html"]  # only the test's own PUT


def test_a_rebuild_renders_only_what_changed_for_a_bucket_too(project: Path, s3: Any, bucket: str,
                                                              s3_server: str) -> None:
    """Groups whose inputs and uploaded hashes are unchanged are not rendered again: a no-op
    build hands the publisher only status.atom and status.html; one changed dump only its tag's groups."""
    _, remote = _configs(project, s3_server, bucket)
    config = load_config(remote, environ={})
    build(config, now=BUILD_TIME)
    rendered: list[int] = []

    def count(stage: str, done: int, total: int) -> None:
        if stage == "writing":
            rendered.append(done)

    assert build(config, now=T2, progress=count).written == ()
    # status.atom and status.html with their .gz twins (counted as the summary counts files),
    # rendered outside the fingerprinted groups
    assert max(rendered) == 4
    rendered.clear()
    dump = sorted((project / "seeds").glob("*.txt"))[0]
    dump.write_text(dump.read_text(encoding="utf-8") + "\n  • A brand new headline\n\n    Its body.\n",
                    encoding="utf-8")
    report = build(config, now=T2, progress=count)
    assert report.written and max(rendered) < 40  # files and their twins
    assert _bucket_tree(s3, bucket)["all.atom"].count(b"A brand new headline") == 1


def test_every_object_has_its_content_type_encoding_and_cache_control(
        project: Path, s3: Any, bucket: str, s3_server: str) -> None:
    _, remote = _configs(project, s3_server, bucket)
    (project / "s3.toml").write_text((project / "s3.toml").read_text().replace("cache_max_age = 300",
                                                                                "cache_max_age = 120"))
    build(load_config(remote, environ={}), now=BUILD_TIME)
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) > 20
    for key in keys:
        head = s3.head_object(Bucket=bucket, Key=key)
        identity = key.removesuffix(".gz")
        assert head["ContentType"] == content_type_for(identity), key
        assert head.get("ContentEncoding") == ("gzip" if key.endswith(".gz") else None), key
        assert head["CacheControl"] == "public, max-age=120", key
    by_name = {key.removeprefix(PREFIX + "/"): s3.head_object(Bucket=bucket, Key=key)["ContentType"]
               for key in keys}
    assert by_name["all.atom"] == by_name["all.atom.gz"] == "application/atom+xml; charset=utf-8"
    assert by_name["feeds.opml"] == "text/x-opml; charset=utf-8"
    assert by_name["tags/putin.json.gz"] == "application/feed+json; charset=utf-8"


def test_changed_dump_reuploads_only_its_files(project: Path, s3: Any, bucket: str, s3_server: str) -> None:
    local, remote = _configs(project, s3_server, bucket)
    _, first = _build_both(local, remote, BUILD_TIME)
    lavrov = project / "seeds" / "003_349737700d66f2ad.txt"
    header, rest = lavrov.read_text(encoding="utf-8").split("\n", 1)
    lavrov.write_text(f"{header}\n\nLavrov meets Blinken in Geneva\n\nThe two ministers met for two hours.\n{rest}",
                      encoding="utf-8")
    _reset_recording(s3_server)
    local_report, remote_report = _build_both(local, remote, T2)
    assert set(remote_report.written) == set(local_report.written)
    assert sorted(_recorded_puts(s3_server, bucket)) == sorted(remote_report.written)
    assert 0 < len(remote_report.written) < len(first.written) / 2
    assert not any(p.startswith("tags/putin") for p in remote_report.written)
    assert "tags/sergei-lavrov.atom.gz" in remote_report.written
    assert _bucket_tree(s3, bucket) == _local_tree(project / "output")


def test_feeds_are_uploaded_before_the_pages_linking_them(
        project: Path, s3: Any, bucket: str, s3_server: str) -> None:
    _, remote = _configs(project, s3_server, bucket)
    _reset_recording(s3_server)
    report = build(load_config(remote, environ={}), now=BUILD_TIME)
    puts = _recorded_puts(s3_server, bucket)
    assert sorted(puts) == sorted(report.written)
    ranks = [publish_rank(path) for path in puts]
    assert ranks == sorted(ranks)
    assert {ARTICLES, TAG_FEEDS, TAG_PAGES, ALL_FEEDS, LINKING_PAGES} <= set(ranks)
    assert puts.index("index.html") > max(puts.index("all.atom"), puts.index("tags/putin.atom"))


def test_missing_bucket_fails_naming_it_and_uploads_all_once_it_exists(
        project: Path, s3: Any, s3_server: str) -> None:
    name = f"tagfeed-{uuid.uuid4().hex[:12]}"
    _, remote = _configs(project, s3_server, name)
    with pytest.raises(OutputError, match=f"s3://{name}/{PREFIX}/.*NoSuchBucket"):
        build(load_config(remote, environ={}), now=BUILD_TIME)
    result = run_tagfeed("build", "--config", str(remote), cwd=project)
    assert result.returncode == 1
    assert f"s3://{name}/{PREFIX}/" in result.stderr and "NoSuchBucket" in result.stderr
    s3.create_bucket(Bucket=name)
    result = run_tagfeed("build", "--config", str(remote), cwd=project)
    assert result.returncode == 0, result.stderr
    assert f"output: s3://{name}/{PREFIX}\n" in result.stdout
    assert len(_bucket_tree(s3, name)) > 20


def test_objects_hold_the_bytes_sent(project: Path, s3: Any, bucket: str, s3_server: str) -> None:
    """A .gz object is the stored gzip itself, not decoded by the store on the way in."""
    _, remote = _configs(project, s3_server, bucket)
    build(load_config(remote, environ={}), now=BUILD_TIME)
    gz = s3.get_object(Bucket=bucket, Key=f"{PREFIX}/all.json.gz")["Body"].read()
    assert gz[:2] == b"\x1f\x8b"
    plain = s3.get_object(Bucket=bucket, Key=f"{PREFIX}/all.json")["Body"].read()
    assert gzip.decompress(gz) == plain
    assert json.loads(plain)["version"].startswith("https://jsonfeed.org/version/1.1")


# -- pure parts ---------------------------------------------------------------

@pytest.mark.parametrize(("path", "rank"), [
    ("articles/0a1b.html", ARTICLES), ("articles/0a1b.html.gz", ARTICLES),
    ("tags/putin/archive/1.atom", ARCHIVES), ("tags/putin.atom", TAG_FEEDS), ("tags/putin.json.gz", TAG_FEEDS),
    ("tags/putin.html", TAG_PAGES), ("all.rss", ALL_FEEDS), ("all.json.gz", ALL_FEEDS),
    ("index.html", LINKING_PAGES), ("feeds.opml", LINKING_PAGES), ("status.atom", LINKING_PAGES),
])
def test_publish_rank(path: str, rank: int) -> None:
    assert publish_rank(path) == rank


def test_cache_control_is_the_servers_rule() -> None:
    """A full archive page a week, the newest one (next-archive: the current feed) the feed's own."""
    full = b'<feed>\n  <link href="https://f.example/tags/putin/archive/4.atom" rel="next-archive" type="x"/>'
    newest = b'<feed>\n  <link href="https://f.example/tags/putin.atom" rel="next-archive" type="x"/>'
    assert cache_control_for("all.atom", lambda: full, 300) == "public, max-age=300"
    assert cache_control_for("tags/putin/archive/3.atom", lambda: full, 300) == f"public, max-age={ARCHIVE_MAX_AGE}"
    assert cache_control_for("tags/putin/archive/4.atom", lambda: newest, 300) == "public, max-age=300"
    assert cache_control_for("tags/putin/archive/3.atom", lambda: full, 10**7) == "public, max-age=10000000"


@pytest.mark.parametrize(("raw", "parsed"), [
    ("output", ""), ("/srv/feeds", ""), ("s3://feeds", "s3://feeds"), ("s3://feeds/", "s3://feeds"),
    ("S3://my.bucket-1/a/b/", "s3://my.bucket-1/a/b"),
])
def test_parse_output_url(raw: str, parsed: str) -> None:
    assert parse_output_url(raw) == parsed


@pytest.mark.parametrize("raw", ["s3://", "s3://Upper/x", "s3://ab", "s3://b_ucket", "s3://feeds/a/../b",
                                 "s3://feeds/a//b", "s3://feeds/x?versionId=1", "s3://feeds/a\\b"])
def test_bad_output_url_names_the_key(raw: str) -> None:
    with pytest.raises(ConfigError, match="site.output_dir"):
        parse_output_url(raw)


def test_s3_config_from_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "tagfeed.toml"
    path.write_text('[site]\noutput_dir = "s3://feeds/prod"\nstate_dir = "state"\n', encoding="utf-8")
    site = load_config(path, environ={"TAGFEED_S3_ENDPOINT_URL": "http://127.0.0.1:9000"}).site
    assert (site.output_url, site.s3_endpoint_url) == ("s3://feeds/prod", "http://127.0.0.1:9000")
    assert site.state_dir == tmp_path / "state"
    site = load_config(path, environ={"TAGFEED_OUTPUT_DIR": "out"}).site
    assert (site.output_url, site.output_dir) == ("", tmp_path / "out")
    with pytest.raises(ConfigError, match="site.s3_endpoint_url"):
        load_config(path, environ={"TAGFEED_S3_ENDPOINT_URL": "127.0.0.1:9000"})
