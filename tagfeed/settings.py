"""The settings table: every key tagfeed reads, each with its one default, kind, variable and help.

``tagfeed.config`` parses the file with it, ``tagfeed settings`` prints it and
``tagfeed init`` writes it as a commented ``tagfeed.toml``; a test holds the
README's table equal to it. ``typed`` checks a value against its kind, and
``env_overrides`` applies the ``TAGFEED_*`` variables of the ``[site]`` keys.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tagfeed.errors import ConfigError, QueryError
from tagfeed.query import Query, parse_query

KINDS = ("string", "integer", "duration", "list of strings", "boolean", "table of strings", "query")  # what ``typed`` checks


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
    Setting("site", "keep", "", "query", "every source publishes only the articles matching this query; empty = all"),
    Setting("site", "block", "", "query", "no source publishes the articles matching this query; empty = none"),
    Setting("site", "metrics", False, "boolean",
            "serve Prometheus metrics at /metrics (per source, per build, per request), on serve's host and port"),
    Setting("schedule", "build_every", "15m", "duration", "how often `serve` rebuilds the feeds"),
    Setting("tagpage", "paths", None, "list of strings",
            "tag-page dumps to read: paths or globs, relative to the config"),
    Setting("tagpage", "keep", "", "query",
            "publish only this source's articles that match this query (README: Views); empty = all"),
    Setting("tagpage", "block", "", "query", "do not publish this source's articles that match this query; empty = none"),
    Setting("feed", "url", None, "string", "http(s) URL of an RSS, Atom or JSON feed"),
    Setting("feed", "tags", [], "list of strings", "tags given to every entry, besides the entries' own categories"),
    Setting("feed", "every", "30m", "duration",
            "how often the feed is polled; its Cache-Control, Expires or RSS ttl can stretch that"),
    Setting("feed", "max_bytes", 10 * 1024 * 1024, "integer", "largest (decompressed) body read, in bytes"),
    Setting("feed", "keep", "", "query",
            "publish only this source's articles that match this query (README: Views); empty = all"),
    Setting("feed", "block", "", "query", "do not publish this source's articles that match this query; empty = none"),
    Setting("page", "url", None, "string", "http(s) URL of an HTML listing page (a tag, topic, section or author page)"),
    Setting("page", "tags", [], "list of strings", "tags given to every item; empty: the page's own name (its h1 or title)"),
    Setting("page", "every", "30m", "duration", "how often the page is fetched"),
    Setting("page", "select", {}, "table of strings",
            "CSS selectors overriding detection: item (required), title, link, summary, date, image"),
    Setting("page", "fulltext", False, "boolean",
            "fetch each new item's page once for its main text (trafilatura); the teaser stays if that fails"),
    Setting("page", "prefer_feed", False, "boolean", "use the page's own RSS/Atom feed when it declares one"),
    Setting("page", "max_bytes", 5 * 1024 * 1024, "integer", "largest (decompressed) page read, in bytes"),
    Setting("page", "keep", "", "query",
            "publish only this source's articles that match this query (README: Views); empty = all"),
    Setting("page", "block", "", "query", "do not publish this source's articles that match this query; empty = none"),
    Setting("views", "name", None, "string", "a view's title; its feeds are views/<slug of the name>.atom .rss .json .html"),
    Setting("views", "query", None, "string",
            "which articles the view publishes, in the query language (README: Views), e.g. 'tag:a OR tag:b -sport'"),
)}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_BOOLEANS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


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
    if setting.kind == "boolean" and not isinstance(value, bool):
        raise ConfigError(where, f"expected true or false, got {value!r}")
    if setting.kind == "string" and not isinstance(value, str):
        raise ConfigError(where, f"expected a string, got {value!r}")
    if setting.kind == "table of strings":
        if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
            raise ConfigError(where, f"expected a table of strings, got {value!r}")
        return tuple((str(k), v) for k, v in value.items())
    if setting.kind == "query":
        return parse_rule(value, where)
    if setting.kind == "list of strings":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(where, f"expected a list of strings, got {value!r}")
        return tuple(value)
    return value


def parse_rule(value: Any, where: str) -> Query | None:
    """A keep/block query; "" is no rule. A query that does not parse names its position."""
    if not isinstance(value, str):
        raise ConfigError(where, f"expected a query string, got {value!r}")
    if not value.strip():
        return None
    try:
        return parse_query(value)
    except QueryError as exc:
        raise ConfigError(where, f"position {exc.position}: {exc.reason}") from None


def default(name: str) -> Any:
    """What a config without the key ``name`` gets, parsed (``feed.every`` → 1800)."""
    setting = SETTINGS[name]
    return typed(setting, setting.default, name)


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
            if raw.strip().lower() not in _BOOLEANS:
                raise ConfigError(setting.env, f"expected true or false (1/0, yes/no), got {raw!r}")
            site[key] = _BOOLEANS[raw.strip().lower()]
        else:
            site[key] = raw
    return {**data, "site": site}


def unknown_env(environ: Mapping[str, str]) -> list[str]:
    """A warning for each ``TAGFEED_*`` variable that is no setting (a typo is otherwise silently ignored)."""
    known = {s.env for s in SETTINGS.values() if s.env}
    lines = []
    for name in sorted(n for n in environ if n.startswith("TAGFEED_") and n not in known):
        close = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        lines.append(f"environment: {name} is not a tagfeed setting{hint}; ignored")
    return lines
