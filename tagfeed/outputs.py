"""Which groups of output files are up to date, kept in the store, so rebuilds skip them.

For each group rendered (a tag's feeds and page, an article page, ...) the
store keeps the fingerprint of its inputs (``feeds.fingerprint``) and the
publisher's state of its files and ``.gz`` twins as written: (mtime, size,
inode) in a directory, the uploaded sha256 in an object store. A group is
fresh when both still match: same inputs, and nobody touched or removed a
file since. Anything else is rendered and handed to the writer as before, and
is recorded only once the writer has returned, so a failed build records nothing.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence

from feeds.write import TEXT_SUFFIXES
from tagfeed.store import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS output_groups (
    path TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    files TEXT NOT NULL
);
"""


class OutputIndex:
    """The ``Fresh`` callback for ``render_site``, and the record of what it let through.

    ``state`` is the publisher's (``feeds.target.Publisher.state``): file stats for a
    directory, the uploaded hashes for an object store.
    """

    def __init__(self, store: Store, state: Callable[[Sequence[str]], str | None]) -> None:
        self.store = store
        self.state = state
        with store.db:
            store.db.executescript(_SCHEMA)
        rows = store.db.execute("SELECT path, fingerprint, files FROM output_groups")
        self._known: dict[str, tuple[str, str]] = {path: (fp, files) for path, fp, files in rows}
        self._pending: dict[str, tuple[str, list[str]]] = {}
        self.skipped_files = 0

    def fresh(self, paths: tuple[str, ...], fingerprint: str) -> bool:
        files = [twin for path in paths for twin in _with_twin(path)]
        known = self._known.get(paths[0])
        if known is not None and known[0] == fingerprint and known[1] == self.state(files):
            self.skipped_files += len(files)
            return True
        self._pending[paths[0]] = (fingerprint, files)
        return False

    def commit(self) -> None:
        """Record the groups rendered this build, as the writer left their files."""
        rows = []
        for key, (fingerprint, files) in self._pending.items():
            signature = self.state(files)
            if signature is not None:
                rows.append((key, fingerprint, signature))
        with self.store.db:
            self.store.db.executemany("INSERT OR REPLACE INTO output_groups VALUES (?, ?, ?)", rows)
        self._pending.clear()


def _with_twin(rel: str) -> tuple[str, ...]:
    # posixpath.splitext gives PurePosixPath(rel).suffix for every suffix in TEXT_SUFFIXES, without a Path
    return (rel, rel + ".gz") if posixpath.splitext(rel)[1] in TEXT_SUFFIXES else (rel,)
