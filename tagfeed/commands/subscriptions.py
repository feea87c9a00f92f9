"""Importing subscriptions: OPML outlines with an ``xmlUrl`` become ``[[sources]]`` feed blocks.

The config file is only ever appended to, so the user's comments and layout
survive; the result is validated before a byte is written. OPML is parsed
with defusedxml (no entities, no external references).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree

from tagfeed.config import FeedSource, parse_config
from tagfeed.errors import ConfigError, OpmlError


@dataclass(frozen=True, slots=True)
class Subscription:
    url: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class ImportReport:
    added: tuple[Subscription, ...]
    skipped: tuple[str, ...]  # already configured, or not http(s)


def read_opml(path: Path) -> list[Subscription]:
    """Every outline with an ``xmlUrl``, at any depth (folders nest them), in document order."""
    try:
        root = defusedxml.ElementTree.parse(path).getroot()
    except OSError as exc:
        raise OpmlError(str(path), f"cannot read: {exc.strerror or exc}") from None
    except (ParseError, defusedxml.DefusedXmlException) as exc:
        raise OpmlError(str(path), f"not well-formed OPML: {exc}") from None
    if root is None or root.tag != "opml" or root.find("body") is None:
        raise OpmlError(str(path), "not an OPML document (no <opml> with a <body>)")
    return [_subscription(o) for o in root.iter("outline") if _xml_url(o)]


def _xml_url(outline: Element) -> str:
    for key, value in outline.attrib.items():
        if key.lower() == "xmlurl":
            return value.strip()
    return ""


def _subscription(outline: Element) -> Subscription:
    title = outline.get("title") or outline.get("text") or ""
    return Subscription(url=_xml_url(outline), title=" ".join(title.split()))


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def feed_block(subscription: Subscription) -> str:
    comment = f"# {subscription.title}\n" if subscription.title else ""
    return f'\n{comment}[[sources]]\ntype = "feed"\nurl = {toml_string(subscription.url)}\n'


def import_opml(opml_path: Path, config_path: Path) -> ImportReport:
    """Append a feed block to ``config_path`` for each new subscription in ``opml_path``."""
    subscriptions = read_opml(opml_path)
    text = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
    known = _configured_urls(text, config_path)
    added: list[Subscription] = []
    skipped: list[str] = []
    for sub in subscriptions:
        parts = urlsplit(sub.url)
        if sub.url in known or parts.scheme not in ("http", "https") or not parts.netloc:
            skipped.append(sub.url)
            continue
        known.add(sub.url)
        added.append(sub)
    if added:
        addition = ("" if not text or text.endswith("\n") else "\n") + "".join(map(feed_block, added))
        _configured_urls(text + addition, config_path)  # refuse to write a config that would not load
        with config_path.open("a", encoding="utf-8") as handle:
            handle.write(addition)
    return ImportReport(added=tuple(added), skipped=tuple(skipped))


def _configured_urls(text: str, config_path: Path) -> set[str]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(config_path), f"not valid TOML: {exc}") from None
    config = parse_config(data, root=config_path.resolve().parent, path=config_path)
    return {s.url for s in config.sources if isinstance(s, FeedSource)}
