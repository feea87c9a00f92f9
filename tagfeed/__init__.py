"""tagfeed: per-tag Atom, RSS and JSON feeds from tag-page dumps and external feeds."""

__version__ = "0.1.0"
