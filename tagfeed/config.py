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

from sources.model import slugify
from tagfeed.errors import ConfigError, QueryError
from tagfeed.query import Query, parse_query
from tagfeed.settings import default, env_overrides, parse_rule, table_settings, typed

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")  # S3's bucket naming rules


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
    metrics: bool = default("site.metrics")  # GET /metrics under serve (tagfeed/serving/metrics.py)
    keep: Query | None = default("site.keep")  # rules every source's articles pass at ingest (building/rules.py)
    block: Query | None = default("site.block")
    allow_private_hosts: bool = default("site.allow_private_hosts")  # sources/addresses.py
    # "s3://bucket/prefix" when output_dir names an object store (tagfeed.building.publish); output_dir
    # is then a local path nothing writes to, so ``serve`` serves nothing of its own.
    output_url: str = ""


@dataclass(frozen=True, slots=True)
class TagPageSource:
    paths: tuple[str, ...]
    root: Path
    keep: Query | None = default("tagpage.keep")
    block: Query | None = default("tagpage.block")

    @property
    def name(self) -> str:
        return "tagpage:" + ",".join(self.paths)


@dataclass(frozen=True, slots=True)
class FeedSource:
    url: str
    tags: tuple[str, ...] = default("feed.tags")
    every: int = default("feed.every")
    max_bytes: int = default("feed.max_bytes")
    keep: Query | None = default("feed.keep")
    block: Query | None = default("feed.block")

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
    keep: Query | None = default("page.keep")
    block: Query | None = default("page.block")

    @property
    def name(self) -> str:
        return self.url


Source = TagPageSource | FeedSource | PageSource


@dataclass(frozen=True, slots=True)
class View:
    """A feed of a query's matches, published like a tag's (``[[views]]``)."""

    name: str
    query: Query

    @property
    def slug(self) -> str:
        return slugify(self.name)


@dataclass(frozen=True, slots=True)
class Config:
    site: SiteConfig
    build_every: int = default("schedule.build_every")
    sources: tuple[Source, ...] = ()
    views: tuple[View, ...] = ()
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
    if values["cache_max_age"] < 0:
        raise ConfigError("site.cache_max_age", "must be 0 or more seconds")
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
        rules = {k: parse_rule(table[k], f"{where}.{k}") for k in ("keep", "block") if k in table}
        return TagPageSource(paths=tuple(paths), root=root, **rules)
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


def _parse_views(tables: Any) -> tuple[View, ...]:
    if not isinstance(tables, list):
        raise ConfigError("views", "expected an array of tables ([[views]])")
    views: dict[str, View] = {}
    for index, table in enumerate(tables):
        where = f"views[{index}]"
        if not isinstance(table, Mapping):
            raise ConfigError(where, "expected a table")
        _check_keys(table, table_settings("views"), where)
        name, text = (table.get(k) for k in ("name", "query"))
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}.name", "expected the view's name")
        if not isinstance(text, str):
            raise ConfigError(f"{where}.query", f"view {name!r}: expected a query string")
        try:
            view = View(name=name.strip(), query=parse_query(text))
        except QueryError as exc:
            raise ConfigError(f"{where}.query", f"view {name!r}: position {exc.position}: {exc.reason}") from None
        if view.slug in views:
            raise ConfigError(f"{where}.name", f"view {name!r} has the slug of view {views[view.slug].name!r}")
        views[view.slug] = view
    return tuple(views.values())


def parse_config(data: Mapping[str, Any], root: Path, path: Path | None = None) -> Config:
    """A validated ``Config`` from a TOML mapping; relative paths resolve against ``root``."""
    _check_keys(data, {"site", "schedule", "sources", "views"}, "")
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
        views=_parse_views(data.get("views", [])),
        **{k: typed(s, schedule[k], s.name) for k, s in settings.items() if k in schedule},
        path=path,
    )


def default_config_path() -> Path:
    """The bundled default config: the one beside the seeds in a source checkout (an installed
    wheel has none; ``tagfeed init`` writes one)."""
    return Path(__file__).resolve().parent.parent / "tagfeed.toml"


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (else ./tagfeed.toml, else the bundled default) and validate it."""
    if path is None:
        path = Path("tagfeed.toml") if Path("tagfeed.toml").is_file() else default_config_path()
        if not path.is_file():  # an installed tagfeed, outside a checkout: nothing to fall back on
            raise ConfigError("tagfeed.toml", f"no config file in {Path.cwd()}: run `tagfeed init` to write one "
                                              "(`tagfeed init --seeds` with sample sources), or pass --config FILE")
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
