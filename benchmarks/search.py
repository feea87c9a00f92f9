"""Benchmark rows: search on a 25,000-article store, 1,000 generated queries (issue 17.5).

Run as ``python -m benchmarks.search [--articles N] [--queries Q] [--keep DIR]``. The store is
filled directly (what a ``tagfeed build`` of 1,000 synthetic tags stores: benchmarks/synth.py's
articles, two tags each), through ``Store.put_articles``, so the full-text index is the one the
store keeps. The queries are generated from the same vocabulary with a fixed seed, of every
kind: words, phrases, tags, OR, NOT, a regex, dates; the regex, NOT-only and date kinds are the
ones the index cannot narrow. Prints p50/p99/max milliseconds per kind and overall: a
measurement, not a timed test (there is no pass/fail).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from benchmarks import synth
from sources.model import Article, make_tag, uuid_urn
from tagfeed.commands.search import search
from tagfeed.store.sqlite import Store

BASE = datetime(2026, 1, 1, tzinfo=timezone.utc)
NOW = BASE + timedelta(days=1)
LIMIT = 50  # the server's result cap


def fill(store: Store, n_articles: int) -> float:
    """``n_articles`` synthetic articles (25 per tag, each on two tags' pages); seconds it took."""
    n_tags = max(2, n_articles // 25)
    tags: dict[int, list[int]] = {}
    for p, page in enumerate(synth.pages_of(n_tags)):
        for j in page:
            tags.setdefault(j, []).append(p)
    start = time.perf_counter()
    batch: list[Article] = []
    for j in range(n_articles):
        title, paragraphs = synth.article_text(j)
        when = BASE + timedelta(seconds=3 * j)  # the newest article a little before NOW
        batch.append(Article(id=uuid_urn(f"bench:{j}"), title=title, link=f"https://bench.example/{j}",
                             summary=paragraphs[0], paragraphs=tuple(paragraphs), published=when, updated=when,
                             tags=tuple(make_tag(synth.tag_name(p)) for p in tags.get(j, [0])),
                             source=f"dumps/{tags.get(j, [0])[0]:05d}.txt"))
        if len(batch) == 1000:
            store.put_articles(batch)
            batch = []
    store.put_articles(batch)
    return time.perf_counter() - start


def _word(rng: random.Random) -> str:
    return rng.choice(synth._WORDS)  # noqa: SLF001 - the vocabulary the articles are made of


KINDS: dict[str, Callable[[random.Random, int], str]] = {
    "word": lambda r, n: _word(r),
    "two words": lambda r, n: f"{_word(r)} {_word(r)}",
    "phrase": lambda r, n: f'"{_word(r)} {_word(r)}"',
    "rare word + title:": lambda r, n: f"title:{r.randrange(n)} {_word(r)}",
    "tag:": lambda r, n: f'tag:"{synth.tag_name(r.randrange(max(2, n // 25)))}"',
    "OR + NOT": lambda r, n: f"({_word(r)} OR {_word(r)}) -{_word(r)}",
    "tag: + word, newer:": lambda r, n: f'tag:"{synth.tag_name(r.randrange(max(2, n // 25)))}" {_word(r)} newer:7d',
    "no match (words)": lambda r, n: f"{_word(r)} zzyzx{r.randrange(1000)}",
    "regex only (scan)": lambda r, n: f"title:/story {r.randrange(n)}:/",
    "NOT only (scan)": lambda r, n: f"-{_word(r)}",
    "date only (scan)": lambda r, n: (BASE + timedelta(seconds=3 * r.randrange(n))).strftime("after:%Y-%m-%dT%H:%M:%SZ"),
}


def queries(count: int, n_articles: int, seed: int = 17) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    kinds = list(KINDS)
    return [(kind, KINDS[kind](rng, n_articles)) for kind in (kinds[i % len(kinds)] for i in range(count))]


def served(folder: Path, texts: list[str]) -> dict[str, list[float]]:
    """Milliseconds of ``GET /search.atom?q=`` through the real app (Flask's test client): the
    first answer (search and render) and the conditional one (If-None-Match: 304, no search)."""
    from urllib.parse import quote

    from server import create_app
    from tagfeed.config import load_config

    config_path = folder / "tagfeed.toml"
    config_path.write_text('[site]\ntitle = "bench"\nstate_dir = "."\noutput_dir = "output"\n', encoding="utf-8")
    client = create_app(load_config(config_path, environ={})).test_client()
    out: dict[str, list[float]] = {"server 200 (atom)": [], "server 304 (ETag)": []}
    for text in texts:
        url = "/search.atom?q=" + quote(text, safe=":/@!$'()*,;")
        start = time.perf_counter()
        first = client.get(url)
        out["server 200 (atom)"].append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
        out["server 304 (ETag)"].append((time.perf_counter() - start) * 1000)
        if (first.status_code, again.status_code) != (200, 304):
            raise SystemExit(f"{url}: {first.status_code} then {again.status_code}")
    return out


def _row(name: str, ms: list[float], found: list[int] | None) -> str:
    ms = sorted(ms)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return (f"| {name:<22} | {len(ms):>5} | {statistics.median(ms):>8.2f} | {p99:>8.2f} | {ms[-1]:>8.2f} | "
            f"{f'{statistics.mean(found):.1f}' if found else '-':>7} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=25_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--served", type=int, default=200, help="Of the queries, how many also go through the app.")
    parser.add_argument("--keep", type=Path, help="Put the store in this folder (else a temporary one).")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="tagfeed-search-bench-"))
    with Store(folder / "tagfeed.sqlite3") as store:
        if store.count_articles() != args.articles:
            print(f"filling {args.articles} articles: {fill(store, args.articles):.1f} s (index included)")
        timings: dict[str, list[float]] = {}
        found: dict[str, list[int]] = {}
        incomplete = 0
        for kind, text in queries(args.queries, args.articles):
            start = time.perf_counter()
            results = search(store, text, NOW, limit=LIMIT)
            timings.setdefault(kind, []).append((time.perf_counter() - start) * 1000)
            found.setdefault(kind, []).append(len(results.found))
            incomplete += not results.complete
    texts = [text for _, text in queries(args.queries, args.articles)][:args.served]
    http = served(folder, texts) if texts else {}
    print(f"\nsearch, {args.articles} articles, {args.queries} queries, at most {LIMIT} results each "
          f"(SQLite FTS5 narrows, matches decides)\n")
    print("| query kind             | count |  p50 ms  |  p99 ms  |  max ms  | results |")
    print("|------------------------|-------|----------|----------|----------|---------|")
    for kind in KINDS:
        print(_row(kind, timings[kind], found[kind]))
    print(_row("all queries", [t for ts in timings.values() for t in ts], [f for fs in found.values() for f in fs]))
    for name, ms in http.items():
        print(_row(name, ms, None))
    print(f"\nsearches stopped by the time budget: {incomplete}")


if __name__ == "__main__":
    main()
