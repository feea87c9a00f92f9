"""The servers under load, each run as ``python -m benchmarks.servers KIND OUTPUT PORT``.

- ``tagfeed``: ``server.create_app`` under ``server.create_server`` (what ``serve`` runs: waitress,
  8 threads, cached files answered in its loop thread), access log on.
- ``tagfeed-metrics``: the same with ``site.metrics`` on (every request counted for /metrics).
- ``naive``: a Flask app that hands each path to ``send_file`` (conditional, ETag),
  the precompressed ``.gz`` twin when the client takes gzip.
"""

from __future__ import annotations

import sys
from pathlib import Path

import waitress
from flask import Flask, abort, request, send_file
from werkzeug.security import safe_join


def naive_app(root: str) -> Flask:
    app = Flask(__name__, static_folder=None)

    @app.route("/<path:path>")
    def file(path: str):  # type: ignore[no-untyped-def]
        full = safe_join(root, path)
        if full is None or not Path(full).is_file():
            abort(404)
        if "gzip" in request.headers.get("Accept-Encoding", "") and Path(full + ".gz").is_file():
            response = send_file(full + ".gz", mimetype="application/atom+xml", conditional=True, etag=True)
            response.headers["Content-Encoding"] = "gzip"
            response.headers["Vary"] = "Accept-Encoding"
            return response
        return send_file(full, conditional=True, etag=True)

    return app


def tagfeed_app(root: str, metrics: bool = False):  # type: ignore[no-untyped-def]
    import dataclasses

    import server
    from tagfeed.config import load_config

    config = load_config(None, environ={})
    config = dataclasses.replace(config, site=dataclasses.replace(config.site, output_dir=Path(root), metrics=metrics))
    server._configure_logs()  # as `tagfeed serve` runs: one access-log line per request
    return server.create_app(config)


def main(kind: str, root: str, port: str) -> None:
    if kind in ("tagfeed", "tagfeed-metrics"):
        import server

        app = tagfeed_app(root, metrics=kind == "tagfeed-metrics")
        server.create_server(app, "127.0.0.1", int(port)).run()  # exactly what `serve` runs
    else:
        waitress.serve(naive_app(root), host="127.0.0.1", port=int(port), threads=8, _quiet=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
