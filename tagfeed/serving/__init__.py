"""HTTP for ``server.py``: exact caching headers, the file tree and its cache, the in-loop hot path."""
