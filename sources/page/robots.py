"""robots.txt for page sources: the URL it lives at and whether it lets us fetch a page (pure)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))


def allowed(robots_txt: str, url: str, user_agent: str) -> bool:
    """Whether ``robots_txt`` lets ``user_agent`` fetch ``url``; an empty file allows everything."""
    parser = RobotFileParser()
    parser.parse(robots_txt.splitlines())
    return parser.can_fetch(user_agent.split("/")[0], url)
