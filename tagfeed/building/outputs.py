"""Which groups of output files are up to date, kept in the store, so rebuilds skip them.

For each group rendered (a tag's feeds and page, an article page, ...) the
store keeps the fingerprint of its inputs (``feeds.fingerprint``) and the
publisher's state of its files and ``.gz`` twins as written: (mtime, size,
inode) in a directory, the uploaded sha256 in an object store. A group is
fresh when both still match: same inputs, and nobody touched or removed a
file since. Anything else is rendered and handed to the writer as before, and
is recorded only once the writer has returned, so a failed build records nothing.

A rebuild asks about every group (a 1,000-tag site has 26,000, 58,000 files),
so ``fresh`` does as little as it can: the publisher's state only when the
fingerprint matches, no Path objects, the store's rows held as plain strings.
The stats are taken as each group is asked about, on the rendering thread: a
thread prefetching them was measured and made the whole build slower, since
``os.stat`` holds the GIL for half its time (its result) and the rendering
thread holds it the rest, so the two only take turns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from feeds.write import has_twin
from tagfeed.store.sqlite import Store

class OutputIndex:
    """The ``Fresh`` callback for ``render_site``, and the record of what it let through.

    ``state`` is the publisher's (``feeds.target.Publisher.state``): file stats for a
    directory, the uploaded hashes for an object store.
    """

    def __init__(self, store: Store, state: Callable[[Sequence[str]], str | None]) -> None:
        self.store = store
        self.state = state
        # Two dicts of strings, not one of (fingerprint, files) tuples: 26,000 tuples that live
        # through the build cost more to make, and to every garbage collection after.
        self._prints, self._states = store.output_groups()
        self._pending: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.skipped_files = 0

    def fresh(self, paths: tuple[str, ...], fingerprint: str) -> bool:
        key = paths[0]
        files = with_twins(paths)
        if self._prints.get(key) == fingerprint:
            known = self._states.get(key)
            if known is not None and known == self.state(files):
                self.skipped_files += len(files)
                return True
        self._pending[key] = (fingerprint, files)
        return False

    def commit(self) -> None:
        """Record the groups rendered this build, as the writer left their files."""
        rows = []
        for key, (fingerprint, files) in self._pending.items():
            signature = self.state(files)
            if signature is not None:
                rows.append((key, fingerprint, signature))
        rows.sort()  # in key order (path): B-tree appends (see store._first)
        self.store.put_output_groups(rows)
        self._pending.clear()


def with_twins(paths: tuple[str, ...]) -> tuple[str, ...]:
    """``paths``, each followed by its ``.gz`` twin if the writer gives it one."""
    if len(paths) == 1:  # most groups are one article page
        rel = paths[0]
        return (rel, rel + ".gz") if has_twin(rel) else paths
    files: list[str] = []
    for rel in paths:
        files.append(rel)
        if has_twin(rel):
            files.append(rel + ".gz")
    return tuple(files)
