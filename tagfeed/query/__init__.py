"""The query language of views, rules, ``preview`` and search: parse once, match many.

Pure: no store, no clock (``now`` comes in), no I/O. ``parse_query`` raises
``QueryError`` naming the position; ``matches`` says which terms made an
article match (``Why``), or None.
"""

from tagfeed.query.match import Hit, Why, matches, select
from tagfeed.query.nodes import And, DateTerm, Not, Or, Query, RegexTerm, SourceTerm, TagTerm, WordsTerm
from tagfeed.query.parse import MAX_QUERY, parse_query

__all__ = ["And", "DateTerm", "Hit", "MAX_QUERY", "Not", "Or", "Query", "RegexTerm", "SourceTerm", "TagTerm",
           "Why", "WordsTerm", "matches", "parse_query", "select"]
