"""The ``tagfeed`` command: thin click wrappers over library calls.

This is one of the two places (with ``server``) that turn a ``TagfeedError``
into something a person sees: one stderr line and an exit code.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from sources.model import Article
from sources.tagpage import read_tagpage
from tagfeed import __version__
from tagfeed.commands import settings_text
from tagfeed.config import Config, load_config
from tagfeed.settings import parse_duration, unknown_env
from tagfeed.errors import ConfigError, ExplainError, QueryError, TagfeedError
from tagfeed.explain import explain as explain_target
from tagfeed.commands.explain_text import render_lines
from tagfeed.commands.preview import preview as run_preview, preview_lines
from tagfeed.commands.search import MAX_RESULTS, search as run_search, search_facts, search_lines
from tagfeed.store.postgres import open_store
from tagfeed.building.pipeline import build as run_build
from tagfeed.commands.progress import LogAroundBar, TerminalProgress
from tagfeed.commands.subscriptions import import_opml as import_subscriptions


def _fail(error: TagfeedError) -> None:
    click.echo(f"tagfeed: error: {error}", err=True)


def _load(config_path: Path | None) -> Config:
    for line in unknown_env(os.environ):
        click.echo(f"tagfeed: warning: {line}", err=True)
    try:
        return load_config(config_path)
    except TagfeedError as exc:
        _fail(exc)
        raise SystemExit(2) from None


def article_json(article: Article) -> dict[str, Any]:
    """The model's fields as JSON: paragraphs as a list, tags as names and slugs."""
    data = dataclasses.asdict(article)
    data["paragraphs"] = list(article.paragraphs)
    data["tags"] = [{"name": t.name, "slug": t.slug} for t in article.tags]
    for key in ("published", "updated"):
        data[key] = data[key].isoformat() if data[key] else None
    return data


@click.group()
@click.version_option(__version__, prog_name="tagfeed")
def main() -> None:
    """Per-tag Atom, RSS and JSON feeds from tag-page dumps and external feeds."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request is noise


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per article and line.")
def parse(paths: tuple[Path, ...], as_json: bool) -> None:
    """Parse tag-page dumps and print their articles."""
    failed = False
    for path in paths:
        try:
            articles = read_tagpage(path)
        except TagfeedError as exc:
            _fail(exc)
            failed = True
            continue
        for article in articles:
            if as_json:
                click.echo(json.dumps(article_json(article), ensure_ascii=False))
            else:
                tags = ", ".join(t.name for t in article.tags)
                mark = " (teaser)" if article.truncated else ""
                click.echo(f"{path}: [{tags}] {article.title}{mark}")
    if failed:
        raise SystemExit(1)


@main.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="tagfeed.toml to use.")
@click.option("--strict", is_flag=True, help="Exit 1 when any source failed.")
@click.option("--fetch-all", is_flag=True,
              help="Also poll external feeds not due yet (never one that is gone, backing off or under Retry-After).")
def build(config_path: Path | None, strict: bool, fetch_all: bool) -> None:
    """Ingest every source once and write the output tree."""
    config = _load(config_path)
    # errors are echoed below, once (a NullHandler also keeps logging's last resort quiet)
    logging.getLogger("tagfeed.building.ingest").handlers[:] = [logging.NullHandler()]
    logging.getLogger("tagfeed.building.ingest").propagate = False
    progress = TerminalProgress()
    # the summary is the build's output: only warnings and errors beside it, drawn above the bar
    logging.getLogger().handlers[:] = [LogAroundBar(progress)]
    logging.getLogger().setLevel(logging.WARNING)
    try:
        report = run_build(config, progress=progress, fetch_all=fetch_all)
    except TagfeedError as exc:
        progress.close()
        _fail(exc)
        raise SystemExit(1) from None
    progress.close()
    for error in report.errors:
        click.echo(f"tagfeed: error: {error}", err=True)
    for warning in report.warnings:
        click.echo(f"tagfeed: warning: {warning}", err=True)
    click.echo(report.summary())
    click.echo(f"output: {config.site.output_url or config.site.output_dir}")
    if strict and report.errors:
        raise SystemExit(1)


@main.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="tagfeed.toml to use.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--no-schedule", is_flag=True, help="Build once at start, then never rebuild.")
def serve(config_path: Path | None, host: str, port: int, no_schedule: bool) -> None:
    """Build, serve the output tree over HTTP and rebuild it on the schedule."""
    import server  # only this command needs waitress; nothing imports server at import time

    config = _load(config_path)
    try:
        server.serve(config, host=host, port=port, schedule=not no_schedule)
    except OSError as exc:
        click.echo(f"tagfeed: error: cannot serve on {host}:{port}: {exc}", err=True)
        raise SystemExit(1) from None
    except TagfeedError as exc:
        _fail(exc)
        raise SystemExit(1) from None


@main.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="tagfeed.toml to use.")
@click.option("--name", help="This worker's name in the leases table (default: host:pid).")
@click.option("--lease", default="5m", show_default=True,
              help="How long a claimed feed stays this worker's; a dead worker's feeds move on after it.")
@click.option("--tick", default=1.0, show_default=True, type=click.FloatRange(0.05),
              help="Seconds between rounds when no feed is due.")
@click.option("--batch", default=10, show_default=True, type=click.IntRange(1),
              help="Feeds claimed and not yet fetched, at most.")
@click.option("--fetchers", default=4, show_default=True, type=click.IntRange(1),
              help="Fetches in flight at once (each of another host, on its own database connection).")
def work(config_path: Path | None, name: str | None, lease: str, tick: float, batch: int, fetchers: int) -> None:
    """Poll external feeds and build, as one of several workers sharing a PostgreSQL store."""
    from tagfeed.poll.shared import default_owner
    from tagfeed.worker import WorkerOptions, run_worker

    config = _load(config_path)
    try:
        options = WorkerOptions(owner=name or default_owner(), lease=parse_duration(lease, "--lease"),
                                tick=tick, batch=batch, fetchers=fetchers)
        run_worker(config, options)
    except TagfeedError as exc:
        _fail(exc)
        raise SystemExit(2 if isinstance(exc, ConfigError) else 1) from None


@main.command("import-opml")
@click.argument("opml_file", type=click.Path(path_type=Path))
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=Path("tagfeed.toml"),
              show_default=True, help="tagfeed.toml to append the feeds to (created if missing).")
def import_opml(opml_file: Path, config_path: Path) -> None:
    """Add every feed of an OPML subscription list as a [[sources]] block."""
    try:
        report = import_subscriptions(opml_file, config_path)
    except TagfeedError as exc:
        _fail(exc)
        raise SystemExit(1) from None
    for sub in report.added:
        click.echo(f"added {sub.url}")
    for url in report.skipped:
        click.echo(f"skipped {url} (already configured or not an http(s) URL)", err=True)
    click.echo(f"{len(report.added)} feeds added to {config_path}, {len(report.skipped)} skipped")


@main.command()
@click.argument("target")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="tagfeed.toml to use.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with the same facts, for scripts.")
def explain(target: str, config_path: Path | None, as_json: bool) -> None:
    """Say why an article or a source is where it is.

    TARGET is an article's id, title, link or page (articles/<hex>.html), a
    tag-page dump's path or a feed's URL.
    """
    config = _load(config_path)
    try:
        if not config.site.store and not (config.site.state_dir / "tagfeed.sqlite3").is_file():
            # explain writes nothing: opening SQLite here would create the store file
            raise ExplainError(target, f"no store in {config.site.state_dir} yet: run `tagfeed build` first")
        with open_store(config.site) as store:
            facts = explain_target(config, store, target, cwd=Path.cwd())
    except TagfeedError as exc:
        _fail(exc)
        raise SystemExit(1) from None
    if as_json:
        click.echo(json.dumps(facts, ensure_ascii=False, indent=2))
        return
    for line in render_lines(facts):
        click.echo(line)


@main.command()
@click.argument("folder", default=".", type=click.Path(path_type=Path, file_okay=False))
@click.option("--seeds", is_flag=True, help="Also copy the sample tag-page dumps and publish them.")
def init(folder: Path, seeds: bool) -> None:
    """Write a commented tagfeed.toml (every key with its default) into FOLDER, and with --seeds the seeds."""
    from tagfeed.commands.starter import init_project

    try:
        written = init_project(folder, seeds=seeds)
    except TagfeedError as exc:
        _fail(exc)
        raise SystemExit(1) from None
    for path in written:
        click.echo(f"wrote {path}")
    where = "" if folder == Path(".") else f"cd {folder} && "
    click.echo(f"next: {where}tagfeed build (or tagfeed serve)")


@main.command()
@click.argument("query")
@click.option("--source", "source", help="Judge QUERY as this source's keep/block rule (a feed URL or dump path).")
@click.option("--limit", type=click.IntRange(0, 1000), default=10, show_default=True, help="Newest matches shown.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="tagfeed.toml to use.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with the same facts, for scripts.")
def preview(query: str, source: str | None, limit: int, config_path: Path | None, as_json: bool) -> None:
    """Show what a view or rule QUERY would match among the stored articles; changes nothing."""
    config = _load(config_path)
    try:
        with open_store(config.site) as store:
            facts = run_preview(config, store, query, datetime.now(timezone.utc), source=source, limit=limit,
                                cwd=Path.cwd())
    except TagfeedError as exc:
        _fail(exc)
        raise SystemExit(2 if isinstance(exc, QueryError) else 1) from None
    click.echo(json.dumps(facts, ensure_ascii=False, indent=2) if as_json else "\n".join(preview_lines(facts)))


@main.command()
@click.argument("query")
@click.option("--limit", type=click.IntRange(0, MAX_RESULTS), default=20, show_default=True, help="Newest matches shown.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="tagfeed.toml to use.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with the same facts, for scripts.")
def search(query: str, limit: int, config_path: Path | None, as_json: bool) -> None:
    """Search the stored articles with QUERY (the language of views), newest first."""
    config = _load(config_path)
    try:
        with open_store(config.site) as store:
            facts = search_facts(run_search(store, query, datetime.now(timezone.utc), limit=limit))
    except TagfeedError as exc:
        _fail(exc)
        raise SystemExit(2 if isinstance(exc, QueryError) else 1) from None
    click.echo(json.dumps(facts, ensure_ascii=False, indent=2) if as_json else "\n".join(search_lines(facts)))


@main.command()
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
@click.option("--select", "select", multiple=True, metavar="FIELD=CSS",
              help="Pin a selector as the config's select would (item=..., title=...); repeatable.")
def probe(target: str, as_json: bool, select: tuple[str, ...]) -> None:
    """Show what a page source would publish from TARGET (a URL or a saved page); writes nothing."""
    from tagfeed.commands.probe import probe as run_probe, probe_json, probe_lines

    pinned = dict(s.partition("=")[::2] for s in select)
    try:
        page = run_probe(target, pinned or None)
    except (TagfeedError, ValueError) as exc:
        click.echo(f"tagfeed: error: {exc}", err=True)
        raise SystemExit(1) from None
    if as_json:
        click.echo(json.dumps(probe_json(page), ensure_ascii=False, indent=2))
    else:
        for line in probe_lines(page):
            click.echo(line)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="A JSON array of the settings, for scripts.")
@click.option("--markdown", is_flag=True, help="The Markdown table of the README's Settings section.")
def settings(as_json: bool, markdown: bool) -> None:
    """List every configuration key: its default, type, environment variable and help."""
    if as_json:
        click.echo(json.dumps(settings_text.as_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(settings_text.markdown() if markdown else settings_text.plain(), nl=False)
