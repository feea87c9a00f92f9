"""The configuration file (``tagfeed.toml``): one table of keys, parsed purely.

``parse_config`` turns a mapping into frozen dataclasses and refuses unknown
keys; ``load_config`` only reads TOML and applies ``TAGFEED_*`` environment
overrides. Relative paths are resolved against the config file's folder.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tagfeed.errors import ConfigError

# key: (default, help). The one place a [site] key is defined.
SITE_SETTINGS: dict[str, tuple[Any, str]] = {
    "title": ("tagfeed", "site title, shown in every feed title"),
    "base_url": ("http://127.0.0.1:8080/", "absolute URL the output tree is served at"),
    "output_dir": ("output", "where the feeds are written: a local directory, or s3://bucket/prefix"),
    "state_dir": (".tagfeed", "SQLite store; never under output_dir"),
    "max_items": (50, "entries per feed"),
    "cache_max_age": (300, "Cache-Control max-age the server sends, in seconds"),
    "archive_page_size": (50, "entries per RFC 5005 archive page of a tag's Atom feed"),
    "websub_hub": ("", "WebSub hub URL to announce in every feed and ping after a build; empty = off"),
    "s3_endpoint_url": ("", "endpoint of an S3-compatible store (MinIO, Ceph, R2) for s3:// output; empty = AWS"),
    "store": ("", "postgresql://user:password@host/db for state shared by several machines; empty = SQLite in state_dir"),
    "host_gap": (1, "seconds between two requests to one upstream host (one request at a time per host)"),
}
SCHEDULE_SETTINGS: dict[str, tuple[Any, str]] = {
    "build_every": ("15m", "how often `serve` rebuilds the feeds"),
}
TAGPAGE_KEYS = {"type", "paths"}
FEED_KEYS = {"type", "url", "tags", "every", "max_bytes"}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")  # S3's bucket naming rules


@dataclass(frozen=True, slots=True)
class SiteConfig:
    title: str
    base_url: str
    output_dir: Path
    state_dir: Path
    max_items: int
    cache_max_age: int
    archive_page_size: int = 50
    websub_hub: str = ""
    s3_endpoint_url: str = ""
    store: str = ""  # a postgresql:// URL (tagfeed/pgstore.py), or "" for SQLite in state_dir
    host_gap: int = 1  # seconds between requests to one upstream host (sources/hostgate.py)
    # "s3://bucket/prefix" when output_dir names an object store (tagfeed.publish); output_dir
    # is then a local path nothing writes to, so ``serve`` serves nothing of its own.
    output_url: str = ""


@dataclass(frozen=True, slots=True)
class TagPageSource:
    paths: tuple[str, ...]
    root: Path

    @property
    def name(self) -> str:
        return "tagpage:" + ",".join(self.paths)


@dataclass(frozen=True, slots=True)
class FeedSource:
    url: str
    tags: tuple[str, ...] = ()
    every: int = 1800
    max_bytes: int = 10 * 1024 * 1024

    @property
    def name(self) -> str:
        return self.url


@dataclass(frozen=True, slots=True)
class Config:
    site: SiteConfig
    build_every: int
    sources: tuple[TagPageSource | FeedSource, ...] = ()
    path: Path | None = field(default=None, compare=False)


def parse_duration(value: Any, key: str) -> int:
    """``"15m"`` → 900. Plain integers are seconds."""
    if isinstance(value, bool):
        raise ConfigError(key, f"expected a duration like '15m', got {value!r}")
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ConfigError(key, f"expected a duration like '30s', '15m', '2h' or '1d', got {value!r}")
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ConfigError(key, "must be longer than zero")
    return seconds


def _check_keys(table: Mapping[str, Any], allowed: set[str] | Mapping[str, Any], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}.{key}" if where else key, "unknown key")


def _typed(value: Any, kind: type, key: str) -> Any:
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(key, f"expected an integer, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise ConfigError(key, f"expected a string, got {value!r}")
    return value


def _parse_site(table: Mapping[str, Any], root: Path) -> SiteConfig:
    _check_keys(table, SITE_SETTINGS, "site")
    values = {k: _typed(table.get(k, d), type(d), f"site.{k}") for k, (d, _) in SITE_SETTINGS.items()}
    base = urlsplit(values["base_url"])
    if base.scheme not in ("http", "https") or not base.netloc:
        raise ConfigError("site.base_url", f"must be an absolute http(s) URL, got {values['base_url']!r}")
    if not values["base_url"].endswith("/"):
        values["base_url"] += "/"
    if values["max_items"] < 1:
        raise ConfigError("site.max_items", "must be at least 1")
    if values["host_gap"] < 0:
        raise ConfigError("site.host_gap", "must be 0 or more seconds")
    if values["archive_page_size"] < 1:
        raise ConfigError("site.archive_page_size", "must be at least 1")
    if values["websub_hub"] and urlsplit(values["websub_hub"]).scheme not in ("http", "https"):
        raise ConfigError("site.websub_hub", f"must be an http(s) URL or empty, got {values['websub_hub']!r}")
    if values["s3_endpoint_url"] and urlsplit(values["s3_endpoint_url"]).scheme not in ("http", "https"):
        raise ConfigError("site.s3_endpoint_url",
                          f"must be an http(s) URL or empty, got {values['s3_endpoint_url']!r}")
    if values["store"] and not values["store"].startswith(("postgresql://", "postgres://")):
        raise ConfigError("site.store", "expected a postgresql:// URL, or empty for SQLite in state_dir")
    state_dir = (root / values["state_dir"]).resolve()
    output_url = parse_output_url(values["output_dir"])
    output_dir = state_dir / "unused-output" if output_url else (root / values["output_dir"]).resolve()
    if not output_url and (state_dir == output_dir or output_dir in state_dir.parents):
        raise ConfigError("site.state_dir", "must not be inside output_dir (it would be served)")
    values.update(output_dir=output_dir, state_dir=state_dir, output_url=output_url)
    return SiteConfig(**values)


def parse_output_url(raw: str) -> str:
    """``s3://bucket/prefix`` normalised (no trailing slash); "" for a local directory."""
    if not raw.lower().startswith("s3://"):
        return ""
    parts = urlsplit(raw)
    prefix = parts.path.strip("/")
    if not _BUCKET.fullmatch(parts.netloc) or parts.query or parts.fragment:
        raise ConfigError("site.output_dir", f"expected s3://bucket/prefix with a valid bucket name, got {raw!r}")
    if "\\" in prefix or (prefix and any(seg in ("", ".", "..") for seg in prefix.split("/"))):
        raise ConfigError("site.output_dir", f"the prefix must not have empty, '.' or '..' segments: {raw!r}")
    return f"s3://{parts.netloc}/{prefix}" if prefix else f"s3://{parts.netloc}"


def _parse_source(table: Any, index: int, root: Path) -> TagPageSource | FeedSource:
    where = f"sources[{index}]"
    if not isinstance(table, Mapping):
        raise ConfigError(where, "expected a table")
    kind = table.get("type")
    if kind == "tagpage":
        _check_keys(table, TAGPAGE_KEYS, where)
        paths = table.get("paths")
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
            raise ConfigError(f"{where}.paths", "expected a non-empty list of paths or globs")
        return TagPageSource(paths=tuple(paths), root=root)
    if kind == "feed":
        _check_keys(table, FEED_KEYS, where)
        url = table.get("url")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise ConfigError(f"{where}.url", f"expected an http(s) URL, got {url!r}")
        tags = table.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise ConfigError(f"{where}.tags", "expected a list of tag names")
        return FeedSource(
            url=url,
            tags=tuple(tags),
            every=parse_duration(table.get("every", "30m"), f"{where}.every"),
            max_bytes=_typed(table.get("max_bytes", 10 * 1024 * 1024), int, f"{where}.max_bytes"),
        )
    raise ConfigError(f"{where}.type", f"expected 'tagpage' or 'feed', got {kind!r}")


def parse_config(data: Mapping[str, Any], root: Path, path: Path | None = None) -> Config:
    """A validated ``Config`` from a TOML mapping; relative paths resolve against ``root``."""
    _check_keys(data, {"site", "schedule", "sources"}, "")
    site = data.get("site", {})
    schedule = data.get("schedule", {})
    sources = data.get("sources", [])
    if not isinstance(site, Mapping):
        raise ConfigError("site", "expected a table")
    if not isinstance(schedule, Mapping):
        raise ConfigError("schedule", "expected a table")
    _check_keys(schedule, SCHEDULE_SETTINGS, "schedule")
    if not isinstance(sources, list):
        raise ConfigError("sources", "expected an array of tables ([[sources]])")
    return Config(
        site=_parse_site(site, root),
        build_every=parse_duration(schedule.get("build_every", "15m"), "schedule.build_every"),
        sources=tuple(_parse_source(s, i, root) for i, s in enumerate(sources)),
        path=path,
    )


def env_overrides(data: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """``TAGFEED_BASE_URL`` and friends override the ``[site]`` key of the same name."""
    site = dict(data.get("site", {}))
    for key, (default, _) in SITE_SETTINGS.items():
        raw = environ.get(f"TAGFEED_{key.upper()}")
        if raw is None:
            continue
        if isinstance(default, int):
            try:
                site[key] = int(raw)
            except ValueError:
                raise ConfigError(f"TAGFEED_{key.upper()}", f"expected an integer, got {raw!r}") from None
        else:
            site[key] = raw
    return {**data, "site": site}


def default_config_path() -> Path:
    """The bundled default config: the one beside the seeds in the project tree."""
    return Path(__file__).resolve().parent.parent / "tagfeed.toml"


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (else ./tagfeed.toml, else the bundled default) and validate it."""
    if path is None:
        path = Path("tagfeed.toml") if Path("tagfeed.toml").is_file() else default_config_path()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    data = env_overrides(data, os.environ if environ is None else environ)
    return parse_config(data, root=path.resolve().parent, path=path.resolve())
