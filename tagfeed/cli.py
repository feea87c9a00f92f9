"""The ``tagfeed`` command: thin click wrappers over library calls.

This is one of the two places (with ``server``) that turn a ``TagfeedError``
into something a person sees: one stderr line and an exit code.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from sources.model import Article
from sources.tagpage import read_tagpage
from tagfeed import __version__
from tagfeed.config import Config, load_config
from tagfeed.errors import TagfeedError
from tagfeed.pipeline import build as run_build


def _fail(error: TagfeedError) -> None:
    click.echo(f"tagfeed: error: {error}", err=True)


def _load(config_path: Path | None) -> Config:
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
def build(config_path: Path | None, strict: bool) -> None:
    """Ingest every source once and write the output tree."""
    config = _load(config_path)
    logging.getLogger("tagfeed.build").handlers[:] = []  # errors are echoed below, once
    logging.getLogger("tagfeed.build").propagate = False
    try:
        report = run_build(config, progress=lambda m: click.echo(m, err=True))
    except TagfeedError as exc:
        _fail(exc)
        raise SystemExit(1) from None
    for error in report.errors:
        click.echo(f"tagfeed: error: {error}", err=True)
    click.echo(report.summary())
    click.echo(f"output: {config.site.output_dir}")
    if strict and report.errors:
        raise SystemExit(1)
