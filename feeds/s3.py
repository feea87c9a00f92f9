"""The output tree in an S3-compatible object store (AWS, MinIO, Ceph, R2), uploaded in order.

``S3Publisher`` satisfies ``feeds.target.Publisher``. It never lists the bucket:
the caller hands it the sha256 of every object it uploaded before (``known``)
and a ``record`` callback to keep the new ones, so a rebuild uploads only the
objects whose bytes changed. Uploads go in ``publish_rank`` phases, each
finished before the next starts, so an index never links to a feed not yet
there. Each object carries its Content-Type and Cache-Control; a ``.gz`` twin
carries ``Content-Encoding: gzip`` and the type of the file it compresses.
Credentials and region come from boto3's usual chain (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``, profiles, instance roles).
This module deletes nothing, like ``feeds.write``.
"""

from __future__ import annotations

import gzip

import hashlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Final

from feeds.target import File, publish_rank, with_twin
from feeds.write import WriteReport
from tagfeed.errors import ConfigError, OutputError

WORKERS: Final = 8
Record = Callable[[Sequence[tuple[str, str]]], None]


@dataclass(frozen=True, slots=True)
class _Upload:
    rel: str
    data: bytes
    sha256: str


@dataclass
class S3Publisher:
    """Uploads changed objects under ``s3://bucket/prefix``; see the module docstring."""

    bucket: str
    prefix: str
    known: dict[str, str]  # path -> sha256 of what is in the bucket, kept up to date as objects land
    record: Record
    content_type: Callable[[str], str]
    cache_control: Callable[[str, Callable[[], bytes]], str]  # (path, its identity bytes when asked)
    endpoint_url: str = ""
    workers: int = WORKERS
    _client: Any = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def publish_tree(self, files: Iterable[File]) -> WriteReport:
        """Upload what changed, phase by phase; the report lists the objects put, in that order."""
        phases: dict[int, list[_Upload]] = {}
        unchanged = 0
        for rel, data in files:
            check_key(rel)
            for path, payload in with_twin(rel, data):
                digest = hashlib.sha256(payload).hexdigest()
                if self.known.get(path) == digest:
                    unchanged += 1
                else:
                    phases.setdefault(publish_rank(path), []).append(_Upload(path, payload, digest))
        written: list[str] = []
        if phases:
            self._client = make_client(self.endpoint_url, self.workers)
            try:
                with ThreadPoolExecutor(max(1, self.workers), thread_name_prefix="tagfeed-s3") as pool:
                    for rank in sorted(phases):
                        written.extend(self._upload_phase(pool, phases[rank]))
            finally:
                self._client.close()
                self._client = None
        return WriteReport(written=tuple(written), unchanged=unchanged)

    def _upload_phase(self, pool: ThreadPoolExecutor, uploads: list[_Upload]) -> list[str]:
        """Put every object of one phase; record those that landed even when one failed."""
        futures: list[Future[None]] = [pool.submit(self._put, upload) for upload in uploads]
        wait(futures)
        done = [(u.rel, u.sha256) for u, f in zip(uploads, futures) if f.exception() is None]
        self.record(done)
        self.known.update(done)
        for upload, future in zip(uploads, futures):
            error = future.exception()
            if error is not None and type(error).__module__.startswith("botocore"):
                raise OutputError(f"{self.url}/{upload.rel}", _reason(error)) from None
            if error is not None:
                raise error
        return [rel for rel, _ in done]

    def _put(self, upload: _Upload) -> None:
        identity = upload.rel.removesuffix(".gz")  # only twins end in .gz in the tree
        extra = {"ContentEncoding": "gzip"} if identity != upload.rel else {}
        self._client.put_object(
            Bucket=self.bucket, Key=self.key(upload.rel), Body=upload.data,
            ContentType=self.content_type(identity), **extra,
            CacheControl=self.cache_control(identity, lambda: gzip.decompress(upload.data) if extra else upload.data),
        )

    def state(self, paths: Sequence[str]) -> str | None:
        """The sha256 of each object as uploaded (the bucket is never listed: an object changed
        or deleted there by someone else is not noticed, as in ``publish_tree``)."""
        digests = [self.known.get(path) for path in paths]
        if None in digests:
            return None
        return hashlib.blake2b("\n".join(map(str, digests)).encode(), digest_size=16).hexdigest()

    def key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel


def check_key(rel: str) -> None:
    """The same paths ``feeds.write`` accepts: relative, no empty, '.' or '..' segments."""
    if not rel or "\\" in rel or "\0" in rel or rel.startswith("/"):
        raise OutputError(rel, "not a relative path")
    if any(part in ("", ".", "..") for part in rel.split("/")):
        raise OutputError(rel, "path must not contain empty, '.' or '..' segments")


def make_client(endpoint_url: str, workers: int) -> Any:
    """A boto3 S3 client; path-style addressing for custom endpoints (MinIO and most others need it)."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise ConfigError("site.output_dir", "s3:// output needs boto3: pip install 'tagfeed[s3]'") from None
    options: dict[str, Any] = {
        "max_pool_connections": max(10, workers), "connect_timeout": 10, "read_timeout": 60,
        "retries": {"mode": "standard", "max_attempts": 5},
    }
    if endpoint_url:
        options["s3"] = {"addressing_style": "path"}
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url or None, config=Config(**options))


def _reason(error: BaseException) -> str:
    """botocore's ClientError names the S3 error code; anything else by its message."""
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return f"{response['Error'].get('Code', 'error')}: {response['Error'].get('Message', '')}".strip(": ")
    return str(error) or type(error).__name__
