"""``GET /metrics``: tagfeed in the Prometheus text format, through prometheus_client.

Per source (label ``source``: the feed URL, or the dump's path relative to the config): the
state and schedule from the store, read at scrape time, and the fetches this process made
(``tagfeed.metrics.RECORDER``); per build: the last report; per request: a counter the server
increments (``Requests``: one pre-made child per status and kind, so a request costs one
counter increment and no label look-up). Off unless ``site.metrics`` is true.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tagfeed.building.incidents import display_name
from tagfeed.config import Config
from tagfeed.errors import TagfeedError
from tagfeed.metrics import RECORDER, Recorder
from tagfeed.store.postgres import open_store
from tagfeed.store.sqlite import SourceState

STATES = ("ok", "error", "backoff", "gone", "warning")


def _ts(moment: Any) -> float:
    return float(moment.timestamp())


class SourcesCollector(Collector):
    """Per-source and per-build metrics, made at each scrape from the store and the recorder."""

    def __init__(self, config: Config, recorder: Recorder = RECORDER) -> None:
        self.config, self.recorder = config, recorder
        self.root: Path | None = config.path.parent if config.path else None

    def collect(self) -> Iterator[Metric]:
        try:
            with open_store(self.config.site) as store:
                states = store.sources()
        except TagfeedError:
            states = []
        fetched, report, builds = self.recorder.snapshot()
        label = ["source"]
        last_ok = GaugeMetricFamily("tagfeed_source_last_success_timestamp_seconds",
                                    "When the source was last read or polled without error", labels=label)
        failures = GaugeMetricFamily("tagfeed_source_consecutive_failures", "Failed reads since the last success",
                                     labels=label)
        state = GaugeMetricFamily("tagfeed_source_state", "1 for the source's current state", labels=["source", "state"])
        articles = GaugeMetricFamily("tagfeed_source_articles", "Articles the source gave when last read",
                                     labels=label)
        next_fetch = GaugeMetricFamily("tagfeed_source_next_fetch_timestamp_seconds",
                                       "When the feed is polled next (absent when gone)", labels=label)
        backoff = GaugeMetricFamily("tagfeed_source_backoff_until_timestamp_seconds",
                                    "Until when a failing feed waits: its Retry-After or error backoff", labels=label)
        for s in states:
            name = display_name(s.name, self.root)
            if s.last_ok is not None:
                last_ok.add_metric([name], _ts(s.last_ok))
            failures.add_metric([name], s.error_count)
            for each in STATES:
                state.add_metric([name, each], 1.0 if s.state == each else 0.0)
            articles.add_metric([name], s.article_count)
            if s.kind == "feed" and s.next_fetch is not None and s.state != "gone":
                next_fetch.add_metric([name], _ts(s.next_fetch))
            if until := _waiting_until(s):
                backoff.add_metric([name], until)
        yield from (last_ok, failures, state, articles, next_fetch, backoff)
        yield from self._fetches(fetched)
        yield from self._build(report, builds)

    def _fetches(self, fetched: dict[str, Any]) -> Iterator[Metric]:
        fetches = CounterMetricFamily("tagfeed_source_fetches", "HTTP fetches by status class (none: no answer)",
                                      labels=["source", "class"])
        share = GaugeMetricFamily("tagfeed_source_not_modified_ratio", "Share of fetches answered 304",
                                  labels=["source"])
        size = CounterMetricFamily("tagfeed_source_fetched_bytes", "Body bytes fetched", labels=["source"])
        for url, counters in sorted(fetched.items()):
            for cls, count in sorted(counters.fetches.items()):
                fetches.add_metric([url, cls], count)
            total = sum(counters.fetches.values())
            share.add_metric([url], counters.not_modified / total if total else 0.0)
            size.add_metric([url], counters.bytes)
        yield from (fetches, share, size)

    def _build(self, report: Any, builds: Any) -> Iterator[Metric]:
        runs = CounterMetricFamily("tagfeed_builds", "Builds this process ran, by outcome", labels=["outcome"])
        for outcome in ("ok", "failed"):
            runs.add_metric([outcome], builds.get(outcome, 0))
        yield runs
        if report is None:
            return
        stage = GaugeMetricFamily("tagfeed_build_stage_duration_seconds", "Wall time of each stage of the last build",
                                  labels=["stage"])
        for name, seconds in report.stages:
            stage.add_metric([name], seconds)
        files = GaugeMetricFamily("tagfeed_build_files", "Files of the last build (.gz twins included)",
                                  labels=["outcome"])
        files.add_metric(["written"], len(report.written))
        files.add_metric(["unchanged"], report.unchanged)
        errors = GaugeMetricFamily("tagfeed_build_errors", "Source errors in the last build")
        errors.add_metric([], len(report.errors))
        totals = GaugeMetricFamily("tagfeed_build_articles", "Articles of the last build", labels=["kind"])
        for kind, value in (("read", report.articles_seen), ("new", report.articles_new),
                            ("published", report.articles_total)):
            totals.add_metric([kind], value)
        read = GaugeMetricFamily("tagfeed_source_articles_read", "Articles each source gave in the last build",
                                 labels=["source"])
        for name, count in report.read_by_source:
            read.add_metric([display_name(name, self.root)], count)
        when = GaugeMetricFamily("tagfeed_build_last_timestamp_seconds", "When the last build started")
        when.add_metric([], _ts(report.started))
        yield from (stage, files, errors, totals, read, when)


def _waiting_until(state: SourceState) -> float | None:
    """The Retry-After a 429/503 asked for, or the error backoff in effect; None when not waiting."""
    if state.state == "gone" or not state.error_count:
        return None
    moment = state.retry_after or state.next_fetch
    return _ts(moment) if moment is not None else None


class Requests:
    """``tagfeed_http_requests_total{status, kind}``: children made once per pair, then one increment."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.counter = Counter("tagfeed_http_requests", "Requests answered, by status and file kind",
                               ["status", "kind"], registry=registry)
        self._children: dict[tuple[str, str], Any] = {}

    def count(self, status: str, kind: str) -> None:
        child = self._children.get((status, kind))
        if child is None:
            child = self._children.setdefault((status, kind), self.counter.labels(status, kind))
        child.inc()


def metrics_registry(config: Config) -> tuple[CollectorRegistry, Requests]:
    """The registry /metrics exposes: the sources, the builds and the requests of this server."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SourcesCollector(config))
    return registry, Requests(registry)
