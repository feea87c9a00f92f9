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

KINDS = ("string", "integer", "duration", "list of strings", "boolean", "table of strings")  # what ``typed`` checks


@dataclass(frozen=True, slots=True)
class Setting:
    """One key of tagfeed.toml. ``default`` is written as in the file (``"30m"``, not 1800);
    None means the key is required. ``table`` is "site", "schedule", or the ``type`` of a
    ``[[sources]]`` table ("feed", "tagpage")."""

    table: str
    key: str
    default: Any
    kind: str
    help: str

    @property
    def name(self) -> str:
        return f"{self.table}.{self.key}"

    @property
    def env(self) -> str:
        """Only ``[site]`` keys can be set from the environment."""
        return f"TAGFEED_{self.key.upper()}" if self.table == "site" else ""


# The one place a key is defined: its default, type and help. The dataclasses below, the parser,
# the environment overrides, ``tagfeed settings`` and the README's Settings table all read it.
SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting("site", "title", "tagfeed", "string", "site title, shown in every feed title"),
    Setting("site", "base_url", "http://127.0.0.1:8080/", "string",
            "absolute http(s) URL the output tree is served at; unset, `serve` uses the address it listens on"),
    Setting("site", "output_dir", "output", "string",
            "where the feeds are written: a local directory, or s3://bucket/prefix"),
    Setting("site", "state_dir", ".tagfeed", "string", "SQLite store; never under output_dir"),
    Setting("site", "max_items", 50, "integer", "entries per feed"),
    Setting("site", "cache_max_age", 300, "integer", "Cache-Control max-age the server sends, in seconds"),
    Setting("site", "archive_page_size", 50, "integer", "entries per RFC 5005 archive page of a tag's Atom feed"),
    Setting("site", "websub_hub", "", "string",
            "WebSub hub URL to announce in every feed and ping after a build; empty = off"),
    Setting("site", "s3_endpoint_url", "", "string",
            "endpoint of an S3-compatible store (MinIO, Ceph, R2) for s3:// output; empty = AWS"),
    Setting("site", "store", "", "string",
            "postgresql://user:password@host/db for state shared by several machines; empty = SQLite in state_dir"),
    Setting("site", "host_gap", 1, "integer",
            "seconds between two requests to one upstream host (one request at a time per host)"),
    Setting("site", "allow_private_hosts", False, "boolean",
            "let links from pages (full text) and redirects reach loopback, private and link-local addresses"),
    Setting("schedule", "build_every", "15m", "duration", "how often `serve` rebuilds the feeds"),
    Setting("tagpage", "paths", None, "list of strings",
            "tag-page dumps to read: paths or globs, relative to the config"),
    Setting("feed", "url", None, "string", "http(s) URL of an RSS, Atom or JSON feed"),
    Setting("feed", "tags", [], "list of strings", "tags given to every entry, besides the entries' own categories"),
    Setting("feed", "every", "30m", "duration",
            "how often the feed is polled; its Cache-Control, Expires or RSS ttl can stretch that"),
    Setting("feed", "max_bytes", 10 * 1024 * 1024, "integer", "largest (decompressed) body read, in bytes"),
    Setting("page", "url", None, "string", "http(s) URL of an HTML listing page (a tag, topic, section or author page)"),
    Setting("page", "tags", [], "list of strings", "tags given to every item; empty: the page's own name (its h1 or title)"),
    Setting("page", "every", "30m", "duration", "how often the page is fetched"),
    Setting("page", "select", {}, "table of strings",
            "CSS selectors overriding detection: item (required), title, link, summary, date, image"),
    Setting("page", "fulltext", False, "boolean", "fetch each new item's page once for its main text (trafilatura); the teaser stays if that fails"),
    Setting("page", "prefer_feed", False, "boolean", "use the page's own RSS/Atom feed when it declares one"),
    Setting("page", "max_bytes", 5 * 1024 * 1024, "integer", "largest (decompressed) page read, in bytes"),
)}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")  # S3's bucket naming rules


def table_settings(table: str) -> dict[str, Setting]:
    """The settings of one table, by key, in the order they are documented."""
    return {s.key: s for s in SETTINGS.values() if s.table == table}


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


def typed(setting: Setting, value: Any, where: str) -> Any:
    """``value`` of ``setting`` checked against its kind, as the dataclasses hold it."""
    if setting.kind == "duration":
        return parse_duration(value, where)
    if setting.kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(where, f"expected an integer, got {value!r}")
    if setting.kind == "string" and not isinstance(value, str):
        raise ConfigError(where, f"expected a string, got {value!r}")
    if setting.kind == "boolean" and not isinstance(value, bool):
        raise ConfigError(where, f"expected true or false, got {value!r}")
    if setting.kind == "table of strings":
        if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
            raise ConfigError(where, f"expected a table of strings, got {value!r}")
        return tuple((str(k), v) for k, v in value.items())
    if setting.kind == "list of strings":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(where, f"expected a list of strings, got {value!r}")
        return tuple(value)
    return value


def default(name: str) -> Any:
    """What a config without the key ``name`` gets, parsed (``feed.every`` → 1800)."""
    setting = SETTINGS[name]
    return typed(setting, setting.default, name)


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteConfig:
    title: str = default("site.title")
    base_url: str = default("site.base_url")
    # whether the operator chose base_url (the file or TAGFEED_BASE_URL): if not, ``serve`` puts its own address
    base_url_explicit: bool = False
    output_dir: Path
    state_dir: Path
    max_items: int = default("site.max_items")
    cache_max_age: int = default("site.cache_max_age")
    archive_page_size: int = default("site.archive_page_size")
    websub_hub: str = default("site.websub_hub")
    s3_endpoint_url: str = default("site.s3_endpoint_url")
    store: str = default("site.store")  # a postgresql:// URL (tagfeed/store/postgres.py), or "" for SQLite in state_dir
    host_gap: int = default("site.host_gap")  # seconds between requests to one upstream host (sources/hostgate.py)
    allow_private_hosts: bool = default("site.allow_private_hosts")  # sources/addresses.py
    # "s3://bucket/prefix" when output_dir names an object store (tagfeed.building.publish); output_dir
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
    tags: tuple[str, ...] = default("feed.tags")
    every: int = default("feed.every")
    max_bytes: int = default("feed.max_bytes")

    @property
    def name(self) -> str:
        return self.url


@dataclass(frozen=True, slots=True)
class PageSource:
    """An HTML listing page polled like a feed (sources/page/): its items become articles."""

    url: str
    tags: tuple[str, ...] = default("page.tags")
    every: int = default("page.every")
    select: tuple[tuple[str, str], ...] = default("page.select")  # (field, CSS selector) pairs
    fulltext: bool = default("page.fulltext")
    prefer_feed: bool = default("page.prefer_feed")
    max_bytes: int = default("page.max_bytes")

    @property
    def name(self) -> str:
        return self.url


Source = TagPageSource | FeedSource | PageSource


@dataclass(frozen=True, slots=True)
class Config:
    site: SiteConfig
    build_every: int = default("schedule.build_every")
    sources: tuple[Source, ...] = ()
    path: Path | None = field(default=None, compare=False)


def _check_keys(table: Mapping[str, Any], allowed: set[str] | Mapping[str, Any], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}.{key}" if where else key, "unknown key")


def _parse_site(table: Mapping[str, Any], root: Path) -> SiteConfig:
    settings = table_settings("site")
    _check_keys(table, settings, "site")
    values = {k: typed(s, table.get(k, s.default), s.name) for k, s in settings.items()}
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
    values.update(output_dir=output_dir, state_dir=state_dir, output_url=output_url,
                  base_url_explicit="base_url" in table)  # env_overrides put TAGFEED_BASE_URL here too
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


def _parse_source(table: Any, index: int, root: Path) -> Source:
    where = f"sources[{index}]"
    if not isinstance(table, Mapping):
        raise ConfigError(where, "expected a table")
    kind = table.get("type")
    if kind == "tagpage":
        _check_keys(table, {"type", *table_settings("tagpage")}, where)
        paths = table.get("paths")
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
            raise ConfigError(f"{where}.paths", "expected a non-empty list of paths or globs")
        return TagPageSource(paths=tuple(paths), root=root)
    if kind in ("feed", "page"):
        settings = table_settings(kind)
        _check_keys(table, {"type", *settings}, where)
        url = table.get("url")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise ConfigError(f"{where}.url", f"expected an http(s) URL, got {url!r}")
        tags = table.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise ConfigError(f"{where}.tags", "expected a list of tag names")
        given = {k: typed(s, table[k], f"{where}.{k}") for k, s in settings.items() if k in table and k != "url"}
        if kind == "feed":
            return FeedSource(url=url, **given)  # a key not given takes the dataclass's default, from SETTINGS
        if given.get("select"):
            _check_selectors(dict(given["select"]), f"{where}.select")
        return PageSource(url=url, **given)
    raise ConfigError(f"{where}.type", f"expected 'tagpage', 'feed' or 'page', got {kind!r}")


def _check_selectors(select: dict[str, str], where: str) -> None:
    from sources.page.select import parse_selectors  # cssselect only for configs that pin selectors

    try:
        parse_selectors(select, where)
    except ValueError as exc:
        key, _, reason = str(exc).partition(": ")
        raise ConfigError(key, reason) from None


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
    settings = table_settings("schedule")
    _check_keys(schedule, settings, "schedule")
    if not isinstance(sources, list):
        raise ConfigError("sources", "expected an array of tables ([[sources]])")
    return Config(
        site=_parse_site(site, root),
        sources=tuple(_parse_source(s, i, root) for i, s in enumerate(sources)),
        **{k: typed(s, schedule[k], s.name) for k, s in settings.items() if k in schedule},
        path=path,
    )


def env_overrides(data: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """``TAGFEED_BASE_URL`` and friends override the ``[site]`` key of the same name."""
    site = dict(data.get("site", {}))
    for key, setting in table_settings("site").items():
        raw = environ.get(setting.env)
        if raw is None:
            continue
        if setting.kind == "integer":
            try:
                site[key] = int(raw)
            except ValueError:
                raise ConfigError(setting.env, f"expected an integer, got {raw!r}") from None
        elif setting.kind == "boolean":
            if raw.strip().lower() not in ("true", "false", "1", "0"):
                raise ConfigError(setting.env, f"expected true or false, got {raw!r}")
            site[key] = raw.strip().lower() in ("true", "1")
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
