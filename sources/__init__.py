"""Source adapters: each turns one kind of input into ``Article`` values."""

from sources.model import Article, Tag

__all__ = ["Article", "Tag"]
