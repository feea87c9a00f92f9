"""Config parsing: defaults, durations, unknown keys, environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagfeed.config import FeedSource, TagPageSource, load_config, parse_config
from tagfeed.settings import parse_duration
from tagfeed.errors import ConfigError


def test_defaults(tmp_path: Path) -> None:
    config = parse_config({}, root=tmp_path)
    assert config.site.base_url == "http://127.0.0.1:8080/"
    assert config.site.output_dir == tmp_path / "output"
    assert config.build_every == 900 and config.sources == ()


def test_sources(tmp_path: Path) -> None:
    config = parse_config(
        {"sources": [{"type": "tagpage", "paths": ["seeds/*.txt"]},
                     {"type": "feed", "url": "https://example.org/f.xml", "tags": ["Example"], "every": "2h"}]},
        root=tmp_path,
    )
    assert isinstance(config.sources[0], TagPageSource)
    assert config.sources[1] == FeedSource(url="https://example.org/f.xml", tags=("Example",), every=7200)


@pytest.mark.parametrize(
    "data, key",
    [
        ({"site": {"titel": "x"}}, "site.titel"),
        ({"colour": 1}, "colour"),
        ({"site": {"max_items": "ten"}}, "site.max_items"),
        ({"site": {"base_url": "/relative"}}, "site.base_url"),
        ({"site": {"state_dir": "output/state"}}, "site.state_dir"),
        ({"schedule": {"build_every": "soon"}}, "schedule.build_every"),
        ({"sources": [{"type": "tagpage"}]}, "sources[0].paths"),
        ({"sources": [{"type": "rss", "url": "x"}]}, "sources[0].type"),
        ({"sources": [{"type": "feed", "url": "ftp://x"}]}, "sources[0].url"),
        ({"sources": [{"type": "feed", "url": "http://x/", "extra": 1}]}, "sources[0].extra"),
    ],
)
def test_errors_name_the_key(data: dict, key: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data, root=tmp_path)
    assert info.value.key == key and key in str(info.value)


def test_durations() -> None:
    assert [parse_duration(v, "k") for v in ("30s", "15m", "2h", "1d", 45, "10")] == [30, 900, 7200, 86400, 45, 10]
    with pytest.raises(ConfigError):
        parse_duration("0m", "k")


def test_load_config_env_overrides(tmp_path: Path) -> None:
    path = tmp_path / "tagfeed.toml"
    path.write_text('[site]\ntitle = "Mine"\n')
    config = load_config(path, environ={"TAGFEED_BASE_URL": "https://feeds.example.org", "TAGFEED_MAX_ITEMS": "7"})
    assert config.site.title == "Mine" and config.site.max_items == 7
    assert config.site.base_url == "https://feeds.example.org/"
    with pytest.raises(ConfigError, match="TAGFEED_MAX_ITEMS"):
        load_config(path, environ={"TAGFEED_MAX_ITEMS": "many"})


def test_load_config_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[site\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_bundled_default_publishes_the_seeds() -> None:
    config = load_config(Path(__file__).parent.parent / "tagfeed.toml", environ={})
    assert isinstance(config.sources[0], TagPageSource) and config.sources[0].paths == ("seeds/*.txt",)


def test_host_gap(tmp_path: Path) -> None:
    assert parse_config({}, root=tmp_path).site.host_gap == 1
    assert parse_config({"site": {"host_gap": 0}}, root=tmp_path).site.host_gap == 0
    for bad in (-1, "1s", 1.5):
        with pytest.raises(ConfigError) as caught:
            parse_config({"site": {"host_gap": bad}}, root=tmp_path)
        assert caught.value.key == "site.host_gap"
    env = {"TAGFEED_HOST_GAP": "5"}
    (tmp_path / "tagfeed.toml").write_text("", encoding="utf-8")
    assert load_config(tmp_path / "tagfeed.toml", environ=env).site.host_gap == 5
