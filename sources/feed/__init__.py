"""External feeds (Atom 0.3/1.0, RSS 0.9x/1.0/2.0, JSON Feed 1.0/1.1) to articles: ``parse_feed``."""

from sources.feed.read import parse_feed

__all__ = ["parse_feed"]
