"""Where a build's files go, chosen by ``site.output_dir``: a local directory or ``s3://bucket/prefix``.

For an object store it keeps, in the store's ``published`` table, the sha256
of every object uploaded, per target (endpoint plus URL), so a rebuild
uploads only the objects whose bytes changed and never lists the bucket. An
object changed or deleted in the bucket by someone else is therefore not
repaired until its content changes; drop the target's rows to force a full upload.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from feeds.archive import max_age_for
from feeds.s3 import S3Publisher
from feeds.target import LocalPublisher, Publisher
from tagfeed.config import SiteConfig
from tagfeed.serving.httpcache import content_type_for
from tagfeed.store.sqlite import Store



def open_publisher(site: SiteConfig, store: Store) -> Publisher:
    """The publisher for ``site``: the local writer, or the object store with hashes from ``store``."""
    if not site.output_url:
        return LocalPublisher(site.output_dir)
    bucket, _, prefix = site.output_url.removeprefix("s3://").partition("/")
    target = target_name(site)
    return S3Publisher(
        bucket=bucket, prefix=prefix, endpoint_url=site.s3_endpoint_url,
        known=published_hashes(store, target),
        record=functools.partial(record_published, store, target),
        content_type=content_type_for,
        cache_control=functools.partial(cache_control_for, max_age=site.cache_max_age),
    )


def target_name(site: SiteConfig) -> str:
    """What the hashes are kept under: the same bucket behind another endpoint is another target."""
    return f"{site.s3_endpoint_url or 'aws'} {site.output_url}"


def cache_control_for(path: str, body: Callable[[], bytes], max_age: int) -> str:
    """The Cache-Control ``tagfeed serve`` would send for ``path`` (``feeds.archive.max_age_for``)."""
    return f"public, max-age={max_age_for(f'/{path}', body, max_age)}"


def published_hashes(store: Store, target: str) -> dict[str, str]:
    return store.published_hashes(target)


def record_published(store: Store, target: str, done: Sequence[tuple[str, str]]) -> None:
    """Keep the hashes of objects that are now in the bucket (called after each upload phase)."""
    store.put_published(target, done)
