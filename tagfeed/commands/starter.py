"""``tagfeed init``: a folder a normal (non-editable) install can build and serve.

The config is written from the SETTINGS table (``settings_text.toml``); the seeds come from the
package data (``tagfeed/data/seeds``), so nothing depends on a source checkout.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from tagfeed.commands import settings_text
from tagfeed.errors import ConfigError


def seed_files() -> dict[str, bytes]:
    """The bundled seed dumps by file name."""
    folder = resources.files("tagfeed.data") / "seeds"
    return {entry.name: entry.read_bytes() for entry in folder.iterdir() if entry.name.endswith(".txt")}


def init_project(folder: Path, *, seeds: bool) -> list[Path]:
    """Write ``folder/tagfeed.toml`` (and with ``seeds`` ``folder/seeds/*.txt``); the paths written.
    An existing tagfeed.toml or seed file is never overwritten."""
    config = folder / "tagfeed.toml"
    targets = [config, *(folder / "seeds" / name for name in (seed_files() if seeds else {}))]
    existing = [str(p) for p in targets if p.exists()]
    if existing:
        raise ConfigError(existing[0], "already exists; tagfeed init overwrites nothing")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        config.write_text(settings_text.toml(seeds), encoding="utf-8")
        if seeds:
            (folder / "seeds").mkdir(exist_ok=True)
            for name, data in seed_files().items():
                (folder / "seeds" / name).write_bytes(data)
    except OSError as exc:
        raise ConfigError(str(folder), f"cannot write there: {exc.strerror or exc}") from None
    return targets
