"""Which tag-page dumps are settled in the store as they are now, so a rebuild can leave them be.

A build settles every article it reads (``pipeline.settle``). A dump whose bytes
(and the parser) are the same as when a completed build settled it gives the
same articles, which the store already holds as that build left them; reading
them again changes nothing unless another source gave one of them something new.
So a rebuild parses and settles only the dumps that changed, the feeds polled,
and, from the unchanged dumps, just the articles those also gave (merging is
per article, so the result for each of them is what a full read gives).

A marker per dump: its key (parser version + hash of its bytes) and the ids it
gave, in page order. A marker is written only after the build has stored that
dump's articles and sightings, so "marker matches" always means "in the store".
The source list's order is kept too: merging depends on the order sources are
read in, so a build whose list differs from the last one reads everything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path

import sources.model
import sources.tagpage
import sources.text
from tagfeed import __version__
from tagfeed.store.sqlite import Store

_ORDER_KEY = "settled_source_order"


@dataclass(frozen=True, slots=True)
class Marker:
    key: str
    ids: tuple[str, ...]  # page order, a headline given twice counted twice


@cache
def parser_version() -> str:
    """The parser's code and the article's fields: a change to either unsettles every dump."""
    digest = hashlib.blake2b(__version__.encode(), digest_size=16)
    digest.update(repr([f.name for f in fields(sources.model.Article)]).encode())
    for module in (sources.tagpage, sources.text, sources.model):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


def dump_key(data: bytes) -> str:
    """What a marker must match: the parser's version and the dump's bytes."""
    return f"{parser_version()}:{hashlib.blake2b(data, digest_size=16).hexdigest()}"


def order_key(names: Sequence[str]) -> str:
    return hashlib.blake2b("\n".join(names).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def load(store: Store) -> dict[str, Marker]:
    """Every dump's marker, by source name."""
    return {source: Marker(key, tuple(json.loads(ids))) for source, key, ids in store.settled_rows()}


def same_order(store: Store, names: Sequence[str]) -> bool:
    """True when the sources read are the ones the last completed build read, in the same order."""
    return store.get_meta(_ORDER_KEY) == order_key(names)


def save(store: Store, names: Sequence[str], markers: Iterable[tuple[str, Marker]],
         old: Iterable[str] = ()) -> None:
    """Record dumps settled by this build (call only once their articles and sightings are stored)
    and the sources it read; the markers in ``old`` of sources it did not read are dropped."""
    rows = [(source, m.key, json.dumps(m.ids, ensure_ascii=False)) for source, m in markers]
    read = set(names)
    store.put_settled(rows, [source for source in old if source not in read])
    store.set_meta(_ORDER_KEY, order_key(names))
